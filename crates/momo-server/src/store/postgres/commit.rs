//! PostgreSQL's group commit: how one batch is written.
//!
//! Every statement here has one text whatever the batch's size: its rows are bound as one array
//! per column and taken apart by `UNNEST`. So each is parsed and described once per connection
//! and kept prepared (sqlx's statement cache; PostgreSQL plans its first five runs afresh and may
//! then keep a generic plan, which each statement here must therefore do well with), and a
//! commit is one round trip per statement. A multi-row `VALUES` list, whose text changes with the row count, made PostgreSQL
//! parse and plan every statement of every commit again, and sqlx describe it first, a round
//! trip of its own (docs/performance.md, "PostgreSQL's statements prepared once").

use std::collections::HashSet;
use std::sync::LazyLock;

use momo_types::ErrorCode;
use sqlx::{PgConnection, PgPool};

use crate::store::group_commit::{Attempt, Batch, InsertResult, Written};
use crate::store::sql::ledger::net_changes;
use crate::store::sql::outbox::{claim_in, delivery_columns, DELIVERY_COLUMNS};
use crate::store::sql::payments::{key_columns, TX_COLUMNS};
use crate::store::sql::rows::outcome_to_columns;
use crate::store::{Finalization, Finalized, TransactionRecord};

/// Whether a group commit settles the finalizations it is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Settling {
    /// In bulk, with the net change of each account applied once.
    Bulk,
    /// Not at all: each is left to its caller, who settles it in a commit of its own (after the
    /// database refused a bulk commit for the ledger's limit).
    Alone,
}

/// New transactions, one array per column of [`TX_COLUMNS`], in that order; the keys of those
/// inserted. Rows go in in the order of the arrays (a function scan keeps it), so of two with one
/// id the first is the one inserted.
static INSERT_TRANSACTIONS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "INSERT INTO transactions ({TX_COLUMNS}) SELECT * FROM UNNEST(\
         $1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[], \
         $8::text[], $9::text[], $10::text[], $11::text[], $12::bigint[], $13::text[], $14::text[], \
         $15::text[], $16::text[], $17::text[], $18::text[], $19::bigint[], $20::bigint[], \
         $21::text[], $22::bigint[], $23::bigint[], $24::bigint[], $25::bigint[]) \
         ON CONFLICT DO NOTHING RETURNING product, kind, reference_id"
    )
});

/// The bulk settlement of transactions still pending (each key once): the rows are taken
/// `FOR UPDATE SKIP LOCKED` in key order, so that the commit never waits for one another commit
/// holds, then made final; the keys made final. The rows taken carry their new values, so that
/// the update joins each to its own row by primary key: joined to the arrays again, the generic
/// plan PostgreSQL keeps for a prepared statement after five runs (it assumes ten rows an array)
/// scanned the arrays once per row taken, quadratic in the batch's size.
const SETTLE: &str = "WITH v AS (SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], \
     $5::text[], $6::text[], $7::bigint[]) AS v (product, kind, reference_id, status, reason, \
     financial_transaction_id, at)), \
     locked AS MATERIALIZED (SELECT t.product, t.kind, t.reference_id, v.status, v.reason, \
     v.financial_transaction_id, v.at FROM transactions t JOIN v \
     ON t.product = v.product AND t.kind = v.kind AND t.reference_id = v.reference_id \
     WHERE t.status = 'PENDING' ORDER BY t.product, t.kind, t.reference_id FOR UPDATE OF t SKIP LOCKED) \
     UPDATE transactions t SET status = locked.status, reason = locked.reason, \
     financial_transaction_id = locked.financial_transaction_id, outcome = NULL, outcome_reason = NULL, \
     due_at = NULL, awaiting_approval = 0, updated_at = locked.at \
     FROM locked \
     WHERE t.product = locked.product AND t.kind = locked.kind AND t.reference_id = locked.reference_id \
     RETURNING t.product, t.kind, t.reference_id";

