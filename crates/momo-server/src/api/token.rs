//! `POST /{product}/token/` (docs/compatibility.md).

use axum::extract::State;
use axum::Json;
use momo_types::token::AccessToken;
use momo_types::{Environment, Product};
use secrecy::ExposeSecret;

use crate::config::Platform;
use crate::error::{ApiError, ApiResult};
use crate::extract::{BasicCredentials, CurrentProduct, MaybeBasic, TargetEnvironmentHeader};
use crate::metrics::TokenFailure;
use crate::state::AppState;
use crate::store::ApiUserRecord;
use std::sync::Arc;

/// The live API user whose key these Basic credentials carry, or the token endpoint's
/// `login_failed` (500 as the sandbox, or 401 with `--token-error spec`).
pub(crate) async fn check_basic(
    state: &AppState,
    credentials: Option<BasicCredentials>,
) -> ApiResult<Arc<ApiUserRecord>> {
    let login_failed = ApiError::LoginFailed(state.settings.token_error);
    let Some(credentials) = credentials else { return Err(login_failed) };
    let user = state
        .cache
        .api_user(state.store.as_ref(), &credentials.user)
        .await?
        .filter(|u| u.revoked_at.is_none())
        .filter(|u| u.key_hash.as_ref().is_some_and(|h| state.hasher.matches(h, credentials.key.expose_secret())));
    user.ok_or_else(|| {
        tracing::info!("credentials refused: unknown API user or wrong key");
        login_failed
    })
}

/// Exchange `Basic base64(apiUser:apiKey)` for an access token.
pub(crate) async fn create_access_token(
    State(state): State<AppState>,
    CurrentProduct(product): CurrentProduct,
    TargetEnvironmentHeader(requested_env): TargetEnvironmentHeader,
    MaybeBasic(credentials): MaybeBasic,
) -> ApiResult<Json<AccessToken>> {
    let missing = credentials.is_none();
    let issued = issue_access_token(&state, product, requested_env, credentials).await;
    match &issued {
        Ok(_) => state.metrics.token_issued(product),
        Err(e) => state.metrics.token_refused(product, token_failure(e, missing)),
    }
    issued
}

/// Why a token request failed, for the metrics.
fn token_failure(error: &ApiError, credentials_missing: bool) -> TokenFailure {
    match error {
        ApiError::LoginFailed(_) if credentials_missing => TokenFailure::MissingCredentials,
        ApiError::LoginFailed(_) => TokenFailure::InvalidCredentials,
        ApiError::TokenTargetEnvironment => TokenFailure::TargetEnvironment,
        ApiError::Unavailable(_) => TokenFailure::Unavailable,
        _ => TokenFailure::Internal,
    }
}

async fn issue_access_token(
    state: &AppState,
    product: Product,
    requested_env: Option<String>,
    credentials: Option<BasicCredentials>,
) -> ApiResult<Json<AccessToken>> {
    let momo_africa = state.settings.platform == Platform::MomoAfrica;
    // The new platform checks the header before the credentials (docs/configuration.md, `--platform`).
    let requested_env = requested_env.as_deref().and_then(Environment::lookup);
    if momo_africa && requested_env.is_none() {
        return Err(ApiError::TokenTargetEnvironment);
    }
    let user = check_basic(state, credentials).await?;
    if momo_africa && requested_env.is_some_and(|env| env.name != user.environment) {
        return Err(ApiError::TokenTargetEnvironment);
    }
    let ttl = state.settings.token_ttl.as_secs();
    let request = user.token_request(product, None);
    let access_token = state.tokens.issue(request, state.clock.now(), ttl)?;
    tracing::info!(product = %product, api_user = %user.id, "access token issued");
    Ok(Json(AccessToken { access_token, token_type: "access_token".into(), expires_in: ttl }))
}
