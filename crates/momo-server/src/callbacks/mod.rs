//! Callbacks: a durable outbox drained by a worker.
//!
//! A delivery row is written in the same database transaction that makes its transaction final
//! ([`crate::store::Payments::finalize`]), so a callback is never lost and never sent for a state
//! that was not committed. The worker leases due rows (`locked_until`; `FOR UPDATE SKIP LOCKED`
//! on PostgreSQL), so several instances share the work without sending one delivery twice at the
//! same time; a lease that outlives a crashed worker expires and the row is tried again.
//!
//! Every attempt is recorded (time, status, latency, error). Redirects are not followed, no proxy
//! is used, and only the API user's registered host and port (or its Payment Server URL's) is ever
//! contacted, at an address the callback target policy ([`crate::domain::targets`]) allows: IP
//! literals are checked before the attempt, names by the client's resolver on every attempt, so a
//! name re-pointed at an internal address after registration gains nothing. A refused target is
//! recorded as a failed attempt and not retried.
//!
//! Beyond MTN, each request carries headers that let a receiver authenticate and correlate it:
//! - `X-Momo-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, keyed with the
//!   API user's signing secret ([`signing_secret`], shown by the operator API);
//! - `X-Momo-Reference-Id`: the transaction's reference id (MTN's bodies do not carry it);
//! - `X-Momo-Delivery-Id`: the same on every retry of one delivery, for de-duplication.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::changes::Change;
use crate::config::CallbackRetry;
use crate::domain::targets::TargetPolicy;
use crate::domain::validation::on_registered_target;
use crate::metrics::{AttemptResult, DeliveryOutcome};
use crate::state::AppState;
use crate::store::{AttemptRecord, DeliveryNext, DeliveryRecord};

use crate::config::CALLBACKS_IN_FLIGHT as IN_FLIGHT;

/// How long a worker holds a delivery before another may take it: long enough for an attempt
/// (the receiver's timeout) and its bookkeeping, short enough that a crashed worker's deliveries
/// are soon taken over.
fn lease(timeout: Duration) -> i64 {
    i64::try_from((timeout * 3).max(Duration::from_secs(5)).as_millis()).unwrap_or(i64::MAX / 4)
}
/// Attempts recorded in one commit at most.
const RECORD_BATCH: usize = 1024;

/// The delay before the next attempt after `attempts` attempts, or `None` to give up.
/// MTN's schedule: the first callback, 20 retries 1 s apart, 30 more every 2 minutes, then
/// hourly (for a day here; MTN says "until unblocked").
pub(crate) fn next_delay(policy: CallbackRetry, attempts: i64) -> Option<Duration> {
    match policy {
        CallbackRetry::Once => None,
        CallbackRetry::Mtn => match attempts {
            ..=20 => Some(Duration::from_secs(1)),
            21..=50 => Some(Duration::from_secs(120)),
            51..=74 => Some(Duration::from_secs(3600)),
            _ => None,
        },
    }
}

/// An API user's callback signing secret: HMAC-SHA256 of the user id under the server's root
/// secret, so that no per-user secret is stored and every instance derives the same one.
pub(crate) fn signing_secret(root: &[u8], api_user: &str) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(root).expect("HMAC takes keys of any length");
    mac.update(b"openmomo callback signing secret\0");
    mac.update(api_user.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The `X-Momo-Signature` value for a body sent at `timestamp`.
pub(crate) fn signature(secret: &str, timestamp: i64, body: &str) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(format!("{timestamp}.").as_bytes());
    mac.update(body.as_bytes());
    format!("t={timestamp},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// The delivery worker: keeps up to `IN_FLIGHT` deliveries in flight, claiming more as
/// room frees up (a slow receiver holds one slot, not a whole batch), and hands every finished
/// attempt to a recorder that writes them in batches. Woken by [`crate::state::Inner::callbacks_waiting`]
/// when a transaction is made final, and every `worker_interval` for retries that come due.
pub(crate) async fn run(state: AppState) {
    let room = std::sync::Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT));
    let (finished, attempts) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(record(state.clone(), attempts));
    loop {
        // Wait for room for at least one, then claim as many as there is room for.
        let Ok(first) = room.clone().acquire_owned().await else { return };
        let free = room.available_permits() + 1;
        let now = state.clock.now_ms();
        let lease_until = now + lease(state.settings.callback_timeout);
        let limit = i64::try_from(free).unwrap_or(i64::MAX);
        let claimed = match state.store.claim_deliveries(now, lease_until, limit).await {
            Ok(claimed) => claimed,
            Err(e) => {
                tracing::warn!(error = %e, "could not claim callbacks; will retry");
                Vec::new()
            }
        };
        let full = claimed.len() == free;
        let mut permits = Some(first);
        for delivery in claimed {
            // Only this loop takes permits and it claimed no more than were free: no wait here.
            let permit = match permits.take() {
                Some(p) => p,
                None => match room.clone().acquire_owned().await {
                    Ok(p) => p,
                    Err(_) => return, // the semaphore is never closed
                },
            };
            let (state, finished) = (state.clone(), finished.clone());
            tokio::spawn(async move {
                let attempt = attempt(&state, &delivery).await;
                // If the recorder is gone the server is stopping; the lease expires and the
                // delivery is tried again after a restart: at least once.
                let _ = finished.send((delivery.key.reference_id, attempt));
                drop(permit);
            });
        }
        drop(permits);
        if !full {
            tokio::select! {
                () = state.callbacks_waiting.notified() => {}
                () = tokio::time::sleep(state.settings.worker_interval) => {}
            }
        }
    }
}

