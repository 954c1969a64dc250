//! SQLite's group commit, written on a connection of its own (rusqlite) on the committer's thread.
//!
//! Why not sqlx here: sqlx runs each SQLite connection on a worker thread of its own and hands
//! every statement and its rows across by channel, and the committer's multi-row statements
//! (their text differs with the row count) were parsed again at every commit. Under write load
//! that worker thread took more of the server's CPU than the HTTP tasks did (docs/performance.md,
//! "The SQLite committer on rusqlite"). Here each kind of row has one statement, prepared once and
//! kept (rusqlite's statement cache), then bound and stepped once per row, on the thread that
//! gathered the batch: nothing is parsed, nothing crosses a thread.
//!
//! This connection writes the payment path and nothing else: new transactions, every settlement
//! (those that may be refused one by one, each in a savepoint, through the ledger's shared
//! rules: `sql::ledger::finalize_each` over [`OnCommitter`]), callback claims and attempt
//! records. The store's other writes (credentials, the operator's, settlements a commit left to
//! their callers) go through the sqlx writer pool's one connection, which the committer holds
//! while this one writes (`commit_groups`), so the two never contend for SQLite's write lock.

use std::borrow::Cow;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use futures_util::future::{self, BoxFuture};
use momo_types::ErrorCode;
use rusqlite::types::Type;
use rusqlite::{params, CachedStatement, Connection, OpenFlags, Row, TransactionBehavior};

use super::SqliteDurability;
use crate::domain::transactions::Kind;
use crate::store::group_commit::{Batch, CommitFailed, InsertResult, Written};
use crate::store::sql::ledger::{
    finalize_each, net_changes, LedgerConnection, Param, Refusal, INSERT_POSTING, SETTLE_PENDING,
};
use crate::store::sql::outbox::{claim_statement, delivery_columns, insert_delivery_statement};
use crate::store::sql::payments::insert_transaction_statement;
use crate::store::sql::rows::outcome_to_columns;
use crate::store::{DeliveryRecord, Finalization, Finalized, TxKey};

/// How a commit treats the settlements in its batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Settling {
    /// Makes them: those that cannot be refused in bulk (each account changed once by its net
    /// change), then the others (refunds, payouts funded from the ledger, production floors)
    /// one by one, each in a savepoint, with the ledger's rules (`sql::ledger::finalize_each`).
    Bulk,
    /// Leaves each to its caller, who settles it in a commit of its own: after the database
    /// refused a bulk commit for the ledger's balance limit, so that only the settlements that
    /// cross it are refused.
    Alone,
}

/// The committer's connection and the text of its statements.
pub(super) struct BatchWriter {
    path: PathBuf,
    connection: Connection,
    /// The connection's durability settings, as SQLite answered them when it was opened.
    durability: SqliteDurability,
    insert_transaction: String,
    insert_delivery: String,
    claim: String,
}

/// An account a settlement moves no money in, created if new: an insert that leaves an
/// existing row alone.
const OPEN_ACCOUNT: &str = "INSERT INTO accounts (id, currency, floor_minor, balance_minor, created_at) \
     VALUES (?1, ?2, NULL, ?3, ?4) ON CONFLICT (id) DO NOTHING";

/// An account's net change in the commit (no floor to check: unconditional settlements have none).
const CHANGE_ACCOUNT: &str = "INSERT INTO accounts (id, currency, floor_minor, balance_minor, created_at) \
     VALUES (?1, ?2, NULL, ?3, ?4) \
     ON CONFLICT (id) DO UPDATE SET balance_minor = accounts.balance_minor + excluded.balance_minor";

const INSERT_ATTEMPT: &str =
    "INSERT INTO callback_attempts (delivery_id, attempt, at, status_code, latency_ms, error) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING";

const AFTER_ATTEMPT: &str = "UPDATE callback_deliveries SET state = ?2, attempts = ?3, next_attempt_at = ?4, \
     finished_at = ?5, locked_until = NULL WHERE id = ?1";

impl BatchWriter {
    /// Open the database at `path` (created and migrated already) for the committer, with the
    /// settings its commits' durability rests on.
    pub(super) fn open(path: &Path) -> anyhow::Result<Self> {
        let connection = committer_connection(path)?;
        let durability = durability(&connection)?;
        Ok(Self {
            path: path.to_owned(),
            connection,
            durability,
            // The statements written for both engines, with `$1`, `$2`, … in the order they
            // first appear, so bound here by position.
            insert_transaction: insert_transaction_statement(),
            insert_delivery: insert_delivery_statement(),
            claim: claim_statement(""),
        })
    }

    /// What SQLite answered for the durability settings of the committer's connection when it
    /// was opened.
    pub(super) fn durability(&self) -> &SqliteDurability {
        &self.durability
    }

