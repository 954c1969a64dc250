//! The payments area of the store: transactions, their plans and settlement, listings, and the
//! ledger they post to.

use async_trait::async_trait;
use momo_types::payments::{Party, TransactionStatus};
use momo_types::{Currency, ErrorCode, Product};

use super::{NewDelivery, StoreResult};
use crate::domain::transactions::{ApiVersion, Kind, Outcome};

/// Transactions, from their acceptance to their settlement, and the ledger they post to.
#[async_trait]
pub trait Payments: Send + Sync {
    /// The balance of a ledger account, in minor units (0 for an account not yet used).
    async fn balance(&self, account: &str) -> StoreResult<i64>;

    /// Record an accepted transaction; [`StoreError::Conflict`](super::StoreError::Conflict) if its reference id is taken.
    async fn insert_transaction(&self, tx: &TransactionRecord) -> StoreResult<()>;
    /// [`Payments::insert_transaction`] for a transaction whose outcome is due at once, with the
    /// finalization that makes it so (one that cannot be refused, [`Finalization::unconditional`]).
    /// `true` if the engine made it in the same commit (both engines' group commits do, but for
    /// a batch the database refused for the ledger's limit); `false` if it left it to the settler.
    async fn insert_settled(&self, tx: &TransactionRecord, finalization: &Finalization) -> StoreResult<bool>;
    async fn transaction(&self, key: &TxKey) -> StoreResult<Option<TransactionRecord>>;
    /// Pending transactions whose planned outcome is due at `now`.
    async fn due_transactions(&self, now: i64, limit: i64) -> StoreResult<Vec<TransactionRecord>>;
    /// Make pending transactions final, each atomically with its ledger entry and its callback
    /// (a transaction that cannot be finalized rolls back alone). They go in the group commit (on
    /// PostgreSQL only those that cannot be refused); the rest, and those a commit leaves to their
    /// callers, in commits on the writer (on SQLite one for the call, on PostgreSQL one each), so
    /// after an error some of the call's settlements may be made: a caller settles again what it
    /// still finds pending.
    async fn finalize_batch(&self, finalizations: &[Finalization]) -> StoreResult<Vec<Finalized>>;

    /// [`Payments::finalize_batch`] for one transaction.
    async fn finalize(&self, finalization: &Finalization) -> StoreResult<Finalized> {
        let mut results = self.finalize_batch(std::slice::from_ref(finalization)).await?;
        Ok(results.pop().unwrap_or(Finalized::NotPending))
    }
    /// Change the plan of a pending transaction (approve, reject, force). With
    /// `only_awaiting_approval`, only a request waiting for the payer. `false` if nothing changed.
    async fn replan(
        &self,
        key: &TxKey,
        outcome: &Outcome,
        due_at: i64,
        only_awaiting_approval: bool,
    ) -> StoreResult<bool>;
    /// Replan a pending transaction to `outcome` at `due_at` (as [`Payments::replan`] does) and
    /// insert `record`, in one database transaction, so that a cancellation and the request that
    /// asked for it are durable together. [`StoreError::Conflict`](super::StoreError::Conflict) if `record`'s reference id is
    /// taken, `false` if `key` is not pending; nothing is written in either case.
    async fn replan_with_insert(
        &self,
        key: &TxKey,
        outcome: &Outcome,
        due_at: i64,
        record: &TransactionRecord,
    ) -> StoreResult<bool>;
    /// The most recent transactions, newest first, optionally of one API user.
    async fn transactions(&self, api_user: Option<&str>, limit: i64) -> StoreResult<Vec<TransactionRecord>>;
    /// A page of the transactions matching `filter`, newest first: by `created_at`, then by
    /// product, kind and reference id (all descending), starting after `before`. A keyset read
    /// (no OFFSET): each filter has an index that yields its rows in this order (migration 8).
    async fn transactions_page(
        &self,
        filter: &TxFilter,
        before: Option<&TxCursor>,
        limit: i64,
    ) -> StoreResult<Vec<TransactionRecord>>;
    /// The ledger postings of a transaction, in the order they were made: its own entry
    /// ([`TxKey::ledger_entry`]) and the entry that funded a sandbox account for it, if any.
    async fn transaction_postings(&self, key: &TxKey) -> StoreResult<Vec<PostingRecord>>;
    /// Every transaction with this reference id (one per product and kind at most).
    async fn transactions_by_reference(&self, reference_id: &str) -> StoreResult<Vec<TransactionRecord>>;
    /// One party's transactions in one environment (it is their payer or payee), newest first,
    /// at most `limit`; with `awaiting_approval`, only those waiting for it to approve. The party
    /// id is compared as its wallet names it (ASCII letters in either case).
    async fn party_transactions(
        &self,
        environment: &str,
        party: &Party,
        awaiting_approval: bool,
        limit: i64,
    ) -> StoreResult<Vec<TransactionRecord>>;
    /// Mark a successful transaction (a pre-approval) cancelled; `false` if it is not successful
    /// or already cancelled.
    async fn cancel_transaction(&self, key: &TxKey, at: i64) -> StoreResult<bool>;
    /// Count a delivery notification; returns the new count.
    async fn count_notification(&self, key: &TxKey) -> StoreResult<i64>;

