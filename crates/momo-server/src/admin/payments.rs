//! Operator API for payments: inspect transactions and callbacks, decide for the payer, force
//! outcomes, set balances, inject faults, reset. Documented in `docs/operator-api.md`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use momo_types::admin::{
    Account, CallbackSecret, Delivery, DeliveryAttempt, DeliveryDetail, Fault, FaultSpec, ForceOutcome, ListQuery,
    SetBalance, Transaction, TransactionDetail,
};
use momo_types::payments::{Party, PartyIdType};
use momo_types::{Amount, Environment, Product};
use serde_json::Value;

use crate::domain::clock::rfc3339;
use crate::domain::transactions::{accounts, Outcome};
use crate::domain::validation::{amount_minor_units, check_party};
use crate::error::{ApiError, ApiResult};
use crate::extract::{MomoJson, MomoPath, MomoQuery, Operator, PathParam};
use crate::service::payments::{self, Decision};
use crate::state::AppState;
use crate::store::{AccountSpec, DeliveryRecord, TransactionRecord};

fn transaction_view(tx: &TransactionRecord) -> Transaction {
    let decimals = Environment::lookup(&tx.environment).map_or(2, |e| e.currency_decimals);
    Transaction {
        reference_id: tx.key.reference_id.clone(),
        product: tx.key.product,
        kind: tx.key.kind.as_str().to_owned(),
        api_user: tx.api_user.clone(),
        environment: tx.environment.clone(),
        amount: Amount::from_minor_units(tx.amount_minor, decimals).to_string(),
        currency: tx.currency.to_string(),
        party: tx.party.clone(),
        status: tx.status.clone(),
        reason: tx.reason.as_ref().map(|code| code.as_str().to_owned()),
        financial_transaction_id: tx.financial_transaction_id.clone(),
        awaiting_approval: tx.awaiting_approval,
        planned_outcome: tx.outcome.as_ref().map(Outcome::to_string),
        due_at: tx.due_at.map(rfc3339),
        callback_url: tx.callback_url.clone(),
        created_at: rfc3339(tx.created_at),
        updated_at: rfc3339(tx.updated_at),
    }
}

pub(super) async fn list_transactions(
    State(state): State<AppState>,
    _: Operator,
    MomoQuery(query): MomoQuery<ListQuery>,
) -> ApiResult<Json<Vec<Transaction>>> {
    let limit = query.limit.unwrap_or(100).clamp(1, 1000);
    // The console's listing: newest first, from an index whatever the filter.
    let filter = crate::store::TxFilter { api_user: query.api_user, ..Default::default() };
    let txs = payments::page(&state, &filter, None, limit).await?;
    Ok(Json(txs.iter().map(transaction_view).collect()))
}

pub(super) async fn get_transaction(
    State(state): State<AppState>,
    _: Operator,
    PathParam(reference): PathParam,
) -> ApiResult<Json<TransactionDetail>> {
    let tx = payments::current(&state, &reference).await?;
    let body = payments::status_body(&state, &tx).await?;
    let deliveries = state.store.deliveries(Some(&tx.key.reference_id), None, 100).await?;
    Ok(Json(TransactionDetail {
        transaction: transaction_view(&tx),
        status_body: serde_json::from_str(&body).map_err(|e| ApiError::Internal(e.into()))?,
        deliveries: deliveries.iter().map(delivery_view).collect(),
    }))
}

/// Decide for the payer of a request waiting for approval (what the handset does).
pub(super) async fn approve(
    State(state): State<AppState>,
    _: Operator,
    PathParam(r): PathParam,
) -> ApiResult<Json<Transaction>> {
    Ok(Json(transaction_view(&payments::decide(&state, &r, Decision::Approve).await?)))
}

pub(super) async fn reject(
    State(state): State<AppState>,
    _: Operator,
    PathParam(r): PathParam,
) -> ApiResult<Json<Transaction>> {
    Ok(Json(transaction_view(&payments::decide(&state, &r, Decision::Reject).await?)))
}

