//! Subscription keys, the developer portal's job: list, add, regenerate, revoke. A new key's
//! value is shown once, in the answer to the form that made it, and never again: the server
//! keeps only its hash, and the session's CSRF token is renewed, so reloading that answer
//! repeats nothing and shows nothing.

use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use momo_types::Product;
use serde::Deserialize;

use super::{back_to_list, list_action, on_form, pages, refused, ConsoleForm, CsrfForm, ListPage};
use maud::Markup;

use crate::error::ApiResult;
use crate::service::credentials;
use crate::state::AppState;
use crate::store::SubscriptionKeyRecord;

/// The keys page.
pub(super) struct Keys;

impl ListPage for Keys {
    type Item = SubscriptionKeyRecord;
    const PATH: &'static str = "/keys";
    const WHAT: &'static str = "a subscription key operation";
    const NOT_FOUND: &'static str = "There is no such subscription key, or it is revoked.";
    const ALREADY_EXISTS: &'static str = "A subscription key with that value exists already.";

    async fn load(state: &AppState) -> ApiResult<Vec<SubscriptionKeyRecord>> {
        credentials::subscription_keys(state).await
    }

    fn render(keys: &[SubscriptionKeyRecord], csrf: &str, error: Option<&str>) -> Markup {
        pages::keys(keys, csrf, error)
    }
}

/// The add form: a checkbox per product (none ticked: all three) and an optional value.
#[derive(Deserialize)]
pub(super) struct AddForm {
    #[serde(default)]
    csrf: String,
    collection: Option<String>,
    disbursement: Option<String>,
    remittance: Option<String>,
    #[serde(default)]
    value: String,
}

impl ConsoleForm for AddForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

impl std::fmt::Debug for AddForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AddForm { .. }")
    }
}

pub(super) async fn add(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<AddForm>, FormRejection>,
) -> Response {
    on_form(&state, &headers, form, async |session, form| {
        let products: Vec<Product> = [
            (Product::Collection, &form.collection),
            (Product::Disbursement, &form.disbursement),
            (Product::Remittance, &form.remittance),
        ]
        .into_iter()
        .filter_map(|(product, ticked)| ticked.is_some().then_some(product))
        .collect();
        let value = Some(form.value.trim().to_owned()).filter(|v| !v.is_empty());
        match credentials::create_subscription_key(&state, &products, value).await {
            Ok((record, key)) => pages::new_key(&record, &key, &session.csrf_token).into_response(),
            Err(e) => refused::<Keys>(&state, &session.csrf_token, e).await,
        }
    })
    .await
}

pub(super) async fn regenerate(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Response {
    list_action::<Keys, _>(
        &state,
        &headers,
        form,
        credentials::regenerate_subscription_key(&state, &id),
        |(record, key), csrf| pages::new_key(&record, &key, csrf).into_response(),
    )
    .await
}

pub(super) async fn revoke(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Response {
    let revoke = credentials::revoke_subscription_key(&state, &id);
    list_action::<Keys, _>(&state, &headers, form, revoke, back_to_list::<Keys, _>).await
}
