//! `http_requests_total` and `http_request_duration_seconds`: what the request layer records for
//! every request, and the layer.
//!
//! Everything a request records into is made at start and found by position: its route in the
//! operation table (a binary search of the matched route, once per route: each route's service
//! keeps what it found), its status among the statuses the server answers, its operation's
//! histogram. Recording is then atomic adds alone: no lock, no hash of a label set
//! (docs/performance.md, "What the metrics cost").

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, OnceLock, PoisonError};
use std::task::{ready, Context, Poll};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use momo_types::operations::{Operation, OperationName, OPERATIONS};
use prometheus_client::encoding::{EncodeLabelSet, EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;

use super::histogram::Histogram;
use super::{Metrics, OperationLabel, ProductLabel};

/// Request latency buckets: 0.25 ms to about 4 s, doubling.
pub(super) fn latency_buckets() -> impl Iterator<Item = Duration> {
    (0..15).map(|doublings| Duration::from_micros(250) * (1 << doublings))
}

/// Where a request is counted: its entry of the operation table, by position, or any other route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Route {
    Operation(usize),
    Other,
}

impl Route {
    /// The route of `name` in `product`'s part of the table.
    #[cfg(test)]
    pub(super) fn of_operation(name: OperationName, product: Option<momo_types::Product>) -> Route {
        let position = OPERATIONS.iter().position(|op| op.name == name && op.product == product);
        Route::Operation(position.expect("the operation is in the table"))
    }

    /// The route matched for `method`, from the table (the router registers token routes with
    /// and without their final '/').
    fn of(method: &str, matched: &str) -> Route {
        let by_route = &*OPERATIONS_BY_ROUTE;
        by_route
            .binary_search_by(|entry| (entry.route.as_str(), entry.method).cmp(&(matched, method)))
            .map_or(Route::Other, |found| Route::Operation(by_route[found].position))
    }

    fn operation(self) -> Option<&'static Operation> {
        match self {
            Route::Operation(position) => OPERATIONS.get(position),
            Route::Other => None,
        }
    }
}

/// One way to reach an operation: its route (full, or without its final '/') and method.
struct RoutedOperation {
    route: String,
    method: &'static str,
    /// Its position in [`OPERATIONS`].
    position: usize,
}

/// Every operation's routes, sorted by route then method: a request's operation is found by a
/// binary search (a few string comparisons), not by hashing its route.
static OPERATIONS_BY_ROUTE: LazyLock<Vec<RoutedOperation>> = LazyLock::new(|| {
    let mut routes = Vec::new();
    for (position, op) in OPERATIONS.iter().enumerate() {
        let route = op.full_route();
        if let Some(bare) = route.strip_suffix('/') {
            routes.push(RoutedOperation { route: bare.to_owned(), method: op.method, position });
        }
        routes.push(RoutedOperation { route, method: op.method, position });
    }
    routes.sort_by(|a, b| (a.route.as_str(), a.method).cmp(&(b.route.as_str(), b.method)));
    routes
});

/// `http_requests_total`: the answers of each entry of the operation table by status, and of
/// every other route last.
#[derive(Debug)]
pub(super) struct RequestCounts {
    by_route: Box<[StatusCounts]>,
}

impl RequestCounts {
    pub(super) fn new() -> Self {
        Self { by_route: (0..=OPERATIONS.len()).map(|_| StatusCounts::default()).collect() }
    }

    fn count(&self, route: Route, status: StatusCode) {
        let position = match route {
            Route::Operation(position) => position,
            Route::Other => OPERATIONS.len(),
        };
        if let Some(counts) = self.by_route.get(position) {
            counts.count(status);
        }
    }

    /// Each route with the statuses it answered, in table order, `other` last.
    fn routes(&self) -> impl Iterator<Item = (Route, &StatusCounts)> {
        self.by_route.iter().enumerate().map(|(position, counts)| {
            let route = if position < OPERATIONS.len() { Route::Operation(position) } else { Route::Other };
            (route, counts)
        })
    }
}

impl EncodeMetric for RequestCounts {
    fn encode(&self, mut encoder: MetricEncoder) -> fmt::Result {
        for (route, counts) in self.routes() {
            let operation = route.operation();
            for (status, answered) in counts.answered() {
                let labels = RequestLabels {
                    operation: OperationLabel(operation.map(|op| op.name)),
                    product: ProductLabel(operation.and_then(|op| op.product)),
                    status,
                };
                encoder.encode_family(&labels)?.encode_counter::<NoLabelSet, _, u64>(&answered, None)?;
            }
        }
        Ok(())
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Counter
    }