    /// [`BatchWriter::write_in_one`], and after a failure a connection out of any transaction:
    /// the failed one rolled back (which dropping it did, unless that failed too), or else a
    /// new connection, so that one failure cannot fail every later commit.
    pub(super) async fn write(&mut self, batch: &Batch, settling: Settling) -> rusqlite::Result<Written> {
        let written = self.write_in_one(batch, settling).await;
        if written.is_err() && !self.connection.is_autocommit() {
            if let Err(e) = self.connection.execute_batch("ROLLBACK") {
                tracing::error!(error = %e, "the committer could not roll back; it reconnects");
                match committer_connection(&self.path) {
                    Ok(connection) => self.connection = connection,
                    Err(e) => tracing::error!(error = %e, "the committer could not reconnect"),
                }
            }
        }
        written
    }

    /// Write `batch` in one transaction: the new transactions (those settled at once inserted
    /// final), the settlements, their postings, the net change of each account and their
    /// callbacks, the attempt records, and the claims last (so that they see the callbacks made
    /// in this commit). Nothing is written unless all of it is.
    async fn write_in_one(&mut self, batch: &Batch, settling: Settling) -> rusqlite::Result<Written> {
        let db = self.connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let settles = |f: &Finalization| settling == Settling::Bulk && f.unconditional();
        let mut done: Vec<&Finalization> = Vec::new();
        let mut inserted = Vec::with_capacity(batch.inserts.len());
        {
            let mut insert = db.prepare_cached(&self.insert_transaction)?;
            for (tx, f) in &batch.inserts {
                let row = match f {
                    Some(f) if settles(f) => Cow::Owned(f.applied_to(tx)),
                    _ => Cow::Borrowed(tx),
                };
                let (outcome, outcome_reason) = match &row.outcome {
                    Some(o) => {
                        let (outcome, reason) = outcome_to_columns(o);
                        (Some(outcome), reason)
                    }
                    None => (None, None),
                };
                // Of two with one id in the batch, the first is inserted and the second taken.
                let took = insert.execute(params![
                    row.key.product.as_str(),
                    row.key.kind.as_str(),
                    row.key.reference_id,
                    row.api_user,
                    row.environment,
                    row.currency.as_str(),
                    row.amount_minor,
                    row.party.as_ref().map(|p| p.party_id_type.as_str()),
                    row.party.as_ref().map(|p| p.party_id.as_str()),
                    row.external_id,
                    row.request,
                    row.api_version.number(),
                    row.status.as_str(),
                    row.reason.as_ref().map(ErrorCode::as_str),
                    row.financial_transaction_id,
                    row.callback_url,
                    outcome,
                    outcome_reason,
                    row.due_at,
                    i64::from(row.awaiting_approval),
                    row.related_reference_id,
                    row.notifications,
                    row.created_at,
                    row.updated_at,
                    row.cancelled_at,
                ])? == 1;
                inserted.push(match f {
                    _ if !took => InsertResult::Taken,
                    Some(f) if settles(f) => {
                        done.push(f);
                        InsertResult::Inserted { settled: true }
                    }
                    _ => InsertResult::Inserted { settled: false },
                });
            }
        }
        let fs = &batch.finalizations;
        let mut finalized: Vec<Option<Finalized>> = vec![None; fs.len()];
        // Those that may be refused, in the order asked: made after the bulk ones' entries, so
        // that their floor checks see the balances this commit leaves. Two of one transaction
        // (a status read and the settler) are both tried: the second is told it is no longer
        // pending only if the first was made, and is refused on its own otherwise.
        let mut refusable = Vec::new();
        if settling == Settling::Bulk {
            let mut settle = db.prepare_cached(SETTLE_PENDING)?;
            // Two callers may settle one transaction in a batch (a status read and the settler):
            // the first asked makes it, the second is told it is no longer pending.
            let mut seen = HashSet::new();
            for (i, (f, result)) in fs.iter().zip(&mut finalized).enumerate() {
                if !f.unconditional() {
                    refusable.push(i);
                    continue;
                }
                if !seen.insert(&f.key) {
                    *result = Some(Finalized::NotPending);
                    continue;
                }
                let made = settle.execute(params![
                    f.status.as_str(),
                    f.reason.as_ref().map(ErrorCode::as_str),
                    f.financial_transaction_id,
                    f.now,
                    f.key.product.as_str(),
                    f.key.kind.as_str(),
                    f.key.reference_id,
                ])? == 1;
                *result = Some(if made { Finalized::Done } else { Finalized::NotPending });
                if made {
                    done.push(f);
                }
            }
        }
        write_entries(&db, &done, &self.insert_delivery)?;
        for &i in &refusable {
            finalized[i] = match finalize_each(&mut OnCommitter(&db), &[&fs[i]], Refusal::RollsBackItsSavepoint).await {
                Ok(mut made) => made.pop(),
                // Failed in the database, not refused (a taken callback id, the balance-limit
                // trigger): undone, and left to its caller, who makes it alone on the writer,
                // so that it fails no other write of the batch. If even undoing it fails, the
                // batch does.
                Err(e) => {
                    tracing::warn!(error = %e, "a settlement failed in the group commit; its caller makes it alone");
                    db.execute_batch("ROLLBACK TO SAVEPOINT finalization; RELEASE SAVEPOINT finalization")?;
                    None
                }
            };
        }
        {
            let mut record = db.prepare_cached(INSERT_ATTEMPT)?;
            let mut after = db.prepare_cached(AFTER_ATTEMPT)?;
            for (id, attempt, next) in &batch.attempts {
                record.execute(params![
                    id,
                    attempt.attempt,
                    attempt.at,
                    attempt.status_code,
                    attempt.latency_ms,
                    attempt.error
                ])?;
                let (state, next_at, finished) = delivery_columns(attempt, next);
                after.execute(params![id, state, attempt.attempt, next_at, finished])?;
            }
        }
        let mut claimed = Vec::with_capacity(batch.claims.len());
        {
            let mut claim = db.prepare_cached(&self.claim)?;
            for &(now, lease_until, limit) in &batch.claims {
                let leased = claim.query_map(params![now, limit, lease_until], delivery)?;
                claimed.push(leased.collect::<rusqlite::Result<Vec<_>>>()?);
            }
        }
        db.commit()?;
        Ok(Written { inserted, finalized, claimed })
    }
}

