//! Settlement and the ledger, for both engines: a transaction made final with its postings and
//! its callback, one at a time ([`finalize_one`]) or, for those that cannot be refused, in bulk
//! (the `push_*` statements, which each engine's commit puts together its own way).

use std::collections::{BTreeMap, HashSet};
use std::time::Instant;

use momo_types::ErrorCode;

use super::outbox::insert_delivery_statement;
use super::payments::bind_key;
use super::SqlStore;
use crate::domain::money::BALANCE_LIMIT_MINOR;
use crate::store::engine::{Engine, Statement};
use crate::store::{AccountSpec, Finalization, Finalized, Posting, StoreResult};

/// The settlement of one transaction still pending: `$1` status, `$2` reason, `$3` financial
/// transaction id, `$4` when, `$5`–`$7` its key. Numbered in the order they first appear, as
/// every statement the two engines share one by one: SQLite's rusqlite committer binds them by
/// position.
pub(crate) const SETTLE_PENDING: &str = "UPDATE transactions SET status = $1, reason = $2, \
     financial_transaction_id = $3, outcome = NULL, outcome_reason = NULL, due_at = NULL, \
     awaiting_approval = 0, updated_at = $4 \
     WHERE product = $5 AND kind = $6 AND reference_id = $7 AND status = 'PENDING'";

/// A posting: `$1` entry, `$2` account, `$3` currency, `$4` amount, `$5` when.
pub(crate) const INSERT_POSTING: &str = "INSERT INTO ledger_postings \
     (entry_id, account, currency, amount_minor, created_at) VALUES ($1, $2, $3, $4, $5)";

/// The net change of each account that unconditional finalizations move money in, the issuance
/// account too (as a single settlement creates it), in account-id order (a BTreeMap's), as
/// every settlement locks accounts: id -> (currency, change).
pub(crate) fn net_changes(done: &[&Finalization]) -> BTreeMap<String, (String, i64)> {
    let mut accounts: BTreeMap<String, (String, i64)> = BTreeMap::new();
    for f in done {
        for p in &f.postings {
            accounts.entry(p.account.id.clone()).or_insert((p.account.currency.clone(), 0)).1 += p.amount;
            accounts.entry(f.issuance.clone()).or_insert((p.account.currency.clone(), 0));
        }
    }
    accounts
}

/// [`Payments::finalize_batch`](crate::store::Payments::finalize_batch). Settlements that cannot
/// be refused (every sandbox one but refunds and payouts funded from the ledger), each
/// transaction once, go to the group commit, which makes them in bulk. The others, and those the
/// group commit leaves to their callers, are made on the store's writer: on an engine with one
/// writer all in one commit, each in a savepoint; otherwise each in a commit of its own. (A
/// request to pay due at once is inserted final, with its ledger entry and callback, in the group
/// commit: the commit changes each account once for the whole batch, so concurrent requests to
/// pay share one turn on the API user's account row instead of queuing for it one commit each.)
pub(crate) async fn settle<S: SqlStore>(store: &S, finalizations: &[Finalization]) -> StoreResult<Vec<Finalized>> {
    let mut results: Vec<Option<Finalized>> = vec![None; finalizations.len()];
    let mut keys = HashSet::new();
    let bulk: Vec<usize> = (0..finalizations.len())
        .filter(|&i| finalizations[i].unconditional() && keys.insert(&finalizations[i].key))
        .collect();
    let queued: Vec<Finalization> = bulk.iter().map(|&i| finalizations[i].clone()).collect();
    for (&i, result) in bulk.iter().zip(store.committer().finalize(&queued).await?) {
        results[i] = result;
    }
    let left: Vec<usize> = (0..finalizations.len()).filter(|&i| results[i].is_none()).collect();
    if S::Db::ONE_WRITER {
        let together: Vec<&Finalization> = left.iter().map(|&i| &finalizations[i]).collect();
        let made = finalize_together(store, &together).await?;
        for (&i, result) in left.iter().zip(made) {
            results[i] = Some(result);
        }
    } else {
        for &i in &left {
            results[i] = finalize_together(store, &[&finalizations[i]]).await?.pop();
        }
    }
    Ok(results.into_iter().map(|r| r.unwrap_or(Finalized::NotPending)).collect())
}

