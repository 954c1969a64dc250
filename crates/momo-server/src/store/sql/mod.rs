//! The SQL of the [`Store`](super::Store) contract, written once for both engines, one file per
//! area, generic over the [`Engine`] (the primitives in which the engines differ).
//!
//! Both engines accept the same statements: `$N` placeholders (sqlx's SQLite driver binds `$N` by
//! number), `ON CONFLICT DO NOTHING` and `RETURNING`. Each area's trait is implemented here once
//! for every [`SqlStore`]: an engine's store says where it reads and writes, and how it commits
//! the payment path's writes, the one part the engines do differently (each engine writes a
//! group commit's batch its own way).
//!
//! Multi-row statements (sqlx's `QueryBuilder`) are not kept prepared (`persistent(false)`):
//! their text differs with the row count, and keeping every shape prepared held 238 MiB at 256
//! connections for little reuse.

use std::fmt;

use async_trait::async_trait;
use sqlx::Pool;

use super::engine::{Engine, Statement};
use super::group_commit::Attempt;
use super::{Backend, DeliveryRecord, Finalization, Finalized, StoreResult, TransactionRecord};

mod consents;
pub(crate) mod credentials;
pub(crate) mod ledger;
mod operator;
pub(crate) mod outbox;
pub(crate) mod payments;
pub(crate) mod rows;

/// An engine's store, as the shared SQL sees it.
#[async_trait]
pub(crate) trait SqlStore: Send + Sync + fmt::Debug {
    type Db: Engine;

    /// Where reads go (on SQLite, read-only connections beside the one writer).
    fn reader(&self) -> &Pool<Self::Db>;
    /// Where writes outside the payment path go.
    fn writer(&self) -> &Pool<Self::Db>;

    /// Insert a new transaction ([`StoreError::Conflict`](super::StoreError::Conflict) if its
    /// reference id is taken) and, with `settle`, the finalization due at once: `true` if it
    /// was made in the same commit.
    async fn commit_insert(&self, tx: &TransactionRecord, settle: Option<&Finalization>) -> StoreResult<bool>;
    /// [`Payments::finalize_batch`](super::Payments::finalize_batch).
    async fn commit_finalizations(&self, finalizations: &[Finalization]) -> StoreResult<Vec<Finalized>>;
    /// [`CallbackOutbox::claim_deliveries`](super::CallbackOutbox::claim_deliveries).
    async fn commit_claim(&self, now: i64, lease_until: i64, limit: i64) -> StoreResult<Vec<DeliveryRecord>>;
    /// [`CallbackOutbox::record_attempts`](super::CallbackOutbox::record_attempts), for at least one.
    async fn commit_attempts(&self, attempts: &[Attempt]) -> StoreResult<()>;
}

#[async_trait]
impl<S: SqlStore> Backend for S {
    fn backend(&self) -> &'static str {
        S::Db::BACKEND
    }

    async fn ping(&self) -> StoreResult<()> {
        Statement::<S::Db>::new("SELECT 1").execute(self.reader()).await?;
        Ok(())
    }
}

/// Whether `e` is the database refusing a balance past the ledger's limit (migration 6: the
/// trigger's message on SQLite, the constraint's name on PostgreSQL). No sum the ledger forms
/// within the limit can overflow 64 bits, so an overflow is not this, and stays an error.
pub(crate) fn balance_limit_error(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => {
            db.message().contains("momo: balance limit") || db.constraint() == Some("accounts_balance_limit")
        }
        _ => false,
    }
}