/// Each account's net change, in the order given (account-id order: every settlement locks
/// accounts in that order). No floors to check: unconditional settlements have none. `$1` ids,
/// `$2` currencies, `$3` changes, `$4` when.
const CHANGE_ACCOUNTS: &str = "INSERT INTO accounts (id, currency, floor_minor, balance_minor, created_at) \
     SELECT id, currency, NULL, change, $4 FROM UNNEST($1::text[], $2::text[], $3::bigint[]) \
     AS a (id, currency, change) \
     ON CONFLICT (id) DO UPDATE SET balance_minor = accounts.balance_minor + excluded.balance_minor";

/// The ledger entries and callbacks of the settlements a commit made, in one statement (one
/// round trip): the accounts whose balance does not change (the issuance account, a wallet that
/// paid and was paid as much) created if new, by an insert that does nothing to an existing row
/// and so takes no lock on it (an upsert adding 0 would, and every commit of every instance would
/// then queue on the issuance account): `$1` ids, `$2` currencies, `$3` when; the postings:
/// `$4`–`$8`; the callbacks: `$9`–`$16` the first eight of [`DELIVERY_COLUMNS`], `$17` when
/// (the first attempt is due at once).
static WRITE_ENTRIES: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH opened AS (INSERT INTO accounts (id, currency, floor_minor, balance_minor, created_at) \
         SELECT id, currency, NULL, 0, $3 FROM UNNEST($1::text[], $2::text[]) AS a (id, currency) \
         ON CONFLICT (id) DO NOTHING), \
         posted AS (INSERT INTO ledger_postings (entry_id, account, currency, amount_minor, created_at) \
         SELECT * FROM UNNEST($4::text[], $5::text[], $6::text[], $7::bigint[], $8::bigint[])) \
         INSERT INTO callback_deliveries ({DELIVERY_COLUMNS}, locked_until) \
         SELECT id, api_user, product, kind, reference_id, url, method, body, 'pending', 0, at, at, NULL, NULL \
         FROM UNNEST($9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[], \
         $16::text[], $17::bigint[]) AS d (id, api_user, product, kind, reference_id, url, method, body, at)"
    )
});

const INSERT_ATTEMPTS: &str =
    "INSERT INTO callback_attempts (delivery_id, attempt, at, status_code, latency_ms, error) \
     SELECT * FROM UNNEST($1::text[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::text[]) \
     ON CONFLICT DO NOTHING";

/// What the attempts leave their deliveries in.
const AFTER_ATTEMPTS: &str = "UPDATE callback_deliveries d SET state = v.state, attempts = v.attempt, \
     next_attempt_at = v.next_at, finished_at = v.finished, locked_until = NULL \
     FROM UNNEST($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[]) \
     AS v (id, state, attempt, next_at, finished) WHERE d.id = v.id";