/// The committer's connection to the database at `path` (created and migrated already), with the
/// settings its commits' durability rests on.
fn committer_connection(path: &Path) -> rusqlite::Result<Connection> {
    let connection = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI,
    )?;
    // As the sqlx connections: the write-ahead log, synced at every commit (and checkpointed by
    // the connection whose commit takes it past the threshold: docs/performance.md says why not
    // beside the commits); a statement journal in memory. No other connection writes while this
    // one does; the busy timeout covers what else may hold a lock for a moment.
    connection.pragma_update(None, "journal_mode", "wal")?;
    connection.pragma_update(None, "synchronous", "FULL")?;
    connection.pragma_update(None, "foreign_keys", "ON")?;
    connection.pragma_update(None, "temp_store", "memory")?;
    // Checkpoints of 500 pages, not SQLite's 1,000: one runs inside the commit that finds the log
    // past the threshold, so that batch and the commits queued behind it wait for it, and a
    // smaller one keeps the write path's p99 under 10 ms at half its maximum rate, for 7 % of its
    // closed-loop throughput (docs/performance.md, "Smaller checkpoints").
    connection.pragma_update(None, "wal_autocheckpoint", 500)?;
    connection.busy_timeout(Duration::from_secs(10))?;
    // Every statement the committer runs stays prepared: its own (nine) and those of the
    // settlements that may be refused (a dozen more), past rusqlite's default of 16.
    connection.set_prepared_statement_cache_capacity(64);
    Ok(connection)
}

/// What SQLite answers for a connection's durability settings.
fn durability(connection: &Connection) -> rusqlite::Result<SqliteDurability> {
    Ok(SqliteDurability {
        synchronous: connection.pragma_query_value(None, "synchronous", |row| row.get(0))?,
        journal_mode: connection.pragma_query_value(None, "journal_mode", |row| row.get(0))?,
    })
}

/// The ledger entries and callbacks of the settlements made in the commit: each account created
/// if new and changed once by its net change, in account-id order; every posting; every callback.
fn write_entries(db: &Connection, done: &[&Finalization], insert_delivery: &str) -> rusqlite::Result<()> {
    if done.is_empty() {
        return Ok(());
    }
    let now = done[0].now;
    {
        let mut open = db.prepare_cached(OPEN_ACCOUNT)?;
        let mut change = db.prepare_cached(CHANGE_ACCOUNT)?;
        for (id, (currency, delta)) in net_changes(done) {
            let statement = if delta == 0 { &mut open } else { &mut change };
            statement.execute(params![id, currency, delta, now])?;
        }
    }
    let mut posting = db.prepare_cached(INSERT_POSTING)?;
    let mut callback = db.prepare_cached(insert_delivery)?;
    for f in done {
        let entry = f.entry_id();
        for p in &f.postings {
            posting.execute(params![entry, p.account.id, p.account.currency, p.amount, f.now])?;
        }
        if let Some(d) = &f.delivery {
            callback.execute(params![
                d.id,
                d.api_user,
                f.key.product.as_str(),
                f.key.kind.as_str(),
                f.key.reference_id,
                d.url,
                d.method,
                d.body,
                f.now,
                f.now,
            ])?;
        }
    }
    Ok(())
}

