//! The handset simulator: one payer's wallet as their phone shows it (balance, history and the
//! requests waiting for their approval, which they approve with a PIN or reject), and the
//! sandbox's test numbers with what each one does. A decision here is the operator API's
//! approve or reject (`service::payments`), so it settles exactly as that does.

use std::collections::HashMap;

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use momo_types::payments::{Party, PartyIdType, TransactionStatus};
use momo_types::{Amount, Environment, ErrorCode, ENVIRONMENTS};
use serde::Deserialize;

use super::pages::{amount, layout, live, segment, time, Live, Page};
use super::{failure, on_form, signed_in, ConsoleForm, PREFIX};
use crate::config::ScenarioProfile;
use crate::domain::scenarios::{self, ScenarioOp};
use crate::domain::transactions::{accounts, Flow, Kind, KindRules as _};
use crate::error::ApiError;
use crate::service::payments::{self, Decision, WRONG_PIN_REASON};
use crate::state::AppState;
use crate::store::TransactionRecord;

/// The PIN that a payer gets wrong (docs/console.md, "Handset simulator").
pub(super) const WRONG_PIN: &str = "0000";
/// How many prompts and past transactions the wallet shows.
const PROMPTS: i64 = 20;
const HISTORY: i64 = 50;

const PARTY_TYPES: [PartyIdType; 3] = [PartyIdType::Msisdn, PartyIdType::Email, PartyIdType::PartyCode];

/// The operations whose sandbox test numbers are a party's (the others are keyed by externalId).
const NUMBERED: [ScenarioOp; 8] = [
    ScenarioOp::RequestToPay,
    ScenarioOp::RequestToWithdraw,
    ScenarioOp::PreApproval,
    ScenarioOp::Deposit,
    ScenarioOp::DisbursementTransfer,
    ScenarioOp::RemittanceTransfer,
    ScenarioOp::AccountHolderActive,
    ScenarioOp::Consent,
];

/// The payer the page shows, as its GET form (and so its URL) names it; `done` is the reference
/// id of the request just decided, whose outcome the page reports.
#[derive(Debug, Default, Deserialize)]
pub(super) struct Selection {
    #[serde(default)]
    environment: String,
    #[serde(default, rename = "type")]
    party_type: String,
    #[serde(default)]
    id: String,
    #[serde(default)]
    done: String,
}

/// A payer's wallet.
struct Wallet {
    env: &'static Environment,
    party: Party,
    /// Its ledger account id.
    account: String,
}

impl Selection {
    /// The payer of a transaction.
    fn of(tx: &TransactionRecord) -> Selection {
        let (party_type, id) = tx
            .party
            .as_ref()
            .map_or((String::new(), String::new()), |p| (p.party_id_type.as_str().to_owned(), p.party_id.clone()));
        Selection { environment: tx.environment.clone(), party_type, id, done: String::new() }
    }

    /// The page's URL for this payer, reporting the request `done`.
    fn url(&self, done: &str) -> String {
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("environment", &self.environment)
            .append_pair("type", &self.party_type)
            .append_pair("id", &self.id)
            .append_pair("done", done)
            .finish();
        format!("{PREFIX}/handset?{query}")
    }

    /// The wallet chosen; `None` when no payer is typed yet; or what is wrong with it.
    fn wallet(&self) -> Result<Option<Wallet>, String> {
        let id = self.id.trim();
        if id.is_empty() {
            return Ok(None);
        }
        let names = || ENVIRONMENTS.iter().map(|e| e.name).collect::<Vec<_>>().join(", ");
        let env = Environment::lookup(self.environment.trim())
            .ok_or_else(|| format!("Pick one of this server's environments: {}.", names()))?;
        let party_id_type = PARTY_TYPES
            .into_iter()
            .find(|t| t.as_str() == self.party_type.trim())
            .ok_or("The party type must be MSISDN, EMAIL or PARTY_CODE.")?;
        let party = Party { party_id_type, party_id: id.to_owned() };
        crate::domain::validation::check_party("payer", &party).map_err(|e| match e {
            crate::domain::DomainError::Invalid(message) => message.replacen("payer.partyId", "The party id", 1),
            other => other.to_string(),
        })?;
        let account = accounts::wallet(env.name, &party);
        Ok(Some(Wallet { env, party, account }))
    }
}