/// One group commit. Deadlock-free by lock order: new rows are inserted in key order (two
/// instances inserting the same ids wait in one order); the transaction rows to settle are taken
/// with `FOR UPDATE SKIP LOCKED`, so the commit never waits for one (a row another commit holds
/// is being settled there: `NotPending`, or, for a status read's own settlement, left to the
/// caller, who waits for it alone); accounts change last, in account-id order, as in every
/// settlement, and as the last statement before the commit, so that another instance's commit
/// waits for this one no longer than the commit itself. (An earlier batch that waited for
/// transaction rows while holding accounts deadlocked against status reads; see
/// docs/performance.md.)
pub(super) async fn commit_batch(pool: &PgPool, batch: &Batch, settling: Settling) -> sqlx::Result<Written> {
    // Every write of the instance is in this commit: a row held elsewhere (an operator's open
    // session, a lost connection's transaction) must not stall them all. Past these, the
    // commit fails and its callers get 503 (docs/reliability.md). A statement of its own, not
    // sent with the `BEGIN`: sqlx counts the transaction as begun only once that whole query
    // succeeded, so a failure after its `BEGIN` would give the pool back a connection still in
    // a failed transaction.
    let mut db = pool.begin().await?;
    sqlx::query("SELECT set_config('lock_timeout', '5s', true), set_config('statement_timeout', '30s', true)")
        .execute(&mut *db)
        .await?;
    let inserted_final = |f: &Finalization| settling == Settling::Bulk && f.unconditional();
    let mut order: Vec<usize> = (0..batch.inserts.len()).collect();
    let key = |i: usize| {
        let key = &batch.inserts[i].0.key;
        (key.product.as_str(), key.kind.as_str(), key.reference_id.as_str())
    };
    order.sort_by(|&a, &b| key(a).cmp(&key(b)));
    let rows: Vec<TransactionRecord> = order
        .iter()
        .map(|&i| match &batch.inserts[i] {
            (tx, Some(f)) if inserted_final(f) => f.applied_to(tx),
            (tx, _) => tx.clone(),
        })
        .collect();
    let mut new = vec![false; batch.inserts.len()];
    for (&i, took) in order.iter().zip(insert_transactions(&mut db, &rows).await?) {
        new[i] = took;
    }
    let mut done: Vec<&Finalization> = Vec::new();
    let inserted = batch
        .inserts
        .iter()
        .zip(&new)
        .map(|((_, f), &took)| match f {
            _ if !took => InsertResult::Taken,
            Some(f) if inserted_final(f) => {
                done.push(f);
                InsertResult::Inserted { settled: true }
            }
            _ => InsertResult::Inserted { settled: false },
        })
        .collect();
    let fs = &batch.finalizations;
    debug_assert!(
        fs.iter().all(Finalization::unconditional),
        "only settlements that cannot be refused are queued on PostgreSQL (sql::ledger::settle)"
    );
    let mut finalized: Vec<Option<Finalized>> = vec![None; fs.len()];
    if settling == Settling::Bulk && !fs.is_empty() {
        // Two callers may settle one transaction in a batch (a status read and the settler): the
        // first asked makes it, the second is told it is no longer pending.
        let mut seen = HashSet::new();
        let firsts: Vec<usize> = (0..fs.len()).filter(|&i| seen.insert(&fs[i].key)).collect();
        let made = settle(&mut db, fs, &firsts).await?;
        for &i in &firsts {
            if made.contains(&key_columns(&fs[i].key)) {
                finalized[i] = Some(Finalized::Done);
                done.push(&fs[i]);
            }
        }
        for (i, result) in finalized.iter_mut().enumerate() {
            // Not made here: final already, or being settled by another commit. A status
            // read's own settlement then waits for the row on its own.
            if result.is_none() && !batch.lone[i] {
                *result = Some(Finalized::NotPending);
            }
        }
    }
    write_entries(&mut db, &done).await?;
    // In delivery-id order, so that two instances recording the same deliveries (a lease that ran
    // out mid-attempt) lock them in one order.
    let mut attempts = batch.attempts.clone();
    attempts.sort_by(|a, b| a.0.cmp(&b.0));
    record_attempts(&mut db, &attempts).await?;
    let mut claimed = Vec::with_capacity(batch.claims.len());
    for &(now, lease_until, limit) in &batch.claims {
        claimed.push(claim_in::<sqlx::Postgres>(&mut db, now, lease_until, limit).await?);
    }
    // The accounts last: from here to the end of the commit, another instance's commit that
    // moves money in one of them waits for this one, so nothing else is done in between.
    change_accounts(&mut db, &done).await?;
    db.commit().await?;
    Ok(Written { inserted, finalized, claimed })
}

