//! The SQL of [`Payments`], for both engines: transactions, their plans, listings and counts,
//! and the ledger's reads. Settlement and postings are in `ledger.rs`.

use async_trait::async_trait;
use momo_types::payments::{Party, TransactionStatus};
use momo_types::{ErrorCode, Product};
use sqlx::QueryBuilder;

use super::ledger::{self, OnSqlx};
use super::rows::{self, outcome_to_columns};
use super::SqlStore;
use crate::domain::transactions::{Kind, Outcome};
use crate::store::engine::{Bind, Engine, Statement};
use crate::store::{
    AccountRecord, AccountSpec, Finalization, Finalized, Payments, PostingRecord, StoreError, StoreResult,
    TransactionCount, TransactionRecord, TxCursor, TxFilter, TxKey,
};

pub(crate) const TX_COLUMNS: &str = "product, kind, reference_id, api_user, environment, currency, amount_minor, \
     party_type, party_id, external_id, request, api_version, status, reason, financial_transaction_id, callback_url, \
     outcome, outcome_reason, due_at, awaiting_approval, related_reference_id, notifications, created_at, updated_at, cancelled_at";

/// Change the plan of a pending transaction (`$4`, `$7`: its outcome's columns); with `$6 = 1`,
/// only one waiting for the payer.
const REPLAN: &str = "UPDATE transactions SET outcome = $4, outcome_reason = $7, due_at = $5, awaiting_approval = 0 \
     WHERE product = $1 AND kind = $2 AND reference_id = $3 AND status = 'PENDING' \
     AND (awaiting_approval = 1 OR $6 = 0)";

/// One party's transactions that wait for its approval (`waiting` = `1`) or not (`0`), newest
/// first: one ordered range of the `transactions_by_party` index (migration 9). `$1` the party id
/// in lower case, `$2` its type, `$3` the environment, `$4` the limit.
fn party_range(waiting: &str) -> String {
    format!(
        "SELECT {TX_COLUMNS} FROM transactions WHERE lower(party_id) = $1 AND party_type = $2 \
         AND environment = $3 AND awaiting_approval = {waiting} ORDER BY created_at DESC LIMIT $4"
    )
}

/// All of one party's transactions, newest first: both ranges of [`party_range`], each read in
/// index order and bounded, then merged (a single range over the party would sort every one
/// of its transactions).
fn party_history() -> String {
    format!(
        "SELECT {TX_COLUMNS} FROM ({}) AS waiting UNION ALL SELECT {TX_COLUMNS} FROM ({}) AS other \
         ORDER BY created_at DESC LIMIT $4",
        party_range("1"),
        party_range("0")
    )
}

/// A condition true of every transaction that names each product and kind, so that a lookup by
/// reference id alone can use the primary key (product, kind, reference_id). Kept in step with
/// [`momo_types::Product::ALL`] and [`Kind::ALL`] by a test.
const ANY_PRODUCT_AND_KIND: &str = "product IN ('collection', 'disbursement', 'remittance') \
     AND kind IN ('requesttopay', 'requesttowithdraw', 'transfer', 'deposit', 'refund', 'invoice', 'preapproval', \
     'payment', 'cashtransfer', 'invoicecancellation')";

/// The transaction list's order, newest first with a unique tie-breaker (the primary key).
const NEWEST_FIRST: &str = "created_at DESC, product DESC, kind DESC, reference_id DESC";

/// The parts of a transaction listing, merged by the query: one per product and kind when the
/// filter names either, or a reference id, so that each part is one ordered range of an index
/// (`transactions_by_kind`, or the primary key); otherwise one part over every row.
fn listing_arms(filter: &TxFilter) -> Vec<(Option<Product>, Option<Kind>)> {
    if filter.product.is_none() && filter.kind.is_none() && filter.reference_id.is_none() {
        return vec![(None, None)];
    }
    let products = filter.product.map_or(Product::ALL.to_vec(), |p| vec![p]);
    let kinds = filter.kind.map_or(Kind::ALL.to_vec(), |k| vec![k]);
    products.iter().flat_map(|&p| kinds.iter().map(move |&k| (Some(p), Some(k)))).collect()
}

