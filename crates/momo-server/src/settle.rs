//! Settlement: a pending transaction whose planned outcome is due becomes final, with its
//! ledger entry and its callback, in one database transaction ([`Payments::finalize`](crate::store::Payments::finalize)).
//!
//! The background worker settles due transactions every `worker_interval`; a status request
//! settles its transaction first if it is due, so what a client sees never depends on the
//! worker's timing. Two instances may race on one transaction: `finalize` only changes a row
//! that is still PENDING, so exactly one wins.

use momo_types::payments::{Party, TransactionStatus};
use momo_types::{CallbackMethod, Environment, ErrorCode, Product};

use crate::changes::Change;
use crate::config::SandboxBalance;
use crate::domain::transactions::{self, accounts, Flow, Kind, KindRules as _, Outcome, StatusFields};
use crate::state::AppState;
use crate::store::{AccountSpec, Finalization, Finalized, NewDelivery, Posting, RefundGuard, TransactionRecord, TxKey};

/// How many due transactions one round of the settler takes.
pub(crate) const BATCH: i64 = 256;

/// Settle every due transaction, a batch at a time in one commit; returns how many it took.
pub(crate) async fn settle_due(state: &AppState) -> anyhow::Result<usize> {
    let now = state.clock.now_ms();
    let due = state.store.due_transactions(now, BATCH).await?;
    let mut planned = Vec::with_capacity(due.len());
    for tx in &due {
        let refund_payee = refund_payee(state, tx).await?;
        planned.push((tx, refund_payee, planned_outcome(tx)));
    }
    // First the planned outcomes; those refused for funds (or an exceeded refund) fail instead.
    let first: Vec<_> = planned
        .iter()
        .map(|(tx, payee, outcome)| build(state, tx, outcome, payee.clone()))
        .collect::<anyhow::Result<_>>()?;
    let results = state.store.finalize_batch(&first).await?;
    let mut retry = Vec::new();
    for (((tx, payee, _), finalization), result) in planned.iter().zip(&first).zip(&results) {
        match failure_for(*result) {
            Some(code) => retry.push((*tx, build(state, tx, &Outcome::Failed(code), payee.clone())?)),
            None if *result == Finalized::Done => published(state, tx, finalization),
            None => {}
        }
    }
    if !retry.is_empty() {
        let finalizations: Vec<Finalization> = retry.iter().map(|(_, f)| f.clone()).collect();
        let results = state.store.finalize_batch(&finalizations).await?;
        for ((tx, finalization), result) in retry.iter().zip(results) {
            if result == Finalized::Done {
                published(state, tx, finalization);
            }
        }
    }
    if !due.is_empty() {
        state.callbacks_waiting.notify_one();
    }
    Ok(due.len())
}

/// Tell the console's live pages that `tx` became final (and queued its callback, if any), and
/// count it. Every finalization this instance makes comes here once.
pub(crate) fn published(state: &AppState, tx: &TransactionRecord, finalization: &Finalization) {
    state.metrics.transaction_finalized(tx.key.product, tx.key.kind, &finalization.status);
    let change = Change::of(tx);
    // A wallet the transaction does not name moved too (a refund's payee): its handset follows.
    for posting in &finalization.postings {
        let wallet = &posting.account.id;
        let named = matches!(&change, Change::Transaction { wallet: Some(named), .. } if named == wallet);
        if accounts::is_wallet(wallet) && !named {
            state.changes.publish(|| Change::Transaction {
                reference_id: tx.key.reference_id.clone(),
                wallet: Some(wallet.clone()),
            });
        }
    }
    state.changes.publish(|| change);
    if finalization.delivery.is_some() {
        state.changes.publish(|| Change::Delivery { reference_id: tx.key.reference_id.clone() });
    }
}

/// The reason a refused finalization becomes, if it was refused for money.
fn failure_for(result: Finalized) -> Option<ErrorCode> {
    match result {
        Finalized::InsufficientFunds => Some(ErrorCode::NotEnoughFunds),
        // A refund larger than what is left of its request to pay is refused.
        Finalized::RefundExceeded => Some(ErrorCode::NotAllowed),
        // The ledger's limit per account (docs/compatibility.md, "Amounts and balances").
        Finalized::PayeeLimitReached => Some(ErrorCode::PayeeLimitReached),
        Finalized::PayerLimitReached => Some(ErrorCode::PayerLimitReached),
        Finalized::Done | Finalized::NotPending => None,
    }
}