/// What the wallet shows.
struct Loaded {
    balance: i64,
    /// Waiting for the payer, newest first.
    prompts: Vec<TransactionRecord>,
    history: Vec<TransactionRecord>,
    /// How the phone names each API user: its callback host, as a shop's name.
    names: HashMap<String, String>,
}

impl Loaded {
    async fn of(state: &AppState, wallet: &Wallet) -> Result<Loaded, ApiError> {
        let store = &state.store;
        let (env, party) = (wallet.env.name, &wallet.party);
        let now = state.clock.now_ms();
        let mut prompts = store.party_transactions(env, party, true, PROMPTS).await?;
        // One whose time to approve has passed is failing (the settler makes it final).
        prompts.retain(|tx| tx.due_at.is_none_or(|at| at > now));
        let history = store.party_transactions(env, party, false, HISTORY).await?;
        let mut names = HashMap::new();
        for tx in prompts.iter().chain(&history) {
            if !names.contains_key(&tx.api_user) {
                let user = store.api_user(&tx.api_user).await?;
                let name = user.map_or_else(|| tx.api_user.clone(), |u| u.provider_callback_host);
                names.insert(tx.api_user.clone(), name);
            }
        }
        Ok(Loaded { balance: store.balance(&wallet.account).await?, prompts, history, names })
    }

    fn name<'a>(&'a self, tx: &'a TransactionRecord) -> &'a str {
        self.names.get(&tx.api_user).map_or(&tx.api_user, String::as_str)
    }
}

/// `GET /handset`: the picker, and the wallet it names.
pub(super) async fn show(
    State(state): State<AppState>,
    query: Result<Query<Selection>, QueryRejection>,
    headers: HeaderMap,
) -> Response {
    match signed_in(&state, &headers).await {
        Ok(session) => {
            let selection = query.map(|Query(q)| q).unwrap_or_default();
            answer(&state, &session.csrf_token, &selection, None, StatusCode::OK).await
        }
        Err(response) => response,
    }
}

/// The page for `selection`, with `error` above the wallet.
async fn answer(
    state: &AppState,
    csrf: &str,
    selection: &Selection,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    let settings =
        Settings { profile: state.settings.scenario_profile, opening: &state.settings.wallet_opening_balance };
    match selection.wallet() {
        Err(message) => {
            (StatusCode::BAD_REQUEST, render(&settings, csrf, selection, None, Some(&message))).into_response()
        }
        Ok(None) => (status, render(&settings, csrf, selection, None, error.as_deref())).into_response(),
        Ok(Some(wallet)) => match Loaded::of(state, &wallet).await {
            Ok(loaded) => {
                (status, render(&settings, csrf, selection, Some((&wallet, &loaded)), error.as_deref())).into_response()
            }
            Err(e) => failure(e, "reading a wallet"),
        },
    }
}

/// The prompt's form: Approve (with a PIN) or Reject.
#[derive(Debug, Deserialize)]
pub(super) struct DecisionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    pin: String,
    #[serde(default)]
    decision: String,
}

impl ConsoleForm for DecisionForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

impl DecisionForm {
    /// What the payer decided, or why nothing can be decided. Rejecting needs no PIN, as on a
    /// phone; approving needs 4 or 5 digits, and [`WRONG_PIN`] is a wrong one.
    fn decision(&self) -> Result<Decision, String> {
        match self.decision.as_str() {
            "reject" => Ok(Decision::Reject),
            "approve" => {
                let pin = self.pin.trim();
                if !(4..=5).contains(&pin.len()) || !pin.bytes().all(|b| b.is_ascii_digit()) {
                    return Err("A PIN is 4 or 5 digits: nothing was decided.".into());
                }
                Ok(if pin == WRONG_PIN { Decision::WrongPin } else { Decision::Approve })
            }
            _ => Err("Choose Approve or Reject: nothing was decided.".into()),
        }
    }
}

