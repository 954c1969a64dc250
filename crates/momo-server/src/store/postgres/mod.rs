//! The PostgreSQL engine, for several instances sharing one database.

use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use sqlx::postgres::{PgConnection, PgPool, PgPoolOptions, PgQueryResult, PgRow};
use sqlx::query_builder::Separated;
use sqlx::{Postgres, QueryBuilder, Row as _};

use super::engine::{BoundQuery, Column, ColumnRef, Engine, Value};
use super::group_commit::{self, CommitFailed, Committer, InsertResult, Queue};
use super::sql::{balance_limit_error, SqlStore};
use super::{migrations, StoreResult};
use crate::metrics::CommitMetrics;

mod commit;

use commit::{commit_batch, Settling};

/// The PostgreSQL store.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
    /// Where the payment path's commits are recorded (each group commit, and each settlement
    /// made on its own).
    commits: CommitMetrics,
    /// The payment path's writes: new transactions, bulk settlements, callback claims and
    /// attempt records, a commit per batch (see [`commit_batch`]).
    committer: Committer,
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
        let (committer, queue) = group_commit::channel();
        // The task ends when the last handle of the store is dropped.
        tokio::spawn(commit_groups(pool.clone(), queue, commits.clone()));
        Ok(Self { pool, commits, committer })
    }

    /// The server's settings a commit's durability rests on, as a connection of the pool sees
    /// them. openmomo changes none of them (docs/reliability.md, "Durability").
    pub async fn durability(&self) -> StoreResult<PostgresDurability> {
        let (fsync, full_page_writes, synchronous_commit) = sqlx::query_as(
            "SELECT current_setting('fsync')::bool, current_setting('full_page_writes')::bool, \
             current_setting('synchronous_commit')",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(PostgresDurability { fsync, full_page_writes, synchronous_commit })
    }
}

/// The payment path's writes go through the group commit; settlements it leaves to their
/// callers are made one by one.
impl SqlStore for PgStore {
    type Db = Postgres;

    /// One pool for reads and writes: PostgreSQL's readers do not wait for its writers.
    fn reader(&self) -> &PgPool {
        &self.pool
    }

    fn writer(&self) -> &PgPool {
        &self.pool
    }

    fn committer(&self) -> &Committer {
        &self.committer
    }

    fn commits(&self) -> &CommitMetrics {
        &self.commits
    }
}

/// The shared SQL's primitives, with PostgreSQL's types.
impl Engine for Postgres {
    const BACKEND: &'static str = "postgres";
    const LOCK: &'static str = " FOR UPDATE";
    const ONE_WRITER: bool = false;
    const SKIP_LOCKED: &'static str = " FOR UPDATE SKIP LOCKED";

    fn bind<'q, T: Value<'q>>(query: BoundQuery<'q, 'q, Postgres>, value: T) -> BoundQuery<'q, 'q, Postgres> {
        query.bind(value)
    }

    fn push_bind<'q, T: Value<'q>>(builder: &mut QueryBuilder<'q, Postgres>, value: T) {
        builder.push_bind(value);
    }

    fn push_bind_separated<'q, T: Value<'q>>(row: &mut Separated<'_, 'q, Postgres, &'static str>, value: T) {
        row.push_bind(value);
    }

    fn execute<'e, 's: 'e, 'q: 's, 'c: 'e>(
        query: BoundQuery<'s, 'q, Postgres>,
        connection: &'c mut PgConnection,
    ) -> BoxFuture<'e, sqlx::Result<PgQueryResult>> {
        Box::pin(query.execute(connection))
    }

    fn rows_affected(result: &PgQueryResult) -> u64 {
        result.rows_affected()
    }

    fn fetch_all<'e, 's: 'e, 'q: 's, 'c: 'e>(
        query: BoundQuery<'s, 'q, Postgres>,
        connection: &'c mut PgConnection,
    ) -> BoxFuture<'e, sqlx::Result<Vec<PgRow>>> {
        Box::pin(query.fetch_all(connection))
    }

    fn fetch_optional<'e, 's: 'e, 'q: 's, 'c: 'e>(
        query: BoundQuery<'s, 'q, Postgres>,
        connection: &'c mut PgConnection,
    ) -> BoxFuture<'e, sqlx::Result<Option<PgRow>>> {
        Box::pin(query.fetch_optional(connection))
    }

    fn get<'r, T: Column<'r>>(row: &'r PgRow, column: impl ColumnRef) -> sqlx::Result<T> {
        row.try_get(column)
    }
}

/// The committer: a commit per batch of what is waiting, then the answers.
async fn commit_groups(pool: PgPool, mut queue: Queue, commits: CommitMetrics) {
    let mut statistics = Statistics::default();
    while let Some(batch) = queue.next(|| {}).await {
        let started = Instant::now();
        let written = match commit_batch(&pool, &batch, Settling::Bulk).await {
            // A settlement would take an account past the ledger's limit and the database refused
            // the commit whole: again without settling, leaving each settlement to its caller, one
            // by one, so that only the crossing ones are refused.
            Err(e) if balance_limit_error(&e) => {
                tracing::info!("a batch reached the ledger's balance limit; settling it one by one");
                commit_batch(&pool, &batch, Settling::Alone).await
            }
            written => written,
        };
        if let Ok(written) = &written {
            commits.observe(batch.size, started);
            let inserted = written.inserted.iter().filter(|i| matches!(i, InsertResult::Inserted { .. })).count();
            statistics.inserting(inserted, &pool);
        }
        batch.answer(written.map_err(CommitFailed::from));
    }
}

/// Planner statistics that keep up with the payment tables while they are young.
///
/// The migrations analyze the tables when they are empty, and autovacuum looks again only a
/// minute or more later. Meanwhile the planner, with no column statistics, prices a status
/// read's primary-key lookup (`product, kind, reference_id`) and a walk of
/// `transactions_by_kind` (`product, kind, created_at`) alike, and each connection keeps the
/// generic plan it chose: after 20,000 requests to pay, every status read on a fresh database
/// read every request to pay of its product (docs/performance.md, "PostgreSQL's group commit").
/// So each instance analyzes the payment tables itself whenever the rows it inserted double
/// (1,000, 2,000, 4,000, …), until autovacuum's own thresholds take over.
#[derive(Debug)]
struct Statistics {
    inserted: usize,
    next: usize,
}

impl Default for Statistics {
    fn default() -> Self {
        Self { inserted: 0, next: Self::FIRST }
    }
}

impl Statistics {
    const FIRST: usize = 1_000;
    /// Beyond this many, autovacuum's thresholds (10 % of the table) are the right ones.
    const LAST: usize = 1 << 22;

    /// `rows` more were inserted (committed).
    fn inserting(&mut self, rows: usize, pool: &PgPool) {
        self.inserted += rows;
        if self.inserted < self.next || self.next > Self::LAST {
            return;
        }
        self.next *= 2;
        let pool = pool.clone();
        // Beside the commits, not in their way: ANALYZE blocks no reads or writes.
        tokio::spawn(async move {
            if let Err(e) = sqlx::query("ANALYZE transactions, callback_deliveries").execute(&pool).await {
                tracing::warn!(error = %e, "could not analyze the payment tables");
            }
        });
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
