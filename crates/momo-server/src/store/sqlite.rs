//! The embedded SQLite engine.
//!
//! One writer connection (SQLite allows one writer at a time; queuing in the pool is cheaper
//! than lock retries) and a pool of readers, which WAL lets run beside the writer.
//! `synchronous=FULL`: a commit is on disk before the server acknowledges it.
//!
//! The hot writes go through a group commit: new transactions, settlements, callback claims and
//! attempt records queue to one committer (on a thread of its own), which writes everything
//! waiting in one database transaction (one fsync) and then answers each caller. A caller's 202
//! still comes only after its row is durable; the fsync is shared. Inside that transaction the
//! work is done a statement per kind of row, not per item, in two round trips when it can (see
//! `cycle`): sqlx runs each statement on its driver thread, and under load the round trips to
//! that thread, not SQLite, were what the writer spent its time on. docs/performance.md has the
//! measurements behind each choice.

use std::collections::HashSet;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::future::BoxFuture;
use sqlx::query_builder::Separated;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteQueryResult, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{QueryBuilder, Row as _, Sqlite, SqliteConnection};

use super::engine::{BoundQuery, Column, ColumnRef, Engine, Statement, Value};
use super::group_commit::{self, Attempt, Batch, Committer, InsertResult, Queue, Written};
use super::sql::ledger::{
    finalize_one, push_account_changes, push_accounts_opened, push_finalize_update, push_postings,
};
use super::sql::outbox::{claim_in, push_attempts_insert, push_attempts_update, push_claim, push_deliveries};
use super::sql::payments::{insert_transactions, key_columns};
use super::sql::{balance_limit_error, rows, SqlStore};
use super::{migrations, DeliveryRecord, Finalization, Finalized, StoreResult, TransactionRecord};
use crate::metrics::CommitMetrics;

/// The SQLite store.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
    committer: Committer,
}

/// How long the committer keeps the writer connection while busy.
const HOLD: std::time::Duration = std::time::Duration::from_millis(20);

impl SqliteStore {
    /// Open (creating if needed) the database at `url` (`sqlite://path/to/momo.db`) and migrate it.
    pub async fn open(url: &str) -> anyhow::Result<Self> {
        Self::open_observed(url, CommitMetrics::default()).await
    }

    /// [`SqliteStore::open`], with each group commit recorded in `commits`.
    pub(crate) async fn open_observed(url: &str, commits: CommitMetrics) -> anyhow::Result<Self> {
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
        let reader = SqlitePoolOptions::new()
            .max_connections(4)
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options.read_only(true))
            .await?;
        let (committer, queue) = group_commit::channel();
        // The committer gets a thread of its own: each statement is a round trip between it and
        // sqlx's SQLite thread, and on the shared runtime every one of those also waited behind
        // the HTTP tasks.
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let committing = writer.clone();
        std::thread::Builder::new()
            .name("momo-committer".into())
            .spawn(move || runtime.block_on(commit_groups(committing, queue, commits)))?;
        Ok(Self { writer, reader, committer })
    }

    /// The settings a commit's durability rests on, read back from the writer pool's only
    /// connection, the one the committer writes with (docs/reliability.md, "Durability").
    pub async fn durability(&self) -> StoreResult<SqliteDurability> {
        let mut conn = self.writer.acquire().await?;
        let synchronous = sqlx::query_scalar("PRAGMA synchronous").fetch_one(&mut *conn).await?;
        let journal_mode = sqlx::query_scalar("PRAGMA journal_mode").fetch_one(&mut *conn).await?;
        Ok(SqliteDurability { synchronous, journal_mode })
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
#[async_trait]
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

    /// SQLite's committer settles every finalization it is given (it leaves none to the caller).
    async fn settle(&self, finalizations: &[Finalization]) -> StoreResult<Vec<Finalized>> {
        let results = self.committer.finalize(finalizations).await?;
        Ok(results.into_iter().map(|r| r.unwrap_or(Finalized::NotPending)).collect())
    }
}

/// The shared SQL's primitives, with SQLite's types.
impl Engine for Sqlite {
    const BACKEND: &'static str = "sqlite";
    const LOCK: &'static str = "";
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

