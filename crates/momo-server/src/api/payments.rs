//! The asynchronous payment operations: request to pay and to withdraw (Collection), transfer
//! (Disbursement, Remittance), deposit and refund (Disbursement), with their status endpoints.
//!
//! Every create runs the checks in the order docs/compatibility.md gives (token and environment in the
//! [`Caller`] extractor, then `X-Reference-Id`, `X-Callback-Url`, amount, currency, messages,
//! party), records the transaction, and answers 202 only once the row is committed. A reused
//! reference id is refused by the database's primary key: 409, also under concurrency.

use std::future::Future;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{on, MethodFilter, MethodRouter};
use momo_types::payments::{
    CancelInvoice, CashTransfer, CreateInvoice, CreatePayments, Party, PreApproval, PreApprovalDetails, Refund,
    RequestToPay, TransactionStatus, Transfer,
};
use momo_types::{Amount, Currency, Environment, ErrorCode, Msisdn, Product};

use crate::changes::Change;
use crate::domain::transactions::{self, ApiVersion, Kind, Outcome, Plan};
use crate::domain::validation::{
    amount_minor_units, check_callback_url, check_currency, check_external_id, check_message, check_message_characters,
    check_party,
};
use crate::error::{ApiError, ApiResult};
use crate::extract::{
    parse_reference_id, CallbackUrlHeader, Caller, MomoJson, OptionalJson, PathParam, ReferenceIdHeader,
};
use crate::service::payments;
use crate::settle;
use crate::state::AppState;
use crate::store::{TransactionRecord, TxKey};

/// What every create request has, whatever its body type.
pub(crate) struct Incoming<'a> {
    kind: Kind,
    version: ApiVersion,
    /// `None` for a pre-approval, which moves no money.
    amount: Option<&'a Amount>,
    currency: &'a Currency,
    external_id: Option<&'a str>,
    payer_message: Option<&'a str>,
    payee_note: Option<&'a str>,
    /// Field name and party.
    party: Option<(&'static str, &'a Party)>,
    related: Option<String>,
    request: String,
    /// How long a production payer has to approve, if not the configured window (invoices).
    window_ms: Option<i64>,
}

impl<'a> Incoming<'a> {
    /// A create of `kind` whose body, kept as `request`, moves `amount` in `currency`; the fields
    /// the body may add are empty.
    fn new(
        kind: Kind,
        version: ApiVersion,
        body: &impl serde::Serialize,
        amount: Option<&'a Amount>,
        currency: &'a Currency,
    ) -> ApiResult<Self> {
        Ok(Incoming {
            kind,
            version,
            amount,
            currency,
            external_id: None,
            payer_message: None,
            payee_note: None,
            party: None,
            related: None,
            request: to_json(body)?,
            window_ms: None,
        })
    }
}

async fn accept(
    state: &AppState,
    caller: &Caller,
    reference: momo_types::ReferenceId,
    callback: Option<String>,
    incoming: Incoming<'_>,
) -> ApiResult<StatusCode> {
    let env = caller.environment;
    let callback = checked_callback_url(state, caller, callback)?
        // The Partner Portal's "Payment Server URL" is where callbacks go when none is given.
        .or_else(|| caller.user.payment_server_url.clone());
    let amount_minor = match incoming.amount {
        Some(amount) => amount_minor_units(amount, env.currency_decimals)?,
        None => 0,
    };
    check_currency(incoming.currency, env)?;
    check_message("payerMessage", incoming.payer_message)?;
    check_message("payeeNote", incoming.payee_note)?;
    if !state.settings.accept_special_characters {
        check_message_characters("payerMessage", incoming.payer_message)?;
        check_message_characters("payeeNote", incoming.payee_note)?;
    }
    check_external_id(incoming.external_id)?;
    if let Some((field, party)) = incoming.party {
        check_party(field, party)?;
    }
    let now = state.clock.now_ms();
    let plan = plan(state, env, caller.product, &incoming, now);
    let record = TransactionRecord {
        key: TxKey { product: caller.product, kind: incoming.kind, reference_id: reference.to_string() },
        api_user: caller.user.id.clone(),
        environment: env.name.to_owned(),
        currency: Currency::from_static(env.currency),
        amount_minor,
        party: incoming.party.map(|(_, p)| p.clone()),
        external_id: incoming.external_id.map(str::to_owned),
        request: incoming.request,
        api_version: incoming.version,
        status: TransactionStatus::Pending,
        reason: None,
        financial_transaction_id: None,
        callback_url: callback,
        outcome: plan.outcome,
        due_at: plan.due_at,
        awaiting_approval: plan.awaiting_approval,
        related_reference_id: incoming.related,
        notifications: 0,
        created_at: now,
        updated_at: now,
        cancelled_at: None,
    };
    commit(state, &record).await?;
    state.metrics.transaction_created(record.key.product, record.key.kind);
    tracing::info!(reference_id = %reference, kind = incoming.kind.as_str(), api_user = %caller.user.id, "transaction accepted");
    Ok(StatusCode::ACCEPTED)
}

