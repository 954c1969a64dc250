//! Sandbox provisioning (docs/compatibility.md): `POST /v1_0/apiuser`, `GET /v1_0/apiuser/{id}`,
//! `POST /v1_0/apiuser/{id}/apikey`. It creates sandbox users only; users of production
//! environments come from the operator API, as from MTN's Partner Portal.

use axum::extract::State;
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::Json;
use momo_types::admin::{CredentialStyle, UserOrigin};
use momo_types::provisioning::{ApiKeyCreated, ApiUserInfo, CreateApiUser};

use crate::domain::credentials::generate_key;
use crate::domain::hosts::check_callback_host;
use crate::error::{ApiError, ApiResult, JSON_UTF8};
use crate::extract::{parse_reference_id, MomoJson, PathParam, ReferenceIdHeader};
use crate::state::AppState;
use crate::store::ApiUserRecord;

/// `POST /v1_0/apiuser`: 201 with an empty body; 409 if the id is taken.
pub(crate) async fn create_api_user(
    State(state): State<AppState>,
    ReferenceIdHeader(id): ReferenceIdHeader,
    MomoJson(body): MomoJson<CreateApiUser>,
) -> ApiResult<StatusCode> {
    check_callback_host(&body.provider_callback_host, &state.callback_targets).map_err(ApiError::BadRequest)?;
    let user = ApiUserRecord {
        id: id.to_string(),
        environment: "sandbox".into(),
        provider_callback_host: body.provider_callback_host.trim().to_owned(),
        payment_server_url: None,
        credential_style: CredentialStyle::ApiKey,
        origin: UserOrigin::SandboxProvisioning,
        key_hash: None,
        key_version: 0,
        created_at: state.clock.now_ms(),
        revoked_at: None,
    };
    state.store.insert_api_user(&user).await?;
    state.cache.clear();
    tracing::info!(api_user = %id, "sandbox API user created");
    Ok(StatusCode::CREATED)
}

/// `GET /v1_0/apiuser/{id}`: the callback host and `"targetEnvironment":"sandbox"`.
pub(crate) async fn get_api_user(
    State(state): State<AppState>,
    PathParam(id): PathParam,
) -> ApiResult<Json<ApiUserInfo>> {
    let user = sandbox_user(&state, &id).await?;
    Ok(Json(ApiUserInfo {
        provider_callback_host: user.provider_callback_host.clone(),
        target_environment: user.environment.clone(),
    }))
}

/// `POST /v1_0/apiuser/{id}/apikey`: a new key, which replaces the previous one (and so
/// invalidates the tokens issued under it). `Content-Type: application/json;charset=utf-8`, as
/// in MTN's recorded answer.
pub(crate) async fn create_api_key(
    State(state): State<AppState>,
    PathParam(id): PathParam,
) -> ApiResult<(StatusCode, [(HeaderName, HeaderValue); 1], Json<ApiKeyCreated>)> {
    let user = sandbox_user(&state, &id).await?;
    let key = generate_key();
    state.store.set_api_key(&user.id, &state.hasher.hash(&key)).await?.ok_or(ApiError::ResourceNotFound)?;
    state.cache.clear();
    tracing::info!(api_user = %user.id, "sandbox API key issued");
    Ok((StatusCode::CREATED, [(header::CONTENT_TYPE, JSON_UTF8)], Json(ApiKeyCreated { api_key: key })))
}

/// A live sandbox-provisioned user, or 404 ("reference id not found or closed in sandbox").
async fn sandbox_user(state: &AppState, id: &str) -> ApiResult<std::sync::Arc<ApiUserRecord>> {
    let id = parse_reference_id(id, "The API user id")?;
    state
        .cache
        .api_user(state.store.as_ref(), &id.to_string())
        .await?
        .filter(|u| u.origin == UserOrigin::SandboxProvisioning && u.revoked_at.is_none())
        .ok_or(ApiError::ResourceNotFound)
}