/// A leased delivery, as the claim returns it.
fn delivery(row: &Row<'_>) -> rusqlite::Result<DeliveryRecord> {
    Ok(DeliveryRecord {
        id: row.get("id")?,
        api_user: row.get("api_user")?,
        key: TxKey {
            product: parsed(row, "product", |p| p.parse().ok())?,
            kind: parsed(row, "kind", Kind::parse)?,
            reference_id: row.get("reference_id")?,
        },
        url: row.get("url")?,
        method: row.get("method")?,
        body: row.get("body")?,
        state: row.get("state")?,
        attempts: row.get("attempts")?,
        next_attempt_at: row.get("next_attempt_at")?,
        created_at: row.get("created_at")?,
        finished_at: row.get("finished_at")?,
    })
}

/// A text column read as one of the values `parse` knows.
fn parsed<T>(row: &Row<'_>, column: &str, parse: impl FnOnce(&str) -> Option<T>) -> rusqlite::Result<T> {
    let index = row.as_ref().column_index(column)?;
    let text: String = row.get(index)?;
    parse(&text).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(index, Type::Text, format!("malformed {column}: {text:?}").into())
    })
}

/// The committer's connection inside its batch's transaction, as the ledger's one-by-one
/// settlement writes on it. Each statement runs at once; the futures are ready when made.
struct OnCommitter<'c>(&'c Connection);

impl LedgerConnection for OnCommitter<'_> {
    type Error = rusqlite::Error;
    const LOCK: &'static str = "";

    fn no_row() -> rusqlite::Error {
        rusqlite::Error::QueryReturnedNoRows
    }

    fn execute<'a>(&'a mut self, sql: &'a str, params: &'a [Param<'a>]) -> BoxFuture<'a, rusqlite::Result<u64>> {
        let run = || -> rusqlite::Result<u64> {
            let mut statement = self.0.prepare_cached(sql)?;
            bind(&mut statement, params)?;
            Ok(u64::try_from(statement.raw_execute()?).unwrap_or(u64::MAX))
        };
        Box::pin(future::ready(run()))
    }

    fn fetch_integers<'a, const N: usize>(
        &'a mut self,
        sql: &'a str,
        params: &'a [Param<'a>],
    ) -> BoxFuture<'a, rusqlite::Result<Option<[i64; N]>>> {
        let run = || -> rusqlite::Result<Option<[i64; N]>> {
            let mut statement = self.0.prepare_cached(sql)?;
            bind(&mut statement, params)?;
            let mut rows = statement.raw_query();
            let Some(row) = rows.next()? else { return Ok(None) };
            let mut columns = [0; N];
            for (i, column) in columns.iter_mut().enumerate() {
                *column = row.get(i)?;
            }
            Ok(Some(columns))
        };
        Box::pin(future::ready(run()))
    }
}

/// Bind `params` to `$1`, `$2`, … by name: the ledger's statements may use `$2` before `$1`, and
/// SQLite numbers parameters in the order they first appear.
fn bind(statement: &mut CachedStatement<'_>, params: &[Param<'_>]) -> rusqlite::Result<()> {
    for (i, param) in params.iter().enumerate() {
        let Some(index) = statement.parameter_index(&format!("${}", i + 1))? else { continue };
        match *param {
            Param::Text(text) => statement.raw_bind_parameter(index, text)?,
            Param::Integer(number) => statement.raw_bind_parameter(index, number)?,
        }
    }
    Ok(())
}

/// Whether `e` is the database refusing a balance past the ledger's limit (migration 6's trigger).
pub(super) fn balance_limit(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(_, Some(message)) if message.contains("momo: balance limit"))
}

impl From<rusqlite::Error> for CommitFailed {
    /// Busy or locked (another connection held the database past the busy timeout) is worth
    /// trying again; anything else is the commit's failure.
    fn from(e: rusqlite::Error) -> Self {
        let busy = matches!(
            &e,
            rusqlite::Error::SqliteFailure(f, _)
                if matches!(f.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
        );
        CommitFailed::new(e.to_string(), busy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The committer's connection keeps SQLite's durability settings and checkpoints every 500
    /// pages, not SQLite's 1,000 (docs/performance.md, "Smaller checkpoints").
    #[test]
    fn the_committers_connection_syncs_every_commit_and_checkpoints_every_500_pages() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("momo.db");
        Connection::open(&path).unwrap();
        let connection = committer_connection(&path).unwrap();
        let durability = durability(&connection).unwrap();
        assert_eq!((durability.synchronous, durability.journal_mode.as_str()), (2, "wal"));
        let threshold: i64 = connection.pragma_query_value(None, "wal_autocheckpoint", |row| row.get(0)).unwrap();
        assert_eq!(threshold, 500);
    }
}