/// `POST /handset/prompts/{product}/{kind}/{reference}`: the payer's answer to a prompt.
pub(super) async fn decide(
    State(state): State<AppState>,
    Path(path): Path<(String, String, String)>,
    headers: HeaderMap,
    form: Result<Form<DecisionForm>, FormRejection>,
) -> Response {
    on_form(&state, &headers, form, async |session, form| {
        let csrf = &session.csrf_token;
        let tx = match super::transactions::key_of(&path) {
            Some(key) => match payments::at(&state, &key).await {
                Ok(tx) => Some(tx),
                Err(ApiError::ResourceNotFound) => None,
                Err(e) => return failure(e, "reading a prompt"),
            },
            None => None,
        };
        let Some(tx) = tx else {
            let message = "There is no such request: nothing was decided.".to_owned();
            return answer(&state, csrf, &Selection::default(), Some(message), StatusCode::NOT_FOUND).await;
        };
        let selection = Selection::of(&tx);
        let decision = match form.decision() {
            Ok(decision) => decision,
            Err(message) => return answer(&state, csrf, &selection, Some(message), StatusCode::BAD_REQUEST).await,
        };
        match payments::decide_at(&state, &tx.key, decision).await {
            Ok(decided) => Redirect::to(&selection.url(&decided.key.reference_id)).into_response(),
            Err(ApiError::OperatorConflict(_)) => {
                let message = "This request is not waiting for an answer any more: nothing was decided.".to_owned();
                answer(&state, csrf, &selection, Some(message), StatusCode::CONFLICT).await
            }
            Err(e) => failure(e, "deciding for a payer"),
        }
    })
    .await
}

/// The server settings the page shows.
struct Settings<'a> {
    profile: ScenarioProfile,
    opening: &'a Amount,
}

fn kind_label(kind: Kind) -> &'static str {
    match kind {
        Kind::RequestToPay => "Request to pay",
        Kind::RequestToWithdraw => "Withdrawal",
        Kind::Transfer => "Transfer",
        Kind::Deposit => "Deposit",
        Kind::Refund => "Refund",
        Kind::Invoice => "Invoice",
        Kind::PreApproval => "Pre-approval",
        Kind::Payment => "Payment",
        Kind::CashTransfer => "Cash transfer",
        Kind::InvoiceCancellation => "Invoice cancellation",
    }
}

/// The amount as the wallet sees it: out (−), in (+), or no money (a pre-approval).
fn signed_amount(tx: &TransactionRecord) -> String {
    match tx.key.kind.flow() {
        Some(Flow::FromParty) => format!("−{}", amount(tx)),
        Some(Flow::ToParty) => format!("+{}", amount(tx)),
        Some(Flow::ToProvider) => amount(tx),
        None => "no money".to_owned(),
    }
}

/// A text field of the request as received (`payerMessage`, `externalId`…), if it has one.
fn field(request: &serde_json::Value, name: &str) -> Option<String> {
    request.get(name).and_then(|v| v.as_str()).map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned)
}

