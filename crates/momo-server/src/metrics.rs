//! What an instance counts, for `GET /_momo/metrics` (Prometheus text exposition, documented in
//! docs/operator-api.md, "Metrics").
//!
//! A leaf: it depends on nothing else in the crate, and every layer may record into it (the
//! surfaces requests and tokens, the services transactions and callbacks, the store its commits).
//! One [`Metrics`] per instance, kept in [`crate::state::AppState`], not a process-wide registry:
//! tests run several servers in one process, each with its own counts.
//!
//! Every label value comes from a closed set (an enum of this crate or of momo-types, or an HTTP
//! status code): never a path, an id or anything else a client chooses, so the number of series
//! stays bounded whatever the traffic.
//!
//! What every request records (`requests`) is made at start and found by position, and recorded
//! with atomic adds alone, in histograms of this module's own (`histogram`): no lock and no hash
//! on the request path (docs/performance.md, "What the metrics cost"). The other counts, made
//! once per payment, token or callback rather than per request, are prometheus-client's families.

mod histogram;
mod requests;

use std::fmt::{self, Write as _};
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::{Duration, Instant};

use momo_types::operations::OperationName;
use momo_types::payments::TransactionStatus;
use momo_types::{Product, TransactionKind};
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, EncodeMetric, LabelValueEncoder, MetricEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::info::Info;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::{Metric, Registry, Unit};

use self::histogram::Histogram;
pub(crate) use self::requests::ObserveRequests;
use self::requests::{latency_buckets, OperationDurations, RequestCounts};

/// The `Content-Type` of [`Metrics::encode`]'s text (Prometheus text format 0.0.4).
pub(crate) const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// One instance's metrics and the registry that renders them.
pub struct Metrics {
    registry: Registry,
    requests: Arc<RequestCounts>,
    durations: Arc<OperationDurations>,
    transactions_created: Family<TransactionLabels, Counter>,
    transactions_finalized: Family<FinalizedLabels, Counter>,
    tokens_issued: Family<ProductLabels, Counter>,
    token_failures: Family<TokenFailureLabels, Counter>,
    callback_attempts: Family<AttemptLabels, Counter>,
    callback_deliveries: Family<DeliveryLabels, Counter>,
    callback_backlog: Gauge,
    callback_backlog_age: Gauge<f64, AtomicU64>,
    open_connections: Gauge,
    commits: CommitMetrics,
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub(crate) fn new() -> Self {
        let mut registry = Registry::with_prefix("momo");
        registry.register("build", "The running build", Info::new(BuildLabels { version: env!("CARGO_PKG_VERSION") }));
        let r = &mut registry;
        let commits = CommitMetrics::default();
        Self {
            requests: register_shared(
                r,
                "http_requests",
                "HTTP requests answered, by MoMo operation (other: any other route), product and status code",
                None,
                Arc::new(RequestCounts::new()),
            ),
            durations: register_shared(
                r,
                "http_request_duration",
                "Time from a request's arrival in the router to its answer, by MoMo operation",
                Some(Unit::Seconds),
                Arc::new(OperationDurations::new()),
            ),
            transactions_created: register(
                r,
                "transactions_created",
                "Transactions accepted (202), by product and kind",
                Family::default(),
            ),
            transactions_finalized: register(
                r,
                "transactions_finalized",
                "Transactions made final by this instance, by product, kind and final status",
                Family::default(),
            ),
            tokens_issued: register(r, "access_tokens_issued", "Access tokens issued, by product", Family::default()),
            token_failures: register(
                r,
                "access_token_failures",
                "Access-token requests refused or failed, by product and reason",
                Family::default(),
            ),
            callback_attempts: register(
                r,
                "callback_attempts",
                "Callback delivery attempts made by this instance, by result",
                Family::default(),
            ),
            callback_deliveries: register(
                r,
                "callback_deliveries",
                "Callback deliveries finished by this instance, by outcome",
                Family::default(),
            ),
            callback_backlog: register(
                r,
                "callback_backlog",
                "Callback deliveries due and not yet delivered (in flight included), read from the database at scrape time",
                Gauge::default(),
            ),
            callback_backlog_age: register_seconds(
                r,
                "callback_backlog_oldest_age",
                "How long the longest-waiting due callback delivery has been due (0 without any)",
                Gauge::default(),
            ),
            open_connections: register(r, "open_connections", "Client connections open now", Gauge::default()),
            commits: CommitMetrics {
                rows: register_shared(
                    r,
                    "store_commit_rows",
                    "Rows (transactions, settlements, callback claims and attempts) written per commit of the payment path",
                    None,
                    commits.rows,
                ),
                duration: register_shared(
                    r,
                    "store_commit_duration",
                    "Time a commit of the payment path took, statements and fsync included",
                    Some(Unit::Seconds),
                    commits.duration,
                ),
            },
            registry,
        }
    }

