//! The SQL of the [`Store`](super::Store) contract, written once for both engines, one file per
//! area, generic over the [`Engine`] (the primitives in which the engines differ).
//!
//! Both engines accept the same statements: `$N` placeholders (sqlx's SQLite driver binds `$N` by
//! number), `ON CONFLICT DO NOTHING` and `RETURNING`. Each area's trait is implemented here once
//! for every [`SqlStore`]: an engine's store says where it reads and writes, and where the
//! payment path's writes queue (its group commit, whose batches each engine writes its own way).
//!
//! Multi-row statements (sqlx's `QueryBuilder`) are not kept prepared (`persistent(false)`):
//! their text differs with the row count, and keeping every shape prepared held 238 MiB at 256
//! connections for little reuse.

use std::fmt;

use async_trait::async_trait;
use sqlx::Pool;

use super::engine::{Engine, Statement};
use super::group_commit::{Attempt, Committer};
use super::{Backend, StoreResult};
use crate::metrics::CommitMetrics;

mod consents;
pub(crate) mod credentials;
pub(crate) mod ledger;
mod operator;
pub(crate) mod outbox;
pub(crate) mod payments;
pub(crate) mod rows;

/// An engine's store, as the shared SQL sees it: where it reads and writes, and the group commit
/// the payment path's writes queue to (whose batches each engine writes its own way).
pub(super) trait SqlStore: Send + Sync + fmt::Debug {
    type Db: Engine;

    /// Where reads go (on SQLite, read-only connections beside the one writer).
    fn reader(&self) -> &Pool<Self::Db>;
    /// Where writes outside the payment path go.
    fn writer(&self) -> &Pool<Self::Db>;
    /// Where new transactions, settlements, callback claims and attempt records go.
    fn committer(&self) -> &Committer;
    /// Where the payment path's commits are recorded: each group commit, and each settlement
    /// made in a commit of its own.
    fn commits(&self) -> &CommitMetrics;
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
