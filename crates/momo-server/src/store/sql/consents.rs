//! The SQL of [`Consents`], for both engines.

use async_trait::async_trait;

use super::{rows, SqlStore};
use crate::store::engine::Statement;
use crate::store::{ConsentRecord, Consents, SecretHash, StoreResult};

const CONSENT_COLUMNS: &str = "auth_req_id, api_user, environment, msisdn, scope, access_type, outcome, \
     ready_at, expires_at, used_at, refresh_expires_at, created_at";

#[async_trait]
impl<S: SqlStore> Consents for S {
    async fn insert_consent(&self, c: &ConsentRecord) -> StoreResult<()> {
        Statement::new(
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
        .await?;
        Ok(())
    }

    async fn consent(&self, auth_req_id: &str) -> StoreResult<Option<ConsentRecord>> {
        Ok(Statement::new(&format!("SELECT {CONSENT_COLUMNS} FROM consents WHERE auth_req_id = $1"))
            .bind(auth_req_id)
            .fetch_optional(self.reader(), rows::consent)
            .await?)
    }

    async fn consent_by_refresh_token(&self, hash: &SecretHash) -> StoreResult<Option<ConsentRecord>> {
        Ok(Statement::new(&format!("SELECT {CONSENT_COLUMNS} FROM consents WHERE refresh_token_hash = $1"))
            .bind(hash.to_hex())
            .fetch_optional(self.reader(), rows::consent)
            .await?)
    }

    async fn use_consent(
        &self,
        auth_req_id: &str,
        refresh: &SecretHash,
        refresh_expires_at: i64,
        now: i64,
    ) -> StoreResult<bool> {
        let used = Statement::new(
            "UPDATE consents SET used_at = $4, refresh_token_hash = $2, refresh_expires_at = $3 \
             WHERE auth_req_id = $1 AND used_at IS NULL",
        )
        .bind(auth_req_id)
        .bind(refresh.to_hex())
        .bind(refresh_expires_at)
        .bind(now)
        .execute(self.writer())
        .await?;
        Ok(used == 1)
    }
}
