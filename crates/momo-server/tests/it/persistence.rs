//! Durability: restarts, shared databases, and what the database file holds.

use std::time::{Duration, Instant};

use momo_server::Clock;
use reqwest::{Method, StatusCode};
use secrecy::SecretString;
use serde_json::{json, Value};

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
    let health: serde_json::Value =
        first.client.get(first.url("/_momo/health")).send().await.unwrap().json().await.unwrap();
    assert_eq!((health["database"].as_str(), health["status"].as_str()), (Some("postgres"), Some("ok")));
    revocation_reaches_the_other_instance(&first, &second).await;

    // One reference id, two instances, at once: still exactly one 201.
    let id = uuid::Uuid::new_v4().to_string();
    let (a, b) = tokio::join!(first.create_api_user(&id, "webhook.site"), second.create_api_user(&id, "webhook.site"));
    let mut statuses = [a.status().as_u16(), b.status().as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 409]);
}

/// Fault rules live in the database: a rule added through one instance applies on the other, its
/// count is used up by both together, and removing it stops it on the other at once (before that
/// instance's next refresh of its copy of the rules).
#[tokio::test]
async fn fault_rules_on_two_postgres_instances_are_shared_counted_and_removed_everywhere() {
    let Some(url) = fresh_postgres_database().await else { return };
    let dir = std::sync::Arc::new(tempfile::tempdir().unwrap());
    let settings = |refresh: Duration| {
        let mut settings = test_settings(dir.path());
        settings.database_url = Some(SecretString::from(url.clone()));
        settings.cache_refresh_interval = refresh;
        settings
    };
    let first = start(settings(Duration::from_millis(50)), dir.clone(), Clock::manual()).await;
    let second = start(settings(Duration::from_secs(1)), dir.clone(), Clock::manual()).await;
    /// The status of a new API user's creation on `app`.
    async fn status(app: &TestApp) -> u16 {
        app.create_api_user(&uuid::Uuid::new_v4().to_string(), "webhook.site").await.status().as_u16()
    }
    /// Requests on `app` until one is answered `wanted` (the rule has reached it).
    async fn until_answered(app: &TestApp, wanted: u16) {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if status(app).await == wanted {
                return;
            }
            assert!(Instant::now() < deadline, "the rule never reached the other instance");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    let counted = json!({"method": "POST", "path": "/v1_0/apiuser", "status": 500, "count": 3});
    assert_eq!(first.admin(Method::POST, "/faults", Some(counted)).await.status(), StatusCode::CREATED);
    until_answered(&second, 500).await;
    // Two left between them: alternate, and exactly two more requests fail.
    let mut failed = 0;
    for _ in 0..3 {
        for app in [&first, &second] {
            failed += u32::from(status(app).await == 500);
        }
    }
    assert_eq!(failed, 2, "the count is shared");
    for app in [&first, &second] {
        let rules: Vec<Value> = app.admin(Method::GET, "/faults", None).await.json().await.unwrap();
        assert_eq!(rules.len(), 1);
        assert_eq!(rules[0]["remaining"], 0);
    }

    let forever = json!({"method": "POST", "path": "/v1_0/apiuser", "status": 503});
    let rule: Value = first.admin(Method::POST, "/faults", Some(forever)).await.json().await.unwrap();
    until_answered(&second, 503).await;
    let id = rule["id"].as_str().unwrap();
    assert_eq!(first.admin(Method::DELETE, &format!("/faults/{id}"), None).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(status(&second).await, 201, "removed on one instance, it stops at once on the other");
    assert_eq!(second.admin(Method::DELETE, &format!("/faults/{id}"), None).await.status(), StatusCode::NOT_FOUND);
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
        // Not zero: an outcome due at once is written with the transaction, and nothing would
        // be left to settle concurrently. Each task moves the clock past its due time.
        settings.pending_delay = Duration::from_millis(1);
        settings.worker_interval = Duration::from_millis(5);
        settings
    };
    let first = start(settings(), dir.clone(), clock.clone()).await;
    let second = start(settings(), dir.clone(), clock.clone()).await;
    let (_, token) = payer_ready(&first).await;
    let mut work = tokio::task::JoinSet::new();
    for i in 0..400 {
        let (a, b) = (first.url(""), second.url(""));
        let (client, token, clock) = (first.client.clone(), token.clone(), clock.clone());
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
            clock.advance(Duration::from_millis(1));
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

/// A TCP proxy in front of PostgreSQL that the test can cut (every open connection dropped, new
/// ones closed at once, as when the database restarts) and restore.
struct Outage {
    addr: std::net::SocketAddr,
    up: std::sync::Arc<std::sync::atomic::AtomicBool>,
    open: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::AbortHandle>>>,
}

impl Outage {
    async fn in_front_of(target: String) -> Self {
        use std::sync::atomic::Ordering;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let up = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let open = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (up2, open2) = (up.clone(), open.clone());
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !up2.load(Ordering::SeqCst) {
                    continue; // dropped: the client sees its connection closed
                }
                let target = target.clone();
                let task = tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                open2.lock().unwrap().push(task.abort_handle());
            }
        });
        Outage { addr, up, open }
    }

    fn cut(&self) {
        self.up.store(false, std::sync::atomic::Ordering::SeqCst);
        for task in self.open.lock().unwrap().drain(..) {
            task.abort();
        }
    }

    fn restore(&self) {
        self.up.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

/// A server on a fresh PostgreSQL database reached through an [`Outage`] proxy (`None`: no
/// PostgreSQL for tests, outside CI).
async fn behind_a_proxy(adjust: impl FnOnce(&mut momo_server::Settings)) -> Option<(TestApp, Outage)> {
    let url = fresh_postgres_database().await?;
    let mut through = url::Url::parse(&url).unwrap();
    let target = format!("{}:{}", through.host_str().unwrap(), through.port().unwrap_or(5432));
    let outage = Outage::in_front_of(target).await;
    through.set_host(Some("127.0.0.1")).unwrap();
    through.set_port(Some(outage.addr.port())).unwrap();
    let dir = std::sync::Arc::new(tempfile::tempdir().unwrap());
    let mut settings = test_settings(dir.path());
    settings.database_url = Some(SecretString::from(through.to_string()));
    adjust(&mut settings);
    Some((start(settings, dir, Clock::system()).await, outage))
}

/// PostgreSQL goes away under load and comes back: meanwhile every request is answered, in
/// MoMo's shape (202, or 503 SERVICE_UNAVAILABLE when the write cannot be made; never a hang or
/// another error); afterwards the server recovers by itself, and every transaction that got a
/// 202 is there.
#[tokio::test]
async fn a_postgresql_outage_under_load_is_503_then_recovers_by_itself() {
    let Some((app, outage)) = behind_a_proxy(|s| s.worker_interval = Duration::from_millis(20)).await else {
        return;
    };
    let (_, token) = payer_ready(&app).await;

    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut load = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let (client, base, token, stop) = (app.client.clone(), app.url(""), token.clone(), stop.clone());
        load.spawn(async move {
            let mut answers = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let id = uuid::Uuid::new_v4().to_string();
                let answer = client
                    .post(format!("{base}/collection/v1_0/requesttopay"))
                    .header("Ocp-Apim-Subscription-Key", COLLECTION_KEY)
                    .bearer_auth(&token)
                    .header("X-Target-Environment", "sandbox")
                    .header("X-Reference-Id", &id)
                    .json(&rtp_body("56733123453", "1"))
                    .timeout(Duration::from_secs(30))
                    .send()
                    .await
                    .expect("every request is answered");
                let status = answer.status().as_u16();
                answers.push((id, status, answer.text().await.unwrap(), Instant::now()));
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            answers
        });
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    outage.cut();
    let cut_at = Instant::now();
    tokio::time::sleep(Duration::from_secs(4)).await;
    outage.restore();
    let restored_at = Instant::now();
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let answers: Vec<_> = load.join_all().await.into_iter().flatten().collect();

    let unavailable = r#"{"code":"SERVICE_UNAVAILABLE","message":"Service temporary unavailable, try again later"}"#;
    for (_, status, body, _) in &answers {
        assert!(
            *status == 202 || (*status == 503 && body == unavailable),
            "during the outage only 202 or MoMo's 503: {status} {body}"
        );
    }
    let during = answers.iter().filter(|(_, _, _, at)| *at > cut_at + Duration::from_secs(1) && *at < restored_at);
    assert!(during.clone().count() > 0 && during.clone().all(|a| a.1 == 503), "writes during the outage are 503");
    // Recovered by itself: the last second's requests were accepted.
    let last: Vec<_> = answers.iter().filter(|a| a.3 > restored_at + Duration::from_secs(2)).collect();
    assert!(
        !last.is_empty() && last.iter().all(|a| a.1 == 202),
        "not recovered: {:?}",
        last.iter().map(|a| a.1).collect::<Vec<_>>()
    );
    // Every 202 is stored.
    for (id, status, _, _) in answers.iter().filter(|a| a.1 == 202) {
        let polled = app.get("collection", &format!("/v1_0/requesttopay/{id}"), &token, "sandbox").await;
        assert_eq!(polled.status(), StatusCode::OK, "accepted {id} ({status}) is missing");
    }
}

/// `GET /_momo/ready` follows the database: 503 in MoMo's shape soon after PostgreSQL goes away,
/// 200 again soon after it is back, without a restart; `/_momo/health` stays the liveness check.
#[tokio::test]
async fn readiness_is_503_while_postgresql_is_unreachable_and_200_once_it_is_back() {
    let Some((app, outage)) = behind_a_proxy(|_| {}).await else { return };
    /// Poll until readiness answers `wanted` (every answer 200 or 503); its body.
    async fn until(app: &TestApp, wanted: u16) -> String {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let probe = app.client.get(app.url("/_momo/ready")).timeout(Duration::from_secs(10));
            let response = probe.send().await.expect("every probe is answered");
            let status = response.status().as_u16();
            let body = response.text().await.unwrap();
            assert!(status == 200 || status == 503, "{status} {body}");
            if status == wanted {
                return body;
            }
            assert!(Instant::now() < deadline, "readiness never became {wanted}: {status} {body}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let ready = app.client.get(app.url("/_momo/ready")).send().await.unwrap();
    assert_answer(ready, 200, r#"{"status":"ready"}"#).await;

    outage.cut();
    let unavailable = r#"{"code":"SERVICE_UNAVAILABLE","message":"Service temporary unavailable, try again later"}"#;
    assert_eq!(until(&app, 503).await, unavailable);
    outage.restore();
    assert_eq!(until(&app, 200).await, r#"{"status":"ready"}"#);
}

/// A row held elsewhere (here every ledger account, by an open session as an operator's psql
/// might leave it) does not stall the instance's writes: the group commit gives up after its
/// lock timeout and the request gets MoMo's 503, and once the row is free the same request
/// goes through.
#[tokio::test]
async fn a_ledger_row_held_elsewhere_is_503_not_a_hang_and_writes_resume_when_it_is_free() {
    use sqlx::Connection as _;
    let Some(url) = fresh_postgres_database().await else { return };
    let dir = std::sync::Arc::new(tempfile::tempdir().unwrap());
    let mut settings = test_settings(dir.path());
    settings.database_url = Some(SecretString::from(url.clone()));
    settings.pending_delay = Duration::ZERO;
    let app = start(settings, dir, Clock::system()).await;
    let (_, token) = payer_ready(&app).await;
    let body = json!({"amount": "1", "currency": "EUR", "payer": {"partyIdType": "MSISDN", "partyId": "56733123453"}});
    let pay = || {
        let (app, token, body) = (&app, &token, &body);
        async move { app.create("collection", "/v1_0/requesttopay", token, "sandbox", &new_id(), None, body).await }
    };
    // Settled at once: the accounts exist afterwards.
    assert_eq!(pay().await.status(), StatusCode::ACCEPTED);
    let mut holder = sqlx::PgConnection::connect(&url).await.unwrap();
    sqlx::query("BEGIN").execute(&mut holder).await.unwrap();
    sqlx::query("SELECT id FROM accounts FOR UPDATE").execute(&mut holder).await.unwrap();
    let started = Instant::now();
    let held = pay().await;
    assert_eq!(held.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = held.json().await.unwrap();
    assert_eq!(body["code"], "SERVICE_UNAVAILABLE", "{body}");
    assert!(started.elapsed() < Duration::from_secs(20), "answered after {:?}", started.elapsed());
    sqlx::query("COMMIT").execute(&mut holder).await.unwrap();
    assert_eq!(pay().await.status(), StatusCode::ACCEPTED);
}