/// Insert `txs`; for each, whether it was new (`false`: its reference id is taken, or an earlier
/// one in `txs` has it). A taken id does not fail the others.
async fn insert_transactions(db: &mut PgConnection, txs: &[TransactionRecord]) -> sqlx::Result<Vec<bool>> {
    if txs.is_empty() {
        return Ok(Vec::new());
    }
    let text = |f: fn(&TransactionRecord) -> &str| txs.iter().map(f).collect::<Vec<_>>();
    let optional = |f: fn(&TransactionRecord) -> Option<&str>| txs.iter().map(f).collect::<Vec<_>>();
    let number = |f: fn(&TransactionRecord) -> i64| txs.iter().map(f).collect::<Vec<_>>();
    let optional_number = |f: fn(&TransactionRecord) -> Option<i64>| txs.iter().map(f).collect::<Vec<_>>();
    let outcomes: Vec<(Option<&str>, Option<&str>)> = txs
        .iter()
        .map(|tx| {
            tx.outcome.as_ref().map_or((None, None), |o| {
                let (outcome, reason) = outcome_to_columns(o);
                (Some(outcome), reason)
            })
        })
        .collect();
    let new: HashSet<(String, String, String)> = sqlx::query_as(&INSERT_TRANSACTIONS)
        .bind(text(|tx| tx.key.product.as_str()))
        .bind(text(|tx| tx.key.kind.as_str()))
        .bind(text(|tx| &tx.key.reference_id))
        .bind(text(|tx| &tx.api_user))
        .bind(text(|tx| &tx.environment))
        .bind(text(|tx| tx.currency.as_str()))
        .bind(number(|tx| tx.amount_minor))
        .bind(optional(|tx| tx.party.as_ref().map(|p| p.party_id_type.as_str())))
        .bind(optional(|tx| tx.party.as_ref().map(|p| p.party_id.as_str())))
        .bind(optional(|tx| tx.external_id.as_deref()))
        .bind(text(|tx| &tx.request))
        .bind(number(|tx| tx.api_version.number()))
        .bind(text(|tx| tx.status.as_str()))
        .bind(optional(|tx| tx.reason.as_ref().map(ErrorCode::as_str)))
        .bind(optional(|tx| tx.financial_transaction_id.as_deref()))
        .bind(optional(|tx| tx.callback_url.as_deref()))
        .bind(outcomes.iter().map(|o| o.0).collect::<Vec<_>>())
        .bind(outcomes.iter().map(|o| o.1).collect::<Vec<_>>())
        .bind(optional_number(|tx| tx.due_at))
        .bind(number(|tx| i64::from(tx.awaiting_approval)))
        .bind(optional(|tx| tx.related_reference_id.as_deref()))
        .bind(number(|tx| tx.notifications))
        .bind(number(|tx| tx.created_at))
        .bind(number(|tx| tx.updated_at))
        .bind(optional_number(|tx| tx.cancelled_at))
        .fetch_all(&mut *db)
        .await?
        .into_iter()
        .collect();
    let mut new = new;
    Ok(txs.iter().map(|tx| new.remove(&key_columns(&tx.key))).collect())
}

/// Settle `fs[indices]` (each key once) in bulk; the keys made final.
async fn settle(
    db: &mut PgConnection,
    fs: &[Finalization],
    indices: &[usize],
) -> sqlx::Result<HashSet<(String, String, String)>> {
    let column = |f: fn(&Finalization) -> Option<&str>| indices.iter().map(|&i| f(&fs[i])).collect::<Vec<_>>();
    let made: Vec<(String, String, String)> = sqlx::query_as(SETTLE)
        .bind(column(|f| Some(f.key.product.as_str())))
        .bind(column(|f| Some(f.key.kind.as_str())))
        .bind(column(|f| Some(&f.key.reference_id)))
        .bind(column(|f| Some(f.status.as_str())))
        .bind(column(|f| f.reason.as_ref().map(ErrorCode::as_str)))
        .bind(column(|f| f.financial_transaction_id.as_deref()))
        .bind(indices.iter().map(|&i| fs[i].now).collect::<Vec<_>>())
        .fetch_all(&mut *db)
        .await?;
    Ok(made.into_iter().collect())
}

/// The net change of each account the settlements made move money in, in account-id order.
async fn change_accounts(db: &mut PgConnection, done: &[&Finalization]) -> sqlx::Result<()> {
    let mut ids = Vec::new();
    let mut currencies = Vec::new();
    let mut changes = Vec::new();
    for (id, (currency, change)) in net_changes(done).into_iter().filter(|(_, (_, change))| *change != 0) {
        ids.push(id);
        currencies.push(currency);
        changes.push(change);
    }
    if !ids.is_empty() {
        sqlx::query(CHANGE_ACCOUNTS)
            .bind(ids)
            .bind(currencies)
            .bind(changes)
            .bind(done[0].now)
            .execute(&mut *db)
            .await?;
    }
    Ok(())
}

