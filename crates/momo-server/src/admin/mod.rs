//! The operator API, under [`PREFIX`]: what MTN's Partner Portal does for production API users,
//! and the management of subscription keys. JSON over HTTP, guarded by the operator token
//! (`Authorization: Bearer …`). Documented in `docs/operator-api.md`. The handlers here only
//! present the operations of [`crate::service`], which the console presents too.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{on, MethodRouter};
use axum::{Json, Router};
use momo_types::admin::{
    AdminOperation, CreateSubscriptionKey, CreateUser, SubscriptionKey, SubscriptionKeyCreated, User, UserCredentials,
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

/// Every call of momo-types' table ([`AdminOperation::ALL`]), below [`PREFIX`].
pub(crate) fn router() -> Router<AppState> {
    AdminOperation::ALL
        .into_iter()
        .filter_map(|op| Some((op.route(), handler(op)?)))
        .fold(Router::new(), |router, (route, handler)| router.route(route, handler))
}

/// The handler of a call, on its method (`None` only for a method axum cannot route, which the
/// table does not have: a test checks).
fn handler(op: AdminOperation) -> Option<MethodRouter<AppState>> {
    let filter = crate::extract::method_filter(op.method())?;
    use AdminOperation as A;
    Some(match op {
        A::ListUsers => on(filter, list_users),
        A::CreateUser => on(filter, create_user),
        A::GetUser => on(filter, get_user),
        A::RevokeUser => on(filter, revoke_user),
        A::RegenerateUserKey => on(filter, regenerate_user_key),
        A::GetCallbackSecret => on(filter, payments::callback_secret),
        A::SetUserBalance => on(filter, payments::set_user_balance),
        A::ListSubscriptionKeys => on(filter, list_subscription_keys),
        A::CreateSubscriptionKey => on(filter, create_subscription_key),
        A::RevokeSubscriptionKey => on(filter, revoke_subscription_key),
        A::RegenerateSubscriptionKey => on(filter, regenerate_subscription_key),
        A::ListTransactions => on(filter, payments::list_transactions),
        A::GetTransaction => on(filter, payments::get_transaction),
        A::ApproveTransaction => on(filter, payments::approve),
        A::RejectTransaction => on(filter, payments::reject),
        A::ForceOutcome => on(filter, payments::force),
        A::ListDeliveries => on(filter, payments::list_deliveries),
        A::GetDelivery => on(filter, payments::get_delivery),
        A::Redeliver => on(filter, payments::redeliver),
        A::ListAccounts => on(filter, payments::list_accounts),
        A::SetWalletBalance => on(filter, payments::set_wallet_balance),
        A::ListFaults => on(filter, payments::list_faults),
        A::AddFault => on(filter, payments::add_fault),
        A::ClearFaults => on(filter, payments::clear_faults),
        A::RemoveFault => on(filter, payments::remove_fault),
        A::Reset => on(filter, payments::reset),
        A::OpenApiDocument => on(filter, openapi_document),
    })
}

/// The operator API's OpenAPI document. No token: it describes the API and holds nothing secret
/// (docs/openapi.md).
async fn openapi_document() -> impl axum::response::IntoResponse {
    ([(axum::http::header::CONTENT_TYPE, "application/json")], momo_types::openapi::operator_api_json())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operator_call_has_a_handler() {
        for op in AdminOperation::ALL {
            assert!(handler(op).is_some(), "{op:?}");
        }
    }
}