/// `statement` with `key` bound to its next three placeholders (product, kind, reference id).
pub(crate) fn bind_key<'q, DB: Engine>(statement: Statement<'q, 'q, DB>, key: &'q TxKey) -> Statement<'q, 'q, DB> {
    statement.bind(key.product.as_str()).bind(key.kind.as_str()).bind(&key.reference_id)
}

/// [`REPLAN`] with its values.
fn replan<'q, DB: Engine>(
    key: &'q TxKey,
    outcome: &'q Outcome,
    due_at: i64,
    only_awaiting_approval: bool,
) -> Statement<'q, 'q, DB> {
    let (outcome, outcome_reason) = outcome_to_columns(outcome);
    bind_key(Statement::new(REPLAN), key)
        .bind(outcome)
        .bind(due_at)
        .bind(i64::from(only_awaiting_approval))
        .bind(outcome_reason)
}

#[async_trait]
impl<S: SqlStore> Payments for S {
    async fn balance(&self, account: &str) -> StoreResult<i64> {
        let balance = Statement::new("SELECT balance_minor FROM accounts WHERE id = $1")
            .bind(account)
            .fetch_optional(self.reader(), |row| row.get("balance_minor"))
            .await?;
        Ok(balance.unwrap_or(0))
    }

    async fn insert_transaction(&self, tx: &TransactionRecord) -> StoreResult<()> {
        self.committer().insert(tx, None).await.map(|_| ())
    }

    async fn insert_settled(&self, tx: &TransactionRecord, finalization: &Finalization) -> StoreResult<bool> {
        self.committer().insert(tx, Some(finalization)).await
    }

    async fn transaction(&self, key: &TxKey) -> StoreResult<Option<TransactionRecord>> {
        let sql =
            format!("SELECT {TX_COLUMNS} FROM transactions WHERE product = $1 AND kind = $2 AND reference_id = $3");
        Ok(bind_key(Statement::new(&sql), key).fetch_optional(self.reader(), rows::transaction).await?)
    }

    async fn due_transactions(&self, now: i64, limit: i64) -> StoreResult<Vec<TransactionRecord>> {
        Ok(Statement::new(&format!(
            "SELECT {TX_COLUMNS} FROM transactions WHERE status = 'PENDING' AND due_at IS NOT NULL AND due_at <= $1 \
             ORDER BY due_at LIMIT $2"
        ))
        .bind(now)
        .bind(limit)
        .fetch_all(self.reader(), rows::transaction)
        .await?)
    }

    async fn finalize_batch(&self, finalizations: &[Finalization]) -> StoreResult<Vec<Finalized>> {
        ledger::settle(self, finalizations).await
    }

    async fn replan(
        &self,
        key: &TxKey,
        outcome: &Outcome,
        due_at: i64,
        only_awaiting_approval: bool,
    ) -> StoreResult<bool> {
        Ok(replan::<S::Db>(key, outcome, due_at, only_awaiting_approval).execute(self.writer()).await? == 1)
    }

    async fn replan_with_insert(
        &self,
        key: &TxKey,
        outcome: &Outcome,
        due_at: i64,
        record: &TransactionRecord,
    ) -> StoreResult<bool> {
        let mut tx = self.writer().begin().await?;
        if !insert_transaction::<S::Db>(&mut tx, record).await? {
            tx.rollback().await?;
            return Err(StoreError::Conflict);
        }
        let replanned = replan::<S::Db>(key, outcome, due_at, false).execute(&mut *tx).await? == 1;
        if replanned {
            tx.commit().await?;
        } else {
            tx.rollback().await?;
        }
        Ok(replanned)
    }

    async fn transactions(&self, api_user: Option<&str>, limit: i64) -> StoreResult<Vec<TransactionRecord>> {
        Ok(Statement::new(&format!(
            "SELECT {TX_COLUMNS} FROM transactions WHERE ($1 = '' OR api_user = $1) \
             ORDER BY created_at DESC, reference_id LIMIT $2"
        ))
        .bind(api_user.unwrap_or(""))
        .bind(limit)
        .fetch_all(self.reader(), rows::transaction)
        .await?)
    }