/// The `X-Callback-Url` header, trimmed, once it passed the checks (host, port, scheme, policy).
fn checked_callback_url(state: &AppState, caller: &Caller, header: Option<String>) -> ApiResult<Option<String>> {
    let host = &caller.user.provider_callback_host;
    Ok(check_callback_url(header.as_deref(), host, caller.environment, &state.callback_targets)?
        .map(|_| header.unwrap_or_default().trim().to_owned()))
}

/// Record an accepted transaction, settled in the same commit if its outcome is due at once;
/// a taken reference id is a 409 (the primary key decides, also under concurrency).
async fn commit(state: &AppState, record: &TransactionRecord) -> ApiResult<()> {
    match settle::immediate(state, record).map_err(ApiError::Internal)? {
        Some(finalization) => {
            if state.store.insert_settled(record, &finalization).await? {
                state.callbacks_waiting.notify_one();
                settle::published(state, record, &finalization);
                return Ok(());
            }
        }
        None => state.store.insert_transaction(record).await?,
    }
    state.changes.publish(|| Change::of(record));
    Ok(())
}

/// Sandbox: the test numbers decide. Production: requests to pay wait for the payer's approval
/// (or are approved at once with `auto_approve`); money going out settles after the delay,
/// subject to funds.
fn plan(state: &AppState, env: &Environment, product: Product, incoming: &Incoming<'_>, now: i64) -> Plan {
    let settings = &state.settings;
    let (kind, party) = (incoming.kind, incoming.party.map(|(_, p)| p));
    let delay = i64::try_from(settings.pending_delay.as_millis()).unwrap_or(i64::MAX / 4);
    if env.is_sandbox() {
        let profile = settings.scenario_profile;
        return transactions::sandbox_plan(profile, kind, product, party, incoming.external_id, now, delay);
    }
    let needs_approval =
        matches!(kind, Kind::RequestToPay | Kind::RequestToWithdraw | Kind::Invoice | Kind::PreApproval)
            && !settings.auto_approve;
    if needs_approval {
        let configured = i64::try_from(settings.approval_window.as_millis()).unwrap_or(i64::MAX / 4);
        let window = incoming.window_ms.unwrap_or(configured);
        let lapse = if kind == Kind::Invoice { ErrorCode::Expired } else { ErrorCode::CouldNotPerformTransaction };
        Plan { outcome: Some(Outcome::Failed(lapse)), due_at: Some(now + window), awaiting_approval: true }
    } else {
        Plan { outcome: Some(Outcome::Successful), due_at: Some(now + delay), awaiting_approval: false }
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> ApiResult<String> {
    serde_json::to_string(value).map_err(|e| ApiError::Internal(e.into()))
}

/// A create operation's request body: it runs the checks of its own, then gives what every create
/// has, for [`accept`] to check and record.
pub(crate) trait CreateBody: serde::de::DeserializeOwned + Send + 'static {
    fn incoming(
        &self,
        state: &AppState,
        caller: &Caller,
        kind: Kind,
        version: ApiVersion,
    ) -> impl Future<Output = ApiResult<Incoming<'_>>> + Send;
}

/// The route of a create operation: its body `B`, read from the request, becomes a transaction of
/// `kind` whose callback is sent the way `version` says.
pub(crate) fn create<B: CreateBody>(filter: MethodFilter, kind: Kind, version: ApiVersion) -> MethodRouter<AppState> {
    // Extractors run in the order of the arguments: the order of checks on a create
    // (docs/compatibility.md).
    let handler = move |State(state): State<AppState>,
                        caller: Caller,
                        reference: ReferenceIdHeader,
                        callback: CallbackUrlHeader,
                        MomoJson(body): MomoJson<B>| async move {
        let incoming = body.incoming(&state, &caller, kind, version).await?;
        accept(&state, &caller, reference.0, callback.0, incoming).await
    };
    on(filter, handler)
}

impl CreateBody for RequestToPay {
    async fn incoming(&self, _: &AppState, _: &Caller, kind: Kind, version: ApiVersion) -> ApiResult<Incoming<'_>> {
        simple(
            self,
            kind,
            version,
            &self.amount,
            &self.currency,
            self.external_id.as_deref(),
            ("payer", &self.payer),
            [self.payer_message.as_deref(), self.payee_note.as_deref()],
        )
    }
}