/// Settlements in one commit on the store's writer, each in a savepoint so that one refused
/// rolls back alone; a result each, in order. On PostgreSQL one waits for its transaction's row
/// if another commit holds it, so that a status read answers the final state.
///
/// After a failure the connection is closed, not given back: a transaction SQLite rolled back
/// by itself (a full disk) makes sqlx's own `ROLLBACK` fail, and sqlx would then take the
/// connection for one still in a transaction, failing every later `BEGIN` on it.
async fn finalize_together<S: SqlStore>(store: &S, finalizations: &[&Finalization]) -> StoreResult<Vec<Finalized>> {
    if finalizations.is_empty() {
        return Ok(Vec::new());
    }
    let mut connection = store.writer().acquire().await?;
    let made = finalize_on::<S::Db>(&mut connection, finalizations).await;
    match made {
        Ok((results, made, started)) => {
            if made > 0 {
                store.commits().observe(made, started);
            }
            Ok(results)
        }
        Err(e) => {
            connection.close_on_drop();
            Err(e.into())
        }
    }
}

/// [`finalize_together`] on a connection: the results, how many were made, and when the
/// commit's transaction began (for the commit metrics).
async fn finalize_on<DB: Engine>(
    connection: &mut DB::Connection,
    finalizations: &[&Finalization],
) -> sqlx::Result<(Vec<Finalized>, usize, Instant)> {
    let begin = if DB::ONE_WRITER { "BEGIN IMMEDIATE" } else { "BEGIN" };
    let mut tx = sqlx::Connection::begin_with(connection, begin).await?;
    let started = Instant::now();
    // One alone needs no savepoint: the commit is rolled back whole if it is refused.
    let savepoints = finalizations.len() > 1;
    let mut results = Vec::with_capacity(finalizations.len());
    for &f in finalizations {
        if savepoints {
            Statement::<DB>::new("SAVEPOINT finalization").execute(&mut *tx).await?;
        }
        let result = finalize_one::<DB>(&mut tx, f).await?;
        if savepoints {
            if result != Finalized::Done {
                Statement::<DB>::new("ROLLBACK TO SAVEPOINT finalization").execute(&mut *tx).await?;
            }
            Statement::<DB>::new("RELEASE SAVEPOINT finalization").execute(&mut *tx).await?;
        }
        results.push(result);
    }
    let made = results.iter().filter(|r| **r == Finalized::Done).count();
    if made > 0 {
        tx.commit().await?;
    } else {
        tx.rollback().await?;
    }
    Ok((results, made, started))
}

/// Finalize one transaction inside the caller's database transaction (nothing is written
/// unless it returns `Done`: the caller rolls back otherwise).
async fn finalize_one<DB: Engine>(tx: &mut DB::Connection, f: &Finalization) -> sqlx::Result<Finalized> {
    if let Some(guard) = &f.refund_guard {
        let sql = format!(
            "SELECT amount_minor, status FROM transactions WHERE product = $1 AND kind = $2 AND reference_id = $3{}",
            DB::LOCK
        );
        let original: Option<(i64, String)> = bind_key(Statement::<DB>::new(&sql), &guard.original)
            .fetch_optional(&mut *tx, |row| Ok((row.get("amount_minor")?, row.get("status")?)))
            .await?;
        let Some((original, status)) = original else { return Ok(Finalized::RefundExceeded) };
        if status != "SUCCESSFUL" {
            return Ok(Finalized::RefundExceeded);
        }
        let refunded: i64 = Statement::<DB>::new(
            "SELECT CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT) AS refunded FROM transactions \
             WHERE kind = 'refund' AND related_reference_id = $1 AND status = 'SUCCESSFUL'",
        )
        .bind(&guard.original.reference_id)
        .fetch_one(&mut *tx, |row| row.get("refunded"))
        .await?;
        if refunded + guard.amount > original {
            return Ok(Finalized::RefundExceeded);
        }
    }
    let update = Statement::<DB>::new(SETTLE_PENDING)
        .bind(f.status.as_str())
        .bind(f.reason.as_ref().map(ErrorCode::as_str))
        .bind(&f.financial_transaction_id)
        .bind(f.now);
    let updated = bind_key(update, &f.key).execute(&mut *tx).await?;
    if updated == 0 {
        return Ok(Finalized::NotPending);
    }
    let entry = f.entry_id();
    // Always in account-id order, so concurrent settlements lock accounts in one global
    // order and cannot deadlock each other.
    let mut postings: Vec<&Posting> = f.postings.iter().collect();
    postings.sort_by(|a, b| a.account.id.cmp(&b.account.id));
    for posting in postings {
        let refused = post::<DB>(&mut *tx, posting, &f.issuance, &entry, f.now).await?;
        if refused != Finalized::Done {
            return Ok(refused);
        }
    }
    if let Some(d) = &f.delivery {
        let sql = insert_delivery_statement();
        let insert = Statement::<DB>::new(&sql).bind(&d.id).bind(&d.api_user);
        bind_key(insert, &f.key)
            .bind(&d.url)
            .bind(&d.method)
            .bind(&d.body)
            .bind(f.now)
            .bind(f.now)
            .execute(&mut *tx)
            .await?;
    }
    Ok(Finalized::Done)
}

