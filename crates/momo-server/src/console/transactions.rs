//! Transactions: every transaction, newest first, filtered by product, kind, status,
//! environment, API user and reference id, a page at a time from a cursor (no OFFSET: it stays
//! fast with a million rows, docs/performance.md); a transaction's page with the request as
//! received, the status body as the MoMo API answers it, its ledger postings and its callbacks
//! with every attempt; and what an operator does about it: approve or reject for the payer, force
//! an outcome, send a callback again. Each action is a service function the operator API calls
//! too.

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use momo_types::payments::TransactionStatus;
use momo_types::{Amount, Environment, ErrorCode, Product};
use serde::Deserialize;

use super::pages::{self, amount, delivery_state, layout, live, segment, table, time, Live, Page};
use super::{failure, on_form, signed_in, ConsoleForm, CsrfForm, PREFIX};
use crate::domain::transactions::Kind;
use crate::error::ApiError;
use crate::service::payments::{self, Decision};
use crate::state::AppState;
use crate::store::{AttemptRecord, DeliveryRecord, PostingRecord, TransactionRecord, TxCursor, TxFilter, TxKey};

/// How many transactions a page of the list shows.
const PAGE: i64 = 50;

/// The list's query string: the filters (empty: any) and where the page starts.
#[derive(Debug, Default, Deserialize)]
pub(super) struct ListQuery {
    #[serde(default)]
    product: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    environment: String,
    #[serde(default)]
    api_user: String,
    #[serde(default)]
    reference: String,
    #[serde(default)]
    before: String,
}

impl ListQuery {
    /// The typed filter and cursor, or what is wrong with them.
    fn parse(&self) -> Result<(TxFilter, Option<TxCursor>), String> {
        let set = |value: &str| Some(value.trim().to_owned()).filter(|v| !v.is_empty());
        let product = match set(&self.product) {
            None => None,
            Some(p) => Some(p.parse::<Product>().map_err(|_| format!("{p:?} is not a product."))?),
        };
        let kind = match set(&self.kind) {
            None => None,
            Some(k) => Some(Kind::parse(&k).ok_or_else(|| format!("{k:?} is not a kind of transaction."))?),
        };
        let status = match set(&self.status) {
            None => None,
            Some(s) => Some(TransactionStatus::parse(&s).ok_or_else(|| format!("{s:?} is not a status."))?),
        };
        let environment = match set(&self.environment) {
            None => None,
            Some(e) => Some(Environment::lookup(&e).ok_or_else(|| format!("{e:?} is not an environment."))?),
        };
        let before = match set(&self.before) {
            None => None,
            Some(_) => Some(
                TxCursor::parse(self.before.trim())
                    .ok_or("This page's link is damaged: start again from the newest transactions.")?,
            ),
        };
        let filter = TxFilter {
            product,
            kind,
            status,
            environment,
            api_user: set(&self.api_user),
            reference_id: set(&self.reference).map(|r| r.to_ascii_lowercase()),
        };
        Ok((filter, before))
    }

    /// This query's filters (not its cursor) as a query string, `&`-terminated when not empty.
    fn filters(&self) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (name, value) in [
            ("product", &self.product),
            ("kind", &self.kind),
            ("status", &self.status),
            ("environment", &self.environment),
            ("api_user", &self.api_user),
            ("reference", &self.reference),
        ] {
            if !value.trim().is_empty() {
                query.append_pair(name, value.trim());
            }
        }
        let query = query.finish();
        if query.is_empty() {
            query
        } else {
            query + "&"
        }
    }
}