    /// Without any request yet, the family is left out, as prometheus-client leaves out a
    /// `Family` without series.
    fn is_empty(&self) -> bool {
        self.by_route.iter().all(|counts| counts.answered().next().is_none())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RequestLabels {
    operation: OperationLabel,
    product: ProductLabel,
    status: u16,
}

/// The statuses the server answers by itself, each counted by an atomic add of its own. Any
/// other (a fault rule may answer with any code from 100 to 999, docs/operator-api.md) is counted
/// under a lock: slower, and rare.
const STATUSES_ANSWERED: [u16; 18] =
    [200, 201, 202, 204, 303, 400, 401, 403, 404, 405, 409, 410, 413, 415, 429, 500, 501, 503];

/// One route's answers by status.
#[derive(Debug, Default)]
struct StatusCounts {
    /// By position in [`STATUSES_ANSWERED`].
    answered: [AtomicU64; STATUSES_ANSWERED.len()],
    /// Other statuses, by code.
    other: Mutex<BTreeMap<u16, u64>>,
}

impl StatusCounts {
    fn count(&self, status: StatusCode) {
        let code = status.as_u16();
        match STATUSES_ANSWERED.iter().zip(&self.answered).find(|&(&answered, _)| answered == code) {
            Some((_, count)) => {
                count.fetch_add(1, Ordering::Relaxed);
            }
            // A panic elsewhere while the lock was held left whole counts behind it.
            None => *self.other.lock().unwrap_or_else(PoisonError::into_inner).entry(code).or_default() += 1,
        }
    }

    /// Each status answered at least once, with how many times, in ascending order of status.
    fn answered(&self) -> impl Iterator<Item = (u16, u64)> {
        let mut answered: Vec<(u16, u64)> = STATUSES_ANSWERED
            .iter()
            .zip(&self.answered)
            .map(|(&status, count)| (status, count.load(Ordering::Relaxed)))
            .chain(self.other.lock().unwrap_or_else(PoisonError::into_inner).iter().map(|(&code, &n)| (code, n)))
            .filter(|&(_, count)| count > 0)
            .collect();
        answered.sort_unstable();
        answered.into_iter()
    }
}

/// `http_request_duration_seconds`: a histogram per operation (by its [`OperationName`]'s
/// discriminant) and one for every other route, last. Every series is there from the start.
#[derive(Debug)]
pub(super) struct OperationDurations {
    by_operation: Box<[(OperationLabel, Histogram<Duration>)]>,
}

impl OperationDurations {
    pub(super) fn new() -> Self {
        let mut names: Vec<OperationName> = OPERATIONS.iter().map(|op| op.name).collect();
        names.sort_by_key(|&name| name as usize);
        names.dedup();
        let by_operation = names
            .into_iter()
            .map(Some)
            .chain([None])
            .map(|name| (OperationLabel(name), Histogram::new(latency_buckets())))
            .collect();
        Self { by_operation }
    }

    fn observe(&self, route: Route, took: Duration) {
        let position = match route.operation() {
            Some(op) => op.name as usize,
            None => self.by_operation.len() - 1,
        };
        if let Some((_, histogram)) = self.by_operation.get(position) {
            histogram.observe(took);
        }
    }
}

impl EncodeMetric for OperationDurations {
    fn encode(&self, mut encoder: MetricEncoder) -> fmt::Result {
        for (operation, histogram) in self.by_operation.iter() {
            histogram.encode(encoder.encode_family(&OperationLabels { operation: *operation })?)?;
        }
        Ok(())
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Histogram
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct OperationLabels {
    operation: OperationLabel,
}

impl Metrics {
    pub(super) fn record_request(&self, route: Route, status: StatusCode, took: Duration) {
        self.requests.count(route, status);
        self.durations.observe(route, took);
    }
}

/// The layer that counts and times every request under its MoMo operation, or `other`. Applied
/// with `Router::layer` (the innermost of the app's layers, `startup::app`), which runs it once
/// the router has matched the path (so that the matched route is known) for every route and the
/// fallback.
///
/// A plain tower layer rather than `axum::middleware::from_fn`: no boxed future, no clone of the
/// rest of the stack per request (docs/performance.md, "What the metrics cost").
#[derive(Debug, Clone)]
pub(crate) struct ObserveRequests(pub(crate) Arc<Metrics>);

impl<S> tower::Layer<S> for ObserveRequests {
    type Service = Observed<S>;

    fn layer(&self, inner: S) -> Observed<S> {
        Observed { inner, endpoint: Arc::new(ObservedEndpoint::new(self.0.clone())) }
    }
}

/// A route (or the fallback) whose requests are counted and timed.
#[derive(Debug, Clone)]
pub(crate) struct Observed<S> {
    inner: S,
    /// Shared with its clones: axum calls a clone for every request.
    endpoint: Arc<ObservedEndpoint>,
}

/// What an [`Observed`] route records into, and its place in the request metrics.
#[derive(Debug)]
struct ObservedEndpoint {
    metrics: Arc<Metrics>,
    /// The route found for the first request that matched one, with the method and matched
    /// route it was found for. `Router::layer` makes a service of each route's method (its
    /// `ObserveRequests::layer`), so this one answers for all its requests and the search runs
    /// once, not per request. A request it does not answer for (a HEAD served by a GET route) is
    /// searched for each time.
    first_found: OnceLock<FoundRoute>,
}

#[derive(Debug)]
struct FoundRoute {
    method: Method,
    matched: Box<str>,
    route: Route,
}

impl ObservedEndpoint {
    fn new(metrics: Arc<Metrics>) -> Self {
        Self { metrics, first_found: OnceLock::new() }
    }

    /// Where a request of `method` that the router matched to `matched` is counted.
    fn route(&self, method: &Method, matched: &str) -> Route {
        let found = self.first_found.get_or_init(|| FoundRoute {
            method: method.clone(),
            matched: matched.into(),
            route: Route::of(method.as_str(), matched),
        });
        if found.method == *method && *found.matched == *matched {
            found.route
        } else {
            Route::of(method.as_str(), matched)
        }
    }
}

impl<S, B> tower::Service<Request<B>> for Observed<S>
where
    S: tower::Service<Request<B>, Response = Response>,
    S::Future: Unpin,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Timed<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let route = request
            .extensions()
            .get::<MatchedPath>()
            .map_or(Route::Other, |matched| self.endpoint.route(request.method(), matched.as_str()));
        let started = Instant::now();
        Timed { inner: self.inner.call(request), endpoint: self.endpoint.clone(), route, started }
    }
}

/// A request's answer on its way, with what recording it needs.
#[derive(Debug)]
pub(crate) struct Timed<F> {
    inner: F,
    endpoint: Arc<ObservedEndpoint>,
    route: Route,
    started: Instant,
}

impl<F, E> Future for Timed<F>
where
    F: Future<Output = Result<Response, E>> + Unpin,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let answered = ready!(Pin::new(&mut this.inner).poll(cx));
        if let Ok(response) = &answered {
            this.endpoint.metrics.record_request(this.route, response.status(), this.started.elapsed());
        }
        Poll::Ready(answered)
    }
}

