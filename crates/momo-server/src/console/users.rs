//! API users, the Partner Portal's job: list them (sandbox-provisioned and operator-created),
//! create a production-like one (its key shown once), give one a new key, revoke one (after a
//! confirmation), and show a user's callback signing secret when asked.

use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use momo_types::admin::{CreateUser, CredentialStyle};
use serde::Deserialize;

use super::{back_to_list, list_action, on_form, pages, refused, signed_in, ConsoleForm, CsrfForm, ListPage};
use maud::Markup;

use crate::error::ApiResult;
use crate::service::credentials;
use crate::state::AppState;
use crate::store::ApiUserRecord;

/// The users page.
pub(super) struct Users;

impl ListPage for Users {
    type Item = ApiUserRecord;
    const PATH: &'static str = "/users";
    const WHAT: &'static str = "an API user operation";
    const NOT_FOUND: &'static str = "There is no such API user.";

    async fn load(state: &AppState) -> ApiResult<Vec<ApiUserRecord>> {
        credentials::users(state).await
    }

    fn render(items: &[ApiUserRecord], csrf: &str, error: Option<&str>) -> Markup {
        pages::users(items, csrf, error)
    }
}

/// The Partner Portal's form: environment, callback host and Payment Server URL.
#[derive(Debug, Deserialize)]
pub(super) struct CreateForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    environment: String,
    #[serde(default)]
    callback_host: String,
    #[serde(default)]
    payment_server_url: String,
}

impl ConsoleForm for CreateForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

pub(super) async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<CreateForm>, FormRejection>,
) -> Response {
    on_form(&state, &headers, form, async |session, form| {
        let request = CreateUser {
            environment: form.environment.trim().to_owned(),
            provider_callback_host: form.callback_host.trim().to_owned(),
            payment_server_url: Some(form.payment_server_url.trim().to_owned()).filter(|url| !url.is_empty()),
            credential_style: CredentialStyle::ApiKey,
        };
        match credentials::create_user(&state, &request).await {
            Ok(created) => pages::new_user_key(&created, &session.csrf_token, true).into_response(),
            Err(e) => refused::<Users>(&state, &session.csrf_token, e).await,
        }
    })
    .await
}

pub(super) async fn regenerate_key(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Response {
    list_action::<Users, _>(&state, &headers, form, credentials::regenerate_user_key(&state, &id), |created, csrf| {
        pages::new_user_key(&created, csrf, false).into_response()
    })
    .await
}

/// "Revoke this user?": a page of its own, so that a revocation is never one click away.
pub(super) async fn confirm_revoke(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let session = match signed_in(&state, &headers).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    match credentials::user(&state, &id).await {
        Ok(user) => pages::confirm_revoke(&user, &session.csrf_token).into_response(),
        Err(e) => refused::<Users>(&state, &session.csrf_token, e).await,
    }
}

pub(super) async fn revoke(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Response {
    let revoke = credentials::revoke_user(&state, &id);
    list_action::<Users, _>(&state, &headers, form, revoke, back_to_list::<Users, _>).await
}

/// The user's callback signing secret, on request (a form, so that it is never in a URL or a
/// cached page).
pub(super) async fn callback_secret(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Response {
    list_action::<Users, _>(&state, &headers, form, credentials::callback_secret(&state, &id), |secret, csrf| {
        pages::callback_secret(&id, &secret, csrf).into_response()
    })
    .await
}
