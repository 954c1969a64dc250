//! Settlement and the ledger, for both engines: a transaction made final with its postings and
//! its callback, one at a time ([`finalize_one`], on any [`LedgerConnection`]) or, for those that
//! cannot be refused, in bulk by each engine's group commit, which writes them its own way.

use std::collections::{BTreeMap, HashSet};
use std::time::Instant;

use futures_util::future::BoxFuture;
use momo_types::ErrorCode;

use super::outbox::insert_delivery_statement;
use super::SqlStore;
use crate::domain::money::BALANCE_LIMIT_MINOR;
use crate::store::engine::{Engine, Statement};
use crate::store::{AccountSpec, Finalization, Finalized, Posting, StoreResult};

/// The settlement of one transaction still pending: `$1` status, `$2` reason, `$3` financial
/// transaction id, `$4` when, `$5`–`$7` its key. Numbered in the order they first appear, as the
/// statements the SQLite committer also runs with its own rows do (it binds those by position;
/// the ledger's, through [`LedgerConnection`], by name).
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

/// [`Payments::finalize_batch`](crate::store::Payments::finalize_batch). Each transaction once,
/// settlements go to the group commit: on an engine with one writer every one (the committer is
/// that writer: it makes those that cannot be refused in bulk and the others, refunds and
/// payouts funded from the ledger, one by one inside its batch, each in a savepoint); on
/// PostgreSQL those that cannot be refused, in bulk. The others, and those the group commit
/// leaves to their callers, are made on the store's writer: on an engine with one writer all in
/// one commit, each in a savepoint; otherwise each in a commit of its own. (A request to pay due
/// at once is inserted final, with its ledger entry and callback, in the group commit: the
/// commit changes each account once for the whole batch, so concurrent requests to pay share
/// one turn on the API user's account row instead of queuing for it one commit each.)
pub(crate) async fn settle<S: SqlStore>(store: &S, finalizations: &[Finalization]) -> StoreResult<Vec<Finalized>> {
    let mut results: Vec<Option<Finalized>> = vec![None; finalizations.len()];
    let mut keys = HashSet::new();
    let grouped: Vec<usize> = (0..finalizations.len())
        .filter(|&i| (S::Db::ONE_WRITER || finalizations[i].unconditional()) && keys.insert(&finalizations[i].key))
        .collect();
    let queued: Vec<Finalization> = grouped.iter().map(|&i| finalizations[i].clone()).collect();
    for (&i, result) in grouped.iter().zip(store.committer().finalize(&queued).await?) {
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
    // One alone is rolled back with the commit if it is refused (nothing else is in it).
    let refusal =
        if finalizations.len() > 1 { Refusal::RollsBackItsSavepoint } else { Refusal::RollsBackTheTransaction };
    let results = finalize_each(&mut OnSqlx::<DB>(&mut tx), finalizations, refusal).await?;
    let made = results.iter().filter(|r| **r == Finalized::Done).count();
    if made > 0 {
        tx.commit().await?;
    } else {
        tx.rollback().await?;
    }
    Ok((results, made, started))
}

/// A value the ledger binds: text or a 64-bit integer, either perhaps NULL.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Param<'a> {
    Text(Option<&'a str>),
    Integer(Option<i64>),
}

impl<'a> From<&'a str> for Param<'a> {
    fn from(text: &'a str) -> Self {
        Param::Text(Some(text))
    }
}

impl<'a> From<&'a String> for Param<'a> {
    fn from(text: &'a String) -> Self {
        Param::Text(Some(text))
    }
}

impl<'a> From<Option<&'a str>> for Param<'a> {
    fn from(text: Option<&'a str>) -> Self {
        Param::Text(text)
    }
}

impl From<i64> for Param<'_> {
    fn from(number: i64) -> Self {
        Param::Integer(Some(number))
    }
}

impl From<Option<i64>> for Param<'_> {
    fn from(number: Option<i64>) -> Self {
        Param::Integer(number)
    }
}