#[cfg(test)]
mod tests {
    use momo_types::Product;

    use super::*;

    #[test]
    fn every_routed_operation_is_found_by_its_route_and_method() {
        for (position, op) in OPERATIONS.iter().enumerate() {
            let route = op.full_route();
            assert_eq!(Route::of(op.method, &route), Route::Operation(position), "{} {route}", op.method);
            if let Some(bare) = route.strip_suffix('/') {
                assert_eq!(Route::of(op.method, bare), Route::Operation(position), "{} {bare}", op.method);
            }
        }
        assert_eq!(Route::of("PUT", "/collection/v1_0/requesttopay"), Route::Other);
        assert_eq!(Route::of("GET", "/_momo/health"), Route::Other);
    }

    #[test]
    fn a_route_found_once_is_used_only_for_the_same_method_and_route() {
        let endpoint = ObservedEndpoint::new(Arc::new(Metrics::new()));
        let status = "/collection/v1_0/requesttopay/{referenceId}";
        let status_route = Route::of_operation(OperationName::RequestToPayStatus, Some(Product::Collection));
        assert_eq!(endpoint.route(&Method::GET, status), status_route);
        assert_eq!(endpoint.route(&Method::GET, status), status_route);
        assert_eq!(endpoint.route(&Method::HEAD, status), Route::Other);
        let transfer = "/disbursement/v1_0/transfer/{referenceId}";
        let transfer_route = Route::of_operation(OperationName::GetTransferStatus, Some(Product::Disbursement));
        assert_eq!(endpoint.route(&Method::GET, transfer), transfer_route);
        assert_eq!(endpoint.route(&Method::GET, status), status_route);
    }