    async fn transactions_page(
        &self,
        filter: &TxFilter,
        before: Option<&TxCursor>,
        limit: i64,
    ) -> StoreResult<Vec<TransactionRecord>> {
        let mut query = QueryBuilder::<S::Db>::new(format!("SELECT {TX_COLUMNS} FROM ("));
        for (i, (product, kind)) in listing_arms(filter).into_iter().enumerate() {
            if i > 0 {
                query.push(" UNION ALL ");
            }
            query.push(format!("SELECT * FROM (SELECT {TX_COLUMNS} FROM transactions WHERE 1 = 1"));
            // Product, kind, status and environment are written as literals, not bound:
            // they come from fixed lists (typed values, never a user's text), and with
            // the value in the statement PostgreSQL plans for it (a rare value through its
            // index) instead of reusing one generic plan for every value, which walked a
            // million rows for a product and kind that have none.
            if let Some(product) = product {
                query.push(format!(" AND product = '{}'", product.as_str()));
            }
            if let Some(kind) = kind {
                query.push(format!(" AND kind = '{}'", kind.as_str()));
            }
            if let Some(status) = &filter.status {
                query.push(format!(" AND status = '{}'", status.as_str()));
                if *status != TransactionStatus::Successful {
                    // Spelled as in the partial index, so that both engines see it applies.
                    query.push(" AND status <> 'SUCCESSFUL'");
                }
            }
            if let Some(environment) = filter.environment {
                query.push(format!(" AND environment = '{}'", environment.name));
                if !environment.is_sandbox() {
                    query.push(" AND environment <> 'sandbox'");
                }
            }
            if let Some(api_user) = &filter.api_user {
                query.push(" AND api_user = ").bind(api_user.clone());
            }
            if let Some(reference_id) = &filter.reference_id {
                query.push(" AND reference_id = ").bind(reference_id.clone());
            }
            if let Some(cursor) = before {
                // The first term bounds the index range; the row comparison breaks ties.
                query.push(" AND created_at <= ").bind(cursor.created_at);
                query.push(" AND (created_at, product, kind, reference_id) < (").bind(cursor.created_at);
                query.push(", ").bind(cursor.key.product.as_str());
                query.push(", ").bind(cursor.key.kind.as_str());
                query.push(", ").bind(cursor.key.reference_id.clone()).push(")");
            }
            query.push(format!(" ORDER BY {NEWEST_FIRST} LIMIT ")).bind(limit).push(format!(") AS arm{i}"));
        }
        query.push(format!(") AS page ORDER BY {NEWEST_FIRST} LIMIT ")).bind(limit);
        Ok(Statement::from(query.build()).fetch_all(self.reader(), rows::transaction).await?)
    }

    async fn transaction_postings(&self, key: &TxKey) -> StoreResult<Vec<PostingRecord>> {
        let entry = key.ledger_entry();
        Ok(Statement::new(
            "SELECT entry_id, account, currency, amount_minor, created_at FROM ledger_postings \
             WHERE entry_id = $1 OR entry_id = $2 ORDER BY id",
        )
        .bind(format!("funding:{entry}"))
        .bind(&entry)
        .fetch_all(self.reader(), rows::posting)
        .await?)
    }

    async fn transactions_by_reference(&self, reference_id: &str) -> StoreResult<Vec<TransactionRecord>> {
        // Every product and kind spelled out, so that the primary key (product, kind,
        // reference_id) is probed once per pair instead of the table being read whole.
        Ok(Statement::new(&format!(
            "SELECT {TX_COLUMNS} FROM transactions WHERE {ANY_PRODUCT_AND_KIND} AND reference_id = $1 ORDER BY product, kind"
        ))
        .bind(reference_id)
        .fetch_all(self.reader(), rows::transaction)
        .await?)
    }