    fn push_bind_unseparated<'q, T: Value<'q>>(row: &mut Separated<'_, 'q, Sqlite, &'static str>, value: T) {
        row.push_bind_unseparated(value);
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

/// The committer: take what is waiting (at least one), write it in one transaction, answer each.
///
/// While work keeps coming, it keeps the writer connection from one commit to the next (taking
/// it from the pool costs as much as a statement), giving it back when the queue is empty or
/// after [`HOLD`] so that the other writers (credential changes, the operator) get their turn.
async fn commit_groups(writer: SqlitePool, mut queue: Queue, commits: CommitMetrics) {
    let mut held: Option<(sqlx::pool::PoolConnection<Sqlite>, std::time::Instant)> = None;
    while let Some(batch) = queue.next(|| held = None).await {
        if held.as_ref().is_some_and(|(_, since)| since.elapsed() > HOLD) {
            held = None;
        }
        let started = std::time::Instant::now();
        let conn = match held.take() {
            Some(conn) => Ok(conn),
            None => writer.acquire().await.map(|c| (c, std::time::Instant::now())),
        };
        let written = async {
            let (mut conn, since) = conn?;
            let mut settling = Settling::Bulk;
            loop {
                match cycle(&mut conn, &batch, settling).await {
                    Ok(done) => {
                        held = Some((conn, since));
                        return Ok(done);
                    }
                    // The bulk settlement would take an account past the ledger's limit: the
                    // database refused the whole commit. Again, one settlement at a time, so
                    // that only the ones that cross the limit are refused.
                    Err(e) if settling == Settling::Bulk && balance_limit_error(&e) => {
                        tracing::info!("a batch reached the ledger's balance limit; settling it one by one");
                        // The writer pool has one connection: give this one back (closed, which
                        // rolls back the commit) before taking a fresh one.
                        conn.close_on_drop();
                        drop(conn);
                        conn = writer.acquire().await?;
                        settling = Settling::OneByOne;
                    }
                    Err(e) => {
                        // A transaction begun and not ended is rolled back when the connection
                        // closes; the pool opens a new one for the next commit.
                        conn.close_on_drop();
                        return Err(e);
                    }
                }
            }
        }
        .await;
        if written.is_ok() {
            // Commits that happened, as PostgreSQL's store records them: a failed one is in its
            // callers' errors, not in the commit figures.
            commits.observe(batch.size, started);
        }
        batch.answer(written);
    }
}

/// How a commit settles the finalizations that cannot be refused for funds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Settling {
    /// In bulk, a statement per kind of row (the fast way).
    Bulk,
    /// Each on its own, checked against the ledger's limit: after the database refused a bulk
    /// commit that would have taken an account past it.
    OneByOne,
}

/// One commit of the group, in as few round trips to sqlx's SQLite thread as the work allows
/// (each costs more than the SQL it carries): `BEGIN` goes with the inserts, and the ledger
/// entries, callbacks, attempt records, one claim and `COMMIT` go in one multi-statement query.
/// A bulk settlement adds one round trip, each conditional settlement a few.
async fn cycle(conn: &mut SqliteConnection, batch: &Batch, settling: Settling) -> sqlx::Result<Written> {
    // A new transaction whose finalization cannot be refused is inserted final: no second
    // write of the row (unless settling one by one, where any finalization may be refused).
    let inserted_final = |f: &Finalization| settling == Settling::Bulk && f.unconditional();
    let inserts: Vec<TransactionRecord> = batch
        .inserts
        .iter()
        .map(|(tx, f)| match f {
            Some(f) if inserted_final(f) => f.applied_to(tx),
            _ => tx.clone(),
        })
        .collect();
    let inserted = insert_transactions::<Sqlite>(&mut *conn, &inserts, "BEGIN;\n").await?;
    // The rows inserted final need their ledger entries and callbacks; the others with a
    // finalization due at once are finalized with those asked for, first.
    let (mut done, mut settle_now) = (Vec::new(), Vec::new());
    for ((_, f), new) in batch.inserts.iter().zip(&inserted) {
        match f {
            Some(f) if *new && inserted_final(f) => done.push(f),
            Some(f) if *new => settle_now.push(f.clone()),
            _ => {}
        }
    }
    let skip = settle_now.len();
    let all: Vec<Finalization> = settle_now.into_iter().chain(batch.finalizations.iter().cloned()).collect();
    let finalized = finalize_many(&mut *conn, &all, &mut done, settling).await?;
    // Claims past the first (there is one delivery worker, so rarely any) go on their own.
    let claims = &batch.claims;
    let mut claimed = vec![Vec::new(); claims.len()];
    for (i, &(now, lease_until, limit)) in claims.iter().enumerate().skip(1) {
        claimed[i] = claim_in::<Sqlite>(&mut *conn, now, lease_until, limit).await?;
    }
    if let Some(first) = claimed.first_mut() {
        *first = finish(&mut *conn, &done, &batch.attempts, claims.first().copied()).await?;
    } else {
        finish(&mut *conn, &done, &batch.attempts, None).await?;
    }
    // Each insert's own finalization: made with the row, or (one by one) among the first `skip`.
    let mut settled_now = finalized[..skip].iter();
    let inserted = batch
        .inserts
        .iter()
        .zip(inserted)
        .map(|((_, f), new)| match (new, f) {
            (false, _) => InsertResult::Taken,
            (true, Some(f)) if inserted_final(f) => InsertResult::Inserted { settled: true },
            (true, Some(_)) => InsertResult::Inserted { settled: settled_now.next() == Some(&Finalized::Done) },
            (true, None) => InsertResult::Inserted { settled: false },
        })
        .collect();
    Ok(Written { inserted, finalized: finalized.into_iter().skip(skip).map(Some).collect(), claimed })
}

/// Write the entries and callbacks of `done`, record `attempts`, lease for `claim`, and commit,
/// in one multi-statement query. Returns what the claim leased.
async fn finish(
    conn: &mut SqliteConnection,
    done: &[&Finalization],
    attempts: &[Attempt],
    claim: Option<(i64, i64, i64)>,
) -> sqlx::Result<Vec<DeliveryRecord>> {
    // SQLite limits the parameters of each statement, not of a query string: chunks keep
    // every statement well under it (at most 2,048 postings of 5, 1,024 attempts of 6).
    let mut query = sqlx::QueryBuilder::<Sqlite>::new("");
    for chunk in done.chunks(512) {
        push_entries(&mut query, chunk);
    }
    for chunk in attempts.chunks(1024) {
        push_attempts_insert(&mut query, chunk);
        query.push(";\n");
        push_attempts_update(&mut query, chunk);
        query.push(";\n");
    }
    if let Some((now, lease_until, limit)) = claim {
        push_claim(&mut query, now, lease_until, limit);
        query.push(";\n");
    }
    query.push("COMMIT;");
    Statement::from(query.build()).persistent(false).fetch_all(&mut *conn, rows::delivery).await
}

/// Finalize in the caller's database transaction; a result per finalization, in order.
///
/// Those that cannot be refused ([`Finalization::unconditional`]: every sandbox settlement but
/// refunds) are written in bulk: one `UPDATE … FROM (VALUES …)` for the transactions still
/// pending, one upsert for the net change of every account touched, one insert for all
/// postings and one for all callbacks. The others (floors, opening balances, refund limits, and
/// a second finalization of one transaction) go one by one, each in a savepoint so that one
/// refused rolls back alone.
///
/// `applied` are unconditional finalizations whose transactions were inserted final in this
/// database transaction: only their entries and callbacks remain to be written, with the others'.
async fn finalize_many<'a>(
    conn: &mut SqliteConnection,
    fs: &'a [Finalization],
    done: &mut Vec<&'a Finalization>,
    settling: Settling,
) -> sqlx::Result<Vec<Finalized>> {
    let mut results = vec![Finalized::NotPending; fs.len()];
    let mut keys = HashSet::new();
    let (bulk, single): (Vec<usize>, Vec<usize>) =
        (0..fs.len()).partition(|&i| settling == Settling::Bulk && fs[i].unconditional() && keys.insert(&fs[i].key));
    // 7 parameters a row.
    for chunk in bulk.chunks(1024) {
        let mut query = sqlx::QueryBuilder::<Sqlite>::new("");
        push_finalize_update(&mut query, fs, chunk);
        let updated: HashSet<_> =
            Statement::from(query.build()).persistent(false).fetch_all(&mut *conn, rows::key_columns).await?;
        for &i in chunk {
            if updated.contains(&key_columns(&fs[i].key)) {
                results[i] = Finalized::Done;
                done.push(&fs[i]);
            }
        }
    }
    // The committer's transaction is begun with plain SQL (see [`cycle`]), so savepoints are too.
    for i in single {
        sqlx::query("SAVEPOINT finalization").execute(&mut *conn).await?;
        results[i] = finalize_one::<Sqlite>(&mut *conn, &fs[i]).await?;
        let end = if results[i] == Finalized::Done {
            "RELEASE finalization"
        } else {
            "ROLLBACK TO finalization; RELEASE finalization"
        };
        sqlx::query(end).execute(&mut *conn).await?;
    }
    Ok(results)
}

/// The postings, balance changes and callbacks of unconditional finalizations that were made:
/// the net change of each account (the issuance account too, as a single settlement creates
/// it) in one upsert, all postings in one insert, all callbacks in another.
fn push_entries(query: &mut sqlx::QueryBuilder<'_, Sqlite>, done: &[&Finalization]) {
    for push in [push_accounts_opened, push_account_changes, push_postings, push_deliveries] {
        if push(query, done) {
            query.push(";\n");
        }
    }
}
