//! One conformance suite for the `Store` contract, run on SQLite and on PostgreSQL.

use std::sync::Arc;

use momo_server::store::{
    self, ApiUserRecord, CredentialStyle, SecretHash, Store, StoreError, SubscriptionKeyRecord, UserOrigin,
};
use momo_types::Product;

use crate::helpers::fresh_postgres_database;

fn user(id: &str) -> ApiUserRecord {
    ApiUserRecord {
        id: id.to_owned(),
        environment: "sandbox".into(),
        provider_callback_host: "webhook.site".into(),
        payment_server_url: None,
        credential_style: CredentialStyle::ApiKey,
        origin: UserOrigin::SandboxProvisioning,
        key_hash: None,
        key_version: 0,
        created_at: 1_000,
        revoked_at: None,
    }
}

fn key(id: &str, value: &str, products: &[Product]) -> SubscriptionKeyRecord {
    SubscriptionKeyRecord {
        id: id.to_owned(),
        key_hash: SecretHash::of(value),
        hint: value.chars().take(4).collect(),
        products: products.to_vec(),
        label: "primary".into(),
        created_at: 2_000,
        revoked_at: None,
    }
}

async fn api_users_roundtrip_and_ids_are_unique(store: Arc<dyn Store>) {
    let epoch = store.credentials_epoch().await.unwrap();
    store.insert_api_user(&user("u1")).await.unwrap();
    assert!(store.credentials_epoch().await.unwrap() > epoch, "a new user bumps the epoch");
    assert!(matches!(store.insert_api_user(&user("u1")).await, Err(StoreError::Conflict)));
    assert_eq!(store.api_user("u1").await.unwrap(), Some(user("u1")));
    assert_eq!(store.api_user("nobody").await.unwrap(), None);
    store.insert_api_user(&user("u2")).await.unwrap();
    let ids: Vec<_> = store.api_users().await.unwrap().into_iter().map(|u| u.id).collect();
    assert_eq!(ids, ["u1", "u2"]);
}

async fn keys_replace_and_revocation_is_final(store: Arc<dyn Store>) {
    store.insert_api_user(&user("u1")).await.unwrap();
    let first = store.set_api_key("u1", &SecretHash::of("k1")).await.unwrap().unwrap();
    assert_eq!(first.key_version, 1);
    assert!(first.key_hash.as_ref().unwrap().matches("k1"));
    let epoch = store.credentials_epoch().await.unwrap();
    let second = store.set_api_key("u1", &SecretHash::of("k2")).await.unwrap().unwrap();
    assert_eq!(second.key_version, 2);
    assert!(!second.key_hash.as_ref().unwrap().matches("k1"));
    assert!(store.credentials_epoch().await.unwrap() > epoch);
    assert!(store.set_api_key("nobody", &SecretHash::of("k")).await.unwrap().is_none());

    let revoked = store.revoke_api_user("u1", 5_000).await.unwrap().unwrap();
    assert_eq!(revoked.revoked_at, Some(5_000));
    let again = store.revoke_api_user("u1", 9_000).await.unwrap().unwrap();
    assert_eq!(again.revoked_at, Some(5_000), "the first revocation time is kept");
    assert!(store.set_api_key("u1", &SecretHash::of("k3")).await.unwrap().is_none(), "no key for a revoked user");
    assert!(store.revoke_api_user("nobody", 1).await.unwrap().is_none());
}

async fn subscription_keys_are_found_by_hash_replaced_and_revoked(store: Arc<dyn Store>) {
    assert!(store.insert_subscription_key(&key("s1", "value-one", &Product::ALL)).await.unwrap());
    assert!(!store.insert_subscription_key(&key("s2", "value-one", &[Product::Collection])).await.unwrap());
    assert!(store.insert_subscription_key(&key("s3", "value-two", &[Product::Remittance])).await.unwrap());
    let found = store.subscription_key_by_hash(&SecretHash::of("value-one")).await.unwrap().unwrap();
    assert_eq!(found, key("s1", "value-one", &Product::ALL));
    assert!(found.admits(Some(Product::Disbursement)) && found.admits(None));
    let two = store.subscription_key_by_hash(&SecretHash::of("value-two")).await.unwrap().unwrap();
    assert!(!two.admits(Some(Product::Collection)));

    let replaced = store.replace_subscription_key("s3", &SecretHash::of("value-three"), "valu").await.unwrap().unwrap();
    assert_eq!(replaced.id, "s3");
    assert!(store.subscription_key_by_hash(&SecretHash::of("value-two")).await.unwrap().is_none());
    let revoked = store.revoke_subscription_key("s3", 7).await.unwrap().unwrap();
    assert!(!revoked.admits(Some(Product::Remittance)));
    assert!(store.replace_subscription_key("s3", &SecretHash::of("x"), "x").await.unwrap().is_none());
    assert_eq!(store.subscription_keys().await.unwrap().len(), 2);
}

async fn operator_tokens_and_server_secrets(store: Arc<dyn Store>) {
    assert!(!store.has_operator_tokens().await.unwrap());
    assert!(store.insert_operator_token(&SecretHash::of("op"), 1).await.unwrap());
    assert!(!store.insert_operator_token(&SecretHash::of("op"), 2).await.unwrap());
    assert!(store.has_operator_tokens().await.unwrap());
    assert!(store.operator_token_exists(&SecretHash::of("op")).await.unwrap());
    assert!(!store.operator_token_exists(&SecretHash::of("other")).await.unwrap());

    let first = store.server_secret("signing", b"first").await.unwrap();
    let second = store.server_secret("signing", b"second").await.unwrap();
    assert_eq!((first.as_slice(), second.as_slice()), (&b"first"[..], &b"first"[..]));
    assert_eq!(store.balance("api-user:u1:collection").await.unwrap(), 0);
    store.ping().await.unwrap();
}

async fn concurrent_inserts_of_one_id_conflict(store: Arc<dyn Store>) {
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let store = store.clone();
        set.spawn(async move { store.insert_api_user(&user("same")).await });
    }
    let results = set.join_all().await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
    assert!(results.iter().filter(|r| r.is_err()).all(|r| matches!(r, Err(StoreError::Conflict))));
}

async fn sqlite() -> (Arc<dyn Store>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("momo.db").display());
    (store::open(&url).await.unwrap(), dir)
}

macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    let (store, _dir) = super::sqlite().await;
                    assert_eq!(store.backend(), "sqlite");
                    super::$name(store).await;
                }
            )*
        }
        mod on_postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    let Some(url) = super::fresh_postgres_database().await else { return };
                    let store = momo_server::store::open(&url).await.unwrap();
                    assert_eq!(store.backend(), "postgres");
                    super::$name(store).await;
                }
            )*
        }
    };
}

conformance!(
    api_users_roundtrip_and_ids_are_unique,
    keys_replace_and_revocation_is_final,
    subscription_keys_are_found_by_hash_replaced_and_revoked,
    operator_tokens_and_server_secrets,
    concurrent_inserts_of_one_id_conflict,
);
