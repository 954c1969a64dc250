//! What a start does before serving: load (or create) the token signing key, apply pinned
//! subscription keys and operator token, and on first start create a subscription (primary and
//! secondary key) for each product without one, and an operator token if there is none.

use momo_types::Product;
use secrecy::{ExposeSecret, SecretString};

use crate::config::Settings;
use crate::domain::credentials::{generate_operator_token, generate_signing_key, SecretHasher};
use crate::domain::tokens::TokenSigner;
use crate::service::credentials::add_subscription_key;
use crate::store::{KeyedHashes, Store};

const SIGNING_KEY: &str = "token-signing-key";
const CALLBACK_ROOT: &str = "callback-signing-root";

/// A subscription key created by this start, to show once.
#[derive(Debug)]
pub struct CreatedKey {
    pub product: Product,
    pub label: String,
    pub key: SecretString,
}

/// The credentials this start created (empty on later starts).
#[derive(Debug, Default)]
pub struct Created {
    pub subscription_keys: Vec<CreatedKey>,
    pub operator_token: Option<SecretString>,
}

impl Created {
    pub fn is_empty(&self) -> bool {
        self.subscription_keys.is_empty() && self.operator_token.is_none()
    }
}

/// What a start prepared.
#[derive(Debug)]
pub(crate) struct Prepared {
    pub tokens: TokenSigner,
    pub callback_root: Vec<u8>,
    pub created: Created,
}

pub(crate) async fn run(
    store: &dyn Store,
    settings: &Settings,
    hasher: &SecretHasher,
    key_file: &std::path::Path,
    now: i64,
) -> anyhow::Result<Prepared> {
    match store.key_secret_hashes(&hasher.key_check(), &|old| hasher.rehash(old)).await? {
        KeyedHashes::Converted(0) | KeyedHashes::AlreadyKeyed => {}
        KeyedHashes::Converted(n) => tracing::info!(secrets = n, "stored secret hashes are now keyed"),
        KeyedHashes::OtherKey => anyhow::bail!(
            "the secrets in this database were hashed with another credential hash key than {}: give this \
             instance the key file of the instance that created the database (--credential-hash-key-file)",
            key_file.display()
        ),
    }
    let signing_key = store.server_secret(SIGNING_KEY, &generate_signing_key()).await?;
    let signer = TokenSigner::new(&signing_key, settings.token_ttl);
    let callback_root = store.server_secret(CALLBACK_ROOT, &generate_signing_key()).await?;
    let mut created = Created::default();

    for pinned in &settings.subscription_keys {
        let products = pinned.product.map_or_else(|| Product::ALL.to_vec(), |p| vec![p]);
        let value = pinned.key.expose_secret().to_owned();
        match add_subscription_key(store, hasher, &products, "pinned", Some(value), now).await {
            Ok(_) | Err(crate::error::ApiError::ResourceAlreadyExist) => {}
            Err(e) => anyhow::bail!("could not store a pinned subscription key: {e}"),
        }
    }
    let existing = store.subscription_keys().await?;
    for product in Product::ALL {
        if existing.iter().any(|k| k.products.contains(&product)) {
            continue;
        }
        for label in ["primary", "secondary"] {
            let (_, key) = add_subscription_key(store, hasher, &[product], label, None, now)
                .await
                .map_err(|e| anyhow::anyhow!("could not create a subscription key: {e}"))?;
            created.subscription_keys.push(CreatedKey { product, label: label.into(), key: key.into() });
        }
    }

    if let Some(token) = &settings.admin_token {
        store.insert_operator_token(&hasher.hash(token.expose_secret()), now).await?;
    }
    if !store.has_operator_tokens().await? {
        let token = generate_operator_token();
        store.insert_operator_token(&hasher.hash(&token), now).await?;
        created.operator_token = Some(token.into());
    }
    Ok(Prepared { tokens: signer, callback_root, created })
}
