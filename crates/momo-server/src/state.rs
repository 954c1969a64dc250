//! What every handler can reach.

use std::ops::Deref;
use std::sync::Arc;

use secrecy::ExposeSecret as _;

use crate::cache::CredentialCache;
use crate::config::Settings;
use crate::domain::clock::Clock;
use crate::domain::credentials::SecretHasher;
use crate::domain::tokens::TokenSigner;
use crate::store::Store;

/// The shared state of one server instance (cheap to clone).
#[derive(Debug, Clone)]
pub struct AppState(Arc<Inner>);

#[derive(Debug)]
pub struct Inner {
    pub settings: Settings,
    pub store: Arc<dyn Store>,
    pub cache: CredentialCache,
    pub tokens: TokenSigner,
    /// Hashes presented secrets into their stored form.
    pub hasher: SecretHasher,
    pub clock: Clock,
    /// The root of the per-API-user callback signing secrets.
    pub callback_root: Vec<u8>,
    /// The client callbacks are sent with.
    pub http: reqwest::Client,
    /// Where callbacks may go ([`crate::domain::targets`]).
    pub callback_targets: Arc<crate::domain::targets::TargetPolicy>,
    /// Fault-injection rules of this instance.
    pub faults: crate::faults::Faults,
    /// Failed operator authentications per client address.
    pub operator_failures: crate::domain::throttle::FailureThrottle,
    /// Woken when a callback may have become due (a transaction was made final), so that the
    /// delivery worker need not wait for its next round.
    pub callbacks_waiting: tokio::sync::Notify,
    /// Client connections open now.
    pub connections: Arc<crate::net::ConnectionCount>,
    /// What changed, for the console's live pages ([`crate::changes`]).
    pub changes: Arc<crate::changes::ChangeFeed>,
    /// The console overview's counts ([`crate::service::overview`]).
    pub counts: crate::counts::Counts,
    /// What this instance counts, for `GET /_momo/metrics` ([`crate::metrics`]).
    pub metrics: Arc<crate::metrics::Metrics>,
    /// The stored form of the scrape token (`--metrics-token`), if one is set.
    pub metrics_token: Option<crate::domain::credentials::SecretHash>,
    /// Whether start-up has finished and the database answers (`GET /_momo/ready`).
    pub readiness: crate::readiness::ReadinessCheck,
}

/// The keys an instance works with, loaded or created at start.
#[derive(Debug)]
pub struct ServerKeys {
    pub tokens: TokenSigner,
    pub hasher: SecretHasher,
    /// The root of the per-API-user callback signing secrets.
    pub callback_root: Vec<u8>,
}

impl AppState {
    #[expect(clippy::too_many_arguments, reason = "one argument per part start-up prepares; this only assembles them")]
    pub fn new(
        settings: Settings,
        store: Arc<dyn Store>,
        keys: ServerKeys,
        clock: Clock,
        http: reqwest::Client,
        callback_targets: Arc<crate::domain::targets::TargetPolicy>,
        changes: Arc<crate::changes::ChangeFeed>,
        metrics: Arc<crate::metrics::Metrics>,
    ) -> Self {
        let ServerKeys { tokens, hasher, callback_root } = keys;
        let metrics_token = settings.metrics_token.as_ref().map(|token| hasher.hash(token.expose_secret()));
        Self(Arc::new(Inner {
            settings,
            store,
            cache: CredentialCache::default(),
            tokens,
            hasher,
            clock,
            callback_root,
            http,
            callback_targets,
            faults: crate::faults::Faults::default(),
            operator_failures: Default::default(),
            callbacks_waiting: tokio::sync::Notify::new(),
            connections: Arc::default(),
            changes,
            counts: Default::default(),
            metrics,
            metrics_token,
            readiness: Default::default(),
        }))
    }
}

impl Deref for AppState {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.0
    }
}
