//! Storage: one [`Store`] contract, split by area, and two engines.
//!
//! The contract is one trait per area, each in its own file with its records:
//! [`Credentials`] (`credentials.rs`), [`Payments`] and the ledger (`payments.rs`), the
//! [`CallbackOutbox`] (`outbox.rs`), [`Consents`] (`consents.rs`) and the [`OperatorState`]
//! (`operator.rs`: console sessions, fault rules, the reset), with [`Backend`] here. [`Store`]
//! is all of them; `Arc<dyn Store>` is the handle the rest of the server holds.
//!
//! - [`sqlite::SqliteStore`], the embedded default: WAL, `synchronous=FULL` (a commit is on disk
//!   before it is acknowledged), one writer connection and a small pool of readers.
//! - [`postgres::PgStore`], for several instances sharing one database.
//!
//! Both write the payment path through a group commit (`group_commit`), run the same SQL,
//! written once in `sql/` (a file per area) as plain generic Rust over the private
//! `engine::Engine` trait, and pass the same conformance tests
//! (`tests/it/store_conformance.rs`). Migrations are embedded in the binary and run at start.
//!
//! Secrets are stored only as [`SecretHash`]es. Every change to credentials bumps a counter,
//! the *credentials epoch*, in the same transaction; instances watch it to drop cached entries.

use std::fmt;

use async_trait::async_trait;

use crate::metrics::CommitMetrics;

pub use crate::domain::credentials::SecretHash;

mod consents;
mod credentials;
mod engine;
mod group_commit;
mod migrations;
mod operator;
mod outbox;
mod payments;
pub mod postgres;
mod sql;
pub mod sqlite;

pub use consents::{ConsentRecord, Consents};
pub use credentials::{ApiUserRecord, CredentialStyle, Credentials, KeyedHashes, SubscriptionKeyRecord, UserOrigin};
pub use operator::{ConsoleSession, FaultRecord, OperatorState};
pub use outbox::{
    AttemptRecord, CallbackBacklog, CallbackOutbox, DeliveryNext, DeliveryRecord, DeliveryState, NewDelivery,
};
pub use payments::{
    AccountRecord, AccountSpec, Finalization, Finalized, Payments, Posting, PostingRecord, RefundGuard,
    TransactionCount, TransactionRecord, TxCursor, TxFilter, TxKey,
};

/// The store's traits, for a glob import where a store's methods are called on a type that is
/// not `dyn Store` (on `dyn Store` they need no import).
pub mod prelude {
    pub use super::{Backend, CallbackOutbox, Consents, Credentials, OperatorState, Payments, Store};
}

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
}

/// Whether `e` means the database is out of reach for now rather than that the request failed:
/// I/O and pool errors, PostgreSQL's connection exceptions (class 08), shutdown or start-up
/// states (57P01–57P03), a lock or statement timeout (55P03, 57014) and a deadlock or
/// serialization failure (40P01, 40001: the same request again succeeds), SQLite's busy and
/// locked.
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
            None => db.code().is_some_and(|code| {
                code.starts_with("08")
                    || matches!(&*code, "57P01" | "57P02" | "57P03" | "55P03" | "57014" | "40P01" | "40001")
            }),
        },
        _ => false,
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Which engine a store is, and whether its database answers.
#[async_trait]
pub trait Backend: Send + Sync {
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;

    /// Whether the database answers.
    async fn ping(&self) -> StoreResult<()>;
}

/// The storage contract: one trait per area, so that each is small and a caller names the area
/// it uses. `Arc<dyn Store>` is the handle everywhere; the areas' methods are called on it
/// without importing their traits.
pub trait Store: Backend + Credentials + Payments + CallbackOutbox + Consents + OperatorState + fmt::Debug {}

impl<S> Store for S where S: Backend + Credentials + Payments + CallbackOutbox + Consents + OperatorState + fmt::Debug {}

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
