//! The PostgreSQL engine, for several instances sharing one database.

use std::time::{Duration, Instant};

use sqlx::postgres::{PgPool, PgPoolOptions};

use super::migrations;
use crate::metrics::CommitMetrics;

/// The PostgreSQL store.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
    /// Where the payment path's commits are recorded (each insert, settlement batch, lone
    /// settlement, claim and batch of attempt records).
    commits: CommitMetrics,
}

impl PgStore {
    /// Connect to `url` (`postgres://…`) and migrate the database. Migrations take an advisory
    /// lock, so instances starting together do not race.
    pub async fn open(url: &str) -> anyhow::Result<Self> {
        Self::open_observed(url, CommitMetrics::default()).await
    }

    /// [`PgStore::open`], with the payment path's commits recorded in `commits`.
    pub(crate) async fn open_observed(url: &str, commits: CommitMetrics) -> anyhow::Result<Self> {
        // While PostgreSQL is down, a request waits this long for a connection before it gets
        // 503 SERVICE_UNAVAILABLE: long enough to ride out a brief failover, short of a hang.
        let pool =
            PgPoolOptions::new().max_connections(16).acquire_timeout(Duration::from_secs(3)).connect(url).await?;
        migrations::POSTGRES.migrator().await?.run(&pool).await?;
        Ok(Self { pool, commits })
    }

