//! Whether the instance is ready for traffic (`GET /_momo/ready`, docs/operator-api.md,
//! "Health and readiness"): prepared (migrations run, first-start set-up done, credential cache
//! loaded) and its database answering.
//!
//! The database check is a cheap query whose result is kept for [`CHECK_KEPT`], shared by every
//! probe in that time: probes from a load balancer, an orchestrator and a person at once cost
//! the database one query a second, whatever their rate.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::store::Store;

/// How long the outcome of a database check answers probes.
pub(crate) const CHECK_KEPT: Duration = Duration::from_secs(1);

/// How long the check waits for the database: PostgreSQL's pool waits 3 s for a connection
/// before it gives up, longer than probes usually wait for an answer (1 s in Kubernetes).
pub(crate) const CHECK_TIMEOUT: Duration = Duration::from_secs(1);

/// What a probe is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Readiness {
    Ready,
    /// Start-up has not finished preparing the instance.
    Starting,
    /// The database did not answer the last check.
    DatabaseUnreachable,
}

/// The instance's readiness and its last database check.
#[derive(Debug, Default)]
pub struct ReadinessCheck {
    prepared: AtomicBool,
    /// When the database was last checked and whether it answered. An async mutex: probes that
    /// arrive while a check is running wait for its outcome rather than start checks of their own.
    last: tokio::sync::Mutex<Option<(Instant, bool)>>,
}

impl ReadinessCheck {
    /// Start-up has run the migrations and the first-start set-up, and loaded the caches.
    pub(crate) fn prepared(&self) {
        self.prepared.store(true, Ordering::Release);
    }

    pub(crate) async fn check(&self, store: &dyn Store) -> Readiness {
        if !self.prepared.load(Ordering::Acquire) {
            return Readiness::Starting;
        }
        if self.database_answers(store).await {
            Readiness::Ready
        } else {
            Readiness::DatabaseUnreachable
        }
    }

    /// Whether the database answered its last check (made now if the last is older than
    /// [`CHECK_KEPT`]). `GET /_momo/health` asks this too, so that no unauthenticated probe costs
    /// the database more than one query a second.
    pub(crate) async fn database_answers(&self, store: &dyn Store) -> bool {
        let mut last = self.last.lock().await;
        let answered = match *last {
            Some((at, answered)) if at.elapsed() < CHECK_KEPT => answered,
            _ => {
                let answered = match tokio::time::timeout(CHECK_TIMEOUT, store.ping()).await {
                    Ok(Ok(())) => true,
                    Ok(Err(e)) => {
                        tracing::warn!(error = %e, "readiness check: the database does not answer");
                        false
                    }
                    Err(_) => {
                        tracing::warn!(timeout = ?CHECK_TIMEOUT, "readiness check: the database did not answer in time");
                        false
                    }
                };
                *last = Some((Instant::now(), answered));
                answered
            }
        };
        answered
    }
}