/// Force the outcome of any pending transaction, now.
pub(super) async fn force(
    State(state): State<AppState>,
    _: Operator,
    PathParam(reference): PathParam,
    MomoJson(body): MomoJson<ForceOutcome>,
) -> ApiResult<Json<Transaction>> {
    let outcome = payments::forced_outcome(body.status, body.reason)?;
    Ok(Json(transaction_view(&payments::force(&state, &reference, outcome).await?)))
}

fn delivery_view(d: &DeliveryRecord) -> Delivery {
    Delivery {
        id: d.id.clone(),
        reference_id: d.key.reference_id.clone(),
        kind: d.key.kind.as_str().to_owned(),
        api_user: d.api_user.clone(),
        method: d.method.clone(),
        url: d.url.clone(),
        state: d.state.clone(),
        attempts: d.attempts,
        next_attempt_at: d.next_attempt_at.filter(|_| d.state == "pending").map(rfc3339),
        created_at: rfc3339(d.created_at),
        finished_at: d.finished_at.map(rfc3339),
    }
}

pub(super) async fn list_deliveries(
    State(state): State<AppState>,
    _: Operator,
    MomoQuery(query): MomoQuery<ListQuery>,
) -> ApiResult<Json<Vec<Delivery>>> {
    let limit = query.limit.unwrap_or(100).clamp(1, 1000);
    let deliveries = state.store.deliveries(query.reference_id.as_deref(), None, limit).await?;
    Ok(Json(deliveries.iter().map(delivery_view).collect()))
}

/// Send a callback again, soon, with the same body (`service::callbacks::redeliver`).
pub(super) async fn redeliver(
    State(state): State<AppState>,
    _: Operator,
    PathParam(id): PathParam,
) -> ApiResult<Json<Delivery>> {
    Ok(Json(delivery_view(&crate::service::callbacks::redeliver(&state, &id).await?)))
}

pub(super) async fn get_delivery(
    State(state): State<AppState>,
    _: Operator,
    PathParam(id): PathParam,
) -> ApiResult<Json<DeliveryDetail>> {
    let delivery = state.store.delivery(&id).await?.ok_or(ApiError::ResourceNotFound)?;
    let attempts = state.store.delivery_attempts(&id).await?;
    Ok(Json(DeliveryDetail {
        body: serde_json::from_str(&delivery.body).unwrap_or(Value::String(delivery.body.clone())),
        delivery: delivery_view(&delivery),
        attempt_log: attempts
            .into_iter()
            .map(|a| DeliveryAttempt {
                attempt: a.attempt,
                at: rfc3339(a.at),
                status_code: a.status_code,
                latency_ms: a.latency_ms,
                error: a.error,
            })
            .collect(),
    }))
}

fn decimals_of(currency: &str) -> u8 {
    momo_types::ENVIRONMENTS.iter().find(|e| e.currency == currency).map_or(2, |e| e.currency_decimals)
}

pub(super) async fn list_accounts(State(state): State<AppState>, _: Operator) -> ApiResult<Json<Vec<Account>>> {
    let accounts = state.store.accounts().await?;
    Ok(Json(
        accounts
            .iter()
            .map(|a| {
                let d = decimals_of(&a.currency);
                Account {
                    account: a.id.clone(),
                    currency: a.currency.clone(),
                    balance: Amount::from_minor_units(a.balance, d).to_string(),
                    floor: a.floor.map(|f| Amount::from_minor_units(f, d).to_string()),
                }
            })
            .collect(),
    ))
}

fn environment(name: &str) -> ApiResult<&'static Environment> {
    Environment::lookup(name).ok_or_else(|| ApiError::BadRequest(format!("Unknown environment {name:?}.")))
}

fn parse_balance(amount: &Amount, env: &Environment) -> ApiResult<i64> {
    if amount.as_str() == "0" {
        return Ok(0);
    }
    Ok(amount_minor_units(amount, env.currency_decimals)?)
}