    /// The server's settings a commit's durability rests on, as a connection of the pool sees
    /// them. openmomo changes none of them (docs/reliability.md, "Durability").
    pub async fn durability(&self) -> super::StoreResult<PostgresDurability> {
        let (fsync, full_page_writes, synchronous_commit) = sqlx::query_as(
            "SELECT current_setting('fsync')::bool, current_setting('full_page_writes')::bool, \
             current_setting('synchronous_commit')",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(PostgresDurability { fsync, full_page_writes, synchronous_commit })
    }

    fn writer(&self) -> &PgPool {
        &self.pool
    }

    fn reader(&self) -> &PgPool {
        &self.pool
    }

    /// One insert, one commit: PostgreSQL's own group commit batches concurrent commits.
    async fn insert_new(&self, tx: &super::TransactionRecord) -> super::StoreResult<()> {
        use super::StoreError;
        let started = Instant::now();
        let mut db = self.pool.begin().await.map_err(StoreError::from_sqlx)?;
        let inserted =
            insert_transactions(&mut db, std::slice::from_ref(tx), "").await.map_err(StoreError::from_sqlx)?;
        if inserted.first() != Some(&true) {
            return Err(StoreError::Conflict);
        }
        db.commit().await.map_err(StoreError::from_sqlx)?;
        self.commits.observe(1, started);
        Ok(())
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
        self.insert_new(tx).await.map(|()| false)
    }

    async fn claim_with(
        &self,
        now: i64,
        lease_until: i64,
        limit: i64,
    ) -> super::StoreResult<Vec<super::DeliveryRecord>> {
        let started = Instant::now();
        let mut db = self.pool.begin().await.map_err(super::StoreError::from_sqlx)?;
        let claimed = claim_in(&mut db, now, lease_until, limit).await.map_err(super::StoreError::from_sqlx)?;
        db.commit().await.map_err(super::StoreError::from_sqlx)?;
        self.commits.observe(claimed.len(), started);
        Ok(claimed)
    }

    async fn record_with(
        &self,
        attempts: &[(String, super::AttemptRecord, super::DeliveryNext)],
    ) -> super::StoreResult<()> {
        let started = Instant::now();
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
        db.commit().await.map_err(super::StoreError::from_sqlx)?;
        self.commits.observe(attempts.len(), started);
        Ok(())
    }

    /// Settlements that cannot be refused (every sandbox one but refunds) in bulk, a commit per
    /// 256, when there are several (the settler's); the others, and a lone one, one by one.
    ///
    /// Deadlock-free by lock order. A bulk commit first locks the transaction rows that are still
    /// pending with `FOR UPDATE SKIP LOCKED`, so it never waits for a transaction row: one that
    /// another settlement holds is skipped (that one makes it final; `NotPending` here). Then it
    /// changes accounts in account-id order, as every settlement does, and a single settlement
    /// takes its transaction row before any account. (An earlier batch that waited for
    /// transaction rows while holding accounts deadlocked against status reads; see
    /// docs/performance.md.) One commit for many settlements also takes the API user's account
    /// row once, not once per payment.
    async fn finalize_all(&self, finalizations: &[super::Finalization]) -> super::StoreResult<Vec<super::Finalized>> {
        use super::{Finalized, StoreError};
        let mut results = vec![Finalized::NotPending; finalizations.len()];
        let mut keys = std::collections::HashSet::new();
        // A lone finalization (a status read settling its transaction) waits for its row rather
        // than skip it, so that the read answers the final state; only the settler's batches skip.
        let batch = finalizations.len() > 1;
        let (bulk, mut single): (Vec<usize>, Vec<usize>) = (0..finalizations.len())
            .partition(|&i| batch && finalizations[i].unconditional() && keys.insert(&finalizations[i].key));
        for chunk in bulk.chunks(256) {
            match self.finalize_bulk(finalizations, chunk).await {
                Ok(made) => {
                    for i in made {
                        results[i] = Finalized::Done;
                    }
                }
                // The chunk would take an account past the ledger's limit and the database refused
                // it whole: settle it one by one, so that only the crossing ones are refused.
                Err(e) if super::sql::balance_limit_error(&e) => {
                    tracing::info!("a batch reached the ledger's balance limit; settling it one by one");
                    single.extend_from_slice(chunk);
                }
                Err(e) => return Err(StoreError::from_sqlx(e)),
            }
        }
        for i in single {
            let started = Instant::now();
            let mut tx = self.pool.begin().await.map_err(StoreError::from_sqlx)?;
            results[i] = finalize_one(&mut tx, &finalizations[i]).await.map_err(StoreError::from_sqlx)?;
            if results[i] == Finalized::Done {
                tx.commit().await.map_err(StoreError::from_sqlx)?;
                self.commits.observe(1, started);
            } else {
                tx.rollback().await.map_err(StoreError::from_sqlx)?;
            }
        }
        Ok(results)
    }

    /// One commit for the unconditional finalizations `fs[chunk]`; which of them it made.
    async fn finalize_bulk(&self, fs: &[super::Finalization], chunk: &[usize]) -> Result<Vec<usize>, sqlx::Error> {
        let started = Instant::now();
        let mut db = self.pool.begin().await?;
        let mut lock = sqlx::QueryBuilder::<sqlx::Postgres>::new(
            "SELECT t.product, t.kind, t.reference_id FROM transactions t JOIN (",
        );
        lock.push_values(chunk, |mut row, &i| {
            let key = &fs[i].key;
            row.push_bind(key.product.as_str()).push_bind(key.kind.as_str()).push_bind(&key.reference_id);
        });
        lock.push(
            ") AS v (product, kind, reference_id) ON t.product = v.product AND t.kind = v.kind \
             AND t.reference_id = v.reference_id WHERE t.status = 'PENDING' \
             ORDER BY t.product, t.kind, t.reference_id FOR UPDATE OF t SKIP LOCKED",
        );
        let locked = returned_keys(&lock.build().persistent(false).fetch_all(&mut *db).await?)?;
        let mine: Vec<usize> = chunk.iter().copied().filter(|&i| locked.contains(&key_columns(&fs[i].key))).collect();
        if mine.is_empty() {
            db.rollback().await?;
            return Ok(mine);
        }
        let mut update = sqlx::QueryBuilder::new("");
        push_finalize_update(&mut update, fs, &mine);
        update.build().persistent(false).execute(&mut *db).await?;
        let done: Vec<&super::Finalization> = mine.iter().map(|&i| &fs[i]).collect();
        for push in [push_account_changes, push_postings, push_deliveries] {
            let mut query = sqlx::QueryBuilder::new("");
            if push(&mut query, &done) {
                query.build().persistent(false).execute(&mut *db).await?;
            }
        }
        db.commit().await?;
        self.commits.observe(mine.len(), started);
        Ok(mine)
    }
}

/// What PostgreSQL says of the settings a commit's durability rests on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostgresDurability {
    /// `fsync`: the server syncs what it writes to disk; off, a power loss can corrupt the database.
    pub fsync: bool,
    /// `full_page_writes`: a page half written when the power went is restored from the log.
    pub full_page_writes: bool,
    /// `synchronous_commit`: every value but `off` has a commit wait until its log record is
    /// on this server's disk (`remote_write` and `remote_apply` also wait for a standby).
    pub synchronous_commit: String,
}

super::sql::impl_store!(
    PgStore,
    sqlx::Postgres,
    sqlx::postgres::PgRow,
    "postgres",
    " FOR UPDATE",
    " FOR UPDATE SKIP LOCKED"
);
