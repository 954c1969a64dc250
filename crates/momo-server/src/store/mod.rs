//! Storage: one [`Store`] contract, two engines.
//!
//! - [`sqlite::SqliteStore`], the embedded default: WAL, `synchronous=FULL` (a commit is on disk
//!   before it is acknowledged), one writer connection and a small pool of readers.
//! - [`postgres::PgStore`], for several instances sharing one database.
//!
//! Both run the same SQL (written once in `sql`) and the same conformance tests
//! (`tests/it/store_conformance.rs`). Migrations are embedded in the binary and run at start.
//!
//! Secrets are stored only as [`SecretHash`]es. Every change to credentials bumps a counter,
//! the *credentials epoch*, in the same transaction; instances watch it to drop cached entries.

use std::fmt;

use async_trait::async_trait;
use momo_types::payments::{Party, PartyIdType, TransactionStatus};
use momo_types::{Currency, ErrorCode, Product};

use crate::domain::transactions::{ApiVersion, Kind, Outcome};
use crate::metrics::CommitMetrics;

pub use crate::domain::credentials::SecretHash;

mod group_commit;
mod migrations;
pub mod postgres;
mod sql;
pub mod sqlite;

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness constraint refused the write (a reused id).
    #[error("conflict: the record exists already")]
    Conflict,
    /// The database cannot be reached or is not answering (down, restarting, out of
    /// connections, locked past the busy timeout): worth trying again later.
    #[error("database unavailable: {0}")]
    Unavailable(sqlx::Error),
    /// The write would take a ledger account past the balance limit
    /// ([`BALANCE_LIMIT_MINOR`](crate::domain::money::BALANCE_LIMIT_MINOR)); nothing was written.
    #[error("a ledger account would pass the balance limit")]
    BalanceLimit,
    #[error(transparent)]
    Backend(sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        Self::from_sqlx(e)
    }
}

impl StoreError {
    fn from_sqlx(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &e {
            if db.is_unique_violation() {
                return StoreError::Conflict;
            }
        }
        if sql::balance_limit_error(&e) {
            return StoreError::BalanceLimit;
        }
        if unavailable(&e) {
            StoreError::Unavailable(e)
        } else {
            StoreError::Backend(e)
        }
    }

    /// A failure of the same class as `e`, for each of several callers of one failed commit.
    pub(crate) fn like(e: &sqlx::Error, context: &str) -> Self {
        let copy = sqlx::Error::Protocol(format!("{context}: {e}"));
        if unavailable(e) {
            StoreError::Unavailable(copy)
        } else {
            StoreError::Backend(copy)
        }
    }
}

/// Whether `e` means the database is out of reach for now rather than that the request failed:
/// I/O and pool errors, PostgreSQL's connection exceptions (class 08) and shutdown or start-up
/// states (57P01–57P03), SQLite's busy and locked.
fn unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => match db.try_downcast_ref::<sqlx::sqlite::SqliteError>() {
            // SQLITE_BUSY and SQLITE_LOCKED, with their extended codes.
            Some(_) => db.code().and_then(|c| c.parse::<i32>().ok()).is_some_and(|c| matches!(c & 0xff, 5 | 6)),
            None => {
                db.code().is_some_and(|code| code.starts_with("08") || matches!(&*code, "57P01" | "57P02" | "57P03"))
            }
        },
        _ => false,
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Who created an API user.
pub use momo_types::admin::{CredentialStyle, UserOrigin};

/// An API user as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiUserRecord {
    pub id: String,
    pub environment: String,
    pub provider_callback_host: String,
    pub payment_server_url: Option<String>,
    pub credential_style: CredentialStyle,
    pub origin: UserOrigin,
    /// `None` until a key is issued.
    pub key_hash: Option<SecretHash>,
    /// Bumped by each new key; tokens carry the version they were issued under.
    pub key_version: i64,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

impl ApiUserRecord {
    /// A token request for this API user under its current key.
    pub fn token_request(
        &self,
        product: Product,
        consent: Option<crate::domain::tokens::ConsentClaims>,
    ) -> crate::domain::tokens::TokenRequest {
        crate::domain::tokens::TokenRequest {
            api_user: self.id.clone(),
            environment: self.environment.clone(),
            product,
            key_version: self.key_version,
            consent,
        }
    }
}

