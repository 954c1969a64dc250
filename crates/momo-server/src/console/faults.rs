//! Fault rules: make the MoMo API fail, slow down or answer what you like, on purpose, and stop
//! it again; with a preset for the sandbox's best-known failure.

use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{explain, failure, on_form, pages, signed_in, ConsoleForm, CsrfForm, PREFIX};
use crate::error::ApiError;
use crate::faults::FaultSpec;
use crate::service::faults;
use crate::state::AppState;

pub(super) async fn list(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let session = match signed_in(&state, &headers).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    listed(&state, &session.csrf_token, None, StatusCode::OK).await
}

async fn listed(state: &AppState, csrf: &str, error: Option<&str>, status: StatusCode) -> Response {
    match faults::list(state).await {
        Ok(rules) => (status, pages::faults(&rules, csrf, error)).into_response(),
        Err(e) => failure(e, "a fault rule operation"),
    }
}

/// The add form, as text fields: empty means "not set".
#[derive(Debug, Deserialize)]
pub(super) struct AddForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    method: String,
    #[serde(default)]
    path: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    latency_ms: String,
    #[serde(default)]
    count: String,
    #[serde(default)]
    api_user: String,
}

impl ConsoleForm for AddForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

impl AddForm {
    /// The rule the form describes, or what is wrong with it.
    fn spec(&self) -> Result<FaultSpec, String> {
        fn optional(value: &str) -> Option<String> {
            Some(value.trim().to_owned()).filter(|v| !v.is_empty())
        }
        fn number<T: std::str::FromStr>(value: &str, what: &str) -> Result<Option<T>, String> {
            optional(value).map(|v| v.parse().map_err(|_| format!("{what} must be a whole number."))).transpose()
        }
        Ok(FaultSpec {
            method: optional(&self.method).map(|m| m.to_ascii_uppercase()),
            path: self.path.trim().to_owned(),
            api_user: optional(&self.api_user),
            status: number(&self.status, "Status")?,
            body: optional(&self.body),
            latency_ms: number(&self.latency_ms, "Delay")?.unwrap_or(0),
            probability: 1.0,
            count: number(&self.count, "Count")?,
        })
    }
}

pub(super) async fn add(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<AddForm>, FormRejection>,
) -> Response {
    on_form(&state, &headers, form, async |session, form| {
        let added = match form.spec() {
            Ok(spec) => faults::add(&state, spec).await,
            Err(message) => Err(ApiError::BadRequest(message)),
        };
        match added {
            Ok(_) => Redirect::to(&format!("{PREFIX}/faults")).into_response(),
            Err(e) => refused(&state, &session.csrf_token, e).await,
        }
    })
    .await
}

pub(super) async fn preset_apiuser_500(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Response {
    on_form(&state, &headers, form, async |session, _| match faults::add(&state, faults::sandbox_apiuser_500()).await {
        Ok(_) => Redirect::to(&format!("{PREFIX}/faults")).into_response(),
        Err(e) => refused(&state, &session.csrf_token, e).await,
    })
    .await
}

pub(super) async fn remove(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Response {
    on_form(&state, &headers, form, async |session, _| match faults::remove(&state, &id).await {
        Ok(()) => Redirect::to(&format!("{PREFIX}/faults")).into_response(),
        Err(e) => refused(&state, &session.csrf_token, e).await,
    })
    .await
}

async fn refused(state: &AppState, csrf: &str, error: ApiError) -> Response {
    let Some(message) = explain(&error, "There is no such rule: it was removed, or used up.") else {
        return failure(error, "a fault rule operation");
    };
    listed(state, csrf, Some(&message), StatusCode::BAD_REQUEST).await
}