fn planned_outcome(tx: &TransactionRecord) -> Outcome {
    tx.outcome.clone().unwrap_or(Outcome::Failed(ErrorCode::InternalProcessingError))
}

/// The finalization of `tx` with `outcome`.
fn build(
    state: &AppState,
    tx: &TransactionRecord,
    outcome: &Outcome,
    refund_payee: Option<Party>,
) -> anyhow::Result<Finalization> {
    let env = Environment::lookup(&tx.environment).ok_or_else(|| {
        anyhow::anyhow!("transaction {} has unknown environment {}", tx.key.reference_id, tx.environment)
    })?;
    match outcome {
        Outcome::Successful => {
            let postings = postings(state, tx, env, refund_payee.as_ref());
            let guard = (tx.key.kind == Kind::Refund)
                .then(|| RefundGuard { original: refunded_key(tx), amount: tx.amount_minor });
            finalization(state, tx, TransactionStatus::Successful, None, postings, guard, refund_payee)
        }
        Outcome::Failed(code) => {
            finalization(state, tx, TransactionStatus::Failed, Some(code.clone()), Vec::new(), None, refund_payee)
        }
    }
}

/// The finalization of a transaction being accepted, if its outcome is due at once and cannot
/// be refused (sandbox with no pending delay): written in the same commit as the transaction, it
/// saves a second write of the row. Anything else settles later, by the worker or a status read.
pub(crate) fn immediate(state: &AppState, tx: &TransactionRecord) -> anyhow::Result<Option<Finalization>> {
    let due = tx.due_at.is_some_and(|at| at <= tx.created_at) && !tx.awaiting_approval;
    if !due || tx.key.kind == Kind::Refund {
        return Ok(None);
    }
    let finalization = build(state, tx, &planned_outcome(tx), None)?;
    Ok(finalization.unconditional().then_some(finalization))
}

/// Settle this transaction if its outcome is due. `Some` (the transaction as it is now, final)
/// if it was due, whoever made it final: this call, or another worker or instance at the same
/// moment; `None` if it was not due, and the caller's copy stands.
pub(crate) async fn settle_if_due(
    state: &AppState,
    tx: &TransactionRecord,
) -> anyhow::Result<Option<TransactionRecord>> {
    let due = !tx.status.is_final() && tx.due_at.is_some_and(|at| at <= state.clock.now_ms());
    if !due {
        return Ok(None);
    }
    let refund_payee = refund_payee(state, tx).await?;
    let mut outcome = planned_outcome(tx);
    loop {
        let finalization = build(state, tx, &outcome, refund_payee.clone())?;
        let result = state.store.finalize(&finalization).await?;
        match (result, failure_for(result)) {
            (Finalized::Done, _) => {
                state.callbacks_waiting.notify_one();
                published(state, tx, &finalization);
                tracing::debug!(reference_id = %tx.key.reference_id, status = %finalization.status, "transaction final");
                return Ok(Some(finalization.applied_to(tx)));
            }
            // Another worker (or instance) made it final first (or changed its plan): read it.
            (Finalized::NotPending, _) => return Ok(state.store.transaction(&tx.key).await?),
            (_, Some(code)) => outcome = Outcome::Failed(code),
            (_, None) => return Ok(None),
        }
    }
}

/// The request to pay a refund refers to.
fn refunded_key(tx: &TransactionRecord) -> TxKey {
    TxKey {
        product: Product::Collection,
        kind: Kind::RequestToPay,
        reference_id: tx.related_reference_id.clone().unwrap_or_default(),
    }
}

/// A refund's payee: the payer of the refunded request to pay.
pub(crate) async fn refund_payee(state: &AppState, tx: &TransactionRecord) -> anyhow::Result<Option<Party>> {
    if tx.key.kind != Kind::Refund {
        return Ok(None);
    }
    Ok(state.store.transaction(&refunded_key(tx)).await?.and_then(|original| original.party))
}

