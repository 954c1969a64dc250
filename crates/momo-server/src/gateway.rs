//! What Azure API Management does in front of MoMo: subscription keys.
//!
//! [`subscription_key`] is an axum middleware applied (as a route layer) to every MoMo route, so
//! an unknown path is a 404 before any key is looked at, as at APIM. Later layers (fault
//! injection, rate limits) go beside it in `startup::momo_routes`.

use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::HeaderName;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use momo_types::{headers, Product};

use crate::error::ApiError;
use crate::state::AppState;

/// Check `Ocp-Apim-Subscription-Key` (or `?subscription-key=`) against the request's product.
/// Provisioning (`/v1_0/apiuser…`, no product prefix) accepts a key of any product.
pub async fn subscription_key(State(state): State<AppState>, request: Request, next: Next) -> Response {
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
pub async fn not_found() -> ApiError {
    ApiError::RouteNotFound
}
