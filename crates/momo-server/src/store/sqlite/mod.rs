//! The embedded SQLite engine.
//!
//! One writer at a time (SQLite allows no more; queuing is cheaper than lock retries): the
//! committer's connection for the payment path, and the writer pool's one connection for the
//! rest, which the committer holds while it writes. A pool of readers, which WAL lets run beside
//! the writer.
//! `synchronous=FULL`: a commit is on disk before the server acknowledges it.
//!
//! The hot writes go through a group commit: new transactions, settlements, callback claims and
//! attempt records queue to one committer (on a thread of its own), which writes everything
//! waiting in one database transaction (one fsync) and then answers each caller. A caller's 202
//! still comes only after its row is durable; the fsync is shared. The committer writes on a
//! connection of its own, with statements prepared once (`commit.rs`); the writer pool's
//! connection serves the other writes. docs/performance.md has the measurements behind each
//! choice.

use std::str::FromStr;
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use sqlx::pool::PoolConnection;
use sqlx::query_builder::Separated;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteQueryResult, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{QueryBuilder, Row as _, Sqlite, SqliteConnection};

use super::engine::{BoundQuery, Column, ColumnRef, Engine, Value};
use super::group_commit::{self, Committer, Queue};
use super::sql::SqlStore;
use super::{migrations, StoreResult};
use crate::metrics::CommitMetrics;

mod commit;

use commit::{BatchWriter, Settling};

/// The SQLite store.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
    committer: Committer,
    commits: CommitMetrics,
    /// The durability settings of the committer's connection, as SQLite answered them when it
    /// was opened.
    committing: SqliteDurability,
}

/// How long the committer keeps the writer pool's connection while busy.
const HOLD: Duration = Duration::from_millis(20);

impl SqliteStore {
    /// Open (creating if needed) the database at `url` (`sqlite://path/to/momo.db`) and migrate it.
    pub async fn open(url: &str) -> anyhow::Result<Self> {
        Self::open_observed(url, CommitMetrics::default()).await
    }

    /// [`SqliteStore::open`], with each group commit recorded in `commits`.
    pub(crate) async fn open_observed(url: &str, commits: CommitMetrics) -> anyhow::Result<Self> {
        // The committer opens the file on a connection of its own: a database in memory would be
        // another database there (and one no commit could make durable).
        if url.contains(":memory:") || url.contains("mode=memory") {
            anyhow::bail!("an in-memory SQLite database cannot be used: give the path of a file");
        }
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true)
            // Statement journals (multi-row statements inside a transaction need one) in memory,
            // not a temporary file opened, written and deleted per statement.
            .pragma("temp_store", "memory");
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            // A health check on every acquire is a round trip to the driver's thread per
            // commit; a broken SQLite connection (a local file) fails its next statement anyway.
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options.clone())
            .await?;
        migrations::SQLITE.migrator().await?.run(&writer).await?;
        let batch_writer = BatchWriter::open(options.get_filename())?;
        let committing = batch_writer.durability().clone();
        let reader = SqlitePoolOptions::new()
            .max_connections(4)
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options.read_only(true))
            .await?;
        let (committer, queue) = group_commit::channel();
        // The committer gets a thread of its own: its statements run on it, synchronously, and
        // on the shared runtime they would hold up the HTTP tasks.
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let (pool, observed) = (writer.clone(), commits.clone());
        std::thread::Builder::new()
            .name("momo-committer".into())
            .spawn(move || runtime.block_on(commit_groups(pool, batch_writer, queue, observed)))?;
        Ok(Self { writer, reader, committer, commits, committing })
    }

    /// The settings the durability of commits rests on, for each connection that writes the
    /// database (docs/reliability.md, "Durability"): the committer's (the payment path) as SQLite
    /// answered when it was opened, and the writer pool's (credentials, the operator's writes,
    /// settlements made on their own) read back now.
    pub async fn durability(&self) -> StoreResult<Vec<(&'static str, SqliteDurability)>> {
        let mut conn = self.writer.acquire().await?;
        let synchronous = sqlx::query_scalar("PRAGMA synchronous").fetch_one(&mut *conn).await?;
        let journal_mode = sqlx::query_scalar("PRAGMA journal_mode").fetch_one(&mut *conn).await?;
        Ok(vec![("committer", self.committing.clone()), ("writer", SqliteDurability { synchronous, journal_mode })])
    }
}

/// What SQLite says of a connection's durability, as it answers the pragmas.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqliteDurability {
    /// `PRAGMA synchronous`: 2 (FULL) syncs the write-ahead log to disk at every commit, before
    /// the commit returns; 1 (NORMAL) would let a power loss take the last commits back.
    pub synchronous: i64,
    /// `PRAGMA journal_mode`: `wal`, the write-ahead log that `synchronous` is about.
    pub journal_mode: String,
}