pub(super) async fn list(
    State(state): State<AppState>,
    query: Result<Query<ListQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Response {
    let session = match signed_in(&state, &headers).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    let Ok(Query(query)) = query else { return pages::bad_form() };
    let (filter, before) = match query.parse() {
        Ok(parsed) => parsed,
        Err(message) => {
            let page = list_page(&query, &[], None, Some(&message), &session.csrf_token);
            return (StatusCode::BAD_REQUEST, page).into_response();
        }
    };
    match payments::page(&state, &filter, before.as_ref(), PAGE + 1).await {
        Ok(mut txs) => {
            let older = (txs.len() > usize::try_from(PAGE).unwrap_or(usize::MAX)).then(|| {
                txs.truncate(txs.len() - 1);
                txs.last().map(TxCursor::after)
            });
            list_page(&query, &txs, older.flatten().as_ref(), None, &session.csrf_token).into_response()
        }
        Err(e) => failure(e, "listing transactions"),
    }
}

/// The transaction with this path's key; `None` if the path names no product or kind.
pub(super) fn key_of((product, kind, reference): &(String, String, String)) -> Option<TxKey> {
    Some(TxKey {
        product: product.parse().ok()?,
        kind: Kind::parse(kind)?,
        reference_id: reference.to_ascii_lowercase(),
    })
}

fn detail_url(key: &TxKey) -> String {
    format!("{PREFIX}/transactions/{}/{}/{}", key.product, key.kind.as_str(), segment(&key.reference_id))
}

pub(super) async fn detail(
    State(state): State<AppState>,
    Path(path): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    match signed_in(&state, &headers).await {
        Ok(session) => shown(&state, key_of(&path), &session.csrf_token, None).await,
        Err(response) => response,
    }
}

/// A transaction's page, with why an action was refused when one was (and the status that says so).
async fn shown(state: &AppState, key: Option<TxKey>, csrf: &str, refusal: Option<(StatusCode, &str)>) -> Response {
    let Some(key) = key else { return not_found(csrf) };
    let found = async {
        let tx = payments::at(state, &key).await?;
        let status_body = payments::status_body(state, &tx).await?;
        let postings = payments::postings(state, &key).await?;
        let deliveries = crate::service::callbacks::of_transaction(state, &key).await?;
        Ok::<_, ApiError>(Detail { tx, status_body, postings, deliveries })
    };
    match found.await {
        Ok(detail) => {
            let status = refusal.map_or(StatusCode::OK, |(status, _)| status);
            (status, detail_page(&detail, refusal.map(|(_, message)| message), csrf)).into_response()
        }
        Err(ApiError::ResourceNotFound) => not_found(csrf),
        Err(e) => failure(e, "reading a transaction"),
    }
}

fn not_found(csrf: &str) -> Response {
    let page = layout(
        "Transaction",
        Some((Page::Transactions, csrf)),
        html! {
            h1 { "No such transaction" }
            p { a href={ (PREFIX) "/transactions" } { "Back to the transactions" } }
        },
    );
    (StatusCode::NOT_FOUND, page).into_response()
}

/// After an action on a transaction: its page again, or why the action was refused.
async fn acted(
    state: &AppState,
    key: &TxKey,
    csrf: &str,
    result: crate::error::ApiResult<TransactionRecord>,
) -> Response {
    match result {
        Ok(_) => Redirect::to(&detail_url(key)).into_response(),
        Err(e) => refused(state, Some(key.clone()), csrf, e).await,
    }
}

/// An action was refused: the transaction's page with why, for what the operator can act on.
async fn refused(state: &AppState, key: Option<TxKey>, csrf: &str, error: ApiError) -> Response {
    match &error {
        ApiError::OperatorConflict(message) => shown(state, key, csrf, Some((StatusCode::CONFLICT, message))).await,
        ApiError::BadRequest(message) => shown(state, key, csrf, Some((StatusCode::BAD_REQUEST, message))).await,
        ApiError::ResourceNotFound => not_found(csrf),
        _ => failure(error, "a transaction action"),
    }
}

async fn decision(
    state: AppState,
    path: (String, String, String),
    headers: HeaderMap,
    form: Result<Form<CsrfForm>, FormRejection>,
    decision: Decision,
) -> Response {
    on_form(&state, &headers, form, async |session, _| {
        let Some(key) = key_of(&path) else { return not_found(&session.csrf_token) };
        acted(&state, &key, &session.csrf_token, payments::decide_at(&state, &key, decision).await).await
    })
    .await
}

pub(super) async fn approve(
    State(state): State<AppState>,
    Path(path): Path<(String, String, String)>,
    headers: HeaderMap,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Response {
    decision(state, path, headers, form, Decision::Approve).await
}

pub(super) async fn reject(
    State(state): State<AppState>,
    Path(path): Path<(String, String, String)>,
    headers: HeaderMap,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Response {
    decision(state, path, headers, form, Decision::Reject).await
}

/// The force form: the outcome, and the reason when it is FAILED.
#[derive(Debug, Deserialize)]
pub(super) struct ForceForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    reason: String,
}

impl ConsoleForm for ForceForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

pub(super) async fn force(
    State(state): State<AppState>,
    Path(path): Path<(String, String, String)>,
    headers: HeaderMap,
    form: Result<Form<ForceForm>, FormRejection>,
) -> Response {
    on_form(&state, &headers, form, async |session, form| {
        let Some(key) = key_of(&path) else { return not_found(&session.csrf_token) };
        let outcome = match TransactionStatus::parse(&form.status) {
            Some(status) => payments::forced_outcome(status, Some(form.reason).filter(|r| !r.is_empty())),
            None => Err(ApiError::BadRequest("Choose SUCCESSFUL or FAILED.".into())),
        };
        let result = match outcome {
            Ok(outcome) => payments::force_at(&state, &key, outcome).await,
            Err(e) => Err(e),
        };
        acted(&state, &key, &session.csrf_token, result).await
    })
    .await
}

/// Send a callback again; then the page of its transaction.
pub(super) async fn redeliver(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Response {
    on_form(&state, &headers, form, async |session, _| match crate::service::callbacks::redeliver(&state, &id).await {
        Ok(delivery) => Redirect::to(&detail_url(&delivery.key)).into_response(),
        Err(ApiError::ResourceNotFound) => {
            (StatusCode::NOT_FOUND, super::pages::callbacks_not_found(&session.csrf_token)).into_response()
        }
        Err(e) => match state.store.delivery(&id).await {
            // Refused for a reason the operator can act on: the transaction's page says why.
            Ok(Some(delivery)) => refused(&state, Some(delivery.key), &session.csrf_token, e).await,
            _ => failure(e, "redelivering a callback"),
        },
    })
    .await
}

fn posting_amount(tx: &TransactionRecord, posting: &PostingRecord) -> String {
    let decimals = momo_types::ENVIRONMENTS
        .iter()
        .find(|e| e.currency == posting.currency)
        .or_else(|| Environment::lookup(&tx.environment))
        .map_or(2, |e| e.currency_decimals);
    format!("{} {}", Amount::from_minor_units(posting.amount_minor, decimals), posting.currency)
}

fn party(tx: &TransactionRecord) -> Markup {
    html! {
        @if let Some(party) = &tx.party { small { (party.party_id_type.as_str()) } " " span.party { (party.party_id) } }
        @else { "—" }
    }
}

/// A long id, its first characters shown and the whole in its title (the transaction's page and
/// the filter have it whole).
fn short_id(id: &str) -> Markup {
    let start: String = id.chars().take(8).collect();
    html! { code title=(id) { (start) @if start.len() < id.len() { "…" } } }
}

/// A transaction's status as a badge: failed ones stand out.
fn status_badge(status: &TransactionStatus) -> Markup {
    html! { span class={ "badge " (status.as_str().to_ascii_lowercase()) } { (status.as_str()) } }
}

/// A select of `options` (value, label) with "any" first and `chosen` selected.
fn choice<'a>(id: &str, label: &str, chosen: &str, options: impl IntoIterator<Item = (&'a str, String)>) -> Markup {
    html! {
        div {
            label for=(id) { (label) }
            select #(id) name=(id) {
                option value="" { "any" }
                @for (value, text) in options {
                    option value=(value) selected[chosen.trim().eq_ignore_ascii_case(value)] { (text) }
                }
            }
        }
    }
}