    #[test]
    fn each_operation_and_other_has_its_own_duration_histogram() {
        let durations = OperationDurations::new();
        for op in OPERATIONS {
            assert_eq!(durations.by_operation[op.name as usize].0, OperationLabel(Some(op.name)));
        }
        assert_eq!(durations.by_operation.last().map(|(label, _)| *label), Some(OperationLabel(None)));
    }

    #[test]
    fn statuses_answered_and_others_are_counted_and_listed_in_order() {
        let counts = StatusCounts::default();
        for status in [404, 200, 999, 200, 418] {
            counts.count(StatusCode::from_u16(status).unwrap());
        }
        assert_eq!(counts.answered().collect::<Vec<_>>(), [(200, 2), (404, 1), (418, 1), (999, 1)]);
    }

    #[test]
    fn a_request_s_answer_and_duration_are_recorded_under_its_operation() {
        let metrics = Metrics::new();
        let token = Route::of_operation(OperationName::CreateAccessToken, Some(Product::Remittance));
        metrics.record_request(token, StatusCode::IM_A_TEAPOT, Duration::from_millis(3));
        let text = metrics.encode();
        let written: Vec<&str> =
            text.lines().filter(|line| line.contains(r#"operation="CreateAccessToken""#)).collect();
        let expected = r#"
momo_http_requests_total{operation="CreateAccessToken",product="remittance",status="418"} 1
momo_http_request_duration_seconds_bucket{operation="CreateAccessToken",le="0.00025"} 0
momo_http_request_duration_seconds_bucket{operation="CreateAccessToken",le="0.0005"} 0
momo_http_request_duration_seconds_bucket{operation="CreateAccessToken",le="0.001"} 0
momo_http_request_duration_seconds_bucket{operation="CreateAccessToken",le="0.002"} 0
momo_http_request_duration_seconds_bucket{operation="CreateAccessToken",le="0.004"} 1
momo_http_request_duration_seconds_bucket{operation="CreateAccessToken",le="0.008"} 1
momo_http_request_duration_seconds_bucket{operation="CreateAccessToken",le="0.016"} 1
momo_http_request_duration_seconds_bucket{operation="CreateAccessToken",le="0.032"} 1
momo_http_request_duration_seconds_bucket{operation="CreateAccessToken",le="0.064"} 1
momo_http_request_duration_seconds_bucket{operation="CreateAccessToken",le="0.128"} 1
momo_http_request_duration_seconds_bucket{operation="CreateAccessToken",le="0.256"} 1
momo_http_request_duration_seconds_bucket{operation="CreateAccessToken",le="0.512"} 1
momo_http_request_duration_seconds_bucket{operation="CreateAccessToken",le="1.024"} 1
momo_http_request_duration_seconds_bucket{operation="CreateAccessToken",le="2.048"} 1
momo_http_request_duration_seconds_bucket{operation="CreateAccessToken",le="4.096"} 1
momo_http_request_duration_seconds_bucket{operation="CreateAccessToken",le="+Inf"} 1
momo_http_request_duration_seconds_sum{operation="CreateAccessToken"} 0.003
momo_http_request_duration_seconds_count{operation="CreateAccessToken"} 1"#;
        assert_eq!(written, expected.lines().skip(1).collect::<Vec<_>>(), "{text}");
        // No other product's token route and no other status: a series appears once counted.
        assert_eq!(text.matches("momo_http_requests_total{").count(), 1, "{text}");
    }

    #[test]
    fn a_request_to_another_route_is_timed_under_other() {
        let metrics = Metrics::new();
        metrics.record_request(Route::Other, StatusCode::NOT_FOUND, Duration::from_micros(100));
        let text = metrics.encode();
        let first_operation = format!("{:?}", OperationName::CreateApiUser);
        for (operation, count) in [("other", 1), (first_operation.as_str(), 0)] {
            let line = format!(r#"momo_http_request_duration_seconds_count{{operation="{operation}"}} {count}"#);
            assert!(text.lines().any(|written| written == line), "{line} missing from:\n{text}");
        }
    }

    #[test]
    fn without_a_request_the_request_counts_are_left_out() {
        assert!(!Metrics::new().encode().contains("momo_http_requests_total"));
    }
}
