//! The operator API, under [`PREFIX`]: what MTN's Partner Portal does for production API users,
//! and the management of subscription keys. JSON over HTTP, guarded by the operator token
//! (`Authorization: Bearer …`). Documented in `docs/operator-api.md`. The handlers here only
//! present the operations of [`crate::service`], which the console presents too.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use momo_types::admin::{
    CreateSubscriptionKey, CreateUser, SubscriptionKey, SubscriptionKeyCreated, User, UserCredentials,
};

use crate::domain::clock::rfc3339;
use crate::error::ApiResult;
use crate::extract::{MomoJson, Operator, PathParam};
use crate::service::credentials;
use crate::state::AppState;
use crate::store::{ApiUserRecord, SubscriptionKeyRecord};

/// Where the operator API lives: a prefix no MoMo path can start with.
pub(crate) const PREFIX: &str = momo_types::admin::PREFIX;

mod payments;

pub(crate) fn router() -> Router<AppState> {
    payments::router()
        .route("/users", get(list_users).post(create_user))
        .route("/users/{id}", get(get_user).delete(revoke_user))
        .route("/users/{id}/key", post(regenerate_user_key))
        .route("/subscription-keys", get(list_subscription_keys).post(create_subscription_key))
        .route("/subscription-keys/{id}", axum::routing::delete(revoke_subscription_key))
        .route("/subscription-keys/{id}/regenerate", post(regenerate_subscription_key))
}

fn user_view(user: &ApiUserRecord) -> User {
    User {
        api_user: user.id.clone(),
        environment: user.environment.clone(),
        provider_callback_host: user.provider_callback_host.clone(),
        payment_server_url: user.payment_server_url.clone(),
        credential_style: user.credential_style,
        origin: user.origin,
        has_key: user.key_hash.is_some(),
        key_version: user.key_version,
        created_at: rfc3339(user.created_at),
        revoked_at: user.revoked_at.map(rfc3339),
    }
}

fn key_view(key: &SubscriptionKeyRecord) -> SubscriptionKey {
    SubscriptionKey {
        id: key.id.clone(),
        products: key.products.clone(),
        label: key.label.clone(),
        hint: key.hint.clone(),
        created_at: rfc3339(key.created_at),
        revoked_at: key.revoked_at.map(rfc3339),
    }
}

async fn list_users(State(state): State<AppState>, _: Operator) -> ApiResult<Json<Vec<User>>> {
    Ok(Json(credentials::users(&state).await?.iter().map(user_view).collect()))
}

async fn get_user(State(state): State<AppState>, _: Operator, PathParam(id): PathParam) -> ApiResult<Json<User>> {
    Ok(Json(user_view(&credentials::user(&state, &id).await?)))
}

/// Create an API user and its key, as the Partner Portal does: the key is shown once.
async fn create_user(
    State(state): State<AppState>,
    _: Operator,
    MomoJson(body): MomoJson<CreateUser>,
) -> ApiResult<(StatusCode, Json<UserCredentials>)> {
    Ok((StatusCode::CREATED, Json(credentials::create_user(&state, &body).await?)))
}

/// Issue a new key; the old key and its tokens stop working at once.
async fn regenerate_user_key(
    State(state): State<AppState>,
    _: Operator,
    PathParam(id): PathParam,
) -> ApiResult<(StatusCode, Json<UserCredentials>)> {
    Ok((StatusCode::CREATED, Json(credentials::regenerate_user_key(&state, &id).await?)))
}

/// Revoke a user: its tokens stop working at once and it can no longer get new ones.
async fn revoke_user(State(state): State<AppState>, _: Operator, PathParam(id): PathParam) -> ApiResult<Json<User>> {
    Ok(Json(user_view(&credentials::revoke_user(&state, &id).await?)))
}

async fn list_subscription_keys(State(state): State<AppState>, _: Operator) -> ApiResult<Json<Vec<SubscriptionKey>>> {
    Ok(Json(credentials::subscription_keys(&state).await?.iter().map(key_view).collect()))
}

/// Add a subscription key, generated or with a given value.
async fn create_subscription_key(
    State(state): State<AppState>,
    _: Operator,
    MomoJson(body): MomoJson<CreateSubscriptionKey>,
) -> ApiResult<(StatusCode, Json<SubscriptionKeyCreated>)> {
    let (record, key) = credentials::create_subscription_key(&state, &body.products, body.key.clone()).await?;
    Ok((StatusCode::CREATED, Json(SubscriptionKeyCreated { key_info: key_view(&record), key })))
}

/// Give a subscription key a new value; the old value stops working at once.
async fn regenerate_subscription_key(
    State(state): State<AppState>,
    _: Operator,
    PathParam(id): PathParam,
) -> ApiResult<(StatusCode, Json<SubscriptionKeyCreated>)> {
    let (record, key) = credentials::regenerate_subscription_key(&state, &id).await?;
    Ok((StatusCode::CREATED, Json(SubscriptionKeyCreated { key_info: key_view(&record), key })))
}

async fn revoke_subscription_key(
    State(state): State<AppState>,
    _: Operator,
    PathParam(id): PathParam,
) -> ApiResult<Json<SubscriptionKey>> {
    Ok(Json(key_view(&credentials::revoke_subscription_key(&state, &id).await?)))
}