fn list_page(
    query: &ListQuery,
    txs: &[TransactionRecord],
    older: Option<&TxCursor>,
    error: Option<&str>,
    csrf: &str,
) -> Markup {
    let filters = query.filters();
    layout(
        "Transactions",
        Some((Page::Transactions, csrf)),
        html! {
            h1 { "Transactions" }
            form.card.filter-form method="get" action={ (PREFIX) "/transactions" } aria-label="Filter the transactions" {
                (choice("product", "Product", &query.product, Product::ALL.iter().map(|p| (p.as_str(), p.as_str().to_owned()))))
                (choice("kind", "Kind", &query.kind, Kind::ALL.iter().map(|k| (k.as_str(), k.as_str().to_owned()))))
                (choice("status", "Status", &query.status,
                    [TransactionStatus::Pending, TransactionStatus::Successful, TransactionStatus::Failed, TransactionStatus::Created]
                        .iter().map(|s| (s.as_str(), s.as_str().to_owned()))))
                (choice("environment", "Environment", &query.environment,
                    momo_types::ENVIRONMENTS.iter().map(|e| (e.name, format!("{} ({})", e.name, e.currency)))))
                div {
                    label for="api_user" { "API user" }
                    input #api_user type="text" name="api_user" value=(query.api_user.trim()) spellcheck="false" autocomplete="off";
                }
                div {
                    label for="reference" { "Reference id" }
                    input #reference type="text" name="reference" value=(query.reference.trim()) spellcheck="false" autocomplete="off";
                }
                div.filter-actions {
                    button type="submit" { "Filter" }
                    " "
                    a href={ (PREFIX) "/transactions" } { "Clear" }
                }
            }
            @if let Some(error) = error { p.error role="alert" { (error) } }
            (live(Live::Transactions, html! {
                section.card aria-labelledby="transactions-title" {
                    h2 #transactions-title {
                        @if query.before.trim().is_empty() { "Newest first" } @else { "Older transactions" }
                    }
                    @if txs.is_empty() {
                        p { "None." }
                    } @else {
                        (table(&["Created", "Reference id", "Transaction", "Amount", "Party", "Environment", "API user", "Status"], html! {
                            @for tx in txs {
                                tr {
                                    td data-label="Created" { (time(tx.created_at)) }
                                    td data-label="Reference id" { a href=(detail_url(&tx.key)) { code.id { (tx.key.reference_id) } } }
                                    td data-label="Transaction" { (tx.key.kind.as_str()) br; small { (tx.key.product.as_str()) } }
                                    td.amount data-label="Amount" { (amount(tx)) }
                                    td data-label="Party" { (party(tx)) }
                                    td data-label="Environment" { (tx.environment) }
                                    td data-label="API user" { (short_id(&tx.api_user)) }
                                    td data-label="Status" {
                                        (status_badge(&tx.status))
                                        @if let Some(reason) = &tx.reason { " " small { (reason) } }
                                        @if tx.awaiting_approval { " " small { "waiting for the payer" } }
                                    }
                                }
                            }
                        }))
                    }
                    nav.pager aria-label="Pages" {
                        @if !query.before.trim().is_empty() {
                            a href={ (PREFIX) "/transactions?" (filters.trim_end_matches('&')) } { "Newest" }
                        }
                        @if let Some(older) = older {
                            a rel="next" href={ (PREFIX) "/transactions?" (filters) "before=" (segment(&older.encode())) } { "Older →" }
                        }
                    }
                }
            }))
        },
    )
}

