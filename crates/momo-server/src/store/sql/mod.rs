//! The SQL of the [`Store`](super::Store) contract, written once for both engines, one file per
//! area, generic over the [`Engine`] (the primitives in which the engines differ).
//!
//! Both engines accept the same statements: `$N` placeholders (sqlx's SQLite driver binds `$N` by
//! number), `ON CONFLICT DO NOTHING` and `RETURNING`. Each area's trait is implemented here once
//! for every [`SqlStore`]: an engine's store says where it reads and writes, and how it commits
//! the payment path's writes, the one part the engines do differently (SQLite's group commit,
//! PostgreSQL's commit per request and bulk settlement).
//!
//! Multi-row statements (sqlx's `QueryBuilder`) are not kept prepared (`persistent(false)`):
//! their text differs with the row count, and keeping every shape prepared held 238 MiB at 256
//! connections for little reuse.

use std::fmt;

use async_trait::async_trait;
use sqlx::Pool;

use super::engine::{Engine, Statement};
use super::group_commit::Attempt;
use super::{Backend, DeliveryRecord, Finalization, Finalized, StoreResult, TransactionRecord};

mod consents;
pub(crate) mod credentials;
mod operator;
pub(crate) mod outbox;
pub(crate) mod rows;

/// An engine's store, as the shared SQL sees it.
#[async_trait]
pub(crate) trait SqlStore: Send + Sync + fmt::Debug {
    type Db: Engine;

    /// Where reads go (on SQLite, read-only connections beside the one writer).
    fn reader(&self) -> &Pool<Self::Db>;
    /// Where writes outside the payment path go.
    fn writer(&self) -> &Pool<Self::Db>;

    /// Insert a new transaction ([`StoreError::Conflict`](super::StoreError::Conflict) if its
    /// reference id is taken) and, with `settle`, the finalization due at once: `true` if it
    /// was made in the same commit.
    async fn commit_insert(&self, tx: &TransactionRecord, settle: Option<&Finalization>) -> StoreResult<bool>;
    /// [`Payments::finalize_batch`](super::Payments::finalize_batch).
    async fn commit_finalizations(&self, finalizations: &[Finalization]) -> StoreResult<Vec<Finalized>>;
    /// [`CallbackOutbox::claim_deliveries`](super::CallbackOutbox::claim_deliveries).
    async fn commit_claim(&self, now: i64, lease_until: i64, limit: i64) -> StoreResult<Vec<DeliveryRecord>>;
    /// [`CallbackOutbox::record_attempts`](super::CallbackOutbox::record_attempts), for at least one.
    async fn commit_attempts(&self, attempts: &[Attempt]) -> StoreResult<()>;
}

#[async_trait]
impl<S: SqlStore> Backend for S {
    fn backend(&self) -> &'static str {
        S::Db::BACKEND
    }

    async fn ping(&self) -> StoreResult<()> {
        Statement::<S::Db>::new("SELECT 1").execute(self.reader()).await?;
        Ok(())
    }
}

pub(crate) const TX_COLUMNS: &str = "product, kind, reference_id, api_user, environment, currency, amount_minor, \
     party_type, party_id, external_id, request, api_version, status, reason, financial_transaction_id, callback_url, \
     outcome, outcome_reason, due_at, awaiting_approval, related_reference_id, notifications, created_at, updated_at, cancelled_at";

/// Change the plan of a pending transaction (`$4`, `$7`: its outcome's columns); with `$6 = 1`,
/// only one waiting for the payer.
pub(crate) const REPLAN: &str =
    "UPDATE transactions SET outcome = $4, outcome_reason = $7, due_at = $5, awaiting_approval = 0 \
     WHERE product = $1 AND kind = $2 AND reference_id = $3 AND status = 'PENDING' \
     AND (awaiting_approval = 1 OR $6 = 0)";

/// One party's transactions that wait for its approval (`waiting` = `1`) or not (`0`), newest
/// first: one ordered range of the `transactions_by_party` index (migration 9). `$1` the party id
/// in lower case, `$2` its type, `$3` the environment, `$4` the limit.
pub(crate) fn party_range(waiting: &str) -> String {
    format!(
        "SELECT {TX_COLUMNS} FROM transactions WHERE lower(party_id) = $1 AND party_type = $2 \
         AND environment = $3 AND awaiting_approval = {waiting} ORDER BY created_at DESC LIMIT $4"
    )
}

/// All of one party's transactions, newest first: both ranges of [`party_range`], each read in
/// index order and bounded, then merged (a single range over the party would sort every one
/// of its transactions).
pub(crate) fn party_history() -> String {
    format!(
        "SELECT {TX_COLUMNS} FROM ({}) AS waiting UNION ALL SELECT {TX_COLUMNS} FROM ({}) AS other \
         ORDER BY created_at DESC LIMIT $4",
        party_range("1"),
        party_range("0")
    )
}

/// A condition true of every transaction that names each product and kind, so that a lookup by
/// reference id alone can use the primary key (product, kind, reference_id). Kept in step with
/// [`momo_types::Product::ALL`] and [`Kind::ALL`](crate::domain::transactions::Kind::ALL) by a test.
pub(crate) const ANY_PRODUCT_AND_KIND: &str = "product IN ('collection', 'disbursement', 'remittance') \
     AND kind IN ('requesttopay', 'requesttowithdraw', 'transfer', 'deposit', 'refund', 'invoice', 'preapproval', \
     'payment', 'cashtransfer', 'invoicecancellation')";