impl fmt::Debug for ApiUserRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiUserRecord")
            .field("id", &self.id)
            .field("environment", &self.environment)
            .field("origin", &self.origin)
            .field("key_version", &self.key_version)
            .field("revoked_at", &self.revoked_at)
            .finish_non_exhaustive()
    }
}

/// A subscription key as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionKeyRecord {
    pub id: String,
    pub key_hash: SecretHash,
    pub hint: String,
    pub products: Vec<Product>,
    pub label: String,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

impl SubscriptionKeyRecord {
    /// Whether the key lets a request for `product` through (`None`: provisioning, any product).
    pub fn admits(&self, product: Option<Product>) -> bool {
        self.revoked_at.is_none() && product.is_none_or(|p| self.products.contains(&p))
    }
}

/// The storage contract.
#[async_trait]
pub trait Store: Send + Sync + fmt::Debug {
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;

    /// Whether the database answers.
    async fn ping(&self) -> StoreResult<()>;

    /// Insert a new API user; [`StoreError::Conflict`] if the id exists.
    async fn insert_api_user(&self, user: &ApiUserRecord) -> StoreResult<()>;
    async fn api_user(&self, id: &str) -> StoreResult<Option<ApiUserRecord>>;
    async fn api_users(&self) -> StoreResult<Vec<ApiUserRecord>>;
    /// Replace the key of a user that is not revoked; bumps its key version. `None` if there is
    /// no such user or it is revoked.
    async fn set_api_key(&self, id: &str, key_hash: &SecretHash) -> StoreResult<Option<ApiUserRecord>>;
    /// Revoke a user; `None` if there is no such user. Revoking twice keeps the first time.
    async fn revoke_api_user(&self, id: &str, at: i64) -> StoreResult<Option<ApiUserRecord>>;

    /// Insert a subscription key; `false` if a key with that hash exists already.
    async fn insert_subscription_key(&self, key: &SubscriptionKeyRecord) -> StoreResult<bool>;
    async fn subscription_key_by_hash(&self, hash: &SecretHash) -> StoreResult<Option<SubscriptionKeyRecord>>;
    async fn subscription_keys(&self) -> StoreResult<Vec<SubscriptionKeyRecord>>;
    /// Give a key a new value (the old one stops working); `None` if there is no such key or it
    /// is revoked.
    async fn replace_subscription_key(
        &self,
        id: &str,
        key_hash: &SecretHash,
        hint: &str,
    ) -> StoreResult<Option<SubscriptionKeyRecord>>;
    async fn revoke_subscription_key(&self, id: &str, at: i64) -> StoreResult<Option<SubscriptionKeyRecord>>;

    /// Add an operator token; `false` if it exists already.
    async fn insert_operator_token(&self, hash: &SecretHash, at: i64) -> StoreResult<bool>;
    async fn operator_token_exists(&self, hash: &SecretHash) -> StoreResult<bool>;
    async fn has_operator_tokens(&self) -> StoreResult<bool>;

    /// The server secret called `name`: stores `candidate` if there is none yet, and returns
    /// whichever value won (so concurrent first starts agree).
    async fn server_secret(&self, name: &str, candidate: &[u8]) -> StoreResult<Vec<u8>>;

