//! What protects the server's secrets: private files, and tokens that cannot outlive the
//! configured lifetime even when signed with the right key.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::sync::Arc;

use momo_server::Clock;
use reqwest::StatusCode;

use crate::helpers::{spawn_app, start, test_settings, UNAUTHORIZED_BODY};

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

#[tokio::test]
async fn data_directory_is_0700_and_database_files_0600_whatever_the_umask() {
    let root = Arc::new(tempfile::tempdir().unwrap());
    // The umask of the test process is typically 022: without the server's care the
    // directory would be 0755 and the files 0644.
    let dir = root.path().join("data");
    let app = start(test_settings(&dir), root.clone(), Clock::manual()).await;
    let (user, key) = app.sandbox_user().await;
    assert_eq!(app.token("collection", &user, &key).await.status(), StatusCode::OK);
    assert_eq!(mode(&dir), 0o700);
    for file in ["momo.db", "momo.db-wal", "momo.db-shm"] {
        let path = dir.join(file);
        assert!(path.exists(), "{file} exists while the server runs");
        assert_eq!(mode(&path), 0o600, "{file}");
    }
    app.stop().await;
}

#[tokio::test]
async fn an_existing_open_data_directory_is_tightened_and_a_writable_one_refused() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("data");
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let app = momo_server::Application::build(test_settings(&dir)).await.unwrap();
    drop(app);
    assert_eq!(mode(&dir), 0o700);

    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let refused = momo_server::Application::build(test_settings(&dir)).await.unwrap_err().to_string();
    assert!(refused.contains("can be written by other users"), "{refused}");
}

/// Someone who got the signing key (the threat private files close) forges a token that
/// expires in a year: the server still ends it after its own token lifetime.
#[tokio::test]
async fn a_token_signed_with_the_right_key_is_refused_past_the_configured_lifetime() {
    let app = spawn_app().await;
    let (user, key) = app.sandbox_user().await;
    let genuine = app.access_token("collection", &user, &key).await;
    assert_eq!(app.balance("collection", &genuine, "sandbox").await.status(), StatusCode::OK);

    let url = format!("sqlite://{}?mode=ro", app.data_dir.path().join("momo.db").display());
    let db = sqlx::SqlitePool::connect(&url).await.unwrap();
    let signing_key: Vec<u8> = sqlx::query_scalar("SELECT value FROM server_secrets WHERE name = 'token-signing-key'")
        .fetch_one(&db)
        .await
        .unwrap();
    db.close().await;

    let now = app.clock.now().unix_timestamp();
    let forge = |iat: i64, exp: i64| {
        let claims = serde_json::json!({
            "clientId": user, "expires": "2099-01-01T00:00:00.000", "sessionId": uuid::Uuid::new_v4().to_string(),
            "exp": exp, "iat": iat, "env": "sandbox", "prd": "collection", "kv": 1,
        });
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(&signing_key),
        )
        .unwrap()
    };
    let year = 365 * 24 * 3600;
    // Within the lifetime (3,600 s by default), the forged token is as good as a real one,
    // which shows the forgery itself is right...
    let recent = forge(now - 60, now + year);
    assert_eq!(app.balance("collection", &recent, "sandbox").await.status(), StatusCode::OK);
    // ...but issued two hours ago or "in the future", it is refused despite its expiry.
    for stale in [forge(now - 7200, now + year), forge(now + 7200, now + year)] {
        let response = app.balance("collection", &stale, "sandbox").await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(response.text().await.unwrap(), UNAUTHORIZED_BODY);
    }
    app.stop().await;
}

/// A database from before keyed hashes: plain SHA-256 of a pinned subscription key and of an
/// operator token, and no key check. The next start converts them in place: the same values
/// still work, and the database no longer holds anything a guess could be checked against
/// without the key file. A start with another key file is refused.
#[tokio::test]
async fn plain_hashes_of_an_older_database_are_keyed_on_start_and_another_key_is_refused() {
    use sha2::Digest as _;
    let root = Arc::new(tempfile::tempdir().unwrap());
    let dir = root.path().join("data");
    let app = start(test_settings(&dir), root.clone(), Clock::manual()).await;
    app.stop().await;

    let sha256 = |value: &str| hex::encode(sha2::Sha256::digest(value.as_bytes()));
    let (pinned, operator) = ("chosen-by-a-person", "an-operator-token-chosen-by-a-person");
    let url = format!("sqlite://{}", dir.join("momo.db").display());
    let db = sqlx::SqlitePool::connect(&url).await.unwrap();
    for statement in [
        "DELETE FROM server_secrets WHERE name = 'credential-hash-key-check'".to_owned(),
        format!(
            "INSERT INTO subscription_keys (id, key_hash, hint, products, label, created_at) \
             VALUES ('old', '{}', 'chos', 'collection', 'pinned', 0)",
            sha256(pinned)
        ),
        format!("INSERT INTO operator_tokens (token_hash, created_at) VALUES ('{}', 0)", sha256(operator)),
    ] {
        sqlx::query(&statement).execute(&db).await.unwrap();
    }
    db.close().await;

    let mut settings = test_settings(&dir);
    settings.subscription_keys.clear();
    settings.admin_token = None;
    let app = start(settings, root.clone(), Clock::manual()).await;
    let created = app
        .client
        .post(app.url("/v1_0/apiuser"))
        .header("Ocp-Apim-Subscription-Key", pinned)
        .header("X-Reference-Id", uuid::Uuid::new_v4().to_string())
        .json(&serde_json::json!({"providerCallbackHost": "webhook.site"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED, "the old pinned key still works");
    let users = app.client.get(app.url("/_momo/admin/users")).bearer_auth(operator).send().await.unwrap();
    assert_eq!(users.status(), StatusCode::OK, "the old operator token still works");
    app.stop().await;

    let db = sqlx::SqlitePool::connect(&format!("{url}?mode=ro")).await.unwrap();
    let stored: Vec<String> = sqlx::query_scalar(
        "SELECT key_hash FROM subscription_keys UNION ALL SELECT token_hash FROM operator_tokens \
         UNION ALL SELECT key_hash FROM api_users WHERE key_hash IS NOT NULL",
    )
    .fetch_all(&db)
    .await
    .unwrap();
    db.close().await;
    assert!(stored.len() >= 3);
    for plain in [sha256(pinned), sha256(operator)] {
        assert!(!stored.contains(&plain), "a plain SHA-256 is left in the database");
    }

    std::fs::write(dir.join("credential-hash.key"), format!("{}\n", "ab".repeat(32))).unwrap();
    let refused = momo_server::Application::build(test_settings(&dir)).await.unwrap_err().to_string();
    assert!(refused.contains("another credential hash key"), "{refused}");
}