/// A connection inside a database transaction, as the ledger's one-by-one settlement writes on
/// it: sqlx's, on either engine ([`OnSqlx`]), or the SQLite committer's own (rusqlite), which
/// makes the settlements that may be refused inside its batch. So the ledger's rules are written
/// once for both. Statements number their parameters `$1`, `$2`, …; the ledger reads only
/// integers (balances, amounts, counts).
pub(crate) trait LedgerConnection {
    type Error;
    /// ` FOR UPDATE` where rows must be locked for reading ([`Engine::LOCK`]).
    const LOCK: &'static str;
    /// Run `sql`; how many rows it changed.
    fn execute<'a>(&'a mut self, sql: &'a str, params: &'a [Param<'a>]) -> BoxFuture<'a, Result<u64, Self::Error>>;
    /// The error for a row that must exist and does not.
    fn no_row() -> Self::Error;
    /// The first row `sql` returns, if any: its first `N` columns, each an integer.
    fn fetch_integers<'a, const N: usize>(
        &'a mut self,
        sql: &'a str,
        params: &'a [Param<'a>],
    ) -> BoxFuture<'a, Result<Option<[i64; N]>, Self::Error>>;
}

/// A sqlx connection of either engine, inside a transaction.
pub(crate) struct OnSqlx<'c, DB: Engine>(pub(crate) &'c mut DB::Connection);

impl<DB: Engine> LedgerConnection for OnSqlx<'_, DB> {
    type Error = sqlx::Error;
    const LOCK: &'static str = DB::LOCK;

    fn no_row() -> sqlx::Error {
        sqlx::Error::RowNotFound
    }

    fn execute<'a>(&'a mut self, sql: &'a str, params: &'a [Param<'a>]) -> BoxFuture<'a, sqlx::Result<u64>> {
        Box::pin(bound::<DB>(sql, params).execute(&mut *self.0))
    }

    fn fetch_integers<'a, const N: usize>(
        &'a mut self,
        sql: &'a str,
        params: &'a [Param<'a>],
    ) -> BoxFuture<'a, sqlx::Result<Option<[i64; N]>>> {
        Box::pin(bound::<DB>(sql, params).fetch_optional(&mut *self.0, |row| {
            let mut columns = [0; N];
            for (i, column) in columns.iter_mut().enumerate() {
                *column = row.get(i)?;
            }
            Ok(columns)
        }))
    }
}

/// The first row `sql` returns: its first `N` columns, each an integer; an error if it returns none.
async fn fetch_one<C: LedgerConnection, const N: usize>(
    connection: &mut C,
    sql: &str,
    params: &[Param<'_>],
) -> Result<[i64; N], C::Error> {
    connection.fetch_integers(sql, params).await?.ok_or_else(C::no_row)
}

/// `sql` with `params` bound, in order.
fn bound<'q, DB: Engine>(sql: &'q str, params: &'q [Param<'q>]) -> Statement<'q, 'q, DB> {
    params.iter().fold(Statement::new(sql), |statement, param| match *param {
        Param::Text(text) => statement.bind(text),
        Param::Integer(number) => statement.bind(number),
    })
}

/// How [`finalize_each`] keeps a refused settlement from writing anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Each settlement in a savepoint, rolled back to if it is refused.
    RollsBackItsSavepoint,
    /// The caller's transaction holds this settlement alone and is rolled back whole if it is
    /// refused: no savepoint needed.
    RollsBackTheTransaction,
}

/// Settle each of `finalizations` in the caller's database transaction; a result each, in
/// order. Nothing a refused one did stays written (`refusal` says how).
pub(crate) async fn finalize_each<C: LedgerConnection>(
    connection: &mut C,
    finalizations: &[&Finalization],
    refusal: Refusal,
) -> Result<Vec<Finalized>, C::Error> {
    let savepoints = refusal == Refusal::RollsBackItsSavepoint;
    let mut results = Vec::with_capacity(finalizations.len());
    for &f in finalizations {
        if savepoints {
            connection.execute("SAVEPOINT finalization", &[]).await?;
        }
        let result = finalize_one(connection, f).await?;
        if savepoints {
            if result != Finalized::Done {
                connection.execute("ROLLBACK TO SAVEPOINT finalization", &[]).await?;
            }
            connection.execute("RELEASE SAVEPOINT finalization", &[]).await?;
        }
        results.push(result);
    }
    Ok(results)
}