    /// Make every stored secret hash keyed, once per database: if the database has no key check
    /// yet, store `key_check` and replace each stored hash `h` (API keys, subscription keys,
    /// operator tokens, refresh tokens) by `rehash(h)`, all in one transaction. Says whether it
    /// converted, found the same key's check, or found another key's.
    async fn key_secret_hashes(
        &self,
        key_check: &[u8],
        rehash: &(dyn for<'h> Fn(&'h SecretHash) -> SecretHash + Send + Sync),
    ) -> StoreResult<KeyedHashes>;

    /// The credentials epoch: changes whenever a user, key or subscription key changes.
    async fn credentials_epoch(&self) -> StoreResult<i64>;

    /// The balance of a ledger account, in minor units (0 for an account not yet used).
    async fn balance(&self, account: &str) -> StoreResult<i64>;

    /// Record an accepted transaction; [`StoreError::Conflict`] if its reference id is taken.
    async fn insert_transaction(&self, tx: &TransactionRecord) -> StoreResult<()>;
    /// [`Store::insert_transaction`] for a transaction whose outcome is due at once, with the
    /// finalization that makes it so (one that cannot be refused, [`Finalization::unconditional`]).
    /// `true` if the engine made it in the same commit (both engines' group commits do, but for
    /// a batch the database refused for the ledger's limit); `false` if it left it to the settler.
    async fn insert_settled(&self, tx: &TransactionRecord, finalization: &Finalization) -> StoreResult<bool>;
    async fn transaction(&self, key: &TxKey) -> StoreResult<Option<TransactionRecord>>;
    /// Pending transactions whose planned outcome is due at `now`.
    async fn due_transactions(&self, now: i64, limit: i64) -> StoreResult<Vec<TransactionRecord>>;
    /// Make pending transactions final, each atomically with its ledger entry and its callback,
    /// all in one commit (a transaction that cannot be finalized rolls back alone).
    async fn finalize_batch(&self, finalizations: &[Finalization]) -> StoreResult<Vec<Finalized>>;

    /// [`Store::finalize_batch`] for one transaction.
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
    /// Replan a pending transaction to `outcome` at `due_at` (as [`Store::replan`] does) and
    /// insert `record`, in one database transaction, so that a cancellation and the request that
    /// asked for it are durable together. [`StoreError::Conflict`] if `record`'s reference id is
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

    /// Lease up to `limit` due deliveries until `lease_until`.
    async fn claim_deliveries(&self, now: i64, lease_until: i64, limit: i64) -> StoreResult<Vec<DeliveryRecord>>;
    /// Record attempts (delivery id, attempt, what happens next), all in one commit.
    async fn record_attempts(&self, attempts: &[(String, AttemptRecord, DeliveryNext)]) -> StoreResult<()>;
    /// The most recent callbacks, newest first, optionally of one reference id and in one state.
    async fn deliveries(
        &self,
        reference_id: Option<&str>,
        state: Option<DeliveryState>,
        limit: i64,
    ) -> StoreResult<Vec<DeliveryRecord>>;
    async fn delivery(&self, id: &str) -> StoreResult<Option<DeliveryRecord>>;
    /// How many transactions there are per product and status.
    async fn transaction_counts(&self) -> StoreResult<Vec<TransactionCount>>;
    /// How many callbacks are pending and how many failed (given up).
    async fn unfinished_deliveries(&self) -> StoreResult<(i64, i64)>;
    /// The callbacks due at `now` and not yet delivered (those in flight included): how many,
    /// and since when the longest-waiting of them is due. One read of the pending deliveries'
    /// partial index, from its start to `now`.
    async fn callback_backlog(&self, now: i64) -> StoreResult<CallbackBacklog>;
    /// Attempt a callback again, with the same body, from `now`: a delivered or failed one is
    /// pending again (its attempts keep counting); a pending one is due at `now` instead of later.
    /// `None` if there is no such delivery, or if one of its attempts is in flight (leased): its
    /// outcome, when recorded, would overwrite the redelivery.
    async fn redeliver(&self, id: &str, now: i64) -> StoreResult<Option<DeliveryRecord>>;
    async fn delivery_attempts(&self, id: &str) -> StoreResult<Vec<AttemptRecord>>;

    /// Record a consent request.
    async fn insert_consent(&self, consent: &ConsentRecord) -> StoreResult<()>;
    async fn consent(&self, auth_req_id: &str) -> StoreResult<Option<ConsentRecord>>;
    async fn consent_by_refresh_token(&self, hash: &SecretHash) -> StoreResult<Option<ConsentRecord>>;
    /// Mark a consent used and give it a refresh token; `false` if it was used already.
    async fn use_consent(
        &self,
        auth_req_id: &str,
        refresh: &SecretHash,
        refresh_expires_at: i64,
        now: i64,
    ) -> StoreResult<bool>;

    /// Start a console session (and forget the sessions that have ended).
    async fn insert_console_session(&self, session: &ConsoleSession) -> StoreResult<()>;
    /// The console session whose id hashes to `id_hash`, if it has not ended at `now`.
    async fn console_session(&self, id_hash: &SecretHash, now: i64) -> StoreResult<Option<ConsoleSession>>;
    /// Give a console session a new CSRF token (after each change it made, so that a form sent
    /// again, by a reload, is refused instead of repeating the change).
    async fn set_console_csrf(&self, id_hash: &SecretHash, csrf_token: &str) -> StoreResult<()>;
    /// End a console session (sign-out).
    async fn delete_console_session(&self, id_hash: &SecretHash) -> StoreResult<()>;

    /// Forget all transactions, ledger entries and deliveries (users and keys stay).
    async fn reset_payments(&self) -> StoreResult<()>;

    /// Add a fault rule; [`StoreError::Conflict`] if its id is taken.
    async fn insert_fault(&self, fault: &FaultRecord) -> StoreResult<()>;
    /// Every fault rule (those used up included), oldest first.
    async fn faults(&self) -> StoreResult<Vec<FaultRecord>>;
    /// Let the rule `id` affect one more request: `false` if it was removed or is used up. A
    /// `counted` rule's `remaining` goes down by one in the same statement, so that instances
    /// sharing the database never let it affect more requests than its count between them.
    async fn use_fault(&self, id: &str, counted: bool) -> StoreResult<bool>;
    /// Remove a fault rule; `false` if there is none with that id.
    async fn delete_fault(&self, id: &str) -> StoreResult<bool>;
    /// Remove every fault rule.
    async fn delete_faults(&self) -> StoreResult<()>;
}

