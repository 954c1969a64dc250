//! Storage: one [`Store`] contract, two engines.
//!
//! - [`sqlite::SqliteStore`], the embedded default: WAL, `synchronous=FULL` (a commit is on disk
//!   before it is acknowledged), one writer connection and a small pool of readers.
//! - [`postgres::PgStore`], for several instances sharing one database.
//!
//! Both run the same SQL (written once in [`sql`]) and the same conformance tests
//! (`tests/it/store_conformance.rs`). Migrations are embedded in the binary and run at start.
//!
//! Secrets are stored only as [`SecretHash`]es. Every change to credentials bumps a counter,
//! the *credentials epoch*, in the same transaction; instances watch it to drop cached entries.

use std::fmt;

use async_trait::async_trait;
use momo_types::Product;

pub use crate::domain::credentials::SecretHash;

mod migrations;
pub mod postgres;
mod sql;
pub mod sqlite;

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness constraint refused the write (a reused id).
    #[error("conflict: the record exists already")]
    Conflict,
    #[error(transparent)]
    Backend(#[from] sqlx::Error),
}

impl StoreError {
    fn from_sqlx(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict,
            _ => StoreError::Backend(e),
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

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

/// The storage contract.
#[async_trait]
pub trait Store: Send + Sync + fmt::Debug {
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;

    /// Whether the database answers.
    async fn ping(&self) -> StoreResult<()>;

    /// Insert a new API user; [`StoreError::Conflict`] if the id exists.
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

    /// The credentials epoch: changes whenever a user, key or subscription key changes.
    async fn credentials_epoch(&self) -> StoreResult<i64>;

    /// The balance of a ledger account, in minor units.
    async fn balance(&self, account: &str, currency: &str) -> StoreResult<i64>;
}

/// Open the store a URL names (`sqlite://…` or `postgres://…`) and run its migrations.
pub async fn open(url: &str) -> anyhow::Result<std::sync::Arc<dyn Store>> {
    if url.starts_with("sqlite:") {
        Ok(std::sync::Arc::new(sqlite::SqliteStore::open(url).await?))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Ok(std::sync::Arc::new(postgres::PgStore::open(url).await?))
    } else {
        anyhow::bail!("unsupported database URL: it must start with sqlite:// or postgres://")
    }
}

fn products_to_column(products: &[Product]) -> String {
    products.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(",")
}

fn products_from_column(column: &str) -> Vec<Product> {
    column.split(',').filter_map(|p| p.parse().ok()).collect()
}

fn style_to_column(style: CredentialStyle) -> &'static str {
    match style {
        CredentialStyle::ApiKey => "api-key",
        CredentialStyle::MomoAfrica => "momo-africa",
    }
}

fn style_from_column(column: &str) -> CredentialStyle {
    match column {
        "momo-africa" => CredentialStyle::MomoAfrica,
        _ => CredentialStyle::ApiKey,
    }
}

fn origin_to_column(origin: UserOrigin) -> &'static str {
    match origin {
        UserOrigin::SandboxProvisioning => "sandbox-provisioning",
        UserOrigin::Operator => "operator",
    }
}

fn origin_from_column(column: &str) -> UserOrigin {
    match column {
        "sandbox-provisioning" => UserOrigin::SandboxProvisioning,
        _ => UserOrigin::Operator,
    }
}