    /// Set an account's balance by posting the difference against `issuance`.
    async fn set_balance(&self, account: &AccountSpec, issuance: &str, target: i64, now: i64) -> StoreResult<()>;
    /// Every account with its balance and the sum of its postings (they must agree).
    async fn accounts(&self) -> StoreResult<Vec<AccountRecord>>;
    /// How many transactions there are per product and status.
    async fn transaction_counts(&self) -> StoreResult<Vec<TransactionCount>>;
}

/// What names a transaction.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TxKey {
    pub product: Product,
    pub kind: Kind,
    pub reference_id: String,
}

impl TxKey {
    /// The id of the ledger entry its postings belong to.
    pub fn ledger_entry(&self) -> String {
        format!("{}:{}:{}", self.product, self.kind.as_str(), self.reference_id)
    }
}

/// Which transactions a listing shows: each criterion that is set must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TxFilter {
    pub product: Option<Product>,
    pub kind: Option<Kind>,
    pub status: Option<TransactionStatus>,
    pub environment: Option<&'static momo_types::Environment>,
    pub api_user: Option<String>,
    /// Lowercase, as stored.
    pub reference_id: Option<String>,
}

/// Where a page of a listing starts: after this transaction, in newest-first order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxCursor {
    pub created_at: i64,
    pub key: TxKey,
}

impl TxCursor {
    /// The cursor that continues after `tx`.
    pub fn after(tx: &TransactionRecord) -> Self {
        TxCursor { created_at: tx.created_at, key: tx.key.clone() }
    }

    /// As text for a URL: `{created_at}.{product}.{kind}.{reference id}`.
    pub fn encode(&self) -> String {
        format!("{}.{}.{}.{}", self.created_at, self.key.product, self.key.kind.as_str(), self.key.reference_id)
    }

    /// [`TxCursor::encode`]'s text back; `None` if it is not one.
    pub fn parse(text: &str) -> Option<Self> {
        let mut parts = text.splitn(4, '.');
        let created_at = parts.next()?.parse().ok()?;
        let product = parts.next()?.parse().ok()?;
        let kind = Kind::parse(parts.next()?)?;
        let reference_id = parts.next().filter(|r| !r.is_empty())?.to_owned();
        Some(TxCursor { created_at, key: TxKey { product, kind, reference_id } })
    }
}

/// One posting of the ledger as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostingRecord {
    pub entry_id: String,
    pub account: String,
    pub currency: String,
    pub amount_minor: i64,
    pub created_at: i64,
}

