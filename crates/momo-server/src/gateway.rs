//! What Azure API Management does in front of MoMo: subscription keys; and, beside it, the
//! operator's fault rules ([`inject_faults`]).
//!
//! [`subscription_key`] is an axum middleware applied (as a route layer) to every MoMo route, so
//! an unknown path is a 404 before any key is looked at, as at APIM. Later layers (fault
//! injection, rate limits) go beside it in `startup::momo_routes`.

use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use momo_types::{headers, Product};
use rand::Rng as _;

use crate::error::ApiError;
use crate::state::AppState;

/// Check `Ocp-Apim-Subscription-Key` (or `?subscription-key=`) against the request's product.
/// Provisioning (`/v1_0/apiuser…`, no product prefix) accepts a key of any product.
pub(crate) async fn subscription_key(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    match check(&state, &parts).await {
        Ok(()) => next.run(Request::from_parts(parts, body)).await,
        Err(e) => e.into_response(),
    }
}

async fn check(state: &AppState, parts: &Parts) -> Result<(), ApiError> {
    let presented = presented_key(parts)?.ok_or(ApiError::MissingSubscriptionKey)?;
    let product = Product::from_path(parts.uri.path());
    state
        .cache
        .subscription_key(state.store.as_ref(), &state.hasher.hash(&presented))
        .await?
        .filter(|key| key.admits(product))
        .ok_or(ApiError::InvalidSubscriptionKey)?;
    Ok(())
}

/// The key the client sent: the header wins over the query parameter, as at APIM.
fn presented_key(parts: &Parts) -> Result<Option<String>, ApiError> {
    let mut values = parts.headers.get_all(HeaderName::from_static(headers::SUBSCRIPTION_KEY)).iter();
    if let Some(value) = values.next() {
        if values.next().is_some() {
            return Err(ApiError::InvalidSubscriptionKey);
        }
        let value = value.to_str().map_err(|_| ApiError::InvalidSubscriptionKey)?.trim();
        return Ok((!value.is_empty()).then(|| value.to_owned()));
    }
    let from_query = parts.uri.query().and_then(|query| {
        form_urlencoded::parse(query.as_bytes())
            .find(|(name, _)| name == headers::SUBSCRIPTION_KEY_QUERY)
            .map(|(_, value)| value.trim().to_owned())
    });
    Ok(from_query.filter(|v| !v.is_empty()))
}

/// APIM's answer to a path or method no operation has.
pub(crate) async fn not_found() -> ApiError {
    ApiError::RouteNotFound
}

/// The API user a request speaks for, if it says: the Bearer token's client, or the Basic user.
fn api_user_of(request: &Request, state: &AppState) -> Option<String> {
    let value = request.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, credential) = value.split_once(' ')?;
    if scheme.eq_ignore_ascii_case("bearer") {
        let claims = state.cache.verified_token(&state.tokens, credential.trim(), state.clock.now())?;
        return Some(claims.client_id.clone());
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD.decode(credential.trim()).ok()?;
        let decoded = String::from_utf8(decoded).ok()?;
        return decoded.split_once(':').map(|(user, _)| user.to_owned());
    }
    None
}

/// Apply the fault rules in force ([`crate::faults`]) to a MoMo request. It runs after the
/// subscription-key check, as MTN's backend failures come after the gateway's.
pub(crate) async fn inject_faults(State(state): State<AppState>, request: Request, next: Next) -> Response {
    // No rules (the usual case): no token to decode a second time on every request.
    if state.faults.is_empty() {
        return next.run(request).await;
    }
    let api_user = api_user_of(&request, &state);
    let rule = loop {
        let rule = state.faults.matching(request.method().as_str(), request.uri().path(), api_user.as_deref());
        let Some(rule) = rule else { return next.run(request).await };
        let hit = rule.spec.probability >= 1.0 || rand::rng().random_bool(rule.spec.probability);
        if !hit {
            return next.run(request).await;
        }
        match state.store.use_fault(&rule.id, rule.spec.count.is_some()).await {
            Ok(true) => break rule,
            // Removed or used up through another instance: drop it from the copy, try the next.
            Ok(false) => state.faults.forget(&rule.id),
            Err(e) => {
                tracing::warn!(fault = %rule.id, error = %e, "could not check a fault rule; request served");
                return next.run(request).await;
            }
        }
    };
    tracing::info!(fault = %rule.id, path = %request.uri().path(), "fault injected");
    if rule.spec.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(rule.spec.latency_ms)).await;
    }
    let Some(status) = rule.spec.status.and_then(|s| StatusCode::from_u16(s).ok()) else {
        return next.run(request).await;
    };
    let body = rule.spec.body.clone().unwrap_or_else(|| default_body(status));
    let mut response = (status, body).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// What MTN sends for such a status when the operator gives no body: the gateway's own 500
/// (with an activity id), MoMo's 503, and MoMo's shape otherwise.
fn default_body(status: StatusCode) -> String {
    use momo_types::{ApimError, ErrorCode, ErrorReason};
    match status.as_u16() {
        500 => ApimError {
            status_code: 500,
            message: "Internal server error".into(),
            activity_id: Some(uuid::Uuid::new_v4().to_string()),
        }
        .to_wire(),
        503 => serde_json::to_string(&ErrorReason::new(
            ErrorCode::ServiceUnavailable,
            ErrorCode::ServiceUnavailable.default_message(),
        ))
        .unwrap_or_default(),
        429 => ApimError {
            status_code: 429,
            message: "Rate limit is exceeded. Try again in 1 seconds.".into(),
            activity_id: None,
        }
        .to_wire(),
        _ => serde_json::to_string(&ErrorReason::new(
            ErrorCode::InternalProcessingError,
            ErrorCode::InternalProcessingError.default_message(),
        ))
        .unwrap_or_default(),
    }
}
