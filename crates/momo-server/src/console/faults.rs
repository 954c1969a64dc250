//! Fault rules: make the MoMo API fail, slow down or answer what you like, on purpose, and stop
//! it again; with a preset for the sandbox's best-known failure.

use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;

use super::{back_to_list, list_action, on_form, pages, refused, ConsoleForm, CsrfForm, ListPage};
use maud::Markup;

use crate::error::{ApiError, ApiResult};
use crate::faults::{FaultSpec, FaultView};
use crate::service::faults;
use crate::state::AppState;

/// The faults page.
pub(super) struct Rules;

impl ListPage for Rules {
    type Item = FaultView;
    const PATH: &'static str = "/faults";
    const WHAT: &'static str = "a fault rule operation";
    const NOT_FOUND: &'static str = "There is no such rule: it was removed, or used up.";

    async fn load(state: &AppState) -> ApiResult<Vec<FaultView>> {
        faults::list(state).await
    }

    fn render(items: &[FaultView], csrf: &str, error: Option<&str>) -> Markup {
        pages::faults(items, csrf, error)
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
            Ok(rule) => back_to_list::<Rules, _>(rule, &session.csrf_token),
            Err(e) => refused::<Rules>(&state, &session.csrf_token, e).await,
        }
    })
    .await
}

pub(super) async fn preset_apiuser_500(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Response {
    let add = faults::add(&state, faults::sandbox_apiuser_500());
    list_action::<Rules, _>(&state, &headers, form, add, back_to_list::<Rules, _>).await
}

pub(super) async fn remove(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Response {
    list_action::<Rules, _>(&state, &headers, form, faults::remove(&state, &id), back_to_list::<Rules, _>).await
}