impl CreateBody for Transfer {
    async fn incoming(&self, _: &AppState, _: &Caller, kind: Kind, version: ApiVersion) -> ApiResult<Incoming<'_>> {
        simple(
            self,
            kind,
            version,
            &self.amount,
            &self.currency,
            self.external_id.as_deref(),
            ("payee", &self.payee),
            [self.payer_message.as_deref(), self.payee_note.as_deref()],
        )
    }
}

/// The two bodies with an amount, a currency, the two messages and one party, and nothing else
/// to check.
#[expect(clippy::too_many_arguments, reason = "the fields the two body types share, named")]
fn simple<'a>(
    body: &impl serde::Serialize,
    kind: Kind,
    version: ApiVersion,
    amount: &'a Amount,
    currency: &'a Currency,
    external_id: Option<&'a str>,
    party: (&'static str, &'a Party),
    [payer_message, payee_note]: [Option<&'a str>; 2],
) -> ApiResult<Incoming<'a>> {
    Ok(Incoming {
        external_id,
        payer_message,
        payee_note,
        party: Some(party),
        ..Incoming::new(kind, version, body, Some(amount), currency)?
    })
}

/// A refund names the request to pay it returns money for; it must be the caller's.
impl CreateBody for Refund {
    async fn incoming(
        &self,
        state: &AppState,
        caller: &Caller,
        kind: Kind,
        version: ApiVersion,
    ) -> ApiResult<Incoming<'_>> {
        let original = parse_reference_id(&self.reference_id_to_refund, "referenceIdToRefund")?;
        let key = TxKey { product: Product::Collection, kind: Kind::RequestToPay, reference_id: original.to_string() };
        let known = state.store.transaction(&key).await?.is_some_and(|rtp| rtp.api_user == caller.user.id);
        if !known {
            return Err(ApiError::ResourceNotFound);
        }
        Ok(Incoming {
            external_id: self.external_id.as_deref(),
            payer_message: self.payer_message.as_deref(),
            payee_note: self.payee_note.as_deref(),
            related: Some(original.to_string()),
            ..Incoming::new(kind, version, self, Some(&self.amount), &self.currency)?
        })
    }
}

impl CreateBody for CreateInvoice {
    async fn incoming(&self, _: &AppState, _: &Caller, kind: Kind, version: ApiVersion) -> ApiResult<Incoming<'_>> {
        let validity: i64 =
            self.validity_duration.trim().parse().ok().filter(|v| *v > 0 && *v <= 365 * 86_400).ok_or_else(|| {
                ApiError::BadRequest("validityDuration must be a number of seconds, as a string.".into())
            })?;
        check_party("payee", &self.payee)?;
        check_message("description", self.description.as_deref())?;
        Ok(Incoming {
            external_id: self.external_id.as_deref(),
            party: Some(("intendedPayer", &self.intended_payer)),
            window_ms: Some(validity * 1000),
            ..Incoming::new(kind, version, self, Some(&self.amount), &self.currency)?
        })
    }
}