    /// The store's handle on the commit metrics (the store is opened before the state exists).
    pub(crate) fn commits(&self) -> CommitMetrics {
        self.commits.clone()
    }

    /// Everything, in Prometheus text format.
    pub(crate) fn encode(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail; an encoder error would be a bug of the library.
        if let Err(e) = prometheus_client::encoding::prometheus_text::encode(&mut text, &self.registry) {
            tracing::error!(error = %e, "could not encode the metrics");
        }
        text
    }

    pub(crate) fn transaction_created(&self, product: Product, kind: TransactionKind) {
        self.transactions_created
            .get_or_create(&TransactionLabels { product: ProductLabel(Some(product)), kind: KindLabel(kind) })
            .inc();
    }

    pub(crate) fn transaction_finalized(&self, product: Product, kind: TransactionKind, status: &TransactionStatus) {
        let labels = FinalizedLabels {
            product: ProductLabel(Some(product)),
            kind: KindLabel(kind),
            status: FinalStatus::of(status),
        };
        self.transactions_finalized.get_or_create(&labels).inc();
    }

    pub(crate) fn token_issued(&self, product: Product) {
        self.tokens_issued.get_or_create(&ProductLabels { product: ProductLabel(Some(product)) }).inc();
    }

    pub(crate) fn token_refused(&self, product: Product, reason: TokenFailure) {
        self.token_failures.get_or_create(&TokenFailureLabels { product: ProductLabel(Some(product)), reason }).inc();
    }

    /// One delivery attempt, and the delivery's outcome if the attempt finished it.
    pub(crate) fn callback_attempted(&self, result: AttemptResult, finished: Option<DeliveryOutcome>) {
        self.callback_attempts.get_or_create(&AttemptLabels { result }).inc();
        if let Some(outcome) = finished {
            self.callback_deliveries.get_or_create(&DeliveryLabels { outcome }).inc();
        }
    }

    /// The backlog as just read from the database: how many are due, and how long the oldest
    /// has been.
    pub(crate) fn set_callback_backlog(&self, due: i64, oldest_waiting: Duration) {
        self.callback_backlog.set(due);
        self.callback_backlog_age.set(oldest_waiting.as_secs_f64());
    }

    pub(crate) fn set_open_connections(&self, open: usize) {
        self.open_connections.set(i64::try_from(open).unwrap_or(i64::MAX));
    }
}

/// `metric`, registered under `name` (the registry renders it from a clone: they share their values).
fn register<M: Metric + Clone>(registry: &mut Registry, name: &str, help: &str, metric: M) -> M {
    registry.register(name, help, metric.clone());
    metric
}

/// [`register`] for a metric in seconds (its name gets `_seconds`).
fn register_seconds<M: Metric + Clone>(registry: &mut Registry, name: &str, help: &str, metric: M) -> M {
    registry.register_with_unit(name, help, Unit::Seconds, metric.clone());
    metric
}

/// `metric`, registered under `name` (with its unit, if any): the registry renders it through
/// its own `Arc` of it.
fn register_shared<M: Metric>(
    registry: &mut Registry,
    name: &str,
    help: &str,
    unit: Option<Unit>,
    metric: Arc<M>,
) -> Arc<M> {
    let rendered = Shared(metric.clone());
    match unit {
        Some(unit) => registry.register_with_unit(name, help, unit, rendered),
        None => registry.register(name, help, rendered),
    }
    metric
}

/// A metric of this module as the registry holds it: the registry renders what the instance
/// records into (prometheus-client's own metrics share their values when cloned; these are
/// shared through an `Arc`).
#[derive(Debug)]
struct Shared<M>(Arc<M>);

impl<M: EncodeMetric> EncodeMetric for Shared<M> {
    fn encode(&self, encoder: MetricEncoder) -> fmt::Result {
        self.0.encode(encoder)
    }