/// A number of seconds as a person would say it.
fn duration(seconds: u64) -> String {
    let (n, unit) = match seconds {
        s if s > 0 && s % 86_400 == 0 => (s / 86_400, "day"),
        s if s > 0 && s % 3_600 == 0 => (s / 3_600, "hour"),
        s if s > 0 && s % 60 == 0 => (s / 60, "minute"),
        s => (s, "second"),
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// What the phone asks, worded as a phone would.
fn question(tx: &TransactionRecord, who: &str, request: &serde_json::Value) -> String {
    let amount = amount(tx);
    match tx.key.kind {
        Kind::RequestToPay => format!("{who} asks you to pay {amount}."),
        Kind::RequestToWithdraw => format!("{who} asks to withdraw {amount} from your wallet."),
        Kind::Invoice => format!("{who} sends you an invoice of {amount}."),
        Kind::PreApproval => {
            let validity = request.get("validityTime").and_then(serde_json::Value::as_u64);
            let validity = validity.map(|s| format!(", for {}", duration(s))).unwrap_or_default();
            format!("{who} asks you to pre-approve its payments in {}{validity}.", tx.currency)
        }
        kind => format!("{who} asks you to approve a {} of {amount}.", kind_label(kind).to_lowercase()),
    }
}

/// The page's report on the request just decided (if it is in the history).
fn outcome(loaded: &Loaded, done: &str) -> Option<String> {
    let tx = loaded.history.iter().find(|tx| !done.is_empty() && tx.key.reference_id == done)?;
    let what = format!("{} of {}", kind_label(tx.key.kind), amount(tx));
    let code = tx.reason.as_ref();
    let reason = code.map_or("", ErrorCode::as_str);
    Some(match &tx.status {
        TransactionStatus::Successful => format!("Approved: {what} is SUCCESSFUL."),
        TransactionStatus::Failed if code == Some(&ErrorCode::ApprovalRejected) => {
            format!("Rejected: {what} is FAILED ({reason}).")
        }
        TransactionStatus::Failed if code == Some(&WRONG_PIN_REASON) => {
            format!("Wrong PIN: {what} is FAILED ({reason}).")
        }
        status => {
            format!("{what} is {status}{}.", if reason.is_empty() { String::new() } else { format!(" ({reason})") })
        }
    })
}

fn render(
    settings: &Settings<'_>,
    csrf: &str,
    selection: &Selection,
    wallet: Option<(&Wallet, &Loaded)>,
    error: Option<&str>,
) -> Markup {
    let chosen_env = if selection.environment.is_empty() { "sandbox" } else { selection.environment.as_str() };
    let chosen_type = if selection.party_type.is_empty() { "MSISDN" } else { selection.party_type.as_str() };
    layout(
        "Handset",
        Some((Page::Handset, csrf)),
        html! {
            h1 { "Handset" }
            div.handset {
                // Folded once a wallet is shown, so that a phone shows the wallet first.
                details.card.picker open[wallet.is_none()] {
                    summary { h2 { "Payer" } @if wallet.is_some() { " " small { "(change)" } } }
                    form method="get" action={ (PREFIX) "/handset" } {
                        label for="environment" { "Environment" }
                        select #environment name="environment" {
                            @for env in ENVIRONMENTS {
                                option value=(env.name) selected[env.name == chosen_env] {
                                    (env.name) " (" (env.currency) ")"
                                }
                            }
                        }
                        label for="type" { "Party type" }
                        select #type name="type" {
                            @for t in PARTY_TYPES {
                                option value=(t.as_str()) selected[t.as_str() == chosen_type] { (t.as_str()) }
                            }
                        }
                        label for="id" { "Party id" }
                        input #id type="text" name="id" value=(selection.id) required spellcheck="false"
                            autocomplete="off" placeholder="256771234567";
                        button type="submit" { "Open wallet" }
                    }
                }
                section.phone aria-labelledby="wallet-title" {
                    @if let Some(error) = error { p.error role="alert" { (error) } }
                    @match wallet {
                        Some((wallet, loaded)) => (phone(settings, csrf, selection, wallet, loaded)),
                        None => {
                            h2 #wallet-title { "Wallet" }
                            p { "Pick or type a payer to see their wallet as their phone shows it." }
                        }
                    }
                }
                (test_numbers(settings.profile))
            }
        },
    )
}

