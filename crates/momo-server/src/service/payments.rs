//! Payment operations the operator API and the console share: find a transaction by its
//! reference id, decide for the payer, force an outcome, and read what the MoMo API answers
//! about it (docs/operator-api.md, "Transactions").

use momo_types::payments::TransactionStatus;
use momo_types::ErrorCode;

use crate::domain::transactions::{self, Outcome, StatusFields};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::{PostingRecord, TransactionRecord, TxCursor, TxFilter, TxKey};

/// The one transaction with this reference id (409 if several kinds share it).
pub(crate) async fn one(state: &AppState, reference: &str) -> ApiResult<TransactionRecord> {
    let mut found = state.store.transactions_by_reference(&reference.to_ascii_lowercase()).await?;
    match found.len() {
        0 => Err(ApiError::ResourceNotFound),
        1 => Ok(found.remove(0)),
        _ => Err(ApiError::OperatorConflict(
            "Several transactions have this reference id; list them with GET /_momo/admin/transactions.".into(),
        )),
    }
}

/// The transaction as it is now: settled first if its outcome is due, as a status read would.
pub(crate) async fn current(state: &AppState, reference: &str) -> ApiResult<TransactionRecord> {
    let tx = one(state, reference).await?;
    Ok(crate::settle::settle_if_due(state, &tx).await?.unwrap_or(tx))
}

/// The transaction with this key (reference ids are unique only per product and kind), as it is
/// now: settled first if its outcome is due, as a status read would.
pub(crate) async fn at(state: &AppState, key: &TxKey) -> ApiResult<TransactionRecord> {
    let tx = state.store.transaction(key).await?.ok_or(ApiError::ResourceNotFound)?;
    Ok(crate::settle::settle_if_due(state, &tx).await?.unwrap_or(tx))
}

/// A page of transactions matching `filter`, newest first, after `before` (docs/console.md).
pub(crate) async fn page(
    state: &AppState,
    filter: &TxFilter,
    before: Option<&TxCursor>,
    limit: i64,
) -> ApiResult<Vec<TransactionRecord>> {
    Ok(state.store.transactions_page(filter, before, limit).await?)
}

/// The ledger postings a transaction made.
pub(crate) async fn postings(state: &AppState, key: &TxKey) -> ApiResult<Vec<PostingRecord>> {
    Ok(state.store.transaction_postings(key).await?)
}

/// What the payer decides on a request waiting for approval (what the handset does).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    Approve,
    Reject,
    /// The payer typed a wrong PIN ([`WRONG_PIN_REASON`]).
    WrongPin,
}

/// The reason a payment fails with when its payer types a wrong PIN (docs/console.md,
/// "Handset"): MoMo has no code of its own for it, and MTN documents this one as the default
/// for a failure without a specific code. It differs from a rejection (`APPROVAL_REJECTED`) and
/// from a PIN never entered (`COULD_NOT_PERFORM_TRANSACTION`).
pub(crate) const WRONG_PIN_REASON: ErrorCode = ErrorCode::InternalProcessingError;

impl Decision {
    fn outcome(self) -> Outcome {
        match self {
            Decision::Approve => Outcome::Successful,
            Decision::Reject => Outcome::Failed(ErrorCode::ApprovalRejected),
            Decision::WrongPin => Outcome::Failed(WRONG_PIN_REASON),
        }
    }
}

/// Decide for the payer: the transaction settles at once with the decision's outcome.
pub(crate) async fn decide(state: &AppState, reference: &str, decision: Decision) -> ApiResult<TransactionRecord> {
    decide_at(state, &one(state, reference).await?.key, decision).await
}

/// [`decide`] for the transaction with this key (whatever other kinds share its reference id).
pub(crate) async fn decide_at(state: &AppState, key: &TxKey, decision: Decision) -> ApiResult<TransactionRecord> {
    if !state.store.replan(key, &decision.outcome(), state.clock.now_ms(), true).await? {
        return Err(ApiError::OperatorConflict("The transaction is not waiting for the payer's approval.".into()));
    }
    at(state, key).await
}

/// The outcome to force: `SUCCESSFUL`, or `FAILED` with a MoMo reason code (default
/// `INTERNAL_PROCESSING_ERROR`).
pub(crate) fn forced_outcome(status: TransactionStatus, reason: Option<String>) -> ApiResult<Outcome> {
    match status {
        TransactionStatus::Successful => Ok(Outcome::Successful),
        TransactionStatus::Failed => {
            let reason = reason.map_or(ErrorCode::InternalProcessingError, |r| ErrorCode::parse(&r));
            if matches!(reason, ErrorCode::Unknown(_)) {
                return Err(ApiError::BadRequest(format!("{reason} is not a MoMo reason code.")));
            }
            Ok(Outcome::Failed(reason))
        }
        _ => Err(ApiError::BadRequest("status must be SUCCESSFUL or FAILED.".into())),
    }
}

/// Force the outcome of any pending transaction, now.
pub(crate) async fn force(state: &AppState, reference: &str, outcome: Outcome) -> ApiResult<TransactionRecord> {
    let tx = one(state, reference).await?;
    force_at(state, &tx.key, outcome).await
}

/// [`force`] for the transaction with this key.
pub(crate) async fn force_at(state: &AppState, key: &TxKey, outcome: Outcome) -> ApiResult<TransactionRecord> {
    if !state.store.replan(key, &outcome, state.clock.now_ms(), false).await? {
        return Err(ApiError::OperatorConflict("The transaction is already final.".into()));
    }
    at(state, key).await
}

/// The body `GET …/{kind}/{referenceId}` answers for `tx` now, as JSON text.
pub(crate) async fn status_body(state: &AppState, tx: &TransactionRecord) -> ApiResult<String> {
    let refund_payee = crate::settle::refund_payee(state, tx).await?;
    let fields = StatusFields {
        kind: tx.key.kind,
        request: &tx.request,
        status: tx.status.clone(),
        reason: tx.reason.as_ref(),
        financial_transaction_id: tx.financial_transaction_id.as_deref(),
        refund_payee,
        reference_id: &tx.key.reference_id,
        created_at: tx.created_at,
    };
    Ok(transactions::status_body(&fields, state.settings.reason_format)?)
}
