//! The SQL of [`Credentials`], for both engines.

use async_trait::async_trait;

use super::rows::{self, products_to_column};
use super::SqlStore;
use crate::store::engine::{Row, Statement};
use crate::store::{ApiUserRecord, Credentials, KeyedHashes, SecretHash, StoreResult, SubscriptionKeyRecord};

const USER_COLUMNS: &str = "id, environment, provider_callback_host, payment_server_url, \
     credential_style, origin, key_hash, key_version, created_at, revoked_at";

const KEY_COLUMNS: &str = "id, key_hash, hint, products, label, created_at, revoked_at";

/// The `server_secrets` row that identifies the credential hash key (`SecretHasher::key_check`).
const HASH_KEY_CHECK: &str = "credential-hash-key-check";

/// Every stored secret hash: `(table, column)`.
const HASHED_SECRETS: [(&str, &str); 5] = [
    ("api_users", "key_hash"),
    ("subscription_keys", "key_hash"),
    ("operator_tokens", "token_hash"),
    ("consents", "refresh_token_hash"),
    ("console_sessions", "id_hash"),
];

pub(crate) const BUMP_EPOCH: &str = "UPDATE credentials_epoch SET epoch = epoch + 1 WHERE id = 1";

#[async_trait]
impl<S: SqlStore> Credentials for S {
    async fn insert_api_user(&self, user: &ApiUserRecord) -> StoreResult<()> {
        let mut tx = self.writer().begin().await?;
        Statement::<S::Db>::new(&format!(
            "INSERT INTO api_users ({USER_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        ))
        .bind(&user.id)
        .bind(&user.environment)
        .bind(&user.provider_callback_host)
        .bind(&user.payment_server_url)
        .bind(rows::style_to_column(user.credential_style))
        .bind(rows::origin_to_column(user.origin))
        .bind(user.key_hash.as_ref().map(|h| h.to_hex()))
        .bind(user.key_version)
        .bind(user.created_at)
        .bind(user.revoked_at)
        .execute(&mut *tx)
        .await?;
        Statement::<S::Db>::new(BUMP_EPOCH).execute(&mut *tx).await?;
        Ok(tx.commit().await?)
    }

    async fn api_user(&self, id: &str) -> StoreResult<Option<ApiUserRecord>> {
        Ok(Statement::new(&format!("SELECT {USER_COLUMNS} FROM api_users WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.reader(), rows::api_user)
            .await?)
    }

    async fn api_users(&self) -> StoreResult<Vec<ApiUserRecord>> {
        Ok(Statement::new(&format!("SELECT {USER_COLUMNS} FROM api_users ORDER BY created_at, id"))
            .fetch_all(self.reader(), rows::api_user)
            .await?)
    }

    async fn set_api_key(&self, id: &str, key_hash: &SecretHash) -> StoreResult<Option<ApiUserRecord>> {
        let sql = format!(
            "UPDATE api_users SET key_hash = $2, key_version = key_version + 1 \
             WHERE id = $1 AND revoked_at IS NULL RETURNING {USER_COLUMNS}"
        );
        change(self, Statement::new(&sql).bind(id).bind(key_hash.to_hex()), rows::api_user).await
    }

    async fn revoke_api_user(&self, id: &str, at: i64) -> StoreResult<Option<ApiUserRecord>> {
        let sql = format!(
            "UPDATE api_users SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1 RETURNING {USER_COLUMNS}"
        );
        change(self, Statement::new(&sql).bind(id).bind(at), rows::api_user).await
    }

    async fn insert_subscription_key(&self, key: &SubscriptionKeyRecord) -> StoreResult<bool> {
        let mut tx = self.writer().begin().await?;
        let inserted = Statement::<S::Db>::new(&format!(
            "INSERT INTO subscription_keys ({KEY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING"
        ))
        .bind(&key.id)
        .bind(key.key_hash.to_hex())
        .bind(&key.hint)
        .bind(products_to_column(&key.products))
        .bind(&key.label)
        .bind(key.created_at)
        .bind(key.revoked_at)
        .execute(&mut *tx)
        .await?
            == 1;
        if inserted {
            Statement::<S::Db>::new(BUMP_EPOCH).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(inserted)
    }

    async fn subscription_key_by_hash(&self, hash: &SecretHash) -> StoreResult<Option<SubscriptionKeyRecord>> {
        Ok(Statement::new(&format!("SELECT {KEY_COLUMNS} FROM subscription_keys WHERE key_hash = $1"))
            .bind(hash.to_hex())
            .fetch_optional(self.reader(), rows::subscription_key)
            .await?)
    }

    async fn subscription_keys(&self) -> StoreResult<Vec<SubscriptionKeyRecord>> {
        Ok(Statement::new(&format!(
            "SELECT {KEY_COLUMNS} FROM subscription_keys ORDER BY created_at, products, label, id"
        ))
        .fetch_all(self.reader(), rows::subscription_key)
        .await?)
    }

    async fn replace_subscription_key(
        &self,
        id: &str,
        key_hash: &SecretHash,
        hint: &str,
    ) -> StoreResult<Option<SubscriptionKeyRecord>> {
        let sql = format!(
            "UPDATE subscription_keys SET key_hash = $2, hint = $3 WHERE id = $1 AND revoked_at IS NULL RETURNING {KEY_COLUMNS}"
        );
        change(self, Statement::new(&sql).bind(id).bind(key_hash.to_hex()).bind(hint), rows::subscription_key).await
    }

    async fn revoke_subscription_key(&self, id: &str, at: i64) -> StoreResult<Option<SubscriptionKeyRecord>> {
        let sql = format!(
            "UPDATE subscription_keys SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1 RETURNING {KEY_COLUMNS}"
        );
        change(self, Statement::new(&sql).bind(id).bind(at), rows::subscription_key).await
    }

    async fn insert_operator_token(&self, hash: &SecretHash, at: i64) -> StoreResult<bool> {
        let inserted = Statement::new(
            "INSERT INTO operator_tokens (token_hash, created_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(hash.to_hex())
        .bind(at)
        .execute(self.writer())
        .await?;
        Ok(inserted == 1)
    }

    async fn operator_token_exists(&self, hash: &SecretHash) -> StoreResult<bool> {
        let found = Statement::new("SELECT 1 AS found FROM operator_tokens WHERE token_hash = $1")
            .bind(hash.to_hex())
            .fetch_optional(self.reader(), |_| Ok(()))
            .await?;
        Ok(found.is_some())
    }

    async fn has_operator_tokens(&self) -> StoreResult<bool> {
        let found = Statement::new("SELECT 1 AS found FROM operator_tokens LIMIT 1")
            .fetch_optional(self.reader(), |_| Ok(()))
            .await?;
        Ok(found.is_some())
    }

    async fn server_secret(&self, name: &str, candidate: &[u8]) -> StoreResult<Vec<u8>> {
        Statement::new("INSERT INTO server_secrets (name, value) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(name)
            .bind(candidate)
            .execute(self.writer())
            .await?;
        Ok(Statement::new("SELECT value FROM server_secrets WHERE name = $1")
            .bind(name)
            .fetch_one(self.writer(), |row| row.get("value"))
            .await?)
    }

    async fn key_secret_hashes(
        &self,
        key_check: &[u8],
        rehash: &(dyn for<'h> Fn(&'h SecretHash) -> SecretHash + Send + Sync),
    ) -> StoreResult<KeyedHashes> {
        let mut tx = self.writer().begin().await?;
        // Claiming the check first makes concurrent first starts on one PostgreSQL
        // database wait for each other here; the later ones then find the check.
        let claimed =
            Statement::<S::Db>::new("INSERT INTO server_secrets (name, value) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(HASH_KEY_CHECK)
                .bind(key_check)
                .execute(&mut *tx)
                .await?
                == 1;
        if !claimed {
            let stored: Vec<u8> = Statement::<S::Db>::new("SELECT value FROM server_secrets WHERE name = $1")
                .bind(HASH_KEY_CHECK)
                .fetch_one(&mut *tx, |row| row.get("value"))
                .await?;
            tx.rollback().await?;
            return Ok(if stored == key_check { KeyedHashes::AlreadyKeyed } else { KeyedHashes::OtherKey });
        }
        let mut converted = 0;
        for (table, column) in HASHED_SECRETS {
            let hashes: Vec<String> =
                Statement::<S::Db>::new(&format!("SELECT {column} AS hash FROM {table} WHERE {column} IS NOT NULL"))
                    .fetch_all(&mut *tx, |row| row.get("hash"))
                    .await?;
            for old in hashes {
                let Some(plain) = SecretHash::from_hex(&old) else {
                    tracing::warn!(table, "a stored secret hash is not 64 hex digits; left as it is");
                    continue;
                };
                Statement::<S::Db>::new(&format!("UPDATE {table} SET {column} = $1 WHERE {column} = $2"))
                    .bind(rehash(&plain).to_hex())
                    .bind(&old)
                    .execute(&mut *tx)
                    .await?;
                converted += 1;
            }
        }
        if converted > 0 {
            Statement::<S::Db>::new(BUMP_EPOCH).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(KeyedHashes::Converted(converted))
    }

    async fn credentials_epoch(&self) -> StoreResult<i64> {
        Ok(Statement::new("SELECT epoch FROM credentials_epoch WHERE id = 1")
            .fetch_one(self.reader(), |row| row.get("epoch"))
            .await?)
    }
}

/// Run a credential change (an `UPDATE … RETURNING`) and, if it changed a row, bump the
/// credentials epoch in the same transaction. Returns the changed row.
async fn change<'q, S: SqlStore, R>(
    store: &S,
    change: Statement<'q, 'q, S::Db>,
    decode: fn(&Row<'_, S::Db>) -> sqlx::Result<R>,
) -> StoreResult<Option<R>> {
    let mut tx = store.writer().begin().await?;
    let changed = change.fetch_optional(&mut *tx, decode).await?;
    if changed.is_some() {
        Statement::<S::Db>::new(BUMP_EPOCH).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(changed)
}