/// Record finished attempts, everything waiting in one commit. If recording fails, the leases
/// expire and the deliveries are tried again: at least once.
async fn record(
    state: AppState,
    mut attempts: tokio::sync::mpsc::UnboundedReceiver<(String, (String, AttemptRecord, DeliveryNext))>,
) {
    while let Some(first) = attempts.recv().await {
        let (mut references, mut batch) = (vec![first.0], vec![first.1]);
        while batch.len() < RECORD_BATCH {
            match attempts.try_recv() {
                Ok((reference, next)) => {
                    references.push(reference);
                    batch.push(next);
                }
                Err(_) => break,
            }
        }
        match state.store.record_attempts(&batch).await {
            Ok(()) => {
                for reference_id in references {
                    state.changes.publish(|| Change::Delivery { reference_id });
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, attempts = batch.len(), "could not record callback attempts; they will be retried")
            }
        }
    }
}

/// Send one delivery; what to record about it.
async fn attempt(state: &AppState, delivery: &DeliveryRecord) -> (String, AttemptRecord, DeliveryNext) {
    let number = delivery.attempts + 1;
    let started = Instant::now();
    let at = state.clock.now_ms();
    let result = send(state, delivery, at).await;
    let latency_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
    let (status_code, error, result) = match result {
        Ok(status) if (200..300).contains(&status) => (Some(i64::from(status)), None, AttemptResult::Delivered),
        Ok(status) => (Some(i64::from(status)), Some(format!("receiver answered {status}")), AttemptResult::Rejected),
        Err(SendError::Refused(reason)) => (None, Some(reason), AttemptResult::Refused),
        Err(SendError::Transport(reason)) => (None, Some(reason), AttemptResult::Unreachable),
    };
    let (delivered, permanent) = (result == AttemptResult::Delivered, result == AttemptResult::Refused);
    let next = if delivered {
        DeliveryNext::Delivered
    } else {
        match next_delay(state.settings.callback_retry, number).filter(|_| !permanent) {
            Some(delay) => DeliveryNext::RetryAt(at + i64::try_from(delay.as_millis()).unwrap_or(i64::MAX / 4)),
            None => DeliveryNext::GaveUp,
        }
    };
    tracing::info!(
        delivery_id = %delivery.id,
        reference_id = %delivery.key.reference_id,
        attempt = number,
        status = status_code.unwrap_or(0),
        latency_ms,
        error = error.as_deref().unwrap_or(""),
        "callback attempt"
    );
    let finished = match next {
        DeliveryNext::Delivered => Some(DeliveryOutcome::Delivered),
        DeliveryNext::GaveUp => Some(DeliveryOutcome::GaveUp),
        DeliveryNext::RetryAt(_) => None,
    };
    state.metrics.callback_attempted(result, finished);
    let record = AttemptRecord { attempt: number, at, status_code, latency_ms, error };
    (delivery.id.clone(), record, next)
}

enum SendError {
    /// Never to be sent (not the registered host): no retry.
    Refused(String),
    Transport(String),
}

async fn send(state: &AppState, delivery: &DeliveryRecord, at: i64) -> Result<u16, SendError> {
    let user = state
        .cache
        .api_user(state.store.as_ref(), &delivery.api_user)
        .await
        .map_err(|e| SendError::Transport(format!("store: {e}")))?
        .ok_or_else(|| SendError::Refused("the API user no longer exists".into()))?;
    let url = url::Url::parse(&delivery.url).map_err(|_| SendError::Refused("malformed callback URL".into()))?;
    let registered = on_registered_target(&url, &user.provider_callback_host)
        || user.payment_server_url.as_deref().is_some_and(|u| on_registered_target(&url, u));
    if !registered {
        let host = url.host_str().unwrap_or_default();
        let port = url.port_or_known_default().unwrap_or_default();
        return Err(SendError::Refused(format!("{host}:{port} is not the API user's registered callback host")));
    }
    // Names are checked by the resolver as they are resolved; IP literals are never resolved.
    if let Some(host @ (url::Host::Ipv4(_) | url::Host::Ipv6(_))) = url.host() {
        state.callback_targets.check_host(&host).map_err(|why| SendError::Refused(format!("refused target: {why}")))?;
    }
    let method = reqwest::Method::from_bytes(delivery.method.as_bytes()).unwrap_or(reqwest::Method::PUT);
    let secret = signing_secret(&state.callback_root, &delivery.api_user);
    let timestamp = at / 1000;
    let response = state
        .http
        .request(method, url)
        .timeout(state.settings.callback_timeout)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("X-Momo-Signature", signature(&secret, timestamp, &delivery.body))
        .header("X-Momo-Reference-Id", &delivery.key.reference_id)
        .header("X-Momo-Delivery-Id", &delivery.id)
        .body(delivery.body.clone())
        .send()
        .await
        .map_err(|e| {
            if let Some(refused) = refused_target(&e) {
                return SendError::Refused(format!("refused target: {}", refused.0));
            }
            let kind = if e.is_timeout() {
                "timed out"
            } else if e.is_connect() {
                "could not connect"
            } else {
                "failed"
            };
            SendError::Transport(format!("request {kind}"))
        })?;
    Ok(response.status().as_u16())
}

