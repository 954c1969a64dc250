//! The SQL of the [`Store`](super::Store) contract, written once for both engines.
//!
//! `impl_store!` expands to the trait implementation for a store type that has `writer()` and
//! `reader()` pools. Both engines accept the same statements: `$N` placeholders (sqlx's SQLite
//! driver binds `$N` by number), `ON CONFLICT DO NOTHING` and `RETURNING`. A macro rather than
//! generics over `sqlx::Database`, whose bounds would be longer than the SQL.
//!
//! Multi-row statements (sqlx's `QueryBuilder`) are not kept prepared (`persistent(false)`):
//! their text differs with the row count, and keeping every shape prepared held 238 MiB at 256
//! connections for little reuse.

pub(crate) const USER_COLUMNS: &str = "id, environment, provider_callback_host, payment_server_url, \
     credential_style, origin, key_hash, key_version, created_at, revoked_at";

pub(crate) const KEY_COLUMNS: &str = "id, key_hash, hint, products, label, created_at, revoked_at";

pub(crate) const TX_COLUMNS: &str = "product, kind, reference_id, api_user, environment, currency, amount_minor, \
     party_type, party_id, external_id, request, api_version, status, reason, financial_transaction_id, callback_url, \
     outcome, outcome_reason, due_at, awaiting_approval, related_reference_id, notifications, created_at, updated_at, cancelled_at";

pub(crate) const DELIVERY_COLUMNS: &str =
    "id, api_user, product, kind, reference_id, url, method, body, state, attempts, \
     next_attempt_at, created_at, finished_at";

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

/// The `server_secrets` row that identifies the credential hash key (`SecretHasher::key_check`).
pub(crate) const HASH_KEY_CHECK: &str = "credential-hash-key-check";

/// Every stored secret hash: `(table, column)`.
pub(crate) const HASHED_SECRETS: [(&str, &str); 5] = [
    ("api_users", "key_hash"),
    ("subscription_keys", "key_hash"),
    ("operator_tokens", "token_hash"),
    ("consents", "refresh_token_hash"),
    ("console_sessions", "id_hash"),
];

pub(crate) const BUMP_EPOCH: &str = "UPDATE credentials_epoch SET epoch = epoch + 1 WHERE id = 1";

