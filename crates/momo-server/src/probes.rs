//! What operators and their tools ask the server about itself (docs/operator-api.md, "Health,
//! readiness and metrics"): `GET /_momo/health` (is the database answering), `GET /_momo/ready`
//! (may traffic come here), both without a token, and `GET /_momo/metrics` (Prometheus text, with
//! the operator token or the scrape token).

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use momo_types::{ErrorCode, ErrorReason};

use crate::extract::MetricsReader;
use crate::readiness::Readiness;
use crate::state::AppState;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/_momo/health", get(health))
        .route("/_momo/ready", get(ready))
        .route("/_momo/metrics", get(metrics))
}

/// `GET /_momo/health`: 200 while the database answers (the readiness check's outcome, at most
/// one query a second whatever the probes' rate), else 503. It also reports the client
/// connections open now (this one included).
async fn health(State(state): State<AppState>) -> Response {
    if state.readiness.database_answers(state.store.as_ref()).await {
        Json(serde_json::json!({
            "connections": state.connections.get(),
            "database": state.store.backend(),
            "status": "ok",
        }))
        .into_response()
    } else {
        unavailable()
    }
}

/// `GET /_momo/ready`: 200 once start-up has prepared the instance and while its database
/// answers (checked at most once a second, [`crate::readiness`]); 503 otherwise.
async fn ready(State(state): State<AppState>) -> Response {
    match state.readiness.check(state.store.as_ref()).await {
        Readiness::Ready => Json(serde_json::json!({ "status": "ready" })).into_response(),
        Readiness::Starting | Readiness::DatabaseUnreachable => unavailable(),
    }
}

/// MoMo's own answer when it cannot serve: 503 `SERVICE_UNAVAILABLE`.
fn unavailable() -> Response {
    let body = ErrorReason::new(ErrorCode::ServiceUnavailable, "Service temporary unavailable, try again later");
    (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
}

/// `GET /_momo/metrics`: this instance's counts, and what is read at scrape time (the callback
/// backlog from the database, the connections open now).
async fn metrics(State(state): State<AppState>, _: MetricsReader) -> Response {
    let now = state.clock.now_ms();
    match state.store.callback_backlog(now).await {
        Ok(backlog) => {
            let waited = backlog.oldest_due_at.map_or(0, |due_at| now.saturating_sub(due_at));
            let waited = std::time::Duration::from_millis(u64::try_from(waited).unwrap_or(0));
            state.metrics.set_callback_backlog(backlog.due, waited);
        }
        // The rest is still worth answering; the backlog keeps the value of the last scrape.
        Err(e) => tracing::warn!(error = %e, "metrics: could not read the callback backlog"),
    }
    state.metrics.set_open_connections(state.connections.get());
    ([(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)], state.metrics.encode()).into_response()
}