/// A transaction as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionRecord {
    pub key: TxKey,
    pub api_user: String,
    pub environment: String,
    pub currency: Currency,
    pub amount_minor: i64,
    /// The payer or payee: `(type, id)`.
    pub party: Option<Party>,
    pub external_id: Option<String>,
    /// The request body as accepted (JSON), echoed in status bodies.
    pub request: String,
    pub api_version: ApiVersion,
    pub status: TransactionStatus,
    pub reason: Option<ErrorCode>,
    pub financial_transaction_id: Option<String>,
    pub callback_url: Option<String>,
    /// The planned outcome, while pending (`None` as well while it waits for someone to decide).
    pub outcome: Option<Outcome>,
    pub due_at: Option<i64>,
    pub awaiting_approval: bool,
    /// A refund's request to pay.
    pub related_reference_id: Option<String>,
    pub notifications: i64,
    pub created_at: i64,
    pub updated_at: i64,
    /// When a successful pre-approval was cancelled.
    pub cancelled_at: Option<i64>,
}

/// A ledger account as a posting needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountSpec {
    pub id: String,
    pub currency: String,
    /// `None`: may go below zero (sandbox accounts, issuance).
    pub floor: Option<i64>,
    /// Credited from issuance when the account is first used (production wallets).
    pub opening: i64,
    /// Sandbox API-user accounts: instead of going below zero, the account is first funded from
    /// this account with the shortfall, in an entry of its own (`funding:…`), as MTN's sandbox
    /// pretends its accounts are funded. So a sandbox balance is never negative.
    pub top_up_from: Option<String>,
}

/// One side of a journal entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posting {
    pub account: AccountSpec,
    pub amount: i64,
}

/// A refund must not exceed what is left of its request to pay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundGuard {
    pub original: TxKey,
    pub amount: i64,
}

/// Everything that happens when a transaction becomes final, in one database transaction.
#[derive(Debug, Clone)]
pub struct Finalization {
    pub key: TxKey,
    pub status: TransactionStatus,
    pub reason: Option<ErrorCode>,
    pub financial_transaction_id: Option<String>,
    /// A balanced journal entry (empty when nothing moves).
    pub postings: Vec<Posting>,
    /// Where opening balances come from.
    pub issuance: String,
    pub refund_guard: Option<RefundGuard>,
    pub delivery: Option<NewDelivery>,
    pub now: i64,
}

impl Finalization {
    /// The ledger entry id of its postings.
    pub fn entry_id(&self) -> String {
        self.key.ledger_entry()
    }

    /// `tx` as it is once this finalization is made.
    pub fn applied_to(&self, tx: &TransactionRecord) -> TransactionRecord {
        TransactionRecord {
            status: self.status.clone(),
            reason: self.reason.clone(),
            financial_transaction_id: self.financial_transaction_id.clone(),
            outcome: None,
            due_at: None,
            awaiting_approval: false,
            updated_at: self.now,
            ..tx.clone()
        }
    }

    /// Whether it can never be refused: no refund guard, and no posting to an account with a
    /// floor, an opening balance or a top-up from issuance (the sandbox's requests to pay).
    /// Such finalizations can be written in bulk.
    pub fn unconditional(&self) -> bool {
        self.refund_guard.is_none()
            && self.postings.iter().all(|p| {
                p.account.floor.is_none()
                    && p.account.opening == 0
                    && (p.account.top_up_from.is_none() || p.amount >= 0)
            })
    }
}

/// What [`Payments::finalize`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finalized {
    Done,
    /// Someone else made it final first.
    NotPending,
    /// A debited account would go below its floor; nothing was written.
    InsufficientFunds,
    /// The refund would exceed its request to pay; nothing was written.
    RefundExceeded,
    /// A credited account would go past the ledger's limit
    /// ([`BALANCE_LIMIT_MINOR`](crate::domain::money::BALANCE_LIMIT_MINOR)); nothing was written.
    PayeeLimitReached,
    /// A debited account without a floor would go past the ledger's negative limit; nothing was
    /// written.
    PayerLimitReached,
}

/// How many transactions of a product are in a status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionCount {
    pub product: Product,
    pub status: TransactionStatus,
    pub count: i64,
}

/// An account with its balance and the sum of its postings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRecord {
    pub id: String,
    pub currency: String,
    pub floor: Option<i64>,
    pub balance: i64,
    pub postings_sum: i64,
}