    async fn party_transactions(
        &self,
        environment: &str,
        party: &Party,
        awaiting_approval: bool,
        limit: i64,
    ) -> StoreResult<Vec<TransactionRecord>> {
        let sql = if awaiting_approval { party_range("1") } else { party_history() };
        Ok(Statement::new(&sql)
            .bind(party.party_id.to_ascii_lowercase())
            .bind(party.party_id_type.as_str())
            .bind(environment)
            .bind(limit)
            .fetch_all(self.reader(), rows::transaction)
            .await?)
    }

    async fn cancel_transaction(&self, key: &TxKey, at: i64) -> StoreResult<bool> {
        let cancel = Statement::new(
            "UPDATE transactions SET cancelled_at = $4, updated_at = $4 \
             WHERE product = $1 AND kind = $2 AND reference_id = $3 AND status = 'SUCCESSFUL' \
             AND cancelled_at IS NULL",
        );
        Ok(bind_key(cancel, key).bind(at).execute(self.writer()).await? == 1)
    }

    async fn count_notification(&self, key: &TxKey) -> StoreResult<i64> {
        let count = Statement::new(
            "UPDATE transactions SET notifications = notifications + 1 \
             WHERE product = $1 AND kind = $2 AND reference_id = $3 RETURNING notifications",
        );
        Ok(bind_key(count, key).fetch_one(self.writer(), |row| row.get("notifications")).await?)
    }

    async fn set_balance(&self, account: &AccountSpec, issuance: &str, target: i64, now: i64) -> StoreResult<()> {
        let mut tx = self.writer().begin().await?;
        if !ledger::ensure_account(&mut OnSqlx::<S::Db>(&mut tx), account, issuance, now).await? {
            return Err(StoreError::BalanceLimit);
        }
        // Both accounts locked at once, in account-id order as every settlement locks them, so
        // that this cannot deadlock with a settlement moving money in the same two.
        let _: Vec<String> = Statement::<S::Db>::new(&format!(
            "SELECT id FROM accounts WHERE id IN ($1, $2) ORDER BY id{}",
            S::Db::LOCK
        ))
        .bind(&account.id)
        .bind(issuance)
        .fetch_all(&mut *tx, |row| row.get("id"))
        .await?;
        let current: i64 =
            Statement::<S::Db>::new(&format!("SELECT balance_minor FROM accounts WHERE id = $1{}", S::Db::LOCK))
                .bind(&account.id)
                .fetch_one(&mut *tx, |row| row.get("balance_minor"))
                .await?;
        let id = format!("adjust:{}:{now}", account.id);
        let entry = ledger::Entry { id: &id, currency: &account.currency, now };
        entry.move_money(&mut OnSqlx::<S::Db>(&mut tx), &account.id, issuance, target - current).await?;
        Ok(tx.commit().await?)
    }

    async fn accounts(&self) -> StoreResult<Vec<AccountRecord>> {
        Ok(Statement::new(
            "SELECT a.id, a.currency, a.floor_minor, a.balance_minor, \
             CAST(COALESCE((SELECT SUM(p.amount_minor) FROM ledger_postings p WHERE p.account = a.id), 0) AS BIGINT) \
             AS postings_sum FROM accounts a ORDER BY a.id",
        )
        .fetch_all(self.reader(), rows::account)
        .await?)
    }

