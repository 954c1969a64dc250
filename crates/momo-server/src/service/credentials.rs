//! Credentials: what MTN's developer portal (subscription keys) and Partner Portal (API users)
//! do. The operator API and the console present these operations; neither implements them.

use momo_types::admin::{CreateUser, CredentialStyle, UserCredentials, UserOrigin};
use momo_types::{Environment, Product};

use crate::config::Platform;
use crate::domain::credentials::{
    check_subscription_key_value, generate_credential_token, generate_key, generate_momo_africa_user_id, hint,
    SecretHasher,
};
use crate::domain::hosts::check_callback_host;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::{ApiUserRecord, Store, SubscriptionKeyRecord};

/// Every API user, sandbox-provisioned and operator-created.
pub(crate) async fn users(state: &AppState) -> ApiResult<Vec<ApiUserRecord>> {
    Ok(state.store.api_users().await?)
}

pub(crate) async fn user(state: &AppState, id: &str) -> ApiResult<ApiUserRecord> {
    state.store.api_user(id).await?.ok_or(ApiError::ResourceNotFound)
}

/// Create an API user and its key, as the Partner Portal does: the key is returned this once.
pub(crate) async fn create_user(state: &AppState, body: &CreateUser) -> ApiResult<UserCredentials> {
    let environment = Environment::lookup(&body.environment).ok_or_else(|| {
        let known: Vec<_> = momo_types::ENVIRONMENTS.iter().map(|e| e.name).collect();
        ApiError::BadRequest(format!("Unknown environment {:?}; known: {}.", body.environment, known.join(", ")))
    })?;
    check_callback_host(&body.provider_callback_host, &state.callback_targets).map_err(ApiError::BadRequest)?;
    if let Some(url) = &body.payment_server_url {
        let parsed = url::Url::parse(url).ok().filter(|u| matches!(u.scheme(), "http" | "https") && u.has_host());
        let Some(parsed) = parsed else {
            return Err(ApiError::BadRequest("paymentServerUrl must be an absolute http(s) URL.".into()));
        };
        if crate::domain::validation::has_user_info(&parsed) {
            return Err(ApiError::BadRequest("paymentServerUrl must not carry a user name or password.".into()));
        }
        if let Some(host) = parsed.host() {
            state
                .callback_targets
                .check_host(&host)
                .map_err(|why| ApiError::BadRequest(format!("paymentServerUrl: {why}.")))?;
        }
    }
    let (id, key) =
        match body.credential_style {
            CredentialStyle::ApiKey => (uuid::Uuid::new_v4().to_string(), generate_key()),
            CredentialStyle::MomoAfrica if state.settings.platform == Platform::MomoAfrica => {
                (generate_momo_africa_user_id(), generate_credential_token())
            }
            CredentialStyle::MomoAfrica => return Err(ApiError::BadRequest(
                "credentialStyle momo-africa needs the server's platform to be momo-africa (--platform momo-africa)."
                    .into(),
            )),
        };
    let user = ApiUserRecord {
        id: id.clone(),
        environment: environment.name.to_owned(),
        provider_callback_host: body.provider_callback_host.trim().to_owned(),
        payment_server_url: body.payment_server_url.clone(),
        credential_style: body.credential_style,
        origin: UserOrigin::Operator,
        key_hash: Some(state.hasher.hash(&key)),
        key_version: 1,
        created_at: state.clock.now_ms(),
        revoked_at: None,
    };
    state.store.insert_api_user(&user).await?;
    state.cache.clear();
    tracing::info!(api_user = %id, environment = environment.name, "operator created an API user");
    let credentials = UserCredentials {
        api_user: id,
        api_key: key,
        environment: environment.name.to_owned(),
        credential_style: body.credential_style,
    };
    Ok(credentials)
}