/// Finalize one transaction inside the caller's database transaction (nothing is written
/// unless it returns `Done`: the caller rolls back otherwise).
async fn finalize_one<C: LedgerConnection>(tx: &mut C, f: &Finalization) -> Result<Finalized, C::Error> {
    if let Some(guard) = &f.refund_guard {
        let original = &guard.original;
        let sql = format!(
            "SELECT amount_minor, CAST(CASE WHEN status = 'SUCCESSFUL' THEN 1 ELSE 0 END AS BIGINT) AS successful \
             FROM transactions WHERE product = $1 AND kind = $2 AND reference_id = $3{}",
            C::LOCK
        );
        let key = [original.product.as_str().into(), original.kind.as_str().into(), (&original.reference_id).into()];
        let Some([amount, successful]) = tx.fetch_integers(&sql, &key).await? else {
            return Ok(Finalized::RefundExceeded);
        };
        if successful != 1 {
            return Ok(Finalized::RefundExceeded);
        }
        let [refunded] = fetch_one(
            tx,
            "SELECT CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT) AS refunded FROM transactions \
             WHERE kind = 'refund' AND related_reference_id = $1 AND status = 'SUCCESSFUL'",
            &[(&original.reference_id).into()],
        )
        .await?;
        if refunded + guard.amount > amount {
            return Ok(Finalized::RefundExceeded);
        }
    }
    let settle = [
        f.status.as_str().into(),
        f.reason.as_ref().map(ErrorCode::as_str).into(),
        f.financial_transaction_id.as_deref().into(),
        f.now.into(),
        f.key.product.as_str().into(),
        f.key.kind.as_str().into(),
        (&f.key.reference_id).into(),
    ];
    if tx.execute(SETTLE_PENDING, &settle).await? == 0 {
        return Ok(Finalized::NotPending);
    }
    let entry = f.entry_id();
    // Always in account-id order, so concurrent settlements lock accounts in one global
    // order and cannot deadlock each other.
    let mut postings: Vec<&Posting> = f.postings.iter().collect();
    postings.sort_by(|a, b| a.account.id.cmp(&b.account.id));
    for posting in postings {
        let refused = post(tx, posting, &f.issuance, &entry, f.now).await?;
        if refused != Finalized::Done {
            return Ok(refused);
        }
    }
    if let Some(d) = &f.delivery {
        let sql = insert_delivery_statement();
        let delivery = [
            (&d.id).into(),
            (&d.api_user).into(),
            f.key.product.as_str().into(),
            f.key.kind.as_str().into(),
            (&f.key.reference_id).into(),
            (&d.url).into(),
            (&d.method).into(),
            (&d.body).into(),
            f.now.into(),
            f.now.into(),
        ];
        tx.execute(&sql, &delivery).await?;
    }
    Ok(Finalized::Done)
}