/// The transaction list's order, newest first with a unique tie-breaker (the primary key).
pub(crate) const NEWEST_FIRST: &str = "created_at DESC, product DESC, kind DESC, reference_id DESC";

/// The parts of a transaction listing, merged by the query: one per product and kind when the
/// filter names either, or a reference id, so that each part is one ordered range of an index
/// (`transactions_by_kind`, or the primary key); otherwise one part over every row.
pub(crate) fn listing_arms(
    filter: &super::TxFilter,
) -> Vec<(Option<momo_types::Product>, Option<crate::domain::transactions::Kind>)> {
    use crate::domain::transactions::Kind;
    if filter.product.is_none() && filter.kind.is_none() && filter.reference_id.is_none() {
        return vec![(None, None)];
    }
    let products = filter.product.map_or(momo_types::Product::ALL.to_vec(), |p| vec![p]);
    let kinds = filter.kind.map_or(Kind::ALL.to_vec(), |k| vec![k]);
    products.iter().flat_map(|&p| kinds.iter().map(move |&k| (Some(p), Some(k)))).collect()
}

macro_rules! impl_store {
    ($store:ty, $db:ty, $row:ty, $backend:literal, $lock:literal, $skip_locked:literal) => {
        #[async_trait::async_trait]
        impl $crate::store::Payments for $store {
            async fn balance(&self, account: &str) -> $crate::store::StoreResult<i64> {
                use sqlx::Row as _;
                let row = sqlx::query("SELECT balance_minor FROM accounts WHERE id = $1")
                    .bind(account)
                    .fetch_optional(self.reader())
                    .await
                    .map_err($crate::store::StoreError::from_sqlx)?;
                Ok(row.map(|r| r.try_get("balance_minor")).transpose()?.unwrap_or(0))
            }

            async fn insert_transaction(&self, tx: &$crate::store::TransactionRecord) -> $crate::store::StoreResult<()> {
                $crate::store::sql::SqlStore::commit_insert(self, tx, None).await.map(|_| ())
            }

            async fn insert_settled(
                &self,
                tx: &$crate::store::TransactionRecord,
                finalization: &$crate::store::Finalization,
            ) -> $crate::store::StoreResult<bool> {
                $crate::store::sql::SqlStore::commit_insert(self, tx, Some(finalization)).await
            }

            async fn transaction(
                &self,
                key: &$crate::store::TxKey,
            ) -> $crate::store::StoreResult<Option<$crate::store::TransactionRecord>> {
                let row = sqlx::query(&format!(
                    "SELECT {} FROM transactions WHERE product = $1 AND kind = $2 AND reference_id = $3",
                    $crate::store::sql::TX_COLUMNS
                ))
                .bind(key.product.as_str())
                .bind(key.kind.as_str())
                .bind(&key.reference_id)
                .fetch_optional(self.reader())
                .await
                .map_err($crate::store::StoreError::from_sqlx)?;
                Ok(row.as_ref().map(tx_from_row).transpose()?)
            }

            async fn due_transactions(
                &self,
                now: i64,
                limit: i64,
            ) -> $crate::store::StoreResult<Vec<$crate::store::TransactionRecord>> {
                let rows = sqlx::query(&format!(
                    "SELECT {} FROM transactions WHERE status = 'PENDING' AND due_at IS NOT NULL AND due_at <= $1 \
                     ORDER BY due_at LIMIT $2",
                    $crate::store::sql::TX_COLUMNS
                ))
                .bind(now)
                .bind(limit)
                .fetch_all(self.reader())
                .await
                .map_err($crate::store::StoreError::from_sqlx)?;
                Ok(rows.iter().map(tx_from_row).collect::<Result<_, _>>()?)
            }

            async fn finalize_batch(
                &self,
                finalizations: &[$crate::store::Finalization],
            ) -> $crate::store::StoreResult<Vec<$crate::store::Finalized>> {
                $crate::store::sql::SqlStore::commit_finalizations(self, finalizations).await
            }

            async fn replan(
                &self,
                key: &$crate::store::TxKey,
                outcome: &$crate::domain::transactions::Outcome,
                due_at: i64,
                only_awaiting_approval: bool,
            ) -> $crate::store::StoreResult<bool> {
                let (outcome, outcome_reason) = $crate::store::sql::rows::outcome_to_columns(outcome);
                let result = sqlx::query($crate::store::sql::REPLAN)
                .bind(key.product.as_str())
                .bind(key.kind.as_str())
                .bind(&key.reference_id)
                .bind(outcome)
                .bind(due_at)
                .bind(i64::from(only_awaiting_approval))
                .bind(outcome_reason)
                .execute(self.writer())
                .await
                .map_err($crate::store::StoreError::from_sqlx)?;
                Ok(result.rows_affected() == 1)
            }

            async fn replan_with_insert(
                &self,
                key: &$crate::store::TxKey,
                outcome: &$crate::domain::transactions::Outcome,
                due_at: i64,
                record: &$crate::store::TransactionRecord,
            ) -> $crate::store::StoreResult<bool> {
                use $crate::store::StoreError;
                let (outcome, outcome_reason) = $crate::store::sql::rows::outcome_to_columns(outcome);
                let mut tx = self.writer().begin().await.map_err(StoreError::from_sqlx)?;
                let inserted = insert_transactions(&mut *tx, std::slice::from_ref(record), "")
                    .await
                    .map_err(StoreError::from_sqlx)?;
                if inserted.first() != Some(&true) {
                    tx.rollback().await.map_err(StoreError::from_sqlx)?;
                    return Err(StoreError::Conflict);
                }
                let replanned = sqlx::query($crate::store::sql::REPLAN)
                .bind(key.product.as_str())
                .bind(key.kind.as_str())
                .bind(&key.reference_id)
                .bind(outcome)
                .bind(due_at)
                .bind(0_i64)
                .bind(outcome_reason)
                .execute(&mut *tx)
                .await
                .map_err(StoreError::from_sqlx)?
                .rows_affected()
                    == 1;
                if replanned {
                    tx.commit().await.map_err(StoreError::from_sqlx)?;
                } else {
                    tx.rollback().await.map_err(StoreError::from_sqlx)?;
                }
                Ok(replanned)
            }

            async fn transactions(
                &self,
                api_user: Option<&str>,
                limit: i64,
            ) -> $crate::store::StoreResult<Vec<$crate::store::TransactionRecord>> {
                let rows = sqlx::query(&format!(
                    "SELECT {} FROM transactions WHERE ($1 = '' OR api_user = $1) \
                     ORDER BY created_at DESC, reference_id LIMIT $2",
                    $crate::store::sql::TX_COLUMNS
                ))
                .bind(api_user.unwrap_or(""))
                .bind(limit)
                .fetch_all(self.reader())
                .await
                .map_err($crate::store::StoreError::from_sqlx)?;
                Ok(rows.iter().map(tx_from_row).collect::<Result<_, _>>()?)
            }

            async fn transactions_page(
                &self,
                filter: &$crate::store::TxFilter,
                before: Option<&$crate::store::TxCursor>,
                limit: i64,
            ) -> $crate::store::StoreResult<Vec<$crate::store::TransactionRecord>> {
                use $crate::store::sql::{TX_COLUMNS, NEWEST_FIRST};
                let mut query = sqlx::QueryBuilder::<$db>::new(format!("SELECT {TX_COLUMNS} FROM ("));
                for (i, (product, kind)) in $crate::store::sql::listing_arms(filter).into_iter().enumerate() {
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
                        if *status != momo_types::payments::TransactionStatus::Successful {
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
                        query.push(" AND api_user = ").push_bind(api_user.clone());
                    }
                    if let Some(reference_id) = &filter.reference_id {
                        query.push(" AND reference_id = ").push_bind(reference_id.clone());
                    }
                    if let Some(cursor) = before {
                        // The first term bounds the index range; the row comparison breaks ties.
                        query.push(" AND created_at <= ").push_bind(cursor.created_at);
                        query.push(" AND (created_at, product, kind, reference_id) < (").push_bind(cursor.created_at);
                        query.push(", ").push_bind(cursor.key.product.as_str());
                        query.push(", ").push_bind(cursor.key.kind.as_str());
                        query.push(", ").push_bind(cursor.key.reference_id.clone()).push(")");
                    }
                    query.push(format!(" ORDER BY {NEWEST_FIRST} LIMIT ")).push_bind(limit).push(format!(") AS arm{i}"));
                }
                query.push(format!(") AS page ORDER BY {NEWEST_FIRST} LIMIT ")).push_bind(limit);
                let rows = query.build().fetch_all(self.reader()).await.map_err($crate::store::StoreError::from_sqlx)?;
                Ok(rows.iter().map(tx_from_row).collect::<Result<_, _>>()?)
            }

            async fn transaction_postings(
                &self,
                key: &$crate::store::TxKey,
            ) -> $crate::store::StoreResult<Vec<$crate::store::PostingRecord>> {
                use sqlx::Row as _;
                let entry = key.ledger_entry();
                let rows = sqlx::query(
                    "SELECT entry_id, account, currency, amount_minor, created_at FROM ledger_postings \
                     WHERE entry_id = $1 OR entry_id = $2 ORDER BY id",
                )
                .bind(format!("funding:{entry}"))
                .bind(&entry)
                .fetch_all(self.reader())
                .await
                .map_err($crate::store::StoreError::from_sqlx)?;
                rows.iter()
                    .map(|row| {
                        Ok($crate::store::PostingRecord {
                            entry_id: row.try_get("entry_id")?,
                            account: row.try_get("account")?,
                            currency: row.try_get("currency")?,
                            amount_minor: row.try_get("amount_minor")?,
                            created_at: row.try_get("created_at")?,
                        })
                    })
                    .collect::<Result<_, sqlx::Error>>()
                    .map_err($crate::store::StoreError::from_sqlx)
            }

            async fn transactions_by_reference(
                &self,
                reference_id: &str,
            ) -> $crate::store::StoreResult<Vec<$crate::store::TransactionRecord>> {
                // Every product and kind spelled out, so that the primary key (product, kind,
                // reference_id) is probed once per pair instead of the table being read whole.
                let rows = sqlx::query(&format!(
                    "SELECT {} FROM transactions WHERE {} AND reference_id = $1 ORDER BY product, kind",
                    $crate::store::sql::TX_COLUMNS,
                    $crate::store::sql::ANY_PRODUCT_AND_KIND,
                ))
                .bind(reference_id)
                .fetch_all(self.reader())
                .await
                .map_err($crate::store::StoreError::from_sqlx)?;
                Ok(rows.iter().map(tx_from_row).collect::<Result<_, _>>()?)
            }

            async fn party_transactions(
                &self,
                environment: &str,
                party: &momo_types::payments::Party,
                awaiting_approval: bool,
                limit: i64,
            ) -> $crate::store::StoreResult<Vec<$crate::store::TransactionRecord>> {
                let sql = if awaiting_approval {
                    $crate::store::sql::party_range("1")
                } else {
                    $crate::store::sql::party_history()
                };
                let rows = sqlx::query(&sql)
                    .bind(party.party_id.to_ascii_lowercase())
                    .bind(party.party_id_type.as_str())
                    .bind(environment)
                    .bind(limit)
                    .fetch_all(self.reader())
                    .await
                    .map_err($crate::store::StoreError::from_sqlx)?;
                Ok(rows.iter().map(tx_from_row).collect::<Result<_, _>>()?)
            }

            async fn cancel_transaction(&self, key: &$crate::store::TxKey, at: i64) -> $crate::store::StoreResult<bool> {
                let result = sqlx::query(
                    "UPDATE transactions SET cancelled_at = $4, updated_at = $4 \
                     WHERE product = $1 AND kind = $2 AND reference_id = $3 AND status = 'SUCCESSFUL' \
                     AND cancelled_at IS NULL",
                )
                .bind(key.product.as_str())
                .bind(key.kind.as_str())
                .bind(&key.reference_id)
                .bind(at)
                .execute(self.writer())
                .await
                .map_err($crate::store::StoreError::from_sqlx)?;
                Ok(result.rows_affected() == 1)
            }

            async fn count_notification(&self, key: &$crate::store::TxKey) -> $crate::store::StoreResult<i64> {
                use sqlx::Row as _;
                let row = sqlx::query(
                    "UPDATE transactions SET notifications = notifications + 1 \
                     WHERE product = $1 AND kind = $2 AND reference_id = $3 RETURNING notifications",
                )
                .bind(key.product.as_str())
                .bind(key.kind.as_str())
                .bind(&key.reference_id)
                .fetch_one(self.writer())
                .await
                .map_err($crate::store::StoreError::from_sqlx)?;
                Ok(row.try_get("notifications")?)
            }

            async fn set_balance(
                &self,
                account: &$crate::store::AccountSpec,
                issuance: &str,
                target: i64,
                now: i64,
            ) -> $crate::store::StoreResult<()> {
                use sqlx::Row as _;
                use $crate::store::StoreError;
                let mut tx = self.writer().begin().await.map_err(StoreError::from_sqlx)?;
                if !ensure_account(&mut tx, account, issuance, now).await.map_err(StoreError::from_sqlx)? {
                    return Err(StoreError::BalanceLimit);
                }
                let current: i64 = sqlx::query(concat!("SELECT balance_minor FROM accounts WHERE id = $1", $lock))
                    .bind(&account.id)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(StoreError::from_sqlx)?
                    .try_get("balance_minor")?;
                let entry = format!("adjust:{}:{now}", account.id);
                move_money(&mut tx, &account.id, issuance, &account.currency, target - current, &entry, now)
                    .await
                    .map_err(StoreError::from_sqlx)?;
                tx.commit().await.map_err(StoreError::from_sqlx)
            }

            async fn accounts(&self) -> $crate::store::StoreResult<Vec<$crate::store::AccountRecord>> {
                use sqlx::Row as _;
                let rows = sqlx::query(
                    "SELECT a.id, a.currency, a.floor_minor, a.balance_minor, \
                     CAST(COALESCE((SELECT SUM(p.amount_minor) FROM ledger_postings p WHERE p.account = a.id), 0) AS BIGINT) \
                     AS postings_sum FROM accounts a ORDER BY a.id",
                )
                .fetch_all(self.reader())
                .await
                .map_err($crate::store::StoreError::from_sqlx)?;
                let mut out = Vec::with_capacity(rows.len());
                for row in rows {
                    out.push($crate::store::AccountRecord {
                        id: row.try_get("id")?,
                        currency: row.try_get("currency")?,
                        floor: row.try_get("floor_minor")?,
                        balance: row.try_get("balance_minor")?,
                        postings_sum: row.try_get("postings_sum")?,
                    });
                }
                Ok(out)
            }

            async fn transaction_counts(&self) -> $crate::store::StoreResult<Vec<$crate::store::TransactionCount>> {
                // Without an index of its own (one more entry to write per payment): the totals
                // per product from `transactions_by_kind` alone, the unsettled ones from their
                // partial index (grouped by status first, so that it is the one read), and the
                // successful ones as the difference. One statement, so one snapshot.
                let rows: Vec<(String, Option<String>, i64)> = sqlx::query_as(
                    "SELECT product, NULL, count(*) FROM transactions GROUP BY product \
                     UNION ALL SELECT product, status, count(*) FROM transactions WHERE status <> 'SUCCESSFUL' \
                     GROUP BY status, product",
                )
                .fetch_all(self.reader())
                .await
                .map_err($crate::store::StoreError::from_sqlx)?;
                let (totals, unsettled): (Vec<_>, Vec<_>) = rows.into_iter().partition(|(_, status, _)| status.is_none());
                let totals = totals.into_iter().map(|(product, _, count)| (product, count));
                let unsettled: Vec<(String, String, i64)> = unsettled
                    .into_iter()
                    .map(|(product, status, count)| (product, status.unwrap_or_default(), count))
                    .collect();
                let decode = |what: &str| sqlx::Error::Decode(format!("malformed {what}").into());
                let mut counts = Vec::new();
                for (product, total) in totals {
                    let product: momo_types::Product = product.parse().map_err(|_| decode("product"))?;
                    let mut settled = total;
                    for (_, status, count) in unsettled.iter().filter(|(p, ..)| *p == product.as_str()) {
                        let status =
                            momo_types::payments::TransactionStatus::parse(status).ok_or_else(|| decode("status"))?;
                        counts.push($crate::store::TransactionCount { product, status, count: *count });
                        settled -= count;
                    }
                    if settled > 0 {
                        counts.push($crate::store::TransactionCount {
                            product,
                            status: momo_types::payments::TransactionStatus::Successful,
                            count: settled,
                        });
                    }
                }
                counts.sort_by(|a, b| (a.product.as_str(), a.status.as_str()).cmp(&(b.product.as_str(), b.status.as_str())));
                Ok(counts)
            }
        }

        fn tx_from_row(row: &$row) -> Result<$crate::store::TransactionRecord, sqlx::Error> {
            use sqlx::Row as _;
            let decode = |what: &str| sqlx::Error::Decode(format!("malformed {what}").into());
            let product: String = row.try_get("product")?;
            let kind: String = row.try_get("kind")?;
            let status: String = row.try_get("status")?;
            let party_type: Option<String> = row.try_get("party_type")?;
            let party_id: Option<String> = row.try_get("party_id")?;
            let party = match (party_type.as_deref().and_then($crate::store::sql::rows::party_type_from_column), party_id) {
                (Some(party_id_type), Some(party_id)) => Some(momo_types::payments::Party { party_id_type, party_id }),
                _ => None,
            };
            let awaiting: i64 = row.try_get("awaiting_approval")?;
            Ok($crate::store::TransactionRecord {
                key: $crate::store::TxKey {
                    product: product.parse().map_err(|_| decode("product"))?,
                    kind: $crate::domain::transactions::Kind::parse(&kind).ok_or_else(|| decode("kind"))?,
                    reference_id: row.try_get("reference_id")?,
                },
                api_user: row.try_get("api_user")?,
                environment: row.try_get("environment")?,
                currency: momo_types::Currency::parse(&row.try_get::<String, _>("currency")?)
                    .map_err(|_| decode("currency"))?,
                amount_minor: row.try_get("amount_minor")?,
                party,
                external_id: row.try_get("external_id")?,
                request: row.try_get("request")?,
                api_version: $crate::domain::transactions::ApiVersion::from_number(row.try_get("api_version")?)
                    .ok_or_else(|| decode("api_version"))?,
                status: momo_types::payments::TransactionStatus::parse(&status).ok_or_else(|| decode("status"))?,
                reason: row.try_get::<Option<String>, _>("reason")?.as_deref().map(momo_types::ErrorCode::parse),
                financial_transaction_id: row.try_get("financial_transaction_id")?,
                callback_url: row.try_get("callback_url")?,
                outcome: $crate::store::sql::rows::outcome_from_columns(row.try_get("outcome")?, row.try_get("outcome_reason")?)
                    ?,
                due_at: row.try_get("due_at")?,
                awaiting_approval: awaiting != 0,
                related_reference_id: row.try_get("related_reference_id")?,
                notifications: row.try_get("notifications")?,
                created_at: row.try_get("created_at")?,
                updated_at: row.try_get("updated_at")?,
                cancelled_at: row.try_get("cancelled_at")?,
            })
        }

        /// The bulk settlement of the unconditional finalizations `fs[indices]` (each key once): one
        /// `UPDATE … FROM (VALUES …)` of those still pending, returning the keys it made final.
        /// Typed casts, so that PostgreSQL does not take a VALUES list's parameters for text.
        fn push_finalize_update<'a>(
            query: &mut sqlx::QueryBuilder<'a, $db>,
            fs: &'a [$crate::store::Finalization],
            indices: &[usize],
        ) {
            query.push(
                "UPDATE transactions SET status = v.column4, reason = v.column5, financial_transaction_id = v.column6, \
                 outcome = NULL, outcome_reason = NULL, due_at = NULL, awaiting_approval = 0, updated_at = v.column7 FROM (",
            );
            query.push_values(indices, |mut row, &i| {
                let f = &fs[i];
                row.push_bind(f.key.product.as_str())
                    .push_bind(f.key.kind.as_str())
                    .push_bind(&f.key.reference_id)
                    .push_bind(f.status.as_str())
                    .push_bind(f.reason.as_ref().map(momo_types::ErrorCode::as_str))
                    .push_bind(&f.financial_transaction_id)
                    .push("CAST(")
                    .push_bind_unseparated(f.now)
                    .push_unseparated(" AS BIGINT)");
            });
            query.push(
                ") AS v WHERE transactions.product = v.column1 AND transactions.kind = v.column2 \
                 AND transactions.reference_id = v.column3 AND transactions.status = 'PENDING' \
                 RETURNING product, kind, reference_id",
            );
        }

        /// The net change of each account that unconditional finalizations move money in (the
        /// issuance account too, as a single settlement creates it), as one upsert; `false` if
        /// nothing moves. No floors to check: unconditional ones have none.
        fn push_account_changes(query: &mut sqlx::QueryBuilder<'_, $db>, done: &[&$crate::store::Finalization]) -> bool {
            let mut accounts: std::collections::BTreeMap<String, (String, i64)> = std::collections::BTreeMap::new();
            for f in done {
                for p in &f.postings {
                    accounts.entry(p.account.id.clone()).or_insert((p.account.currency.clone(), 0)).1 += p.amount;
                    accounts.entry(f.issuance.clone()).or_insert((p.account.currency.clone(), 0));
                }
            }
            if accounts.is_empty() {
                return false;
            }
            let now = done.first().map_or(0, |f| f.now);
            // In account-id order (a BTreeMap's), as every settlement locks accounts.
            query.push("INSERT INTO accounts (id, currency, floor_minor, balance_minor, created_at) ");
            query.push_values(accounts, |mut row, (id, (currency, delta))| {
                row.push_bind(id).push_bind(currency).push("NULL").push_bind(delta).push_bind(now);
            });
            query.push(" ON CONFLICT (id) DO UPDATE SET balance_minor = accounts.balance_minor + excluded.balance_minor");
            true
        }

        /// The postings of `done`, as one insert; `false` if there are none.
        fn push_postings(query: &mut sqlx::QueryBuilder<'_, $db>, done: &[&$crate::store::Finalization]) -> bool {
            let postings: Vec<_> = done
                .iter()
                .flat_map(|f| {
                    f.postings.iter().map(|p| (f.entry_id(), p.account.id.clone(), p.account.currency.clone(), p.amount, f.now))
                })
                .collect();
            if postings.is_empty() {
                return false;
            }
            query.push("INSERT INTO ledger_postings (entry_id, account, currency, amount_minor, created_at) ");
            query.push_values(postings, |mut row, (entry, account, currency, amount, at)| {
                row.push_bind(entry).push_bind(account).push_bind(currency).push_bind(amount).push_bind(at);
            });
            true
        }

        /// Finalize one transaction inside the caller's database transaction (nothing is written
        /// unless it returns `Done`: the caller rolls back otherwise).
        async fn finalize_one(
            tx: &mut <$db as sqlx::Database>::Connection,
            f: &$crate::store::Finalization,
        ) -> Result<$crate::store::Finalized, sqlx::Error> {
            use sqlx::Row as _;
            use $crate::store::Finalized;
            if let Some(guard) = &f.refund_guard {
                let original = sqlx::query(concat!(
                    "SELECT amount_minor, status FROM transactions WHERE product = $1 AND kind = $2 AND reference_id = $3",
                    $lock
                ))
                .bind(guard.original.product.as_str())
                .bind(guard.original.kind.as_str())
                .bind(&guard.original.reference_id)
                .fetch_optional(&mut *tx)
                .await
                ?;
                let Some(original) = original else { return Ok(Finalized::RefundExceeded) };
                let status: String = original.try_get("status")?;
                if status != "SUCCESSFUL" {
                    return Ok(Finalized::RefundExceeded);
                }
                let original: i64 = original.try_get("amount_minor")?;
                let refunded: i64 = sqlx::query(
                    "SELECT CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT) AS refunded FROM transactions \
                     WHERE kind = 'refund' AND related_reference_id = $1 AND status = 'SUCCESSFUL'",
                )
                .bind(&guard.original.reference_id)
                .fetch_one(&mut *tx)
                .await
                ?
                .try_get("refunded")?;
                if refunded + guard.amount > original {
                    return Ok(Finalized::RefundExceeded);
                }
            }
            let updated = sqlx::query(
                "UPDATE transactions SET status = $4, reason = $5, financial_transaction_id = $6, outcome = NULL, \
                 outcome_reason = NULL, due_at = NULL, awaiting_approval = 0, updated_at = $7 \
                 WHERE product = $1 AND kind = $2 AND reference_id = $3 AND status = 'PENDING'",
            )
            .bind(f.key.product.as_str())
            .bind(f.key.kind.as_str())
            .bind(&f.key.reference_id)
            .bind(f.status.as_str())
            .bind(f.reason.as_ref().map(momo_types::ErrorCode::as_str))
            .bind(&f.financial_transaction_id)
            .bind(f.now)
            .execute(&mut *tx)
            .await
            ?;
            if updated.rows_affected() == 0 {
                return Ok(Finalized::NotPending);
            }
            let entry = f.entry_id();
            // Always in account-id order, so concurrent settlements lock accounts in one global
            // order and cannot deadlock each other.
            let mut postings: Vec<&$crate::store::Posting> = f.postings.iter().collect();
            postings.sort_by(|a, b| a.account.id.cmp(&b.account.id));
            for posting in postings {
                let refused = post(&mut *tx, posting, &f.issuance, &entry, f.now).await?;
                if refused != Finalized::Done {
                    return Ok(refused);
                }
            }
            if let Some(d) = &f.delivery {
                sqlx::query(&format!(
                    "INSERT INTO callback_deliveries ({}, locked_until) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', 0, $9, $10, NULL, NULL)",
                    $crate::store::sql::outbox::DELIVERY_COLUMNS
                ))
                .bind(&d.id)
                .bind(&d.api_user)
                .bind(f.key.product.as_str())
                .bind(f.key.kind.as_str())
                .bind(&f.key.reference_id)
                .bind(&d.url)
                .bind(&d.method)
                .bind(&d.body)
                .bind(f.now)
                .bind(f.now)
                .execute(&mut *tx)
                .await
                ?;
            }
            Ok(Finalized::Done)
        }

        /// Insert transactions in the caller's database transaction; for each, whether it was new
        /// (`false`: its reference id is taken, or an earlier one in `txs` has it). A taken id does
        /// not fail the others. One multi-row statement per chunk: each statement is a round trip
        /// to the driver, and under load those round trips, not SQL, are what the writer spends.
        ///
        /// `prefix` (SQLite's `BEGIN`) goes in front of the first statement, saving a round trip.
        async fn insert_transactions(
            conn: &mut <$db as sqlx::Database>::Connection,
            txs: &[$crate::store::TransactionRecord],
            prefix: &str,
        ) -> Result<Vec<bool>, sqlx::Error> {
            if txs.is_empty() && !prefix.is_empty() {
                sqlx::query(prefix).execute(&mut *conn).await?;
            }
            let mut inserted = Vec::with_capacity(txs.len());
            // 25 parameters a row: well under both engines' limits on parameters per statement.
            for (i, chunk) in txs.chunks(512).enumerate() {
                let mut query = sqlx::QueryBuilder::<$db>::new(format!(
                    "{}INSERT INTO transactions ({}) ",
                    if i == 0 { prefix } else { "" },
                    $crate::store::sql::TX_COLUMNS
                ));
                query.push_values(chunk, |mut row, tx| {
                    let (outcome, outcome_reason) = tx.outcome.as_ref().map_or((None, None), |o| {
                        let (outcome, reason) = $crate::store::sql::rows::outcome_to_columns(o);
                        (Some(outcome), reason)
                    });
                    row.push_bind(tx.key.product.as_str())
                        .push_bind(tx.key.kind.as_str())
                        .push_bind(&tx.key.reference_id)
                        .push_bind(&tx.api_user)
                        .push_bind(&tx.environment)
                        .push_bind(tx.currency.as_str())
                        .push_bind(tx.amount_minor)
                        .push_bind(tx.party.as_ref().map(|p| p.party_id_type.as_str()))
                        .push_bind(tx.party.as_ref().map(|p| p.party_id.as_str()))
                        .push_bind(&tx.external_id)
                        .push_bind(&tx.request)
                        .push_bind(tx.api_version.number())
                        .push_bind(tx.status.as_str())
                        .push_bind(tx.reason.as_ref().map(momo_types::ErrorCode::as_str))
                        .push_bind(&tx.financial_transaction_id)
                        .push_bind(&tx.callback_url)
                        .push_bind(outcome)
                        .push_bind(outcome_reason)
                        .push_bind(tx.due_at)
                        .push_bind(i64::from(tx.awaiting_approval))
                        .push_bind(&tx.related_reference_id)
                        .push_bind(tx.notifications)
                        .push_bind(tx.created_at)
                        .push_bind(tx.updated_at)
                        .push_bind(tx.cancelled_at);
                });
                query.push(" ON CONFLICT DO NOTHING RETURNING product, kind, reference_id");
                let mut new = returned_keys(&query.build().persistent(false).fetch_all(&mut *conn).await?)?;
                // Rows go in in order, so of two with one id the first is the one inserted.
                for tx in chunk {
                    inserted.push(new.remove(&key_columns(&tx.key)));
                }
            }
            Ok(inserted)
        }

        /// The transaction keys in rows whose first three columns are `product, kind,
        /// reference_id` (what a `RETURNING` or a locking `SELECT` gave back), as [`key_columns`].
        fn returned_keys(rows: &[$row]) -> Result<std::collections::HashSet<(String, String, String)>, sqlx::Error> {
            use sqlx::Row as _;
            rows.iter().map(|row| Ok((row.try_get(0)?, row.try_get(1)?, row.try_get(2)?))).collect()
        }

        /// A transaction key as its three columns.
        fn key_columns(key: &$crate::store::TxKey) -> (String, String, String) {
            (key.product.as_str().to_owned(), key.kind.as_str().to_owned(), key.reference_id.clone())
        }

        /// Create an account on first use, crediting its opening balance from issuance; `false`
        /// if issuance is at its limit and cannot (nothing is written then).
        async fn ensure_account(
            conn: &mut <$db as sqlx::Database>::Connection,
            account: &$crate::store::AccountSpec,
            issuance: &str,
            now: i64,
        ) -> Result<bool, sqlx::Error> {
            let create = "INSERT INTO accounts (id, currency, floor_minor, balance_minor, created_at) \
                          VALUES ($1, $2, $3, 0, $4) ON CONFLICT DO NOTHING";
            let created = sqlx::query(create)
                .bind(&account.id)
                .bind(&account.currency)
                .bind(account.floor)
                .bind(now)
                .execute(&mut *conn)
                .await?
                .rows_affected()
                == 1;
            sqlx::query(create).bind(issuance).bind(&account.currency).bind(None::<i64>).bind(now).execute(&mut *conn).await?;
            if created && account.opening != 0 {
                let entry = format!("opening:{}", account.id);
                return issue(conn, &account.id, issuance, &account.currency, account.opening, &entry, now).await;
            }
            Ok(true)
        }

        /// Credit `amount` to `to` from `from` (issuance, or a sandbox funding account), with both
        /// postings, unless that would take `from` past the ledger's negative limit: `false` then,
        /// and nothing is written. (A refusal here must not fail the whole commit, as the
        /// database's own check would.)
        async fn issue(
            conn: &mut <$db as sqlx::Database>::Connection,
            to: &str,
            from: &str,
            currency: &str,
            amount: i64,
            entry: &str,
            now: i64,
        ) -> Result<bool, sqlx::Error> {
            let debited = sqlx::query(
                "UPDATE accounts SET balance_minor = balance_minor - $2 WHERE id = $1 AND balance_minor - $2 >= $3",
            )
            .bind(from)
            .bind(amount)
            .bind(-$crate::domain::money::BALANCE_LIMIT_MINOR)
            .execute(&mut *conn)
            .await?
            .rows_affected()
                == 1;
            if !debited {
                return Ok(false);
            }
            insert_posting(conn, entry, from, currency, -amount, now).await?;
            sqlx::query("UPDATE accounts SET balance_minor = balance_minor + $2 WHERE id = $1")
                .bind(to)
                .bind(amount)
                .execute(&mut *conn)
                .await?;
            insert_posting(conn, entry, to, currency, amount, now).await?;
            Ok(true)
        }

        /// Credit `amount` to `to` and debit it from `from` (no floor check), with both postings.
        async fn move_money(
            conn: &mut <$db as sqlx::Database>::Connection,
            to: &str,
            from: &str,
            currency: &str,
            amount: i64,
            entry: &str,
            now: i64,
        ) -> Result<(), sqlx::Error> {
            for (account, delta) in [(to, amount), (from, -amount)] {
                sqlx::query("UPDATE accounts SET balance_minor = balance_minor + $2 WHERE id = $1")
                    .bind(account)
                    .bind(delta)
                    .execute(&mut *conn)
                    .await?;
                insert_posting(conn, entry, account, currency, delta, now).await?;
            }
            Ok(())
        }

        async fn insert_posting(
            conn: &mut <$db as sqlx::Database>::Connection,
            entry: &str,
            account: &str,
            currency: &str,
            amount: i64,
            now: i64,
        ) -> Result<(), sqlx::Error> {
            sqlx::query(
                "INSERT INTO ledger_postings (entry_id, account, currency, amount_minor, created_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(entry)
            .bind(account)
            .bind(currency)
            .bind(amount)
            .bind(now)
            .execute(&mut *conn)
            .await?;
            Ok(())
        }

        /// Apply one posting if it keeps its account at or above its floor and within the
        /// ledger's limit: `Done`, or why not (nothing is written then).
        ///
        /// The sum in the condition cannot overflow: balances stay within the limit (10^17) and
        /// amounts within the largest amount (10^15), far from the 64-bit range.
        async fn post(
            conn: &mut <$db as sqlx::Database>::Connection,
            posting: &$crate::store::Posting,
            issuance: &str,
            entry: &str,
            now: i64,
        ) -> Result<$crate::store::Finalized, sqlx::Error> {
            use sqlx::Row as _;
            use $crate::store::Finalized;
            if !ensure_account(conn, &posting.account, issuance, now).await? {
                // Issuance cannot give the opening balance.
                return Ok(Finalized::PayerLimitReached);
            }
            if let Some(source) = posting.account.top_up_from.as_deref().filter(|_| posting.amount < 0) {
                let balance: i64 = sqlx::query(concat!("SELECT balance_minor FROM accounts WHERE id = $1", $lock))
                    .bind(&posting.account.id)
                    .fetch_one(&mut *conn)
                    .await?
                    .try_get("balance_minor")?;
                // Saturating: a balance outside the limit can only come from a database written
                // before the limit existed.
                let shortfall = balance.saturating_add(posting.amount).saturating_neg();
                let funding = format!("funding:{entry}");
                if shortfall > 0 {
                    sqlx::query(
                        "INSERT INTO accounts (id, currency, floor_minor, balance_minor, created_at) \
                         VALUES ($1, $2, NULL, 0, $3) ON CONFLICT DO NOTHING",
                    )
                    .bind(source)
                    .bind(&posting.account.currency)
                    .bind(now)
                    .execute(&mut *conn)
                    .await?;
                    if !issue(conn, &posting.account.id, source, &posting.account.currency, shortfall, &funding, now).await? {
                        return Ok(Finalized::PayerLimitReached);
                    }
                }
            }
            let applied = sqlx::query(
                "UPDATE accounts SET balance_minor = balance_minor + $2 \
                 WHERE id = $1 AND (floor_minor IS NULL OR balance_minor + $2 >= floor_minor) \
                 AND balance_minor + $2 BETWEEN $3 AND $4",
            )
            .bind(&posting.account.id)
            .bind(posting.amount)
            .bind(-$crate::domain::money::BALANCE_LIMIT_MINOR)
            .bind($crate::domain::money::BALANCE_LIMIT_MINOR)
            .execute(&mut *conn)
            .await?
            .rows_affected()
                == 1;
            if applied {
                insert_posting(conn, entry, &posting.account.id, &posting.account.currency, posting.amount, now).await?;
                return Ok(Finalized::Done);
            }
            let balance: i64 = sqlx::query("SELECT balance_minor FROM accounts WHERE id = $1")
                .bind(&posting.account.id)
                .fetch_one(&mut *conn)
                .await?
                .try_get("balance_minor")?;
            let after = balance.checked_add(posting.amount);
            Ok(match after {
                Some(after) if posting.account.floor.is_some_and(|floor| after < floor) => Finalized::InsufficientFunds,
                _ if posting.amount > 0 => Finalized::PayeeLimitReached,
                _ => Finalized::PayerLimitReached,
            })
        }
    };
}

pub(crate) use impl_store;

/// Whether `e` is the database refusing a balance past the ledger's limit (migration 6: the
/// trigger's message on SQLite, the constraint's name on PostgreSQL). No sum the ledger forms
/// within the limit can overflow 64 bits, so an overflow is not this, and stays an error.
pub(crate) fn balance_limit_error(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => {
            db.message().contains("momo: balance limit") || db.constraint() == Some("accounts_balance_limit")
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn any_product_and_kind_names_every_product_and_kind() {
        for product in momo_types::Product::ALL {
            assert!(super::ANY_PRODUCT_AND_KIND.contains(&format!("'{}'", product.as_str())), "{product}");
        }
        for kind in crate::domain::transactions::Kind::ALL {
            assert!(super::ANY_PRODUCT_AND_KIND.contains(&format!("'{}'", kind.as_str())), "{kind:?}");
        }
    }
}