/// Create an account on first use, crediting its opening balance from issuance; `false`
/// if issuance is at its limit and cannot (nothing is written then).
pub(crate) async fn ensure_account<DB: Engine>(
    conn: &mut DB::Connection,
    account: &AccountSpec,
    issuance: &str,
    now: i64,
) -> sqlx::Result<bool> {
    let create = "INSERT INTO accounts (id, currency, floor_minor, balance_minor, created_at) \
                  VALUES ($1, $2, $3, 0, $4) ON CONFLICT DO NOTHING";
    let created = Statement::<DB>::new(create)
        .bind(&account.id)
        .bind(&account.currency)
        .bind(account.floor)
        .bind(now)
        .execute(&mut *conn)
        .await?
        == 1;
    Statement::<DB>::new(create)
        .bind(issuance)
        .bind(&account.currency)
        .bind(None::<i64>)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    if created && account.opening != 0 {
        let id = format!("opening:{}", account.id);
        let entry = Entry { id: &id, currency: &account.currency, now };
        return entry.issue::<DB>(conn, &account.id, issuance, account.opening).await;
    }
    Ok(true)
}

/// A journal entry being written: its id, its currency and when it was made. Each of its
/// postings is written with the balance change it makes.
pub(crate) struct Entry<'a> {
    pub(crate) id: &'a str,
    pub(crate) currency: &'a str,
    pub(crate) now: i64,
}

impl Entry<'_> {
    /// Credit `amount` to `to` from `from` (issuance, or a sandbox funding account), with both
    /// postings, unless that would take `from` past the ledger's negative limit: `false` then,
    /// and nothing is written. (A refusal here must not fail the whole commit, as the
    /// database's own check would.)
    async fn issue<DB: Engine>(
        &self,
        conn: &mut DB::Connection,
        to: &str,
        from: &str,
        amount: i64,
    ) -> sqlx::Result<bool> {
        let debited = Statement::<DB>::new(
            "UPDATE accounts SET balance_minor = balance_minor - $2 WHERE id = $1 AND balance_minor - $2 >= $3",
        )
        .bind(from)
        .bind(amount)
        .bind(-BALANCE_LIMIT_MINOR)
        .execute(&mut *conn)
        .await?
            == 1;
        if !debited {
            return Ok(false);
        }
        self.posting::<DB>(conn, from, -amount).await?;
        self.credit::<DB>(conn, to, amount).await?;
        Ok(true)
    }

    /// Credit `amount` to `to` and debit it from `from` (no floor check), with both postings.
    pub(crate) async fn move_money<DB: Engine>(
        &self,
        conn: &mut DB::Connection,
        to: &str,
        from: &str,
        amount: i64,
    ) -> sqlx::Result<()> {
        self.credit::<DB>(conn, to, amount).await?;
        self.credit::<DB>(conn, from, -amount).await
    }

    /// Add `amount` to an account's balance (no floor check), with its posting.
    async fn credit<DB: Engine>(&self, conn: &mut DB::Connection, account: &str, amount: i64) -> sqlx::Result<()> {
        Statement::<DB>::new("UPDATE accounts SET balance_minor = balance_minor + $2 WHERE id = $1")
            .bind(account)
            .bind(amount)
            .execute(&mut *conn)
            .await?;
        self.posting::<DB>(conn, account, amount).await
    }

    /// The posting of `amount` to `account` (its balance is changed by the caller).
    async fn posting<DB: Engine>(&self, conn: &mut DB::Connection, account: &str, amount: i64) -> sqlx::Result<()> {
        Statement::<DB>::new(INSERT_POSTING)
            .bind(self.id)
            .bind(account)
            .bind(self.currency)
            .bind(amount)
            .bind(self.now)
            .execute(conn)
            .await?;
        Ok(())
    }
}