impl CreateBody for PreApproval {
    async fn incoming(&self, _: &AppState, _: &Caller, kind: Kind, version: ApiVersion) -> ApiResult<Incoming<'_>> {
        if self.validity_time == 0 || self.validity_time > 10 * 365 * 86_400 {
            return Err(ApiError::BadRequest("validityTime must be a positive number of seconds.".into()));
        }
        Ok(Incoming {
            payer_message: self.payer_message.as_deref(),
            party: Some(("payer", &self.payer)),
            ..Incoming::new(kind, version, self, None, &self.payer_currency)?
        })
    }
}

impl CreateBody for CreatePayments {
    async fn incoming(&self, _: &AppState, _: &Caller, kind: Kind, version: ApiVersion) -> ApiResult<Incoming<'_>> {
        check_message("receiverMessage", self.receiver_message.as_deref())?;
        check_message("senderNote", self.sender_note.as_deref())?;
        Ok(Incoming {
            external_id: self.external_transaction_id.as_deref(),
            ..Incoming::new(kind, version, self, Some(&self.money.amount), &self.money.currency)?
        })
    }
}

impl CreateBody for CashTransfer {
    async fn incoming(&self, _: &AppState, _: &Caller, kind: Kind, version: ApiVersion) -> ApiResult<Incoming<'_>> {
        if let Some(original) = &self.original_amount {
            amount_minor_units(original, 4)
                .map_err(|_| ApiError::BadRequest("originalAmount must be a positive decimal string.".into()))?;
        }
        // Echoed in the status and callback bodies, so held to the same syntax as the published
        // schema (docs/openapi.md) even though nothing else reads them.
        if let Some(currency) = &self.original_currency {
            Currency::parse(currency.as_str())
                .map_err(|e| ApiError::BadRequest(format!("originalCurrency is not a currency: {e}.")))?;
        }
        if let Some(number) = &self.payer_msisdn {
            Msisdn::parse(number.as_str())
                .map_err(|e| ApiError::BadRequest(format!("payerMsisdn is not an MSISDN: {e}.")))?;
        }
        Ok(Incoming {
            external_id: self.external_id.as_deref(),
            payer_message: self.payer_message.as_deref(),
            payee_note: self.payee_note.as_deref(),
            party: Some(("payee", &self.payee)),
            ..Incoming::new(kind, version, self, Some(&self.amount), &self.currency)?
        })
    }
}

/// The caller's transaction of this kind, settled first if its outcome is due; 404 if it does
/// not exist or belongs to another API user.
pub(crate) async fn load(
    state: &AppState,
    caller: &Caller,
    kind: Kind,
    reference: &str,
) -> ApiResult<TransactionRecord> {
    load_key(state, caller, caller_key(caller, kind, reference)?).await
}

/// The key of the caller's transaction of this kind, from a reference id in a path.
fn caller_key(caller: &Caller, kind: Kind, reference: &str) -> ApiResult<TxKey> {
    let reference = parse_reference_id(reference, "The reference id")?;
    Ok(TxKey { product: caller.product, kind, reference_id: reference.to_string() })
}

/// [`load`] for a key already parsed.
async fn load_key(state: &AppState, caller: &Caller, key: TxKey) -> ApiResult<TransactionRecord> {
    let found = state.store.transaction(&key).await?.filter(|tx| tx.api_user == caller.user.id);
    let tx = found.ok_or(ApiError::ResourceNotFound)?;
    match settle::settle_if_due(state, &tx).await {
        Ok(Some(now)) => Ok(now),
        Ok(None) => Ok(tx),
        // A read never fails because settling did (e.g. a lock conflict with another instance):
        // answer the state as it is; the settler tries again.
        Err(e) => {
            tracing::warn!(reference_id = %key.reference_id, error = format!("{e:#}"), "inline settlement failed");
            Ok(tx)
        }
    }
}