    fn metric_type(&self) -> MetricType {
        self.0.metric_type()
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The commit metrics, shared with the store's committer.
#[derive(Debug, Clone)]
pub(crate) struct CommitMetrics {
    rows: Arc<Histogram<u64>>,
    duration: Arc<Histogram<Duration>>,
}

impl Default for CommitMetrics {
    /// Histograms of their own: a store opened without an instance's [`Metrics`] (the tests of
    /// the store, the examples) records into these, which nobody reads.
    fn default() -> Self {
        Self {
            // 1 to 4,096 rows, doubling: the group commit takes at most 512 and a settlement
            // batch 256, but one caller's batch may take it past.
            rows: Arc::new(Histogram::new((0..13).map(|doublings| 1 << doublings))),
            duration: Arc::new(Histogram::new(latency_buckets())),
        }
    }
}

impl CommitMetrics {
    /// A commit of `rows` rows that began at `started` has ended.
    pub(crate) fn observe(&self, rows: usize, started: Instant) {
        self.rows.observe(u64::try_from(rows).unwrap_or(u64::MAX));
        self.duration.observe(started.elapsed());
    }
}

// Label sets. Field names are the label names.

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct TransactionLabels {
    product: ProductLabel,
    kind: KindLabel,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct FinalizedLabels {
    product: ProductLabel,
    kind: KindLabel,
    status: FinalStatus,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ProductLabels {
    product: ProductLabel,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct TokenFailureLabels {
    product: ProductLabel,
    reason: TokenFailure,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct AttemptLabels {
    result: AttemptResult,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct DeliveryLabels {
    outcome: DeliveryOutcome,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct BuildLabels {
    version: &'static str,
}

// Label values. momo-types' enums are wrapped (a trait of prometheus-client cannot be implemented
// on them here); this crate's are written as their variants' names.

/// A MoMo operation as its [`OperationName`] variant is called (`RequestToPay`); `other` for
/// every route that is not a MoMo operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct OperationLabel(Option<OperationName>);

impl EncodeLabelValue for OperationLabel {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> fmt::Result {
        match self.0 {
            // A fieldless enum's derived Debug is its variant's name.
            Some(name) => write!(encoder, "{name:?}"),
            None => encoder.write_str("other"),
        }
    }
}

/// A product by its path name (`collection`); `none` for provisioning and non-MoMo routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct ProductLabel(Option<Product>);

impl EncodeLabelValue for ProductLabel {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> fmt::Result {
        encoder.write_str(self.0.map_or("none", Product::as_str))
    }
}

/// A kind of transaction by its status path's segment (`requesttopay`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct KindLabel(TransactionKind);

impl EncodeLabelValue for KindLabel {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> fmt::Result {
        encoder.write_str(self.0.as_str())
    }
}

/// A final status. Settlement only makes transactions SUCCESSFUL or FAILED; `Other` keeps the
/// label set closed should another status ever be made final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EncodeLabelValue)]
enum FinalStatus {
    Successful,
    Failed,
    Other,
}

impl FinalStatus {
    fn of(status: &TransactionStatus) -> Self {
        match status {
            TransactionStatus::Successful => FinalStatus::Successful,
            TransactionStatus::Failed => FinalStatus::Failed,
            _ => FinalStatus::Other,
        }
    }
}

/// Why a request to `/{product}/token/` got no token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EncodeLabelValue)]
pub(crate) enum TokenFailure {
    /// No Basic credentials, or malformed ones.
    MissingCredentials,
    /// An unknown or revoked API user, or a wrong key.
    InvalidCredentials,
    /// `momo-africa` platform: `X-Target-Environment` missing, unknown or not the user's.
    TargetEnvironment,
    /// The database could not be reached (503).
    Unavailable,
    /// Anything else (500).
    Internal,
}

/// What one callback delivery attempt came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EncodeLabelValue)]
pub(crate) enum AttemptResult {
    /// The receiver answered 2xx.
    Delivered,
    /// The receiver answered something else.
    Rejected,
    /// No answer: could not connect, timed out, or the exchange failed.
    Unreachable,
    /// Not sent: the target is not the API user's registered host, or the policy refuses it.
    Refused,
}

/// How a callback delivery ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EncodeLabelValue)]
pub(crate) enum DeliveryOutcome {
    Delivered,
    /// No attempt left in the retry policy, or a target that will never be allowed.
    GaveUp,
}

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;

    use super::requests::Route;
    use super::*;

    #[test]
    fn labels_are_written_from_their_enums() {
        let metrics = Metrics::new();
        let status = Route::of_operation(OperationName::RequestToPayStatus, Some(Product::Collection));
        metrics.record_request(status, StatusCode::OK, Duration::from_millis(1));
        metrics.record_request(Route::Other, StatusCode::NOT_FOUND, Duration::from_millis(1));
        metrics.transaction_finalized(Product::Disbursement, TransactionKind::Transfer, &TransactionStatus::Failed);
        metrics.token_refused(Product::Remittance, TokenFailure::InvalidCredentials);
        let text = metrics.encode();
        for line in [
            r#"momo_http_requests_total{operation="RequestToPayStatus",product="collection",status="200"} 1"#,
            r#"momo_http_requests_total{operation="other",product="none",status="404"} 1"#,
            r#"momo_transactions_finalized_total{product="disbursement",kind="transfer",status="Failed"} 1"#,
            r#"momo_access_token_failures_total{product="remittance",reason="InvalidCredentials"} 1"#,
            r#"momo_build_info{version=""#,
        ] {
            assert!(text.contains(line), "{line} missing from:\n{text}");
        }
    }
}
