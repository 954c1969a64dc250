//! The SQL of the [`CallbackOutbox`], for both engines, and the statements of its writes that
//! each engine's commits are made of.

use async_trait::async_trait;
use sqlx::QueryBuilder;

use super::{rows, Attempt, SqlStore};
use crate::store::engine::{Bind, Engine, Statement};
use crate::store::{
    AttemptRecord, CallbackBacklog, CallbackOutbox, DeliveryNext, DeliveryRecord, DeliveryState, StoreResult,
};

pub(crate) const DELIVERY_COLUMNS: &str =
    "id, api_user, product, kind, reference_id, url, method, body, state, attempts, \
     next_attempt_at, created_at, finished_at";

#[async_trait]
impl<S: SqlStore> CallbackOutbox for S {
    async fn claim_deliveries(&self, now: i64, lease_until: i64, limit: i64) -> StoreResult<Vec<DeliveryRecord>> {
        self.committer().claim(now, lease_until, limit).await
    }

    async fn record_attempts(&self, attempts: &[Attempt]) -> StoreResult<()> {
        if attempts.is_empty() {
            return Ok(());
        }
        self.committer().record(attempts).await
    }

    async fn deliveries(
        &self,
        reference_id: Option<&str>,
        state: Option<DeliveryState>,
        limit: i64,
    ) -> StoreResult<Vec<DeliveryRecord>> {
        // Only the conditions asked for, the state as a literal (one of three fixed
        // words): so that each filter can use its index, the failed ones' partial
        // index included (docs/performance.md, "Console pages").
        let mut query =
            QueryBuilder::<S::Db>::new(format!("SELECT {DELIVERY_COLUMNS} FROM callback_deliveries WHERE 1 = 1"));
        if let Some(reference_id) = reference_id {
            query.push(" AND reference_id = ").bind(reference_id.to_owned());
        }
        if let Some(state) = state {
            query.push(format!(" AND state = '{}'", state.as_str()));
        }
        query.push(" ORDER BY created_at DESC, id LIMIT ").bind(limit);
        Ok(Statement::from(query.build()).fetch_all(self.reader(), rows::delivery).await?)
    }

    async fn delivery(&self, id: &str) -> StoreResult<Option<DeliveryRecord>> {
        Ok(Statement::new(&format!("SELECT {DELIVERY_COLUMNS} FROM callback_deliveries WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.reader(), rows::delivery)
            .await?)
    }

    async fn unfinished_deliveries(&self) -> StoreResult<(i64, i64)> {
        // Two counts, each over its state's partial index.
        Ok(Statement::new(
            "SELECT (SELECT count(*) FROM callback_deliveries WHERE state = 'pending'), \
                    (SELECT count(*) FROM callback_deliveries WHERE state = 'failed')",
        )
        .fetch_one(self.reader(), |row| Ok((row.get(0)?, row.get(1)?)))
        .await?)
    }

    async fn callback_backlog(&self, now: i64) -> StoreResult<CallbackBacklog> {
        Ok(Statement::new(
            "SELECT count(*), min(next_attempt_at) FROM callback_deliveries \
             WHERE state = 'pending' AND next_attempt_at <= $1",
        )
        .bind(now)
        .fetch_one(self.reader(), |row| Ok(CallbackBacklog { due: row.get(0)?, oldest_due_at: row.get(1)? }))
        .await?)
    }

    async fn redeliver(&self, id: &str, now: i64) -> StoreResult<Option<DeliveryRecord>> {
        Ok(Statement::new(&format!(
            "UPDATE callback_deliveries SET state = 'pending', next_attempt_at = $2, finished_at = NULL \
             WHERE id = $1 AND (locked_until IS NULL OR locked_until <= $2) RETURNING {DELIVERY_COLUMNS}"
        ))
        .bind(id)
        .bind(now)
        .fetch_optional(self.writer(), rows::delivery)
        .await?)
    }

    async fn delivery_attempts(&self, id: &str) -> StoreResult<Vec<AttemptRecord>> {
        Ok(Statement::new(
            "SELECT attempt, at, status_code, latency_ms, error FROM callback_attempts \
             WHERE delivery_id = $1 ORDER BY attempt",
        )
        .bind(id)
        .fetch_all(self.reader(), rows::attempt)
        .await?)
    }
}

/// Lease up to `limit` due deliveries until `lease_until`, in the caller's transaction.
pub(crate) async fn claim_in<DB: Engine>(
    connection: &mut DB::Connection,
    now: i64,
    lease_until: i64,
    limit: i64,
) -> sqlx::Result<Vec<DeliveryRecord>> {
    Statement::<DB>::new(&claim_statement(DB::SKIP_LOCKED))
        .bind(now)
        .bind(limit)
        .bind(lease_until)
        .fetch_all(connection, rows::delivery)
        .await
}

/// The lease statement of [`claim_in`] (returns the deliveries): `$1` now, `$2` the limit, `$3`
/// the lease's end, in the order they first appear (SQLite's rusqlite committer binds them by
/// position). The due rows are chosen once, in a materialized CTE: written as
/// `id IN (SELECT … LIMIT n FOR UPDATE SKIP LOCKED)`, PostgreSQL may run the subquery again for
/// each row of a nested-loop semi join, each run skipping the rows this statement has leased
/// already, and so lease every due delivery instead of at most `n`.
pub(crate) fn claim_statement(skip_locked: &str) -> String {
    format!(
        "WITH due AS MATERIALIZED (SELECT id FROM callback_deliveries WHERE state = 'pending' \
         AND next_attempt_at <= $1 AND (locked_until IS NULL OR locked_until <= $1) \
         ORDER BY next_attempt_at LIMIT $2{skip_locked}) \
         UPDATE callback_deliveries SET locked_until = $3 \
         WHERE state = 'pending' AND id IN (SELECT id FROM due) RETURNING {DELIVERY_COLUMNS}"
    )
}

/// A settled transaction's callback: `$1` id, `$2` API user, `$3`–`$5` the transaction's key,
/// `$6` URL, `$7` method, `$8` body, `$9` and `$10` when (next attempt, created), in order.
pub(crate) fn insert_delivery_statement() -> String {
    format!(
        "INSERT INTO callback_deliveries ({DELIVERY_COLUMNS}, locked_until) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', 0, $9, $10, NULL, NULL)"
    )
}

/// What an attempt leaves its delivery in: its state, when the next attempt is due, when it
/// finished.
pub(crate) fn delivery_columns(
    attempt: &AttemptRecord,
    next: &DeliveryNext,
) -> (&'static str, Option<i64>, Option<i64>) {
    match next {
        DeliveryNext::RetryAt(at) => ("pending", Some(*at), None),
        DeliveryNext::Delivered => ("delivered", None, Some(attempt.at)),
        DeliveryNext::GaveUp => ("failed", None, Some(attempt.at)),
    }
}