/// The payment path's writes go through the group commit.
impl SqlStore for SqliteStore {
    type Db = Sqlite;

    fn reader(&self) -> &SqlitePool {
        &self.reader
    }

    fn writer(&self) -> &SqlitePool {
        &self.writer
    }

    fn committer(&self) -> &Committer {
        &self.committer
    }

    fn commits(&self) -> &CommitMetrics {
        &self.commits
    }
}

/// The shared SQL's primitives, with SQLite's types.
impl Engine for Sqlite {
    const BACKEND: &'static str = "sqlite";
    const LOCK: &'static str = "";
    const ONE_WRITER: bool = true;
    const SKIP_LOCKED: &'static str = "";

    fn bind<'q, T: Value<'q>>(query: BoundQuery<'q, 'q, Sqlite>, value: T) -> BoundQuery<'q, 'q, Sqlite> {
        query.bind(value)
    }

    fn push_bind<'q, T: Value<'q>>(builder: &mut QueryBuilder<'q, Sqlite>, value: T) {
        builder.push_bind(value);
    }

    fn push_bind_separated<'q, T: Value<'q>>(row: &mut Separated<'_, 'q, Sqlite, &'static str>, value: T) {
        row.push_bind(value);
    }

    fn execute<'e, 's: 'e, 'q: 's, 'c: 'e>(
        query: BoundQuery<'s, 'q, Sqlite>,
        connection: &'c mut SqliteConnection,
    ) -> BoxFuture<'e, sqlx::Result<SqliteQueryResult>> {
        Box::pin(query.execute(connection))
    }

    fn rows_affected(result: &SqliteQueryResult) -> u64 {
        result.rows_affected()
    }

    fn fetch_all<'e, 's: 'e, 'q: 's, 'c: 'e>(
        query: BoundQuery<'s, 'q, Sqlite>,
        connection: &'c mut SqliteConnection,
    ) -> BoxFuture<'e, sqlx::Result<Vec<SqliteRow>>> {
        Box::pin(query.fetch_all(connection))
    }

    fn fetch_optional<'e, 's: 'e, 'q: 's, 'c: 'e>(
        query: BoundQuery<'s, 'q, Sqlite>,
        connection: &'c mut SqliteConnection,
    ) -> BoxFuture<'e, sqlx::Result<Option<SqliteRow>>> {
        Box::pin(query.fetch_optional(connection))
    }

    fn get<'r, T: Column<'r>>(row: &'r SqliteRow, column: impl ColumnRef) -> sqlx::Result<T> {
        row.try_get(column)
    }
}

/// The committer: take what is waiting (at least one), write it in one transaction on its own
/// connection, answer each.
///
/// While it writes, it holds the writer pool's one connection, so that no other write of the
/// store (credentials, the operator's, a settlement made on its own) is in SQLite's write lock
/// meanwhile: each waits for the pool instead, as for any other writer, and no commit ever fails
/// on a busy database. While work keeps coming it keeps that connection from one commit to the
/// next (taking it from the pool costs as much as a small commit), giving it back when the queue
/// is empty or after [`HOLD`] so that the other writers get their turn.
async fn commit_groups(writer: SqlitePool, mut batches: BatchWriter, mut queue: Queue, commits: CommitMetrics) {
    let mut held: Option<(PoolConnection<Sqlite>, Instant)> = None;
    while let Some(batch) = queue.next(|| held = None).await {
        if held.as_ref().is_some_and(|(_, since)| since.elapsed() > HOLD) {
            held = None;
        }
        let started = Instant::now();
        let turn = match held.take() {
            Some(turn) => Ok(turn),
            None => writer.acquire().await.map(|c| (c, Instant::now())),
        };
        let written = match turn {
            Err(e) => Err(e.into()),
            Ok(turn) => {
                held = Some(turn);
                match batches.write(&batch, Settling::Bulk).await {
                    // A settlement would take an account past the ledger's limit and the
                    // database refused the commit whole: again without settling, leaving each
                    // settlement to its caller, in a commit of its own, so that only the ones
                    // that cross the limit are refused.
                    Err(e) if commit::balance_limit(&e) => {
                        tracing::info!("a batch reached the ledger's balance limit; settling it one by one");
                        batches.write(&batch, Settling::Alone).await
                    }
                    written => written,
                }
                .map_err(Into::into)
            }
        };
        if written.is_ok() {
            // Commits that happened, as PostgreSQL's store records them: a failed one is in its
            // callers' errors, not in the commit figures.
            commits.observe(batch.size, started);
        }
        batch.answer(written);
    }
}