/// A fault rule as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultRecord {
    pub id: String,
    /// The rule as the operator wrote it (JSON of [`FaultSpec`](crate::faults::FaultSpec)).
    pub spec: String,
    /// Requests it may still affect; `None`: until removed.
    pub remaining: Option<i64>,
    pub created_at: i64,
}

/// A signed-in browser console session.
#[derive(Clone, PartialEq, Eq)]
pub struct ConsoleSession {
    /// The keyed hash of the session id the browser holds in its cookie.
    pub id_hash: SecretHash,
    /// What the session's forms must carry.
    pub csrf_token: String,
    pub created_at: i64,
    pub expires_at: i64,
}

impl fmt::Debug for ConsoleSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConsoleSession").field("expires_at", &self.expires_at).finish_non_exhaustive()
    }
}

/// What [`Store::key_secret_hashes`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyedHashes {
    /// The database had plain hashes (or none yet): this many were converted.
    Converted(u64),
    /// The database's hashes are keyed with this key already.
    AlreadyKeyed,
    /// The database's hashes are keyed with another key.
    OtherKey,
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

/// What [`Store::finalize`] did.
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

/// A callback to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDelivery {
    pub id: String,
    pub api_user: String,
    pub url: String,
    pub method: String,
    pub body: String,
}

/// A callback in the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRecord {
    pub id: String,
    pub api_user: String,
    pub key: TxKey,
    pub url: String,
    pub method: String,
    pub body: String,
    /// `pending`, `delivered` or `failed`.
    pub state: String,
    pub attempts: i64,
    pub next_attempt_at: Option<i64>,
    pub created_at: i64,
    pub finished_at: Option<i64>,
}

/// Where a callback is: the values of [`DeliveryRecord::state`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    /// Not delivered yet; another attempt is due.
    Pending,
    Delivered,
    /// Given up after the last attempt the retry policy allows.
    Failed,
}

impl DeliveryState {
    pub const ALL: [DeliveryState; 3] = [DeliveryState::Pending, DeliveryState::Delivered, DeliveryState::Failed];

    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Failed => "failed",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.as_str() == value)
    }
}

/// One try at delivering a callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptRecord {
    pub attempt: i64,
    pub at: i64,
    pub status_code: Option<i64>,
    pub latency_ms: i64,
    pub error: Option<String>,
}

