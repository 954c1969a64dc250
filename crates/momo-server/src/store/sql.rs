//! The SQL of the [`Store`](super::Store) contract, written once for both engines.
//!
//! `impl_store!` expands to the trait implementation for a store type that has `writer()` and
//! `reader()` pools. Both engines accept the same statements: `$N` placeholders (sqlx's SQLite
//! driver binds `$N` by number), `ON CONFLICT DO NOTHING` and `RETURNING`. A macro rather than
//! generics over `sqlx::Database`, whose bounds would be longer than the SQL.

pub(crate) const USER_COLUMNS: &str = "id, environment, provider_callback_host, payment_server_url, \
     credential_style, origin, key_hash, key_version, created_at, revoked_at";

pub(crate) const KEY_COLUMNS: &str = "id, key_hash, hint, products, label, created_at, revoked_at";

pub(crate) const BUMP_EPOCH: &str = "UPDATE credentials_epoch SET epoch = epoch + 1 WHERE id = 1";

macro_rules! impl_store {
    ($store:ty, $db:ty, $row:ty, $backend:literal) => {
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
        impl $crate::store::Store for $store {
            fn backend(&self) -> &'static str {
                $backend
            }

            async fn ping(&self) -> $crate::store::StoreResult<()> {
                sqlx::query("SELECT 1").execute(self.reader()).await.map_err($crate::store::StoreError::from_sqlx)?;
                Ok(())
            }

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

            async fn credentials_epoch(&self) -> $crate::store::StoreResult<i64> {
                use sqlx::Row as _;
                let row = sqlx::query("SELECT epoch FROM credentials_epoch WHERE id = 1")
                    .fetch_one(self.reader())
                    .await
                    .map_err($crate::store::StoreError::from_sqlx)?;
                Ok(row.try_get("epoch")?)
            }

            async fn balance(&self, account: &str, currency: &str) -> $crate::store::StoreResult<i64> {
                use sqlx::Row as _;
                let row = sqlx::query(
                    "SELECT CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT) AS balance \
                     FROM ledger_postings WHERE account = $1 AND currency = $2",
                )
                .bind(account)
                .bind(currency)
                .fetch_one(self.reader())
                .await
                .map_err($crate::store::StoreError::from_sqlx)?;
                Ok(row.try_get("balance")?)
            }
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