fn json_response(body: String) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// The status body a status endpoint answers: from the final-status cache when the
/// transaction is final (it never changes again), else read, settled if due, and built.
async fn status_of(state: &AppState, caller: &Caller, kind: Kind, reference: &str) -> ApiResult<String> {
    let key = caller_key(caller, kind, reference)?;
    if let Some(known) = state.cache.final_status(&key) {
        if known.api_user == caller.user.id {
            return Ok(known.body.clone());
        }
        return Err(ApiError::ResourceNotFound);
    }
    let tx = load_key(state, caller, key.clone()).await?;
    let body = payments::status_body(state, &tx).await?;
    if tx.status.is_final() {
        state.cache.remember_final(key, &tx.api_user, &body);
    }
    Ok(body)
}

/// The route of the status operation of `kind`.
pub(crate) fn status(filter: MethodFilter, kind: Kind) -> MethodRouter<AppState> {
    let handler = move |State(state): State<AppState>, caller: Caller, PathParam(reference): PathParam| async move {
        ApiResult::Ok(json_response(status_of(&state, &caller, kind, &reference).await?))
    };
    on(filter, handler)
}

/// Make a pending transaction fail now with `reason` (cancellations).
async fn cancel_pending(state: &AppState, tx: &TransactionRecord, reason: ErrorCode) -> ApiResult<bool> {
    if !state.store.replan(&tx.key, &Outcome::Failed(reason), state.clock.now_ms(), false).await? {
        return Ok(false);
    }
    let tx = state.store.transaction(&tx.key).await?.ok_or(ApiError::ResourceNotFound)?;
    settle::settle_if_due(state, &tx).await?;
    Ok(true)
}

/// `DELETE /collection/v2_0/invoice/{referenceId}`: the sandbox answers 202 (the spec says 200);
/// the invoice becomes FAILED with `TRANSACTION_CANCELED` and its own callback is sent.
///
/// The cancellation is a request of its own: its `X-Reference-Id` (a new UUID v4) is recorded,
/// so a reused one is a 409 `RESOURCE_ALREADY_EXIST` as on every create, and its `X-Callback-Url`
/// (checked like a create's) gets the invoice's final status body, the result of the
/// cancellation, through the outbox: signed and retried like every callback. No Payment Server
/// URL fallback here: that URL already gets the invoice's own callback.
pub(crate) async fn cancel_invoice(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(reference): PathParam,
    cancellation: ReferenceIdHeader,
    callback: CallbackUrlHeader,
    OptionalJson(body): OptionalJson<CancelInvoice>,
) -> ApiResult<StatusCode> {
    let callback = checked_callback_url(&state, &caller, callback.0)?;
    let tx = load(&state, &caller, Kind::Invoice, &reference).await?;
    let key =
        TxKey { product: caller.product, kind: Kind::InvoiceCancellation, reference_id: cancellation.0.to_string() };
    // A cancel sent again is told its reference id is taken (so its first try went through),
    // before being told the invoice is final; the write below settles races between the two.
    if state.store.transaction(&key).await?.is_some() {
        return Err(ApiError::ResourceAlreadyExist);
    }
    let already_final =
        || ApiError::Refused(StatusCode::CONFLICT, ErrorCode::NotAllowed, "The invoice is already final.");
    if tx.status.is_final() {
        return Err(already_final());
    }
    let now = state.clock.now_ms();
    // The invoice as the cancellation leaves it: what the cancel's callback reports.
    let cancelled = TransactionRecord {
        status: TransactionStatus::Failed,
        reason: Some(ErrorCode::TransactionCanceled),
        financial_transaction_id: None,
        outcome: None,
        due_at: None,
        awaiting_approval: false,
        updated_at: now,
        ..tx.clone()
    };
    let record = TransactionRecord {
        key,
        api_user: caller.user.id.clone(),
        environment: cancelled.environment.clone(),
        currency: cancelled.currency.clone(),
        amount_minor: 0,
        party: None,
        external_id: body.and_then(|b| b.external_id),
        request: payments::status_body(&state, &cancelled).await?,
        api_version: ApiVersion::V2,
        status: TransactionStatus::Pending,
        reason: None,
        financial_transaction_id: None,
        callback_url: callback,
        outcome: Some(Outcome::Successful),
        due_at: Some(now),
        awaiting_approval: false,
        related_reference_id: Some(tx.key.reference_id.clone()),
        notifications: 0,
        created_at: now,
        updated_at: now,
        cancelled_at: None,
    };
    // The invoice's new plan and the cancellation are written together: a reused reference id
    // (409) or an invoice that became final meanwhile cancels nothing, and once written, both
    // settle even if this instance stops now (the settler finds them due).
    let outcome = Outcome::Failed(ErrorCode::TransactionCanceled);
    if !state.store.replan_with_insert(&tx.key, &outcome, now, &record).await? {
        return Err(already_final());
    }
    state.metrics.transaction_created(record.key.product, record.key.kind);
    for written in [&tx.key, &record.key] {
        if let Some(due) = state.store.transaction(written).await? {
            settle::settle_if_due(&state, &due).await?;
        }
    }
    tracing::info!(reference_id = %record.key.reference_id, invoice = %tx.key.reference_id, "invoice cancelled");
    Ok(StatusCode::ACCEPTED)
}