/// Create an account on first use, crediting its opening balance from issuance; `false`
/// if issuance is at its limit and cannot (nothing is written then).
pub(crate) async fn ensure_account<C: LedgerConnection>(
    conn: &mut C,
    account: &AccountSpec,
    issuance: &str,
    now: i64,
) -> Result<bool, C::Error> {
    let create = "INSERT INTO accounts (id, currency, floor_minor, balance_minor, created_at) \
                  VALUES ($1, $2, $3, 0, $4) ON CONFLICT DO NOTHING";
    let created = conn
        .execute(create, &[(&account.id).into(), (&account.currency).into(), account.floor.into(), now.into()])
        .await?
        == 1;
    conn.execute(create, &[issuance.into(), (&account.currency).into(), None::<i64>.into(), now.into()]).await?;
    if created && account.opening != 0 {
        let id = format!("opening:{}", account.id);
        let entry = Entry { id: &id, currency: &account.currency, now };
        return entry.issue(conn, &account.id, issuance, account.opening).await;
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
    async fn issue<C: LedgerConnection>(
        &self,
        conn: &mut C,
        to: &str,
        from: &str,
        amount: i64,
    ) -> Result<bool, C::Error> {
        let debited = conn
            .execute(
                "UPDATE accounts SET balance_minor = balance_minor - $2 WHERE id = $1 AND balance_minor - $2 >= $3",
                &[from.into(), amount.into(), (-BALANCE_LIMIT_MINOR).into()],
            )
            .await?
            == 1;
        if !debited {
            return Ok(false);
        }
        self.posting(conn, from, -amount).await?;
        self.credit(conn, to, amount).await?;
        Ok(true)
    }

    /// Credit `amount` to `to` and debit it from `from` (no floor check), with both postings.
    pub(crate) async fn move_money<C: LedgerConnection>(
        &self,
        conn: &mut C,
        to: &str,
        from: &str,
        amount: i64,
    ) -> Result<(), C::Error> {
        self.credit(conn, to, amount).await?;
        self.credit(conn, from, -amount).await
    }

    /// Add `amount` to an account's balance (no floor check), with its posting.
    async fn credit<C: LedgerConnection>(&self, conn: &mut C, account: &str, amount: i64) -> Result<(), C::Error> {
        conn.execute(
            "UPDATE accounts SET balance_minor = balance_minor + $2 WHERE id = $1",
            &[account.into(), amount.into()],
        )
        .await?;
        self.posting(conn, account, amount).await
    }

    /// The posting of `amount` to `account` (its balance is changed by the caller).
    async fn posting<C: LedgerConnection>(&self, conn: &mut C, account: &str, amount: i64) -> Result<(), C::Error> {
        conn.execute(
            INSERT_POSTING,
            &[self.id.into(), account.into(), self.currency.into(), amount.into(), self.now.into()],
        )
        .await?;
        Ok(())
    }
}

/// Apply one posting if it keeps its account at or above its floor and within the
/// ledger's limit: `Done`, or why not (nothing is written then).
///
/// The sum in the condition cannot overflow: balances stay within the limit (10^17) and
/// amounts within the largest amount (10^15), far from the 64-bit range.
async fn post<C: LedgerConnection>(
    conn: &mut C,
    posting: &Posting,
    issuance: &str,
    entry_id: &str,
    now: i64,
) -> Result<Finalized, C::Error> {
    let account = &posting.account;
    if !ensure_account(conn, account, issuance, now).await? {
        // Issuance cannot give the opening balance.
        return Ok(Finalized::PayerLimitReached);
    }
    let balance_of = format!("SELECT balance_minor FROM accounts WHERE id = $1{}", C::LOCK);
    if let Some(source) = account.top_up_from.as_deref().filter(|_| posting.amount < 0) {
        let [balance] = fetch_one(conn, &balance_of, &[(&account.id).into()]).await?;
        // Saturating: a balance outside the limit can only come from a database written
        // before the limit existed.
        let shortfall = balance.saturating_add(posting.amount).saturating_neg();
        let funding = format!("funding:{entry_id}");
        if shortfall > 0 {
            conn.execute(
                "INSERT INTO accounts (id, currency, floor_minor, balance_minor, created_at) \
                 VALUES ($1, $2, NULL, 0, $3) ON CONFLICT DO NOTHING",
                &[source.into(), (&account.currency).into(), now.into()],
            )
            .await?;
            let funding = Entry { id: &funding, currency: &account.currency, now };
            if !funding.issue(conn, &account.id, source, shortfall).await? {
                return Ok(Finalized::PayerLimitReached);
            }
        }
    }
    let applied = conn
        .execute(
            "UPDATE accounts SET balance_minor = balance_minor + $2 \
             WHERE id = $1 AND (floor_minor IS NULL OR balance_minor + $2 >= floor_minor) \
             AND balance_minor + $2 BETWEEN $3 AND $4",
            &[(&account.id).into(), posting.amount.into(), (-BALANCE_LIMIT_MINOR).into(), BALANCE_LIMIT_MINOR.into()],
        )
        .await?
        == 1;
    if applied {
        let entry = Entry { id: entry_id, currency: &account.currency, now };
        entry.posting(conn, &account.id, posting.amount).await?;
        return Ok(Finalized::Done);
    }
    let [balance] =
        fetch_one(conn, "SELECT balance_minor FROM accounts WHERE id = $1", &[(&account.id).into()]).await?;
    let after = balance.checked_add(posting.amount);
    Ok(match after {
        Some(after) if account.floor.is_some_and(|floor| after < floor) => Finalized::InsufficientFunds,
        _ if posting.amount > 0 => Finalized::PayeeLimitReached,
        _ => Finalized::PayerLimitReached,
    })
}