/// The HTTP client for callbacks: no redirects, no proxy (a proxy would resolve names where the
/// policy cannot see the addresses), rustls with verified certificates, and a resolver that hands
/// the connector only the addresses the callback target policy allows. A connection must be made
/// within `connect_timeout` (the callback timeout): hyper may finish a connect in the background
/// after the request it was for went out on another connection, past that request's own timeout.
pub(crate) fn http_client(targets: Arc<TargetPolicy>, connect_timeout: Duration) -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .dns_resolver(Arc::new(PolicyResolver(targets)))
        // Deliveries in flight are capped (IN_FLIGHT); the connections kept idle between them are
        // not, in total: the pool keeps up to this many per scheme, host and port, and a receiver
        // on many names or ports leaves one idle socket per callback, each closed by the idle
        // timeout (checked every timeout, so up to twice it). The timeout is kept short for that
        // (docs/reliability.md). Enough per host that a busy receiver is sent its callbacks over
        // connections reused, not one opened and closed per callback (with 4 a host, end to end
        // was 11 % slower on SQLite and 18 % on PostgreSQL: docs/performance.md).
        .pool_max_idle_per_host(IN_FLIGHT / 8)
        .pool_idle_timeout(Duration::from_secs(5))
        .connect_timeout(connect_timeout)
        .user_agent(concat!("openmomo/", env!("CARGO_PKG_VERSION")))
        .build()?)
}

/// The system resolver, filtered by the callback target policy.
struct PolicyResolver(Arc<TargetPolicy>);

/// A name that resolved only to addresses the policy refuses.
#[derive(Debug)]
struct RefusedTarget(String);

impl std::fmt::Display for RefusedTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RefusedTarget {}

impl reqwest::dns::Resolve for PolicyResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let targets = self.0.clone();
        Box::pin(async move {
            let host = name.as_str();
            let resolved: Vec<SocketAddr> = tokio::net::lookup_host((host, 0)).await?.collect();
            let allowed = targets.filter(host, resolved).map_err(RefusedTarget)?;
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The policy's refusal, if that is why a request failed (it is deep in the error's chain).
fn refused_target(error: &reqwest::Error) -> Option<&RefusedTarget> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(error);
    while let Some(e) = source {
        if let Some(refused) = e.downcast_ref::<RefusedTarget>() {
            return Some(refused);
        }
        source = e.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The whole `mtn` schedule, in order: the delay after each attempt until it gives up. Fails
    /// if tiers are swapped, resized, or if it never gives up.
    #[test]
    fn mtns_schedule_is_twenty_seconds_then_thirty_two_minute_waits_then_hourly_for_a_day_then_gives_up() {
        let schedule: Vec<Duration> = (1..=1000).map_while(|attempt| next_delay(CallbackRetry::Mtn, attempt)).collect();
        let expected: Vec<Duration> = std::iter::repeat_n(Duration::from_secs(1), 20)
            .chain(std::iter::repeat_n(Duration::from_secs(120), 30))
            .chain(std::iter::repeat_n(Duration::from_secs(3600), 24))
            .collect();
        assert_eq!(schedule, expected);
        // 75 attempts in all (the first and 74 retries): no retry after the 75th, ever.
        assert!((75..=10_000).all(|attempt| next_delay(CallbackRetry::Mtn, attempt).is_none()));
        assert_eq!(next_delay(CallbackRetry::Once, 1), None);
    }

    #[test]
    fn signatures_depend_on_secret_time_and_body() {
        let secret = signing_secret(b"root", "user");
        assert_eq!(secret.len(), 64);
        assert_ne!(secret, signing_secret(b"root", "other"));
        let sig = signature(&secret, 1_700_000_000, "{}");
        assert!(sig.starts_with("t=1700000000,v1="));
        assert_ne!(sig, signature(&secret, 1_700_000_001, "{}"));
        assert_ne!(sig, signature(&secret, 1_700_000_000, "{ }"));
    }
}
