//! The credentials area of the store: API users, subscription keys, operator tokens, server
//! secrets, and the credentials epoch that every change to them bumps.

use std::fmt;

use async_trait::async_trait;
use momo_types::Product;

use super::{SecretHash, StoreResult};

/// Who created an API user.
pub use momo_types::admin::{CredentialStyle, UserOrigin};

/// An API user as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiUserRecord {
    pub id: String,
    pub environment: String,
    pub provider_callback_host: String,
    pub payment_server_url: Option<String>,
    pub credential_style: CredentialStyle,
    pub origin: UserOrigin,
    /// `None` until a key is issued.
    pub key_hash: Option<SecretHash>,
    /// Bumped by each new key; tokens carry the version they were issued under.
    pub key_version: i64,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

impl ApiUserRecord {
    /// A token request for this API user under its current key.
    pub fn token_request(
        &self,
        product: Product,
        consent: Option<crate::domain::tokens::ConsentClaims>,
    ) -> crate::domain::tokens::TokenRequest {
        crate::domain::tokens::TokenRequest {
            api_user: self.id.clone(),
            environment: self.environment.clone(),
            product,
            key_version: self.key_version,
            consent,
        }
    }
}

impl fmt::Debug for ApiUserRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiUserRecord")
            .field("id", &self.id)
            .field("environment", &self.environment)
            .field("origin", &self.origin)
            .field("key_version", &self.key_version)
            .field("revoked_at", &self.revoked_at)
            .finish_non_exhaustive()
    }
}

/// A subscription key as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionKeyRecord {
    pub id: String,
    pub key_hash: SecretHash,
    pub hint: String,
    pub products: Vec<Product>,
    pub label: String,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

impl SubscriptionKeyRecord {
    /// Whether the key lets a request for `product` through (`None`: provisioning, any product).
    pub fn admits(&self, product: Option<Product>) -> bool {
        self.revoked_at.is_none() && product.is_none_or(|p| self.products.contains(&p))
    }
}

/// API users, subscription keys, operator tokens and server secrets. Secrets are stored only as
/// [`SecretHash`]es; every change bumps the credentials epoch in the same transaction.
#[async_trait]
pub trait Credentials: Send + Sync {
    /// Insert a new API user; [`StoreError::Conflict`](super::StoreError::Conflict) if the id exists.
    async fn insert_api_user(&self, user: &ApiUserRecord) -> StoreResult<()>;
    async fn api_user(&self, id: &str) -> StoreResult<Option<ApiUserRecord>>;
    async fn api_users(&self) -> StoreResult<Vec<ApiUserRecord>>;
    /// Replace the key of a user that is not revoked; bumps its key version. `None` if there is
    /// no such user or it is revoked.
    async fn set_api_key(&self, id: &str, key_hash: &SecretHash) -> StoreResult<Option<ApiUserRecord>>;
    /// Revoke a user; `None` if there is no such user. Revoking twice keeps the first time.
    async fn revoke_api_user(&self, id: &str, at: i64) -> StoreResult<Option<ApiUserRecord>>;

    /// Insert a subscription key; `false` if a key with that hash exists already.
    async fn insert_subscription_key(&self, key: &SubscriptionKeyRecord) -> StoreResult<bool>;
    async fn subscription_key_by_hash(&self, hash: &SecretHash) -> StoreResult<Option<SubscriptionKeyRecord>>;
    async fn subscription_keys(&self) -> StoreResult<Vec<SubscriptionKeyRecord>>;
    /// Give a key a new value (the old one stops working); `None` if there is no such key or it
    /// is revoked.
    async fn replace_subscription_key(
        &self,
        id: &str,
        key_hash: &SecretHash,
        hint: &str,
    ) -> StoreResult<Option<SubscriptionKeyRecord>>;
    async fn revoke_subscription_key(&self, id: &str, at: i64) -> StoreResult<Option<SubscriptionKeyRecord>>;

    /// Add an operator token; `false` if it exists already.
    async fn insert_operator_token(&self, hash: &SecretHash, at: i64) -> StoreResult<bool>;
    async fn operator_token_exists(&self, hash: &SecretHash) -> StoreResult<bool>;
    async fn has_operator_tokens(&self) -> StoreResult<bool>;

    /// The server secret called `name`: stores `candidate` if there is none yet, and returns
    /// whichever value won (so concurrent first starts agree).
    async fn server_secret(&self, name: &str, candidate: &[u8]) -> StoreResult<Vec<u8>>;

    /// Make every stored secret hash keyed, once per database: if the database has no key check
    /// yet, store `key_check` and replace each stored hash `h` (API keys, subscription keys,
    /// operator tokens, refresh tokens) by `rehash(h)`, all in one transaction. Says whether it
    /// converted, found the same key's check, or found another key's.
    async fn key_secret_hashes(
        &self,
        key_check: &[u8],
        rehash: &(dyn for<'h> Fn(&'h SecretHash) -> SecretHash + Send + Sync),
    ) -> StoreResult<KeyedHashes>;

    /// The credentials epoch: changes whenever a user, key or subscription key changes.
    async fn credentials_epoch(&self) -> StoreResult<i64>;
}

/// What [`Credentials::key_secret_hashes`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyedHashes {
    /// The database had plain hashes (or none yet): this many were converted.
    Converted(u64),
    /// The database's hashes are keyed with this key already.
    AlreadyKeyed,
    /// The database's hashes are keyed with another key.
    OtherKey,
}