/// [`WRITE_ENTRIES`] for the settlements made, `done`.
async fn write_entries(db: &mut PgConnection, done: &[&Finalization]) -> sqlx::Result<()> {
    let Some(first) = done.first() else { return Ok(()) };
    let (opened, currencies): (Vec<String>, Vec<String>) =
        net_changes(done).into_iter().filter(|(_, (_, change))| *change == 0).map(|(id, (c, _))| (id, c)).unzip();
    let (mut entries, mut accounts, mut posted_in, mut amounts, mut posted_at) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for f in done {
        for p in &f.postings {
            entries.push(f.entry_id());
            accounts.push(p.account.id.as_str());
            posted_in.push(p.account.currency.as_str());
            amounts.push(p.amount);
            posted_at.push(f.now);
        }
    }
    let deliveries: Vec<_> = done.iter().filter_map(|f| f.delivery.as_ref().map(|d| (*f, d))).collect();
    sqlx::query(&WRITE_ENTRIES)
        .bind(opened)
        .bind(currencies)
        .bind(first.now)
        .bind(entries)
        .bind(accounts)
        .bind(posted_in)
        .bind(amounts)
        .bind(posted_at)
        .bind(column(&deliveries, |&(_, d)| &d.id))
        .bind(column(&deliveries, |&(_, d)| &d.api_user))
        .bind(column(&deliveries, |&(f, _)| f.key.product.as_str()))
        .bind(column(&deliveries, |&(f, _)| f.key.kind.as_str()))
        .bind(column(&deliveries, |&(f, _)| &f.key.reference_id))
        .bind(column(&deliveries, |&(_, d)| &d.url))
        .bind(column(&deliveries, |&(_, d)| &d.method))
        .bind(column(&deliveries, |&(_, d)| &d.body))
        .bind(deliveries.iter().map(|(f, _)| f.now).collect::<Vec<_>>())
        .execute(&mut *db)
        .await?;
    Ok(())
}

/// One text column of `rows`, as one array.
fn column<'a, T>(rows: &[T], value: impl Fn(&T) -> &'a str) -> Vec<&'a str> {
    rows.iter().map(value).collect()
}

/// The attempts' records, and what each leaves its delivery in.
async fn record_attempts(db: &mut PgConnection, attempts: &[Attempt]) -> sqlx::Result<()> {
    if attempts.is_empty() {
        return Ok(());
    }
    let ids: Vec<&str> = attempts.iter().map(|(id, ..)| id.as_str()).collect();
    let numbers: Vec<i64> = attempts.iter().map(|(_, a, _)| a.attempt).collect();
    let ats: Vec<i64> = attempts.iter().map(|(_, a, _)| a.at).collect();
    sqlx::query(INSERT_ATTEMPTS)
        .bind(&ids)
        .bind(&numbers)
        .bind(&ats)
        .bind(attempts.iter().map(|(_, a, _)| a.status_code).collect::<Vec<_>>())
        .bind(attempts.iter().map(|(_, a, _)| a.latency_ms).collect::<Vec<_>>())
        .bind(attempts.iter().map(|(_, a, _)| a.error.as_deref()).collect::<Vec<_>>())
        .execute(&mut *db)
        .await?;
    let after: Vec<_> = attempts.iter().map(|(_, a, next)| delivery_columns(a, next)).collect();
    sqlx::query(AFTER_ATTEMPTS)
        .bind(&ids)
        .bind(after.iter().map(|(state, ..)| *state).collect::<Vec<_>>())
        .bind(&numbers)
        .bind(after.iter().map(|(_, next, _)| *next).collect::<Vec<_>>())
        .bind(after.iter().map(|(.., finished)| *finished).collect::<Vec<_>>())
        .execute(&mut *db)
        .await?;
    Ok(())
}