/// After an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryNext {
    RetryAt(i64),
    Delivered,
    GaveUp,
}

/// A consent request (bc-authorize).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentRecord {
    pub auth_req_id: String,
    pub api_user: String,
    pub environment: String,
    pub msisdn: String,
    pub scope: String,
    pub access_type: String,
    /// `approved`, or the OAuth2 error the token request gets (`access_denied`, …).
    pub outcome: String,
    /// Before this, the token request gets `authorization_pending`.
    pub ready_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    pub refresh_expires_at: Option<i64>,
    pub created_at: i64,
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

/// What [`Store::callback_backlog`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallbackBacklog {
    pub due: i64,
    /// When the longest-waiting due delivery became due (`None`: nothing is due).
    pub oldest_due_at: Option<i64>,
}

/// Open the store a URL names (`sqlite://…` or `postgres://…`) and run its migrations.
pub async fn open(url: &str) -> anyhow::Result<std::sync::Arc<dyn Store>> {
    open_observed(url, CommitMetrics::default()).await
}

/// [`open`], with the payment path's commits recorded in `commits` (an instance's metrics).
pub(crate) async fn open_observed(url: &str, commits: CommitMetrics) -> anyhow::Result<std::sync::Arc<dyn Store>> {
    if url.starts_with("sqlite:") {
        Ok(std::sync::Arc::new(sqlite::SqliteStore::open_observed(url, commits).await?))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Ok(std::sync::Arc::new(postgres::PgStore::open_observed(url, commits).await?))
    } else {
        anyhow::bail!("unsupported database URL: it must start with sqlite:// or postgres://")
    }
}

/// A planned outcome's columns (migration 11): `outcome` is `SUCCESSFUL` or `FAILED`, and
/// `outcome_reason` a failure's reason code.
fn outcome_to_columns(outcome: &Outcome) -> (&'static str, Option<&str>) {
    match outcome {
        Outcome::Successful => ("SUCCESSFUL", None),
        Outcome::Failed(code) => ("FAILED", Some(code.as_str())),
    }
}

/// The planned outcome of a row, from the columns [`outcome_to_columns`] writes.
fn outcome_from_columns(outcome: Option<String>, reason: Option<String>) -> Result<Option<Outcome>, sqlx::Error> {
    match (outcome.as_deref(), reason) {
        (None, _) => Ok(None),
        (Some("SUCCESSFUL"), None) => Ok(Some(Outcome::Successful)),
        (Some("FAILED"), Some(code)) => Ok(Some(Outcome::Failed(ErrorCode::parse(&code)))),
        (Some(other), _) => Err(sqlx::Error::Decode(format!("malformed planned outcome {other:?}").into())),
    }
}

fn party_type_from_column(column: &str) -> Option<PartyIdType> {
    match column {
        "MSISDN" => Some(PartyIdType::Msisdn),
        "EMAIL" => Some(PartyIdType::Email),
        "PARTY_CODE" => Some(PartyIdType::PartyCode),
        _ => None,
    }
}

fn products_to_column(products: &[Product]) -> String {
    products.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(",")
}

fn products_from_column(column: &str) -> Vec<Product> {
    column.split(',').filter_map(|p| p.parse().ok()).collect()
}

fn style_to_column(style: CredentialStyle) -> &'static str {
    match style {
        CredentialStyle::ApiKey => "api-key",
        CredentialStyle::MomoAfrica => "momo-africa",
    }
}

fn style_from_column(column: &str) -> CredentialStyle {
    match column {
        "momo-africa" => CredentialStyle::MomoAfrica,
        _ => CredentialStyle::ApiKey,
    }
}

fn origin_to_column(origin: UserOrigin) -> &'static str {
    match origin {
        UserOrigin::SandboxProvisioning => "sandbox-provisioning",
        UserOrigin::Operator => "operator",
    }
}

fn origin_from_column(column: &str) -> UserOrigin {
    match column {
        "sandbox-provisioning" => UserOrigin::SandboxProvisioning,
        _ => UserOrigin::Operator,
    }
}
