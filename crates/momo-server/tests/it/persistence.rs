//! Durability: restarts, shared databases, and what the database file holds.

use std::time::{Duration, Instant};

use momo_server::Clock;
use reqwest::{Method, StatusCode};
use secrecy::SecretString;

use crate::helpers::*;

/// Acceptance 4 (SQLite): keys, users and tokens survive a restart.
#[tokio::test]
async fn users_keys_and_tokens_survive_a_restart() {
    let app = spawn_app().await;
    let (user, key) = app.sandbox_user().await;
    let token = app.access_token("collection", &user, &key).await;
    let dir = app.data_dir.clone();
    app.stop().await;

    let settings = test_settings(dir.path());
    let app = start(settings, dir, Clock::manual()).await;
    assert_eq!(app.balance("collection", &token, "sandbox").await.status(), StatusCode::OK);
    assert_eq!(app.token("collection", &user, &key).await.status(), StatusCode::OK);
    assert_answer(app.create_api_user(&user, "webhook.site").await, 409, ALREADY_EXISTS_BODY).await;
}

/// Acceptance 6: the database files never contain an issued API key, subscription key or
/// operator token.
#[tokio::test]
async fn secrets_never_reach_the_database_files() {
    let app = spawn_app().await;
    let (user, key) = app.sandbox_user().await;
    let created: serde_json::Value = app
        .admin(
            Method::POST,
            "/users",
            Some(serde_json::json!({"environment": "mtnzambia", "providerCallbackHost": "z.example"})),
        )
        .await
        .json()
        .await
        .unwrap();
    let operator_key = created["apiKey"].as_str().unwrap().to_owned();
    let token = app.access_token("collection", &user, &key).await;
    assert_eq!(app.balance("collection", &token, "sandbox").await.status(), StatusCode::OK);
    let dir = app.data_dir.clone();
    app.stop().await;

    // The last connection may still be closing: SQLite then checkpoints the WAL into momo.db and
    // deletes it, possibly between listing and reading. Read again until the files hold still.
    let mut bytes = Vec::new();
    for _ in 0..100 {
        let read: std::io::Result<Vec<u8>> = std::fs::read_dir(dir.path()).and_then(|entries| {
            let mut all = Vec::new();
            for entry in entries {
                all.extend(std::fs::read(entry?.path())?);
            }
            Ok(all)
        });
        match read {
            Ok(all) => {
                bytes = all;
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
    assert!(bytes.len() > 4096, "the database was written");
    let contains = |needle: &str| bytes.windows(needle.len()).any(|w| w == needle.as_bytes());
    assert!(contains(&user), "sanity: the user id is stored");
    for secret in [key.as_str(), operator_key.as_str(), COLLECTION_KEY, DISBURSEMENT_KEY, ADMIN_TOKEN] {
        assert!(!contains(secret), "{secret} is in the database files");
    }
}

/// Two instances on one database: a revocation made through one reaches the other's cache.
async fn revocation_reaches_the_other_instance(first: &TestApp, second: &TestApp) {
    let (user, key) = first.sandbox_user().await;
    let token = second.access_token("collection", &user, &key).await;
    assert_eq!(first.balance("collection", &token, "sandbox").await.status(), StatusCode::OK);
    assert_eq!(second.balance("collection", &token, "sandbox").await.status(), StatusCode::OK);

    assert_eq!(first.admin(Method::DELETE, &format!("/users/{user}"), None).await.status(), StatusCode::OK);
    assert_eq!(first.balance("collection", &token, "sandbox").await.status(), StatusCode::UNAUTHORIZED);
    // The other instance notices within its refresh interval (50 ms in tests; 250 ms by default).
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let status = second.balance("collection", &token, "sandbox").await.status();
        if status == StatusCode::UNAUTHORIZED {
            break;
        }
        assert!(Instant::now() < deadline, "the second instance still accepts a revoked user's token");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn two_instances_sharing_a_sqlite_file_share_users_and_revocations() {
    let first = spawn_app().await;
    let second = start(test_settings(first.data_dir.path()), first.data_dir.clone(), Clock::manual()).await;
    revocation_reaches_the_other_instance(&first, &second).await;
}

#[tokio::test]
async fn two_instances_sharing_postgres_share_users_tokens_and_revocations() {
    let Some(url) = fresh_postgres_database().await else { return };
    let dir = std::sync::Arc::new(tempfile::tempdir().unwrap());
    let settings = || {
        let mut settings = test_settings(dir.path());
        settings.database_url = Some(SecretString::from(url.clone()));
        settings
    };
    let first = start(settings(), dir.clone(), Clock::manual()).await;
    let second = start(settings(), dir.clone(), Clock::manual()).await;
    let response = first.client.get(first.url("/_momo/health")).send().await.unwrap();
    assert_answer(response, 200, r#"{"database":"postgres","status":"ok"}"#).await;
    revocation_reaches_the_other_instance(&first, &second).await;

    // One reference id, two instances, at once: still exactly one 201.
    let id = uuid::Uuid::new_v4().to_string();
    let (a, b) = tokio::join!(first.create_api_user(&id, "webhook.site"), second.create_api_user(&id, "webhook.site"));
    let mut statuses = [a.status().as_u16(), b.status().as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 409]);
}

/// Two instances settle the same transactions at once (the background settler on one, status
/// requests on both): a status request never fails, and each transaction ends final once, its
/// money booked once.
#[tokio::test]
async fn concurrent_settlement_on_two_postgres_instances_never_fails_a_status_request() {
    let Some(url) = fresh_postgres_database().await else { return };
    let dir = std::sync::Arc::new(tempfile::tempdir().unwrap());
    let clock = Clock::manual();
    let settings = || {
        let mut settings = test_settings(dir.path());
        settings.database_url = Some(SecretString::from(url.clone()));
        settings.pending_delay = Duration::ZERO;
        settings.worker_interval = Duration::from_millis(5);
        settings
    };
    let first = start(settings(), dir.clone(), clock.clone()).await;
    let second = start(settings(), dir.clone(), clock.clone()).await;
    let (_, token) = payer_ready(&first).await;
    let mut work = tokio::task::JoinSet::new();
    for i in 0..400 {
        let (a, b) = (first.url(""), second.url(""));
        let (client, token) = (first.client.clone(), token.clone());
        work.spawn(async move {
            let id = uuid::Uuid::new_v4().to_string();
            let (create_on, poll_on) = if i % 2 == 0 { (a, b) } else { (b, a) };
            let body = serde_json::json!({"amount": "1", "currency": "EUR", "payer": {"partyIdType": "MSISDN", "partyId": "56733123453"}});
            let created = client
                .post(format!("{create_on}/collection/v1_0/requesttopay"))
                .header("Ocp-Apim-Subscription-Key", COLLECTION_KEY)
                .bearer_auth(&token)
                .header("X-Target-Environment", "sandbox")
                .header("X-Reference-Id", &id)
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(created.status(), StatusCode::ACCEPTED);
            let mut statuses = Vec::new();
            for _ in 0..3 {
                let polled = client
                    .get(format!("{poll_on}/collection/v1_0/requesttopay/{id}"))
                    .header("Ocp-Apim-Subscription-Key", COLLECTION_KEY)
                    .bearer_auth(&token)
                    .header("X-Target-Environment", "sandbox")
                    .send()
                    .await
                    .unwrap();
                statuses.push(polled.status().as_u16());
            }
            statuses
        });
    }
    for statuses in work.join_all().await {
        assert!(statuses.iter().all(|s| *s == 200), "a status request failed: {statuses:?}");
    }
    // Every transaction booked once: 400 × 1 EUR in the API user's collection account.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let balance: serde_json::Value = first.balance("collection", &token, "sandbox").await.json().await.unwrap();
        if balance["availableBalance"] == "400" {
            break;
        }
        assert!(Instant::now() < deadline, "balance never reached 400: {balance}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