/// What a transaction's page shows.
struct Detail {
    tx: TransactionRecord,
    status_body: String,
    postings: Vec<PostingRecord>,
    deliveries: Vec<(DeliveryRecord, Vec<AttemptRecord>)>,
}

/// The request as received, indented for reading (as stored if it is not JSON).
fn pretty(json: &str) -> String {
    serde_json::from_str::<serde_json::Value>(json)
        .and_then(|value| serde_json::to_string_pretty(&value))
        .unwrap_or_else(|_| json.to_owned())
}

fn detail_page(d: &Detail, error: Option<&str>, csrf: &str) -> Markup {
    let tx = &d.tx;
    let url = detail_url(&tx.key);
    let pending = tx.status == TransactionStatus::Pending;
    layout(
        "Transaction",
        Some((Page::Transactions, csrf)),
        html! {
            h1 { (tx.key.product.as_str()) " " (tx.key.kind.as_str()) " " code.id { (tx.key.reference_id) } }
            (live(Live::Transaction(&tx.key.reference_id), html! {
                @if let Some(error) = error { p.error role="alert" { (error) } }
                section.card aria-labelledby="summary-title" {
                    h2 #summary-title { "Status " (status_badge(&tx.status)) }
                    dl.settings {
                        @if let Some(reason) = &tx.reason { dt { "Reason" } dd { code { (reason) } } }
                        dt { "Amount" } dd { (amount(tx)) }
                        dt { "Party" } dd { (party(tx)) }
                        dt { "Environment" } dd { (tx.environment) }
                        dt { "API user" } dd { code.id { (tx.api_user) } }
                        @if let Some(external) = &tx.external_id { dt { "External id" } dd { code.id { (external) } } }
                        @if let Some(fti) = &tx.financial_transaction_id { dt { "Financial transaction id" } dd { code { (fti) } } }
                        dt { "Callback URL" } dd { @if let Some(cb) = &tx.callback_url { code.id { (cb) } } @else { "none" } }
                        dt { "Created" } dd { (time(tx.created_at)) }
                        dt { "Updated" } dd { (time(tx.updated_at)) }
                        @if pending {
                            dt { "Waiting for the payer" } dd { @if tx.awaiting_approval { "yes" } @else { "no" } }
                            @if let Some(outcome) = &tx.outcome { dt { "Planned outcome" } dd { code { (outcome) } } }
                            @if let Some(due) = tx.due_at { dt { "Due" } dd { (time(due)) } }
                        }
                        @if let Some(at) = tx.cancelled_at { dt { "Cancelled" } dd { (time(at)) } }
                    }
                }
                @if pending {
                    section.card aria-labelledby="actions-title" {
                        h2 #actions-title { "Actions" }
                        @if tx.awaiting_approval {
                            p { "The payer has not answered yet. Answer for them (as the handset would):" }
                            div.buttons {
                                form method="post" action={ (url) "/approve" } {
                                    input type="hidden" name="csrf" value=(csrf);
                                    button #approve type="submit" { "Approve" }
                                }
                                form method="post" action={ (url) "/reject" } {
                                    input type="hidden" name="csrf" value=(csrf);
                                    button #reject.danger type="submit" { "Reject" }
                                }
                            }
                        }
                        form method="post" action={ (url) "/force" } {
                            input type="hidden" name="csrf" value=(csrf);
                            h3 { "Force an outcome now" }
                            label for="force-status" { "Outcome" }
                            select #force-status name="status" {
                                option value="SUCCESSFUL" { "SUCCESSFUL" }
                                option value="FAILED" { "FAILED" }
                            }
                            label for="force-reason" { "Reason (when FAILED)" }
                            select #force-reason name="reason" {
                                @for code in ErrorCode::KNOWN {
                                    option value=(code.as_str()) selected[*code == ErrorCode::InternalProcessingError] { (code.as_str()) }
                                }
                            }
                            button #force type="submit" { "Force" }
                        }
                    }
                }
                section.card aria-labelledby="status-body-title" {
                    h2 #status-body-title { "Status body" }
                    p { "Exactly what " code.id { "GET /" (tx.key.product.as_str()) "/…/" (tx.key.kind.as_str()) "/" (tx.key.reference_id) } " answers now." }
                    pre #status-body.wrap { code { (d.status_body) } }
                }
                section.card aria-labelledby="postings-title" {
                    h2 #postings-title { "Ledger postings" }
                    @if d.postings.is_empty() {
                        p { "None: no money has moved." }
                    } @else {
                        (table(&["Entry", "Account", "Amount", "At"], html! {
                            @for p in &d.postings {
                                tr {
                                    td data-label="Entry" { code.id { (p.entry_id) } }
                                    td data-label="Account" { code.id { (p.account) } }
                                    td.amount data-label="Amount" { (posting_amount(tx, p)) }
                                    td data-label="At" { (time(p.created_at)) }
                                }
                            }
                        }))
                    }
                }
                section.card aria-labelledby="callbacks-title" {
                    h2 #callbacks-title { "Callbacks" }
                    @if d.deliveries.is_empty() {
                        p { @if tx.callback_url.is_some() && pending { "None yet: one is sent when the transaction is final." } @else { "None." } }
                    }
                    @for (delivery, attempts) in &d.deliveries {
                        (delivery_section(delivery, attempts, csrf))
                    }
                }
            }))
            section.card aria-labelledby="request-title" {
                h2 #request-title { "Request as received" }
                pre { code { (pretty(&tx.request)) } }
            }
            p { a href={ (PREFIX) "/transactions" } { "Back to the transactions" } }
        },
    )
}

fn delivery_section(d: &DeliveryRecord, attempts: &[AttemptRecord], csrf: &str) -> Markup {
    html! {
        article.delivery {
            h3 { (delivery_state(&d.state)) " " code.id { (d.method) " " (d.url) } }
            (pages::attempts_table(attempts))
            details {
                summary { "Body as signed" }
                pre.wrap { code { (d.body) } }
            }
            div.buttons {
                form method="post" action={ (PREFIX) "/callbacks/" (segment(&d.id)) "/redeliver" } {
                    input type="hidden" name="csrf" value=(csrf);
                    button.quiet type="submit" aria-label={ "Send the callback to " (d.url) " again" } { "Redeliver" }
                }
                a href={ (PREFIX) "/callbacks/" (segment(&d.id)) } { "The delivery's page" }
            }
        }
    }
}