/// The journal entry of a successful transaction. Sandbox accounts have no floor (the sandbox
/// never runs out of money); production wallets start with the opening balance and, like the API
/// user's accounts, cannot go below zero.
fn postings(state: &AppState, tx: &TransactionRecord, env: &Environment, refund_payee: Option<&Party>) -> Vec<Posting> {
    let Some(flow) = tx.key.kind.flow() else { return Vec::new() };
    let production = !env.is_sandbox();
    let floor = production.then_some(0);
    let user_product = if tx.key.kind == Kind::Refund { Product::Disbursement } else { tx.key.product };
    let user = AccountSpec {
        id: accounts::api_user(&tx.api_user, user_product),
        currency: env.currency.into(),
        floor,
        opening: 0,
        // A sandbox payout never takes the account below zero: the sandbox funds it, from an
        // account of the API user's own (one tenant cannot exhaust another's).
        top_up_from: (!production && state.settings.sandbox_balance == SandboxBalance::Ledger)
            .then(|| accounts::sandbox_funding(&tx.api_user)),
    };
    let counterparty = match flow {
        Flow::FromParty | Flow::ToParty => {
            let Some(party) = refund_payee.or(tx.party.as_ref()) else { return Vec::new() };
            let opening = if production {
                crate::domain::validation::amount_minor_units(
                    &state.settings.wallet_opening_balance,
                    env.currency_decimals,
                )
                .unwrap_or(0)
            } else {
                0
            };
            AccountSpec {
                id: accounts::wallet(env.name, party),
                currency: env.currency.into(),
                floor,
                opening,
                top_up_from: None,
            }
        }
        Flow::ToProvider => {
            let name = serde_json::from_str::<momo_types::payments::CreatePayments>(&tx.request)
                .ok()
                .and_then(|p| p.service_provider_user_name)
                .unwrap_or_else(|| "unnamed".into());
            AccountSpec {
                id: accounts::provider(env.name, &name),
                currency: env.currency.into(),
                floor: None,
                opening: 0,
                top_up_from: None,
            }
        }
    };
    let (from, to) = match flow {
        Flow::FromParty => (counterparty, user),
        Flow::ToParty | Flow::ToProvider => (user, counterparty),
    };
    vec![Posting { account: from, amount: -tx.amount_minor }, Posting { account: to, amount: tx.amount_minor }]
}

/// The method of a transaction's callback, from the operation table. Every kind and version a
/// transaction is recorded with comes from an operation of the table that calls back; should a
/// database hold another, PUT (the method of most operations) is used, and said.
fn callback_method(tx: &TransactionRecord) -> CallbackMethod {
    tx.key.kind.callback_method(tx.api_version).unwrap_or_else(|| {
        tracing::warn!(kind = %tx.key.kind, version = ?tx.api_version, "no operation of the table calls back for this kind and version; sending PUT");
        CallbackMethod::Put
    })
}

fn finalization(
    state: &AppState,
    tx: &TransactionRecord,
    status: TransactionStatus,
    reason: Option<ErrorCode>,
    postings: Vec<Posting>,
    refund_guard: Option<RefundGuard>,
    refund_payee: Option<Party>,
) -> anyhow::Result<Finalization> {
    let fti = (status == TransactionStatus::Successful).then(transactions::financial_transaction_id);
    let now = state.clock.now_ms();
    let delivery = match &tx.callback_url {
        Some(url) => {
            let body = transactions::status_body(
                &StatusFields {
                    kind: tx.key.kind,
                    request: &tx.request,
                    status: status.clone(),
                    reason: reason.as_ref(),
                    financial_transaction_id: fti.as_deref(),
                    refund_payee,
                    reference_id: &tx.key.reference_id,
                    created_at: tx.created_at,
                },
                state.settings.reason_format,
            )?;
            Some(NewDelivery {
                // Time-ordered: the outbox's primary key (and the attempts', which start with it)
                // then grows at its end instead of touching a random page per callback.
                id: uuid::Uuid::now_v7().to_string(),
                api_user: tx.api_user.clone(),
                url: url.clone(),
                method: callback_method(tx).as_str().into(),
                body,
            })
        }
        None => None,
    };
    let env = Environment::lookup(&tx.environment).map_or("sandbox", |e| e.name);
    Ok(Finalization {
        key: tx.key.clone(),
        status,
        reason,
        financial_transaction_id: fti,
        postings,
        issuance: accounts::issuance(env),
        refund_guard,
        delivery,
        now,
    })
}