macro_rules! impl_store {
    ($store:ty, $db:ty, $row:ty, $backend:literal, $lock:literal, $skip_locked:literal) => {
        fn user_from_row(row: &$row) -> Result<$crate::store::ApiUserRecord, sqlx::Error> {
            use sqlx::Row as _;
            let key_hash: Option<String> = row.try_get("key_hash")?;
            Ok($crate::store::ApiUserRecord {
                id: row.try_get("id")?,
                environment: row.try_get("environment")?,
                provider_callback_host: row.try_get("provider_callback_host")?,
                payment_server_url: row.try_get("payment_server_url")?,
                credential_style: $crate::store::style_from_column(row.try_get("credential_style")?),
                origin: $crate::store::origin_from_column(row.try_get("origin")?),
                key_hash: key_hash.as_deref().and_then($crate::store::SecretHash::from_hex),
                key_version: row.try_get("key_version")?,
                created_at: row.try_get("created_at")?,
                revoked_at: row.try_get("revoked_at")?,
            })
        }

        fn key_from_row(row: &$row) -> Result<$crate::store::SubscriptionKeyRecord, sqlx::Error> {
            use sqlx::Row as _;
            let hash: String = row.try_get("key_hash")?;
            Ok($crate::store::SubscriptionKeyRecord {
                id: row.try_get("id")?,
                key_hash: $crate::store::SecretHash::from_hex(&hash)
                    .ok_or_else(|| sqlx::Error::Decode("malformed key_hash".into()))?,
                hint: row.try_get("hint")?,
                products: $crate::store::products_from_column(row.try_get("products")?),
                label: row.try_get("label")?,
                created_at: row.try_get("created_at")?,
                revoked_at: row.try_get("revoked_at")?,
            })
        }

        #[async_trait::async_trait]
        impl $crate::store::Backend for $store {
            fn backend(&self) -> &'static str {
                $backend
            }

            async fn ping(&self) -> $crate::store::StoreResult<()> {
                sqlx::query("SELECT 1").execute(self.reader()).await.map_err($crate::store::StoreError::from_sqlx)?;
                Ok(())
            }
        }

        #[async_trait::async_trait]
        impl $crate::store::Credentials for $store {
            async fn insert_api_user(&self, user: &$crate::store::ApiUserRecord) -> $crate::store::StoreResult<()> {
                use $crate::store::StoreError;
                let mut tx = self.writer().begin().await.map_err(StoreError::from_sqlx)?;
                sqlx::query(&format!(
                    "INSERT INTO api_users ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                    $crate::store::sql::USER_COLUMNS
                ))
                .bind(&user.id)
                .bind(&user.environment)
                .bind(&user.provider_callback_host)
                .bind(&user.payment_server_url)
                .bind($crate::store::style_to_column(user.credential_style))
                .bind($crate::store::origin_to_column(user.origin))
                .bind(user.key_hash.as_ref().map(|h| h.to_hex()))
                .bind(user.key_version)
                .bind(user.created_at)
                .bind(user.revoked_at)
                .execute(&mut *tx)
                .await
                .map_err(StoreError::from_sqlx)?;
                sqlx::query($crate::store::sql::BUMP_EPOCH).execute(&mut *tx).await.map_err(StoreError::from_sqlx)?;
                tx.commit().await.map_err(StoreError::from_sqlx)
            }

            async fn api_user(&self, id: &str) -> $crate::store::StoreResult<Option<$crate::store::ApiUserRecord>> {
                let row = sqlx::query(&format!("SELECT {} FROM api_users WHERE id = $1", $crate::store::sql::USER_COLUMNS))
                    .bind(id)
                    .fetch_optional(self.reader())
                    .await
                    .map_err($crate::store::StoreError::from_sqlx)?;
                Ok(row.as_ref().map(user_from_row).transpose()?)
            }

            async fn api_users(&self) -> $crate::store::StoreResult<Vec<$crate::store::ApiUserRecord>> {
                let rows = sqlx::query(&format!(
                    "SELECT {} FROM api_users ORDER BY created_at, id",
                    $crate::store::sql::USER_COLUMNS
                ))
                .fetch_all(self.reader())
                .await
                .map_err($crate::store::StoreError::from_sqlx)?;
                Ok(rows.iter().map(user_from_row).collect::<Result<_, _>>()?)
            }

            async fn set_api_key(
                &self,
                id: &str,
                key_hash: &$crate::store::SecretHash,
            ) -> $crate::store::StoreResult<Option<$crate::store::ApiUserRecord>> {
                let sql = format!(
                    "UPDATE api_users SET key_hash = $2, key_version = key_version + 1 \
                     WHERE id = $1 AND revoked_at IS NULL RETURNING {}",
                    $crate::store::sql::USER_COLUMNS
                );
                let row = self.change(sqlx::query(&sql).bind(id).bind(key_hash.to_hex())).await?;
                Ok(row.as_ref().map(user_from_row).transpose()?)
            }

            async fn revoke_api_user(
                &self,
                id: &str,
                at: i64,
            ) -> $crate::store::StoreResult<Option<$crate::store::ApiUserRecord>> {
                let sql = format!(
                    "UPDATE api_users SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1 RETURNING {}",
                    $crate::store::sql::USER_COLUMNS
                );
                let row = self.change(sqlx::query(&sql).bind(id).bind(at)).await?;
                Ok(row.as_ref().map(user_from_row).transpose()?)
            }

            async fn insert_subscription_key(
                &self,
                key: &$crate::store::SubscriptionKeyRecord,
            ) -> $crate::store::StoreResult<bool> {
                use $crate::store::StoreError;
                let mut tx = self.writer().begin().await.map_err(StoreError::from_sqlx)?;
                let inserted = sqlx::query(&format!(
                    "INSERT INTO subscription_keys ({}) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
                    $crate::store::sql::KEY_COLUMNS
                ))
                .bind(&key.id)
                .bind(key.key_hash.to_hex())
                .bind(&key.hint)
                .bind($crate::store::products_to_column(&key.products))
                .bind(&key.label)
                .bind(key.created_at)
                .bind(key.revoked_at)
                .execute(&mut *tx)
                .await
                .map_err(StoreError::from_sqlx)?
                .rows_affected()
                    == 1;
                if inserted {
                    sqlx::query($crate::store::sql::BUMP_EPOCH).execute(&mut *tx).await.map_err(StoreError::from_sqlx)?;
                }
                tx.commit().await.map_err(StoreError::from_sqlx)?;
                Ok(inserted)
            }

            async fn subscription_key_by_hash(
                &self,
                hash: &$crate::store::SecretHash,
            ) -> $crate::store::StoreResult<Option<$crate::store::SubscriptionKeyRecord>> {
                let row = sqlx::query(&format!(
                    "SELECT {} FROM subscription_keys WHERE key_hash = $1",
                    $crate::store::sql::KEY_COLUMNS
                ))
                .bind(hash.to_hex())
                .fetch_optional(self.reader())
                .await
                .map_err($crate::store::StoreError::from_sqlx)?;
                Ok(row.as_ref().map(key_from_row).transpose()?)
            }

            async fn subscription_keys(&self) -> $crate::store::StoreResult<Vec<$crate::store::SubscriptionKeyRecord>> {
                let rows = sqlx::query(&format!(
                    "SELECT {} FROM subscription_keys ORDER BY created_at, products, label, id",
                    $crate::store::sql::KEY_COLUMNS
                ))
                .fetch_all(self.reader())
                .await
                .map_err($crate::store::StoreError::from_sqlx)?;
                Ok(rows.iter().map(key_from_row).collect::<Result<_, _>>()?)
            }

            async fn replace_subscription_key(
                &self,
                id: &str,
                key_hash: &$crate::store::SecretHash,
                hint: &str,
            ) -> $crate::store::StoreResult<Option<$crate::store::SubscriptionKeyRecord>> {
                let sql = format!(
                    "UPDATE subscription_keys SET key_hash = $2, hint = $3 WHERE id = $1 AND revoked_at IS NULL RETURNING {}",
                    $crate::store::sql::KEY_COLUMNS
                );
                let row = self.change(sqlx::query(&sql).bind(id).bind(key_hash.to_hex()).bind(hint)).await?;
                Ok(row.as_ref().map(key_from_row).transpose()?)
            }

            async fn revoke_subscription_key(
                &self,
                id: &str,
                at: i64,
            ) -> $crate::store::StoreResult<Option<$crate::store::SubscriptionKeyRecord>> {
                let sql = format!(
                    "UPDATE subscription_keys SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1 RETURNING {}",
                    $crate::store::sql::KEY_COLUMNS
                );
                let row = self.change(sqlx::query(&sql).bind(id).bind(at)).await?;
                Ok(row.as_ref().map(key_from_row).transpose()?)
            }

            async fn insert_operator_token(
                &self,
                hash: &$crate::store::SecretHash,
                at: i64,
            ) -> $crate::store::StoreResult<bool> {
                let result = sqlx::query(
                    "INSERT INTO operator_tokens (token_hash, created_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                )
                .bind(hash.to_hex())
                .bind(at)
                .execute(self.writer())
                .await
                .map_err($crate::store::StoreError::from_sqlx)?;
                Ok(result.rows_affected() == 1)
            }

            async fn operator_token_exists(&self, hash: &$crate::store::SecretHash) -> $crate::store::StoreResult<bool> {
                let row = sqlx::query("SELECT 1 AS found FROM operator_tokens WHERE token_hash = $1")
                    .bind(hash.to_hex())
                    .fetch_optional(self.reader())
                    .await
                    .map_err($crate::store::StoreError::from_sqlx)?;
                Ok(row.is_some())
            }

            async fn has_operator_tokens(&self) -> $crate::store::StoreResult<bool> {
                let row = sqlx::query("SELECT 1 AS found FROM operator_tokens LIMIT 1")
                    .fetch_optional(self.reader())
                    .await
                    .map_err($crate::store::StoreError::from_sqlx)?;
                Ok(row.is_some())
            }

            async fn server_secret(&self, name: &str, candidate: &[u8]) -> $crate::store::StoreResult<Vec<u8>> {
                use sqlx::Row as _;
                use $crate::store::StoreError;
                sqlx::query("INSERT INTO server_secrets (name, value) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                    .bind(name)
                    .bind(candidate)
                    .execute(self.writer())
                    .await
                    .map_err(StoreError::from_sqlx)?;
                let row = sqlx::query("SELECT value FROM server_secrets WHERE name = $1")
                    .bind(name)
                    .fetch_one(self.writer())
                    .await
                    .map_err(StoreError::from_sqlx)?;
                Ok(row.try_get("value")?)
            }

            async fn key_secret_hashes(
                &self,
                key_check: &[u8],
                rehash: &(dyn for<'h> Fn(&'h $crate::store::SecretHash) -> $crate::store::SecretHash + Send + Sync),
            ) -> $crate::store::StoreResult<$crate::store::KeyedHashes> {
                use sqlx::Row as _;
                use $crate::store::{KeyedHashes, SecretHash, StoreError};
                let mut tx = self.writer().begin().await.map_err(StoreError::from_sqlx)?;
                // Claiming the check first makes concurrent first starts on one PostgreSQL
                // database wait for each other here; the later ones then find the check.
                let claimed = sqlx::query("INSERT INTO server_secrets (name, value) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                    .bind($crate::store::sql::HASH_KEY_CHECK)
                    .bind(key_check)
                    .execute(&mut *tx)
                    .await
                    .map_err(StoreError::from_sqlx)?
                    .rows_affected()
                    == 1;
                if !claimed {
                    let stored: Vec<u8> = sqlx::query("SELECT value FROM server_secrets WHERE name = $1")
                        .bind($crate::store::sql::HASH_KEY_CHECK)
                        .fetch_one(&mut *tx)
                        .await
                        .map_err(StoreError::from_sqlx)?
                        .try_get("value")?;
                    tx.rollback().await.map_err(StoreError::from_sqlx)?;
                    return Ok(if stored == key_check { KeyedHashes::AlreadyKeyed } else { KeyedHashes::OtherKey });
                }
                let mut converted = 0;
                for (table, column) in $crate::store::sql::HASHED_SECRETS {
                    let rows = sqlx::query(&format!("SELECT {column} AS hash FROM {table} WHERE {column} IS NOT NULL"))
                        .fetch_all(&mut *tx)
                        .await
                        .map_err(StoreError::from_sqlx)?;
                    for row in rows {
                        let old: String = row.try_get("hash")?;
                        let Some(plain) = SecretHash::from_hex(&old) else {
                            tracing::warn!(table, "a stored secret hash is not 64 hex digits; left as it is");
                            continue;
                        };
                        sqlx::query(&format!("UPDATE {table} SET {column} = $1 WHERE {column} = $2"))
                            .bind(rehash(&plain).to_hex())
                            .bind(&old)
                            .execute(&mut *tx)
                            .await
                            .map_err(StoreError::from_sqlx)?;
                        converted += 1;
                    }
                }
                if converted > 0 {
                    sqlx::query($crate::store::sql::BUMP_EPOCH).execute(&mut *tx).await.map_err(StoreError::from_sqlx)?;
                }
                tx.commit().await.map_err(StoreError::from_sqlx)?;
                Ok(KeyedHashes::Converted(converted))
            }

            async fn credentials_epoch(&self) -> $crate::store::StoreResult<i64> {
                use sqlx::Row as _;
                let row = sqlx::query("SELECT epoch FROM credentials_epoch WHERE id = 1")
                    .fetch_one(self.reader())
                    .await
                    .map_err($crate::store::StoreError::from_sqlx)?;
                Ok(row.try_get("epoch")?)
            }
        }

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
                self.insert_new(tx).await
            }

            async fn insert_settled(
                &self,
                tx: &$crate::store::TransactionRecord,
                finalization: &$crate::store::Finalization,
            ) -> $crate::store::StoreResult<bool> {
                self.insert_settled_with(tx, finalization).await
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
                self.finalize_all(finalizations).await
            }

            async fn replan(
                &self,
                key: &$crate::store::TxKey,
                outcome: &$crate::domain::transactions::Outcome,
                due_at: i64,
                only_awaiting_approval: bool,
            ) -> $crate::store::StoreResult<bool> {
                let (outcome, outcome_reason) = $crate::store::outcome_to_columns(outcome);
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
                let (outcome, outcome_reason) = $crate::store::outcome_to_columns(outcome);
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

        #[async_trait::async_trait]
        impl $crate::store::CallbackOutbox for $store {
            async fn claim_deliveries(
                &self,
                now: i64,
                lease_until: i64,
                limit: i64,
            ) -> $crate::store::StoreResult<Vec<$crate::store::DeliveryRecord>> {
                self.claim_with(now, lease_until, limit).await
            }

            async fn record_attempts(
                &self,
                attempts: &[(String, $crate::store::AttemptRecord, $crate::store::DeliveryNext)],
            ) -> $crate::store::StoreResult<()> {
                if attempts.is_empty() {
                    return Ok(());
                }
                self.record_with(attempts).await
            }

            async fn deliveries(
                &self,
                reference_id: Option<&str>,
                state: Option<$crate::store::DeliveryState>,
                limit: i64,
            ) -> $crate::store::StoreResult<Vec<$crate::store::DeliveryRecord>> {
                // Only the conditions asked for, the state as a literal (one of three fixed
                // words): so that each filter can use its index, the failed ones' partial
                // index included (docs/performance.md, "Console pages").
                let mut query = sqlx::QueryBuilder::<$db>::new(format!(
                    "SELECT {} FROM callback_deliveries WHERE 1 = 1",
                    $crate::store::sql::DELIVERY_COLUMNS
                ));
                if let Some(reference_id) = reference_id {
                    query.push(" AND reference_id = ").push_bind(reference_id.to_owned());
                }
                if let Some(state) = state {
                    query.push(format!(" AND state = '{}'", state.as_str()));
                }
                query.push(" ORDER BY created_at DESC, id LIMIT ").push_bind(limit);
                let rows = query
                    .build()
                    .fetch_all(self.reader())
                    .await
                    .map_err($crate::store::StoreError::from_sqlx)?;
                Ok(rows.iter().map(delivery_from_row).collect::<Result<_, _>>()?)
            }

            async fn delivery(&self, id: &str) -> $crate::store::StoreResult<Option<$crate::store::DeliveryRecord>> {
                let row = sqlx::query(&format!(
                    "SELECT {} FROM callback_deliveries WHERE id = $1",
                    $crate::store::sql::DELIVERY_COLUMNS
                ))
                .bind(id)
                .fetch_optional(self.reader())
                .await
                .map_err($crate::store::StoreError::from_sqlx)?;
                Ok(row.as_ref().map(delivery_from_row).transpose()?)
            }

            async fn unfinished_deliveries(&self) -> $crate::store::StoreResult<(i64, i64)> {
                // Two counts, each over its state's partial index.
                let (pending, failed): (i64, i64) = sqlx::query_as(
                    "SELECT (SELECT count(*) FROM callback_deliveries WHERE state = 'pending'), \
                            (SELECT count(*) FROM callback_deliveries WHERE state = 'failed')",
                )
                .fetch_one(self.reader())
                .await
                .map_err($crate::store::StoreError::from_sqlx)?;
                Ok((pending, failed))
            }

            async fn callback_backlog(&self, now: i64) -> $crate::store::StoreResult<$crate::store::CallbackBacklog> {
                let (due, oldest_due_at): (i64, Option<i64>) = sqlx::query_as(
                    "SELECT count(*), min(next_attempt_at) FROM callback_deliveries \
                     WHERE state = 'pending' AND next_attempt_at <= $1",
                )
                .bind(now)
                .fetch_one(self.reader())
                .await
                .map_err($crate::store::StoreError::from_sqlx)?;
                Ok($crate::store::CallbackBacklog { due, oldest_due_at })
            }

            async fn redeliver(
                &self,
                id: &str,
                now: i64,
            ) -> $crate::store::StoreResult<Option<$crate::store::DeliveryRecord>> {
                let row = sqlx::query(&format!(
                    "UPDATE callback_deliveries SET state = 'pending', next_attempt_at = $2, finished_at = NULL \
                     WHERE id = $1 AND (locked_until IS NULL OR locked_until <= $2) RETURNING {}",
                    $crate::store::sql::DELIVERY_COLUMNS
                ))
                .bind(id)
                .bind(now)
                .fetch_optional(self.writer())
                .await
                .map_err($crate::store::StoreError::from_sqlx)?;
                Ok(row.as_ref().map(delivery_from_row).transpose()?)
            }

            async fn delivery_attempts(&self, id: &str) -> $crate::store::StoreResult<Vec<$crate::store::AttemptRecord>> {
                use sqlx::Row as _;
                let rows = sqlx::query(
                    "SELECT attempt, at, status_code, latency_ms, error FROM callback_attempts \
                     WHERE delivery_id = $1 ORDER BY attempt",
                )
                .bind(id)
                .fetch_all(self.reader())
                .await
                .map_err($crate::store::StoreError::from_sqlx)?;
                let mut out = Vec::with_capacity(rows.len());
                for row in rows {
                    out.push($crate::store::AttemptRecord {
                        attempt: row.try_get("attempt")?,
                        at: row.try_get("at")?,
                        status_code: row.try_get("status_code")?,
                        latency_ms: row.try_get("latency_ms")?,
                        error: row.try_get("error")?,
                    });
                }
                Ok(out)
            }
        }

        #[async_trait::async_trait]
        impl $crate::store::Consents for $store {
            async fn insert_consent(&self, c: &$crate::store::ConsentRecord) -> $crate::store::StoreResult<()> {
                sqlx::query(
                    "INSERT INTO consents (auth_req_id, api_user, environment, msisdn, scope, access_type, outcome, \
                     ready_at, expires_at, used_at, refresh_token_hash, refresh_expires_at, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL, NULL, NULL, $10)",
                )
                .bind(&c.auth_req_id)
                .bind(&c.api_user)
                .bind(&c.environment)
                .bind(&c.msisdn)
                .bind(&c.scope)
                .bind(&c.access_type)
                .bind(&c.outcome)
                .bind(c.ready_at)
                .bind(c.expires_at)
                .bind(c.created_at)
                .execute(self.writer())
                .await
                .map_err($crate::store::StoreError::from_sqlx)?;
                Ok(())
            }

            async fn consent(&self, auth_req_id: &str) -> $crate::store::StoreResult<Option<$crate::store::ConsentRecord>> {
                let row = sqlx::query(&format!("SELECT {CONSENT_COLUMNS} FROM consents WHERE auth_req_id = $1"))
                    .bind(auth_req_id)
                    .fetch_optional(self.reader())
                    .await
                    .map_err($crate::store::StoreError::from_sqlx)?;
                Ok(row.as_ref().map(consent_from_row).transpose()?)
            }

            async fn consent_by_refresh_token(
                &self,
                hash: &$crate::store::SecretHash,
            ) -> $crate::store::StoreResult<Option<$crate::store::ConsentRecord>> {
                let row = sqlx::query(&format!("SELECT {CONSENT_COLUMNS} FROM consents WHERE refresh_token_hash = $1"))
                    .bind(hash.to_hex())
                    .fetch_optional(self.reader())
                    .await
                    .map_err($crate::store::StoreError::from_sqlx)?;
                Ok(row.as_ref().map(consent_from_row).transpose()?)
            }

            async fn use_consent(
                &self,
                auth_req_id: &str,
                refresh: &$crate::store::SecretHash,
                refresh_expires_at: i64,
                now: i64,
            ) -> $crate::store::StoreResult<bool> {
                let result = sqlx::query(
                    "UPDATE consents SET used_at = $4, refresh_token_hash = $2, refresh_expires_at = $3 \
                     WHERE auth_req_id = $1 AND used_at IS NULL",
                )
                .bind(auth_req_id)
                .bind(refresh.to_hex())
                .bind(refresh_expires_at)
                .bind(now)
                .execute(self.writer())
                .await
                .map_err($crate::store::StoreError::from_sqlx)?;
                Ok(result.rows_affected() == 1)
            }
        }

        #[async_trait::async_trait]
        impl $crate::store::OperatorState for $store {
            async fn insert_console_session(
                &self,
                session: &$crate::store::ConsoleSession,
            ) -> $crate::store::StoreResult<()> {
                use $crate::store::StoreError;
                let mut tx = self.writer().begin().await.map_err(StoreError::from_sqlx)?;
                sqlx::query("DELETE FROM console_sessions WHERE expires_at <= $1")
                    .bind(session.created_at)
                    .execute(&mut *tx)
                    .await
                    .map_err(StoreError::from_sqlx)?;
                sqlx::query(
                    "INSERT INTO console_sessions (id_hash, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4)",
                )
                .bind(session.id_hash.to_hex())
                .bind(&session.csrf_token)
                .bind(session.created_at)
                .bind(session.expires_at)
                .execute(&mut *tx)
                .await
                .map_err(StoreError::from_sqlx)?;
                tx.commit().await.map_err(StoreError::from_sqlx)
            }

            async fn console_session(
                &self,
                id_hash: &$crate::store::SecretHash,
                now: i64,
            ) -> $crate::store::StoreResult<Option<$crate::store::ConsoleSession>> {
                use sqlx::Row as _;
                let row = sqlx::query(
                    "SELECT csrf_token, created_at, expires_at FROM console_sessions WHERE id_hash = $1 AND expires_at > $2",
                )
                .bind(id_hash.to_hex())
                .bind(now)
                .fetch_optional(self.reader())
                .await
                .map_err($crate::store::StoreError::from_sqlx)?;
                row.map(|row| {
                    Ok($crate::store::ConsoleSession {
                        id_hash: id_hash.clone(),
                        csrf_token: row.try_get("csrf_token")?,
                        created_at: row.try_get("created_at")?,
                        expires_at: row.try_get("expires_at")?,
                    })
                })
                .transpose()
                .map_err($crate::store::StoreError::from_sqlx)
            }

            async fn set_console_csrf(
                &self,
                id_hash: &$crate::store::SecretHash,
                csrf_token: &str,
            ) -> $crate::store::StoreResult<()> {
                sqlx::query("UPDATE console_sessions SET csrf_token = $2 WHERE id_hash = $1")
                    .bind(id_hash.to_hex())
                    .bind(csrf_token)
                    .execute(self.writer())
                    .await
                    .map_err($crate::store::StoreError::from_sqlx)?;
                Ok(())
            }

            async fn delete_console_session(&self, id_hash: &$crate::store::SecretHash) -> $crate::store::StoreResult<()> {
                sqlx::query("DELETE FROM console_sessions WHERE id_hash = $1")
                    .bind(id_hash.to_hex())
                    .execute(self.writer())
                    .await
                    .map_err($crate::store::StoreError::from_sqlx)?;
                Ok(())
            }

            async fn reset_payments(&self) -> $crate::store::StoreResult<()> {
                use $crate::store::StoreError;
                let mut tx = self.writer().begin().await.map_err(StoreError::from_sqlx)?;
                for table in ["callback_attempts", "callback_deliveries", "ledger_postings", "accounts", "transactions", "consents"] {
                    sqlx::query(&format!("DELETE FROM {table}")).execute(&mut *tx).await.map_err(StoreError::from_sqlx)?;
                }
                // Instances cache final statuses: the epoch tells them to forget.
                sqlx::query($crate::store::sql::BUMP_EPOCH).execute(&mut *tx).await.map_err(StoreError::from_sqlx)?;
                tx.commit().await.map_err(StoreError::from_sqlx)
            }

            async fn insert_fault(&self, fault: &$crate::store::FaultRecord) -> $crate::store::StoreResult<()> {
                sqlx::query("INSERT INTO fault_rules (id, spec, remaining, created_at) VALUES ($1, $2, $3, $4)")
                    .bind(&fault.id)
                    .bind(&fault.spec)
                    .bind(fault.remaining)
                    .bind(fault.created_at)
                    .execute(self.writer())
                    .await
                    .map_err($crate::store::StoreError::from_sqlx)?;
                Ok(())
            }

            async fn faults(&self) -> $crate::store::StoreResult<Vec<$crate::store::FaultRecord>> {
                let rows = sqlx::query("SELECT id, spec, remaining, created_at FROM fault_rules ORDER BY created_at, id")
                    .fetch_all(self.reader())
                    .await
                    .map_err($crate::store::StoreError::from_sqlx)?;
                Ok(rows.iter().map(fault_from_row).collect::<Result<_, _>>()?)
            }

            async fn use_fault(&self, id: &str, counted: bool) -> $crate::store::StoreResult<bool> {
                // A rule until removed needs only to exist: a read, not a write per request.
                let usable = if counted {
                    sqlx::query("UPDATE fault_rules SET remaining = remaining - 1 WHERE id = $1 AND remaining > 0")
                        .bind(id)
                        .execute(self.writer())
                        .await
                        .map(|done| done.rows_affected() == 1)
                } else {
                    sqlx::query("SELECT 1 AS found FROM fault_rules WHERE id = $1 AND remaining IS NULL")
                        .bind(id)
                        .fetch_optional(self.reader())
                        .await
                        .map(|row| row.is_some())
                };
                usable.map_err($crate::store::StoreError::from_sqlx)
            }

            async fn delete_fault(&self, id: &str) -> $crate::store::StoreResult<bool> {
                let result = sqlx::query("DELETE FROM fault_rules WHERE id = $1")
                    .bind(id)
                    .execute(self.writer())
                    .await
                    .map_err($crate::store::StoreError::from_sqlx)?;
                Ok(result.rows_affected() == 1)
            }

            async fn delete_faults(&self) -> $crate::store::StoreResult<()> {
                sqlx::query("DELETE FROM fault_rules")
                    .execute(self.writer())
                    .await
                    .map_err($crate::store::StoreError::from_sqlx)?;
                Ok(())
            }
        }

        fn fault_from_row(row: &$row) -> Result<$crate::store::FaultRecord, sqlx::Error> {
            use sqlx::Row as _;
            Ok($crate::store::FaultRecord {
                id: row.try_get("id")?,
                spec: row.try_get("spec")?,
                remaining: row.try_get("remaining")?,
                created_at: row.try_get("created_at")?,
            })
        }

        fn tx_from_row(row: &$row) -> Result<$crate::store::TransactionRecord, sqlx::Error> {
            use sqlx::Row as _;
            let decode = |what: &str| sqlx::Error::Decode(format!("malformed {what}").into());
            let product: String = row.try_get("product")?;
            let kind: String = row.try_get("kind")?;
            let status: String = row.try_get("status")?;
            let party_type: Option<String> = row.try_get("party_type")?;
            let party_id: Option<String> = row.try_get("party_id")?;
            let party = match (party_type.as_deref().and_then($crate::store::party_type_from_column), party_id) {
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
                outcome: $crate::store::outcome_from_columns(row.try_get("outcome")?, row.try_get("outcome_reason")?)
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

        const CONSENT_COLUMNS: &str = "auth_req_id, api_user, environment, msisdn, scope, access_type, outcome, \
             ready_at, expires_at, used_at, refresh_expires_at, created_at";

        fn consent_from_row(row: &$row) -> Result<$crate::store::ConsentRecord, sqlx::Error> {
            use sqlx::Row as _;
            Ok($crate::store::ConsentRecord {
                auth_req_id: row.try_get("auth_req_id")?,
                api_user: row.try_get("api_user")?,
                environment: row.try_get("environment")?,
                msisdn: row.try_get("msisdn")?,
                scope: row.try_get("scope")?,
                access_type: row.try_get("access_type")?,
                outcome: row.try_get("outcome")?,
                ready_at: row.try_get("ready_at")?,
                expires_at: row.try_get("expires_at")?,
                used_at: row.try_get("used_at")?,
                refresh_expires_at: row.try_get("refresh_expires_at")?,
                created_at: row.try_get("created_at")?,
            })
        }

        fn delivery_from_row(row: &$row) -> Result<$crate::store::DeliveryRecord, sqlx::Error> {
            use sqlx::Row as _;
            let decode = |what: &str| sqlx::Error::Decode(format!("malformed {what}").into());
            let product: String = row.try_get("product")?;
            let kind: String = row.try_get("kind")?;
            Ok($crate::store::DeliveryRecord {
                id: row.try_get("id")?,
                api_user: row.try_get("api_user")?,
                key: $crate::store::TxKey {
                    product: product.parse().map_err(|_| decode("product"))?,
                    kind: $crate::domain::transactions::Kind::parse(&kind).ok_or_else(|| decode("kind"))?,
                    reference_id: row.try_get("reference_id")?,
                },
                url: row.try_get("url")?,
                method: row.try_get("method")?,
                body: row.try_get("body")?,
                state: row.try_get("state")?,
                attempts: row.try_get("attempts")?,
                next_attempt_at: row.try_get("next_attempt_at")?,
                created_at: row.try_get("created_at")?,
                finished_at: row.try_get("finished_at")?,
            })
        }

        /// Lease up to `limit` due deliveries until `lease_until`, in the caller's transaction.
        async fn claim_in(
            conn: &mut <$db as sqlx::Database>::Connection,
            now: i64,
            lease_until: i64,
            limit: i64,
        ) -> Result<Vec<$crate::store::DeliveryRecord>, sqlx::Error> {
            let mut query = sqlx::QueryBuilder::<$db>::new("");
            push_claim(&mut query, now, lease_until, limit);
            let rows = query.build().fetch_all(&mut *conn).await?;
            rows.iter().map(delivery_from_row).collect()
        }

        /// The lease statement of [`claim_in`] (returns the deliveries). The due rows are chosen
        /// once, in a materialized CTE: written as `id IN (SELECT … LIMIT n FOR UPDATE SKIP
        /// LOCKED)`, PostgreSQL may run the subquery again for each row of a nested-loop semi
        /// join, each run skipping the rows this statement has leased already, and so lease every
        /// due delivery instead of at most `n`.
        fn push_claim(query: &mut sqlx::QueryBuilder<'_, $db>, now: i64, lease_until: i64, limit: i64) {
            query.push("WITH due AS MATERIALIZED (SELECT id FROM callback_deliveries WHERE state = 'pending' AND next_attempt_at <= ");
            query.push_bind(now);
            query.push(" AND (locked_until IS NULL OR locked_until <= ");
            query.push_bind(now);
            query.push(") ORDER BY next_attempt_at LIMIT ");
            query.push_bind(limit);
            query.push(format!("{}) UPDATE callback_deliveries SET locked_until = ", $skip_locked));
            query.push_bind(lease_until);
            query.push(format!(
                " WHERE state = 'pending' AND id IN (SELECT id FROM due) RETURNING {}",
                $crate::store::sql::DELIVERY_COLUMNS
            ));
        }

        /// The attempts' rows (6 parameters each).
        fn push_attempts_insert<'a>(
            query: &mut sqlx::QueryBuilder<'a, $db>,
            attempts: &'a [(String, $crate::store::AttemptRecord, $crate::store::DeliveryNext)],
        ) {
            query.push("INSERT INTO callback_attempts (delivery_id, attempt, at, status_code, latency_ms, error) ");
            query.push_values(attempts, |mut row, (id, attempt, _)| {
                row.push_bind(id)
                    .push_bind(attempt.attempt)
                    .push_bind(attempt.at)
                    .push_bind(attempt.status_code)
                    .push_bind(attempt.latency_ms)
                    .push_bind(&attempt.error);
            });
            query.push(" ON CONFLICT DO NOTHING");
        }

        /// What the attempts leave their deliveries in (5 parameters each).
        fn push_attempts_update<'a>(
            query: &mut sqlx::QueryBuilder<'a, $db>,
            attempts: &'a [(String, $crate::store::AttemptRecord, $crate::store::DeliveryNext)],
        ) {
            use $crate::store::DeliveryNext;
            query.push(
                "UPDATE callback_deliveries SET state = v.column2, attempts = v.column3, \
                 next_attempt_at = v.column4, finished_at = v.column5, locked_until = NULL FROM (",
            );
            // Typed, so that PostgreSQL does not take the parameters of a VALUES list for text.
            query.push_values(attempts, |mut row, (id, attempt, next)| {
                let (state, next_at, finished): (&str, Option<i64>, Option<i64>) = match next {
                    DeliveryNext::RetryAt(at) => ("pending", Some(*at), None),
                    DeliveryNext::Delivered => ("delivered", None, Some(attempt.at)),
                    DeliveryNext::GaveUp => ("failed", None, Some(attempt.at)),
                };
                row.push_bind(id).push_bind(state);
                for number in [Some(attempt.attempt), next_at, finished] {
                    row.push("CAST(").push_bind_unseparated(number).push_unseparated(" AS BIGINT)");
                }
            });
            query.push(") AS v WHERE callback_deliveries.id = v.column1");
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

        /// The callbacks of `done`, as one insert; `false` if there are none.
        fn push_deliveries(query: &mut sqlx::QueryBuilder<'_, $db>, done: &[&$crate::store::Finalization]) -> bool {
            let deliveries: Vec<_> = done.iter().filter_map(|f| f.delivery.as_ref().map(|d| (*f, d))).collect();
            if deliveries.is_empty() {
                return false;
            }
            query.push(format!("INSERT INTO callback_deliveries ({}, locked_until) ", $crate::store::sql::DELIVERY_COLUMNS));
            query.push_values(deliveries, |mut row, (f, d)| {
                row.push_bind(d.id.clone())
                    .push_bind(d.api_user.clone())
                    .push_bind(f.key.product.as_str())
                    .push_bind(f.key.kind.as_str())
                    .push_bind(f.key.reference_id.clone())
                    .push_bind(d.url.clone())
                    .push_bind(d.method.clone())
                    .push_bind(d.body.clone())
                    .push("'pending'")
                    .push("0")
                    .push_bind(f.now)
                    .push_bind(f.now)
                    .push("NULL")
                    .push("NULL");
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
                    $crate::store::sql::DELIVERY_COLUMNS
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
                        let (outcome, reason) = $crate::store::outcome_to_columns(o);
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


        impl $store {
            /// Run a credential change (an `UPDATE … RETURNING`) and, if it changed a row, bump
            /// the credentials epoch in the same transaction. Returns the changed row.
            async fn change<'q>(
                &self,
                query: sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments<'q>>,
            ) -> $crate::store::StoreResult<Option<$row>> {
                use $crate::store::StoreError;
                let mut tx = self.writer().begin().await.map_err(StoreError::from_sqlx)?;
                let row = query.fetch_optional(&mut *tx).await.map_err(StoreError::from_sqlx)?;
                if row.is_some() {
                    sqlx::query($crate::store::sql::BUMP_EPOCH).execute(&mut *tx).await.map_err(StoreError::from_sqlx)?;
                }
                tx.commit().await.map_err(StoreError::from_sqlx)?;
                Ok(row)
            }
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