/// Issue a new key; the old key and its tokens stop working at once.
pub(crate) async fn regenerate_user_key(state: &AppState, id: &str) -> ApiResult<UserCredentials> {
    let user = state.store.api_user(id).await?.ok_or(ApiError::ResourceNotFound)?;
    if user.revoked_at.is_some() {
        return Err(ApiError::OperatorConflict("The API user is revoked; create a new one.".into()));
    }
    let key = match user.credential_style {
        CredentialStyle::ApiKey => generate_key(),
        CredentialStyle::MomoAfrica => generate_credential_token(),
    };
    let updated = state
        .store
        .set_api_key(id, &state.hasher.hash(&key))
        .await?
        .ok_or_else(|| ApiError::OperatorConflict("The API user is revoked; create a new one.".into()))?;
    state.cache.clear();
    tracing::info!(api_user = %id, key_version = updated.key_version, "operator replaced an API key");
    let credentials = UserCredentials {
        api_user: updated.id,
        api_key: key,
        environment: updated.environment,
        credential_style: updated.credential_style,
    };
    Ok(credentials)
}

/// Revoke a user: its tokens stop working at once and it can no longer get new ones.
pub(crate) async fn revoke_user(state: &AppState, id: &str) -> ApiResult<ApiUserRecord> {
    let user = state.store.revoke_api_user(id, state.clock.now_ms()).await?.ok_or(ApiError::ResourceNotFound)?;
    state.cache.clear();
    tracing::info!(api_user = %id, "operator revoked an API user");
    Ok(user)
}

/// The secret an API user's callbacks are signed with (docs/callbacks.md).
pub(crate) async fn callback_secret(state: &AppState, id: &str) -> ApiResult<String> {
    let user = user(state, id).await?;
    Ok(crate::callbacks::signing_secret(&state.callback_root, &user.id))
}

pub(crate) async fn subscription_keys(state: &AppState) -> ApiResult<Vec<SubscriptionKeyRecord>> {
    Ok(state.store.subscription_keys().await?)
}

/// Add a subscription key for `products` (all when empty), generated or with a given value; the
/// value is returned this once.
pub(crate) async fn create_subscription_key(
    state: &AppState,
    products: &[Product],
    value: Option<String>,
) -> ApiResult<(SubscriptionKeyRecord, String)> {
    let products = if products.is_empty() { Product::ALL.to_vec() } else { products.to_vec() };
    let created =
        add_subscription_key(state.store.as_ref(), &state.hasher, &products, "added", value, state.clock.now_ms())
            .await?;
    state.cache.clear();
    Ok(created)
}

/// Give a subscription key a new value; the old value stops working at once.
pub(crate) async fn regenerate_subscription_key(
    state: &AppState,
    id: &str,
) -> ApiResult<(SubscriptionKeyRecord, String)> {
    let key = generate_key();
    let record = state
        .store
        .replace_subscription_key(id, &state.hasher.hash(&key), &hint(&key))
        .await?
        .ok_or(ApiError::ResourceNotFound)?;
    state.cache.clear();
    tracing::info!(subscription_key = %id, "operator regenerated a subscription key");
    Ok((record, key))
}

pub(crate) async fn revoke_subscription_key(state: &AppState, id: &str) -> ApiResult<SubscriptionKeyRecord> {
    let record =
        state.store.revoke_subscription_key(id, state.clock.now_ms()).await?.ok_or(ApiError::ResourceNotFound)?;
    state.cache.clear();
    tracing::info!(subscription_key = %id, "operator revoked a subscription key");
    Ok(record)
}

/// Store a new subscription key (generated unless `value` is given) and return it with its value.
/// A value that exists already is a 409.
pub(crate) async fn add_subscription_key(
    store: &dyn Store,
    hasher: &SecretHasher,
    products: &[Product],
    label: &str,
    value: Option<String>,
    now: i64,
) -> ApiResult<(SubscriptionKeyRecord, String)> {
    let key = match value {
        Some(value) => {
            check_subscription_key_value(&value).map_err(|e| ApiError::BadRequest(format!("{e}.")))?;
            value
        }
        None => generate_key(),
    };
    let record = SubscriptionKeyRecord {
        id: uuid::Uuid::new_v4().to_string(),
        key_hash: hasher.hash(&key),
        hint: hint(&key),
        products: products.to_vec(),
        label: label.to_owned(),
        created_at: now,
        revoked_at: None,
    };
    if !store.insert_subscription_key(&record).await? {
        return Err(ApiError::ResourceAlreadyExist);
    }
    Ok((record, key))
}