    async fn transaction_counts(&self) -> StoreResult<Vec<TransactionCount>> {
        // Without an index of its own (one more entry to write per payment): the totals
        // per product from `transactions_by_kind` alone, the unsettled ones from their
        // partial index (grouped by status first, so that it is the one read), and the
        // successful ones as the difference. One statement, so one snapshot.
        let rows: Vec<(String, Option<String>, i64)> = Statement::new(
            "SELECT product, NULL, count(*) FROM transactions GROUP BY product \
             UNION ALL SELECT product, status, count(*) FROM transactions WHERE status <> 'SUCCESSFUL' \
             GROUP BY status, product",
        )
        .fetch_all(self.reader(), |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .await?;
        let (totals, unsettled): (Vec<_>, Vec<_>) = rows.into_iter().partition(|(_, status, _)| status.is_none());
        let totals = totals.into_iter().map(|(product, _, count)| (product, count));
        let unsettled: Vec<(String, String, i64)> = unsettled
            .into_iter()
            .map(|(product, status, count)| (product, status.unwrap_or_default(), count))
            .collect();
        let decode = |what: &str| sqlx::Error::Decode(format!("malformed {what}").into());
        let mut counts = Vec::new();
        for (product, total) in totals {
            let product: Product = product.parse().map_err(|_| decode("product"))?;
            let mut settled = total;
            for (_, status, count) in unsettled.iter().filter(|(p, ..)| *p == product.as_str()) {
                let status = TransactionStatus::parse(status).ok_or_else(|| decode("status"))?;
                counts.push(TransactionCount { product, status, count: *count });
                settled -= count;
            }
            if settled > 0 {
                counts.push(TransactionCount { product, status: TransactionStatus::Successful, count: settled });
            }
        }
        counts.sort_by(|a, b| (a.product.as_str(), a.status.as_str()).cmp(&(b.product.as_str(), b.status.as_str())));
        Ok(counts)
    }
}

/// A new transaction, unless its reference id is taken: `$1`–`$25` the columns of
/// [`TX_COLUMNS`], in order (numbered as they appear, so the SQLite committer binds the same text
/// by position).
pub(crate) fn insert_transaction_statement() -> String {
    let values = (1..=25).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ");
    format!("INSERT INTO transactions ({TX_COLUMNS}) VALUES ({values}) ON CONFLICT DO NOTHING")
}

/// Insert `tx` in the caller's database transaction; whether it was new (`false`: its reference
/// id is taken). Off the hot path: the group commits insert new transactions their own way; this
/// serves an invoice's cancellation, written with the invoice's new plan.
async fn insert_transaction<DB: Engine>(connection: &mut DB::Connection, tx: &TransactionRecord) -> sqlx::Result<bool> {
    let (outcome, outcome_reason) = tx.outcome.as_ref().map_or((None, None), |o| {
        let (outcome, reason) = outcome_to_columns(o);
        (Some(outcome), reason)
    });
    let sql = insert_transaction_statement();
    let inserted = Statement::<DB>::new(&sql)
        .bind(tx.key.product.as_str())
        .bind(tx.key.kind.as_str())
        .bind(&tx.key.reference_id)
        .bind(&tx.api_user)
        .bind(&tx.environment)
        .bind(tx.currency.as_str())
        .bind(tx.amount_minor)
        .bind(tx.party.as_ref().map(|p| p.party_id_type.as_str()))
        .bind(tx.party.as_ref().map(|p| p.party_id.as_str()))
        .bind(&tx.external_id)
        .bind(&tx.request)
        .bind(tx.api_version.number())
        .bind(tx.status.as_str())
        .bind(tx.reason.as_ref().map(ErrorCode::as_str))
        .bind(&tx.financial_transaction_id)
        .bind(&tx.callback_url)
        .bind(outcome)
        .bind(outcome_reason)
        .bind(tx.due_at)
        .bind(i64::from(tx.awaiting_approval))
        .bind(&tx.related_reference_id)
        .bind(tx.notifications)
        .bind(tx.created_at)
        .bind(tx.updated_at)
        .bind(tx.cancelled_at)
        .execute(&mut *connection)
        .await?;
    Ok(inserted == 1)
}

/// A transaction key as its three columns, as a `RETURNING product, kind, reference_id` gives them back.
pub(crate) fn key_columns(key: &TxKey) -> (String, String, String) {
    (key.product.as_str().to_owned(), key.kind.as_str().to_owned(), key.reference_id.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_product_and_kind_names_every_product_and_kind() {
        for product in Product::ALL {
            assert!(ANY_PRODUCT_AND_KIND.contains(&format!("'{}'", product.as_str())), "{product}");
        }
        for kind in Kind::ALL {
            assert!(ANY_PRODUCT_AND_KIND.contains(&format!("'{}'", kind.as_str())), "{kind:?}");
        }
    }
}