/// The phone's screen: who, then the part that changes by itself.
fn phone(settings: &Settings<'_>, csrf: &str, selection: &Selection, wallet: &Wallet, loaded: &Loaded) -> Markup {
    let env = wallet.env;
    let unused = loaded.balance == 0 && !env.is_sandbox() && loaded.history.iter().all(|tx| !tx.status.is_final());
    html! {
        h2 #wallet-title { code.id { (wallet.party.party_id) } }
        p.who { (wallet.party.party_id_type.as_str()) " in " (env.name) }
        (live(Live::Wallet(&wallet.account), html! {
            @if let Some(outcome) = outcome(loaded, &selection.done) { p.notice role="status" { (outcome) } }
            p.balance-label { "Balance" }
            p.balance { (Amount::from_minor_units(loaded.balance, env.currency_decimals)) " " (env.currency) }
            @if unused {
                p { small { "Not used yet: it starts with " (settings.opening) " " (env.currency) " at its first payment." } }
            }
            h3 { "Waiting for you" }
            @if loaded.prompts.is_empty() {
                p { small { "Nothing to approve." } }
            }
            @for tx in &loaded.prompts { (prompt(csrf, tx, loaded.name(tx))) }
            h3 { "History" }
            @if loaded.history.is_empty() {
                p { small { "No transactions yet." } }
            } @else {
                ol.history {
                    @for tx in &loaded.history {
                        li {
                            span.what { (kind_label(tx.key.kind)) }
                            span.amount { (signed_amount(tx)) }
                            span.detail {
                                (loaded.name(tx)) " · " (time(tx.created_at)) " · "
                                span class={ "badge " (tx.status.as_str().to_ascii_lowercase()) } { (tx.status.as_str()) }
                                @if let Some(reason) = &tx.reason { " " small { (reason) } }
                            }
                        }
                    }
                }
            }
        }))
    }
}

/// One request waiting for the payer, with its PIN field and its two answers.
fn prompt(csrf: &str, tx: &TransactionRecord, who: &str) -> Markup {
    let request: serde_json::Value = serde_json::from_str(&tx.request).unwrap_or_default();
    let reference = &tx.key.reference_id;
    // Reference ids are unique only per product and kind.
    let pin = format!("pin-{}-{}-{reference}", tx.key.product, tx.key.kind.as_str());
    let action = format!("{PREFIX}/handset/prompts/{}/{}/{}", tx.key.product, tx.key.kind.as_str(), segment(reference));
    html! {
        article.prompt aria-label={ (kind_label(tx.key.kind)) " from " (who) } {
            p.ask { (question(tx, who, &request)) }
            @if let Some(message) = field(&request, "payerMessage") { p.message { "“" (message) "”" } }
            @if let Some(description) = field(&request, "description") { p.message { "“" (description) "”" } }
            @if let Some(note) = field(&request, "payeeNote") { p { small { "Note: " (note) } } }
            @if let Some(external) = field(&request, "externalId") { p { small { "Reference: " (external) } } }
            form method="post" action=(action) {
                input type="hidden" name="csrf" value=(csrf);
                label for=(pin) { "PIN" }
                input id=(pin) type="password" name="pin" inputmode="numeric" pattern="[0-9]{4,5}" minlength="4"
                    maxlength="5" autocomplete="off" required aria-describedby={ (pin) "-hint" };
                p id={ (pin) "-hint" } { small { "Any 4 or 5 digits; " (WRONG_PIN) " is a wrong PIN." } }
                div.buttons {
                    button type="submit" name="decision" value="approve" { "Approve" }
                    button.danger type="submit" name="decision" value="reject" formnovalidate { "Reject" }
                }
            }
        }
    }
}

/// The sandbox's test numbers for the active profile, and what each one does.
fn test_numbers(profile: ScenarioProfile) -> Markup {
    html! {
        section.card.numbers aria-labelledby="numbers-title" {
            h2 #numbers-title { "Sandbox test numbers" }
            p { "In the " code { "sandbox" } " environment these parties give these outcomes (scenario profile "
                code { (profile.as_str()) } "); any other party succeeds. Open one to see its wallet." }
            @for (i, op) in NUMBERED.into_iter().enumerate() {
                details open[i == 0] {
                    summary { (op.title()) }
                    ul.numbers {
                        @for row in scenarios::rows().iter().filter(|r| r.op == op && r.profile.is_none_or(|p| p == profile)) {
                            @if let Some(party_type) = &row.party_type {
                                li {
                                    a href={ (PREFIX) "/handset?environment=sandbox&type=" (party_type.as_str()) "&id=" (segment(row.trigger)) } {
                                        code.id { (row.trigger) }
                                    }
                                    " " span.use-case { (row.use_case) } ": "
                                    span.outcome { (row.effect.describe().replace('`', "")) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
