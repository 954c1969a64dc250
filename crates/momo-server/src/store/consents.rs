//! The consents area of the store: bc-authorize requests and the refresh tokens they lead to.

use async_trait::async_trait;

use super::{SecretHash, StoreResult};

/// Consent requests (bc-authorize), and the refresh tokens their use gives.
#[async_trait]
pub trait Consents: Send + Sync {
    /// Record a consent request.
    async fn insert_consent(&self, consent: &ConsentRecord) -> StoreResult<()>;
    async fn consent(&self, auth_req_id: &str) -> StoreResult<Option<ConsentRecord>>;
    async fn consent_by_refresh_token(&self, hash: &SecretHash) -> StoreResult<Option<ConsentRecord>>;
    /// Mark a consent used and give it a refresh token; `false` if it was used already.
    async fn use_consent(
        &self,
        auth_req_id: &str,
        refresh: &SecretHash,
        refresh_expires_at: i64,
        now: i64,
    ) -> StoreResult<bool>;
}

/// A consent request (bc-authorize).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentRecord {
    pub auth_req_id: String,
    pub api_user: String,
    pub environment: String,
    pub msisdn: String,
    pub scope: String,
    pub access_type: String,
    /// `approved`, or the OAuth2 error the token request gets (`access_denied`, …).
    pub outcome: String,
    /// Before this, the token request gets `authorization_pending`.
    pub ready_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    pub refresh_expires_at: Option<i64>,
    pub created_at: i64,
}
