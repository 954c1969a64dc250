//! The PostgreSQL engine, for several instances sharing one database.

use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions};

use super::migrations;

/// The PostgreSQL store.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connect to `url` (`postgres://…`) and migrate the database. Migrations take an advisory
    /// lock, so instances starting together do not race.
    pub async fn open(url: &str) -> anyhow::Result<Self> {
        // While PostgreSQL is down, a request waits this long for a connection before it gets
        // 503 SERVICE_UNAVAILABLE: long enough to ride out a brief failover, short of a hang.
        let pool =
            PgPoolOptions::new().max_connections(16).acquire_timeout(Duration::from_secs(3)).connect(url).await?;
        migrations::POSTGRES.migrator().await?.run(&pool).await?;
        Ok(Self { pool })
    }

    fn writer(&self) -> &PgPool {
        &self.pool
    }

    fn reader(&self) -> &PgPool {
        &self.pool
    }

    /// One insert, one commit: PostgreSQL's own group commit batches concurrent commits.
    async fn insert_with(
        &self,
        tx: &super::TransactionRecord,
        _: Option<&super::Finalization>,
    ) -> super::StoreResult<()> {
        use super::StoreError;
        let mut db = self.pool.begin().await.map_err(StoreError::from_sqlx)?;
        let inserted =
            insert_transactions(&mut db, std::slice::from_ref(tx), "").await.map_err(StoreError::from_sqlx)?;
        if inserted.first() != Some(&true) {
            return Err(StoreError::Conflict);
        }
        db.commit().await.map_err(StoreError::from_sqlx)
    }

    /// Only the insert: settling in the same transaction would hold the ledger's account rows
    /// (the API user's account is in every one of its payments) until the commit, and
    /// concurrent requests to pay would wait for each other's fsync (2,800 -> 740 writes/s in
    /// the benchmark). The settler, or the first status read, settles it instead.
    async fn insert_settled_with(
        &self,
        tx: &super::TransactionRecord,
        _: &super::Finalization,
    ) -> super::StoreResult<bool> {
        self.insert_with(tx, None).await.map(|()| false)
    }

    async fn claim_with(
        &self,
        now: i64,
        lease_until: i64,
        limit: i64,
    ) -> super::StoreResult<Vec<super::DeliveryRecord>> {
        let mut db = self.pool.begin().await.map_err(super::StoreError::from_sqlx)?;
        let claimed = claim_in(&mut db, now, lease_until, limit).await.map_err(super::StoreError::from_sqlx)?;
        db.commit().await.map_err(super::StoreError::from_sqlx)?;
        Ok(claimed)
    }

    async fn record_with(
        &self,
        attempts: &[(String, super::AttemptRecord, super::DeliveryNext)],
    ) -> super::StoreResult<()> {
        let mut db = self.pool.begin().await.map_err(super::StoreError::from_sqlx)?;
        // Two statements a chunk: PostgreSQL prepares one statement per query.
        for chunk in attempts.chunks(1024) {
            let mut insert = sqlx::QueryBuilder::new("");
            push_attempts_insert(&mut insert, chunk);
            insert.build().persistent(false).execute(&mut *db).await.map_err(super::StoreError::from_sqlx)?;
            let mut update = sqlx::QueryBuilder::new("");
            push_attempts_update(&mut update, chunk);
            update.build().persistent(false).execute(&mut *db).await.map_err(super::StoreError::from_sqlx)?;
        }
        db.commit().await.map_err(super::StoreError::from_sqlx)
    }

    /// One database transaction per finalization: PostgreSQL groups concurrent commits itself,
    /// and short transactions keep row locks short where several instances settle at once (a
    /// batch holding account rows while waiting for a transaction row that an inline settlement
    /// holds deadlocked; see docs/performance.md).
    async fn finalize_all(&self, finalizations: &[super::Finalization]) -> super::StoreResult<Vec<super::Finalized>> {
        use super::StoreError;
        let mut results = Vec::with_capacity(finalizations.len());
        for f in finalizations {
            let mut tx = self.pool.begin().await.map_err(StoreError::from_sqlx)?;
            let result = finalize_one(&mut tx, f).await.map_err(StoreError::from_sqlx)?;
            if result == super::Finalized::Done {
                tx.commit().await.map_err(StoreError::from_sqlx)?;
            } else {
                tx.rollback().await.map_err(StoreError::from_sqlx)?;
            }
            results.push(result);
        }
        Ok(results)
    }
}

super::sql::impl_store!(
    PgStore,
    sqlx::Postgres,
    sqlx::postgres::PgRow,
    "postgres",
    " FOR UPDATE",
    " FOR UPDATE SKIP LOCKED"
);