/// Apply one posting if it keeps its account at or above its floor and within the
/// ledger's limit: `Done`, or why not (nothing is written then).
///
/// The sum in the condition cannot overflow: balances stay within the limit (10^17) and
/// amounts within the largest amount (10^15), far from the 64-bit range.
async fn post<DB: Engine>(
    conn: &mut DB::Connection,
    posting: &Posting,
    issuance: &str,
    entry_id: &str,
    now: i64,
) -> sqlx::Result<Finalized> {
    if !ensure_account::<DB>(conn, &posting.account, issuance, now).await? {
        // Issuance cannot give the opening balance.
        return Ok(Finalized::PayerLimitReached);
    }
    if let Some(source) = posting.account.top_up_from.as_deref().filter(|_| posting.amount < 0) {
        let balance: i64 =
            Statement::<DB>::new(&format!("SELECT balance_minor FROM accounts WHERE id = $1{}", DB::LOCK))
                .bind(&posting.account.id)
                .fetch_one(&mut *conn, |row| row.get("balance_minor"))
                .await?;
        // Saturating: a balance outside the limit can only come from a database written
        // before the limit existed.
        let shortfall = balance.saturating_add(posting.amount).saturating_neg();
        let funding = format!("funding:{entry_id}");
        if shortfall > 0 {
            Statement::<DB>::new(
                "INSERT INTO accounts (id, currency, floor_minor, balance_minor, created_at) \
                 VALUES ($1, $2, NULL, 0, $3) ON CONFLICT DO NOTHING",
            )
            .bind(source)
            .bind(&posting.account.currency)
            .bind(now)
            .execute(&mut *conn)
            .await?;
            let funding = Entry { id: &funding, currency: &posting.account.currency, now };
            if !funding.issue::<DB>(conn, &posting.account.id, source, shortfall).await? {
                return Ok(Finalized::PayerLimitReached);
            }
        }
    }
    let applied = Statement::<DB>::new(
        "UPDATE accounts SET balance_minor = balance_minor + $2 \
         WHERE id = $1 AND (floor_minor IS NULL OR balance_minor + $2 >= floor_minor) \
         AND balance_minor + $2 BETWEEN $3 AND $4",
    )
    .bind(&posting.account.id)
    .bind(posting.amount)
    .bind(-BALANCE_LIMIT_MINOR)
    .bind(BALANCE_LIMIT_MINOR)
    .execute(&mut *conn)
    .await?
        == 1;
    if applied {
        let entry = Entry { id: entry_id, currency: &posting.account.currency, now };
        entry.posting::<DB>(conn, &posting.account.id, posting.amount).await?;
        return Ok(Finalized::Done);
    }
    let balance: i64 = Statement::<DB>::new("SELECT balance_minor FROM accounts WHERE id = $1")
        .bind(&posting.account.id)
        .fetch_one(&mut *conn, |row| row.get("balance_minor"))
        .await?;
    let after = balance.checked_add(posting.amount);
    Ok(match after {
        Some(after) if posting.account.floor.is_some_and(|floor| after < floor) => Finalized::InsufficientFunds,
        _ if posting.amount > 0 => Finalized::PayeeLimitReached,
        _ => Finalized::PayerLimitReached,
    })
}