/// `DELETE /collection/v1_0/preapproval/{preapprovalid}`: 200; a pending one fails with
/// `TRANSACTION_CANCELED`, an approved one is no longer listed.
pub(crate) async fn cancel_preapproval(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(reference): PathParam,
) -> ApiResult<StatusCode> {
    let tx = load(&state, &caller, Kind::PreApproval, &reference).await?;
    let cancelled = match tx.status {
        TransactionStatus::Successful => {
            let cancelled = state.store.cancel_transaction(&tx.key, state.clock.now_ms()).await?;
            state.changes.publish(|| Change::of(&tx));
            cancelled
        }
        TransactionStatus::Failed => false,
        // Pending or created: the store holds no other status.
        _ => cancel_pending(&state, &tx, ErrorCode::TransactionCanceled).await?,
    };
    if !cancelled {
        return Err(ApiError::Refused(StatusCode::CONFLICT, ErrorCode::NotAllowed, "The pre-approval is not active."));
    }
    Ok(StatusCode::OK)
}

/// `GET /collection/v1_0/preapprovals/{type}/{id}`: the caller's approved, unexpired and
/// uncancelled pre-approvals of this payer (an empty list if none).
pub(crate) async fn approved_preapprovals(
    State(state): State<AppState>,
    caller: Caller,
    crate::extract::AccountHolder(payer): crate::extract::AccountHolder,
) -> ApiResult<axum::Json<Vec<PreApprovalDetails>>> {
    let now = state.clock.now_ms();
    let mut out = Vec::new();
    for tx in state.store.transactions(Some(&caller.user.id), 10_000).await? {
        let same_payer = tx.party.as_ref().is_some_and(|p| {
            p.party_id_type == payer.party_id_type && p.party_id.eq_ignore_ascii_case(&payer.party_id)
        });
        if tx.key.kind != Kind::PreApproval || !same_payer || tx.status != TransactionStatus::Successful {
            continue;
        }
        let request: PreApproval = serde_json::from_str(&tx.request).map_err(|e| ApiError::Internal(e.into()))?;
        let validity = i64::try_from(request.validity_time).unwrap_or(i64::MAX / 4_000);
        let expiry = tx.created_at.saturating_add(validity.saturating_mul(1000));
        if tx.cancelled_at.is_some() || expiry <= now {
            continue;
        }
        out.push(PreApprovalDetails {
            pre_approval_id: tx.key.reference_id.clone(),
            to_fri: format!("FRI:{}/USER", tx.api_user),
            from_fri: format!("FRI:{}/{}", request.payer.party_id, request.payer.party_id_type.as_str()),
            from_currency: request.payer_currency.clone(),
            created_time: transactions::mtn_time(tx.created_at, false),
            approved_time: Some(transactions::mtn_time(tx.updated_at, false)),
            expiry_time: Some(transactions::mtn_time(expiry, false)),
            status: "APPROVED".into(),
            message: request.payer_message.clone().unwrap_or_default(),
        });
    }
    Ok(axum::Json(out))
}