/// Set a payer's wallet balance (production environments; sandbox wallets have no floor).
pub(super) async fn set_wallet_balance(
    State(state): State<AppState>,
    _: Operator,
    MomoPath((env_name, party_type, party_id)): MomoPath<(String, String, String)>,
    MomoJson(body): MomoJson<SetBalance>,
) -> ApiResult<Json<Account>> {
    let env = environment(&env_name)?;
    let party_id_type = match party_type.to_ascii_uppercase().as_str() {
        "MSISDN" => PartyIdType::Msisdn,
        "EMAIL" => PartyIdType::Email,
        "PARTY_CODE" => PartyIdType::PartyCode,
        _ => return Err(ApiError::BadRequest("The party type must be MSISDN, EMAIL or PARTY_CODE.".into())),
    };
    let party = Party { party_id_type, party_id };
    check_party("wallet", &party)?;
    let target = parse_balance(&body.amount, env)?;
    let spec = AccountSpec {
        id: accounts::wallet(env.name, &party),
        currency: env.currency.into(),
        floor: (!env.is_sandbox()).then_some(0),
        opening: 0,
        top_up_from: None,
    };
    set(&state, spec, env, target).await
}

/// Set an API user's account balance for a product (e.g. to fund disbursements).
pub(super) async fn set_user_balance(
    State(state): State<AppState>,
    _: Operator,
    MomoPath((id, product)): MomoPath<(String, String)>,
    MomoJson(body): MomoJson<SetBalance>,
) -> ApiResult<Json<Account>> {
    let user = state.store.api_user(&id).await?.ok_or(ApiError::ResourceNotFound)?;
    let product: Product =
        product.parse().map_err(|e: momo_types::product::UnknownProduct| ApiError::BadRequest(e.to_string()))?;
    let env = environment(&user.environment)?;
    let target = parse_balance(&body.amount, env)?;
    let spec = AccountSpec {
        id: accounts::api_user(&user.id, product),
        currency: env.currency.into(),
        floor: (!env.is_sandbox()).then_some(0),
        opening: 0,
        top_up_from: None,
    };
    set(&state, spec, env, target).await
}

async fn set(state: &AppState, spec: AccountSpec, env: &Environment, target: i64) -> ApiResult<Json<Account>> {
    state.store.set_balance(&spec, &accounts::issuance(env.name), target, state.clock.now_ms()).await?;
    let balance = state.store.balance(&spec.id).await?;
    Ok(Json(Account {
        account: spec.id,
        currency: spec.currency,
        balance: Amount::from_minor_units(balance, env.currency_decimals).to_string(),
        floor: spec.floor.map(|f| Amount::from_minor_units(f, env.currency_decimals).to_string()),
    }))
}

/// The secret an API user's callbacks are signed with (see `docs/callbacks.md`).
pub(super) async fn callback_secret(
    State(state): State<AppState>,
    _: Operator,
    PathParam(id): PathParam,
) -> ApiResult<Json<CallbackSecret>> {
    let secret = crate::service::credentials::callback_secret(&state, &id).await?;
    Ok(Json(CallbackSecret { api_user: id, callback_signing_secret: secret }))
}

pub(super) async fn list_faults(State(state): State<AppState>, _: Operator) -> ApiResult<Json<Vec<Fault>>> {
    Ok(Json(crate::service::faults::list(&state).await?))
}

pub(super) async fn add_fault(
    State(state): State<AppState>,
    _: Operator,
    MomoJson(spec): MomoJson<FaultSpec>,
) -> ApiResult<(StatusCode, Json<Fault>)> {
    Ok((StatusCode::CREATED, Json(crate::service::faults::add(&state, spec).await?)))
}

pub(super) async fn remove_fault(
    State(state): State<AppState>,
    _: Operator,
    PathParam(id): PathParam,
) -> ApiResult<StatusCode> {
    crate::service::faults::remove(&state, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(super) async fn clear_faults(State(state): State<AppState>, _: Operator) -> ApiResult<StatusCode> {
    crate::service::faults::clear(&state).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Forget all transactions, ledger entries, deliveries and fault rules; users and keys stay.
pub(super) async fn reset(State(state): State<AppState>, _: Operator) -> ApiResult<StatusCode> {
    state.store.reset_payments().await?;
    state.faults.clear(state.store.as_ref()).await?;
    state.cache.clear();
    state.changes.publish_everything();
    tracing::info!("operator reset all payment state");
    Ok(StatusCode::NO_CONTENT)
}
