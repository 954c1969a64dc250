//! Acceptance 3: callbacks reach a local receiver with MTN's method and the status body, survive
//! a receiver that is down, are signed, and never go to another host.

use std::time::Duration;

use hmac::{Hmac, Mac};
use momo_server::config::CallbackRetry;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use sha2::Sha256;

use crate::helpers::*;

/// The deliveries, once `done` holds for them (the server records an attempt only after the
/// receiver answered, so what a receiver saw may be ahead of the server's log for a moment).
async fn deliveries_when(app: &TestApp, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let deliveries: Vec<Value> = app.admin(Method::GET, "/deliveries", None).await.json().await.unwrap();
        if done(&deliveries) {
            return deliveries;
        }
        assert!(std::time::Instant::now() < deadline, "deliveries never reached the expected state: {deliveries:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn callbacks_carry_the_final_status_with_mtns_method_and_a_verifiable_signature() {
    let app = spawn_app().await;
    let receiver = Receiver::start(200).await;
    let (user, token) = payer_ready(&app).await;

    let rtp = new_id();
    let url = receiver.url("/momo/rtp");
    app.create("collection", "/v1_0/requesttopay", &token, "sandbox", &rtp, Some(&url), &rtp_body("46733123451", "10"))
        .await;
    let deposit = new_id();
    let url = receiver.url("/momo/deposit");
    app.create(
        "disbursement",
        "/v1_0/deposit",
        &token,
        "sandbox",
        &deposit,
        Some(&url),
        &transfer_body("56733123453", "5", "EUR"),
    )
    .await;
    assert_eq!(receiver.count(), 0, "nothing before the outcome");
    app.clock.advance(Duration::from_secs(3));
    let got = receiver.wait_for(2).await;

    let rtp_cb = got.iter().find(|r| r.path == "/momo/rtp").unwrap();
    assert_eq!(rtp_cb.method, "PUT");
    assert_eq!(
        rtp_cb.body,
        r#"{"externalId":"ext-1","amount":"10","currency":"EUR","payer":{"partyIdType":"MSISDN","partyId":"46733123451"},"payerMessage":"MoMo Debit API","payeeNote":"MoMo Debit API","status":"FAILED","reason":"APPROVAL_REJECTED"}"#
    );
    let status =
        app.get("collection", &format!("/v1_0/requesttopay/{rtp}"), &token, "sandbox").await.text().await.unwrap();
    assert_eq!(rtp_cb.body, status, "the callback body is the status body");
    assert_eq!(rtp_cb.headers["x-momo-reference-id"], rtp.as_str());
    assert!(rtp_cb.headers.contains_key("x-momo-delivery-id"));
    assert_eq!(rtp_cb.headers["content-type"], "application/json");

    let deposit_cb = got.iter().find(|r| r.path == "/momo/deposit").unwrap();
    assert_eq!(deposit_cb.method, "POST", "Deposit-V1 calls back with POST");

    // The signature verifies with the secret the operator API shows, and only with it.
    let secret: Value =
        app.admin(Method::GET, &format!("/users/{user}/callback-secret"), None).await.json().await.unwrap();
    let secret = secret["callbackSigningSecret"].as_str().unwrap();
    let header = rtp_cb.headers["x-momo-signature"].to_str().unwrap();
    let (t, v1) = header.split_once(",v1=").unwrap();
    let t = t.strip_prefix("t=").unwrap();
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{}", rtp_cb.body).as_bytes());
    assert_eq!(hex::encode(mac.finalize().into_bytes()), v1);
    let mut wrong = <Hmac<Sha256> as Mac>::new_from_slice(b"another secret").unwrap();
    wrong.update(format!("{t}.{}", rtp_cb.body).as_bytes());
    assert_ne!(hex::encode(wrong.finalize().into_bytes()), v1);

    // Delivered once each, with the attempt recorded.
    let deliveries = deliveries_when(&app, |d| d.len() == 2 && d.iter().all(|d| d["state"] == "delivered")).await;
    assert!(deliveries.iter().all(|d| d["attempts"] == 1), "{deliveries:?}");
    assert_eq!(receiver.count(), 2);
    let id = deliveries[0]["id"].as_str().unwrap();
    let detail: Value = app.admin(Method::GET, &format!("/deliveries/{id}"), None).await.json().await.unwrap();
    assert_eq!(detail["attemptLog"][0]["statusCode"], 200);
}

#[tokio::test]
async fn deposit_callbacks_v1_and_v2_carry_the_financial_transaction_id_of_the_status_body() {
    let app = spawn_app().await;
    let receiver = Receiver::start(200).await;
    let (_, token) = payer_ready(&app).await;
    let deposits = [("/v1_0/deposit", "POST", new_id()), ("/v2_0/deposit", "PUT", new_id())];
    for (path, _, id) in &deposits {
        let body = transfer_body("56733123453", "5", "EUR");
        let r = app.create("disbursement", path, &token, "sandbox", id, Some(&receiver.url(path)), &body).await;
        assert_eq!(r.status(), StatusCode::ACCEPTED);
    }
    app.clock.advance(Duration::from_secs(3));
    let got = receiver.wait_for(2).await;
    for (path, method, id) in &deposits {
        let callback = got.iter().find(|r| r.path == *path).unwrap();
        assert_eq!(callback.method, *method, "{path}");
        assert_eq!(
            mask_fti(&callback.body),
            r#"{"financialTransactionId":"<fti>","externalId":"ext-2","amount":"5","currency":"EUR","payee":{"partyIdType":"MSISDN","partyId":"56733123453"},"payerMessage":"MoMo Transfer API","payeeNote":"MoMo Transfer API","status":"SUCCESSFUL"}"#,
            "{path}"
        );
        let status = app.get("disbursement", &format!("/v1_0/deposit/{id}"), &token, "sandbox").await;
        assert_eq!(status.text().await.unwrap(), callback.body, "the status body has the same financialTransactionId");
    }
}

#[tokio::test]
async fn a_receiver_that_is_down_for_a_while_gets_every_callback_once_it_is_back() {
    let app = spawn_app().await;
    let (_, token) = payer_ready(&app).await;
    // Reserve a port, then leave it closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}/cb");
    let ids: Vec<String> = (0..5).map(|_| new_id()).collect();
    for id in &ids {
        let r = app
            .create(
                "collection",
                "/v1_0/requesttopay",
                &token,
                "sandbox",
                id,
                Some(&url),
                &rtp_body("56733123453", "1"),
            )
            .await;
        assert_eq!(r.status(), StatusCode::ACCEPTED);
    }
    app.clock.advance(Duration::from_secs(3));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let deliveries: Vec<Value> = app.admin(Method::GET, "/deliveries", None).await.json().await.unwrap();
    assert_eq!(deliveries.len(), 5);
    assert!(
        deliveries.iter().all(|d| d["state"] == "pending" && d["attempts"].as_i64().unwrap() >= 1),
        "{deliveries:?}"
    );

    let receiver = Receiver::start_on(port, 200).await;
    let got = receiver.wait_for(5).await;
    deliveries_when(&app, |d| d.iter().all(|d| d["state"] == "delivered")).await;
    let mut references: Vec<_> =
        got.iter().map(|r| r.headers["x-momo-reference-id"].to_str().unwrap().to_owned()).collect();
    references.sort();
    let mut expected = ids.clone();
    expected.sort();
    assert_eq!(references, expected);
    let detail_id = app.admin(Method::GET, "/deliveries", None).await.json::<Vec<Value>>().await.unwrap()[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let detail: Value = app.admin(Method::GET, &format!("/deliveries/{detail_id}"), None).await.json().await.unwrap();
    let log = detail["attemptLog"].as_array().unwrap();
    assert!(log.len() >= 2, "{detail}");
    assert!(log[0]["error"].as_str().unwrap().contains("could not connect"), "{detail}");
}

#[tokio::test]
async fn with_the_once_policy_a_failed_callback_is_not_retried() {
    let app = spawn_with(|s| s.callback_retry = CallbackRetry::Once).await;
    let receiver = Receiver::start(500).await;
    let (_, token) = payer_ready(&app).await;
    let url = receiver.url("/cb");
    app.create(
        "collection",
        "/v1_0/requesttopay",
        &token,
        "sandbox",
        &new_id(),
        Some(&url),
        &rtp_body("56733123453", "1"),
    )
    .await;
    app.clock.advance(Duration::from_secs(3));
    receiver.wait_for(1).await;
    deliveries_when(&app, |d| d.len() == 1 && d[0]["state"] == "failed").await;
    // Given up: nothing more arrives.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(receiver.count(), 1);
}

#[tokio::test]
async fn a_receiver_slower_than_the_timeout_is_retried() {
    let app = spawn_with(|s| s.callback_timeout = Duration::from_millis(200)).await;
    let (_, token) = payer_ready(&app).await;
    // A listener that accepts and never answers.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://127.0.0.1:{}/cb", silent.local_addr().unwrap().port());
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });
    app.create(
        "collection",
        "/v1_0/requesttopay",
        &token,
        "sandbox",
        &new_id(),
        Some(&url),
        &rtp_body("56733123453", "1"),
    )
    .await;
    app.clock.advance(Duration::from_secs(3));
    let deliveries = deliveries_when(&app, |d| d.len() == 1 && d[0]["attempts"].as_i64() >= Some(1)).await;
    let id = deliveries[0]["id"].as_str().unwrap();
    let detail: Value = app.admin(Method::GET, &format!("/deliveries/{id}"), None).await.json().await.unwrap();
    assert_eq!(detail["state"], "pending");
    assert!(detail["attemptLog"][0]["error"].as_str().unwrap().contains("timed out"), "{detail}");
    hold.abort();
}

#[tokio::test]
async fn callbacks_never_go_to_another_host() {
    let app = spawn_app().await;
    let (_, token) = payer_ready(&app).await;
    // localhost is not the registered 127.0.0.1: refused before anything is recorded.
    let receiver = Receiver::start(200).await;
    let elsewhere = format!("http://localhost:{}/cb", receiver.port);
    let r = app
        .create(
            "collection",
            "/v1_0/requesttopay",
            &token,
            "sandbox",
            &new_id(),
            Some(&elsewhere),
            &rtp_body("56733123453", "1"),
        )
        .await;
    assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
    app.clock.advance(Duration::from_secs(3));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.count(), 0);
    let deliveries: Vec<Value> = app.admin(Method::GET, "/deliveries", None).await.json().await.unwrap();
    assert!(deliveries.is_empty());
}

/// Acceptance 5: two instances on one PostgreSQL database drain one outbox; every delivery is
/// sent once, and a reference id is unique across the instances.
#[tokio::test]
async fn two_instances_on_postgres_send_each_callback_once() {
    let Some(url) = fresh_postgres_database().await else { return };
    let dir = std::sync::Arc::new(tempfile::tempdir().unwrap());
    let clock = momo_server::Clock::manual();
    let settings = || {
        let mut settings = test_settings(dir.path());
        settings.database_url = Some(secrecy::SecretString::from(url.clone()));
        settings.worker_interval = Duration::from_millis(20);
        settings
    };
    let first = start(settings(), dir.clone(), clock.clone()).await;
    let second = start(settings(), dir.clone(), clock.clone()).await;
    let receiver = Receiver::start(200).await;
    let (_, token) = payer_ready(&first).await;
    let callback = receiver.url("/cb");

    let mut ids = Vec::new();
    for i in 0..40 {
        let app = if i % 2 == 0 { &first } else { &second };
        let id = new_id();
        let r = app
            .create(
                "collection",
                "/v1_0/requesttopay",
                &token,
                "sandbox",
                &id,
                Some(&callback),
                &rtp_body("56733123453", "1"),
            )
            .await;
        assert_eq!(r.status(), StatusCode::ACCEPTED);
        ids.push(id);
    }
    // One id on both at once: one 202, one 409.
    let same = new_id();
    let body = rtp_body("56733123453", "1");
    let (a, b) = tokio::join!(
        first.create("collection", "/v1_0/requesttopay", &token, "sandbox", &same, None, &body),
        second.create("collection", "/v1_0/requesttopay", &token, "sandbox", &same, None, &body)
    );
    let mut statuses = [a.status().as_u16(), b.status().as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [202, 409]);

    clock.advance(Duration::from_secs(3));
    let got = receiver.wait_for(40).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let got_now = receiver.received.lock().unwrap().clone();
    assert_eq!(got_now.len(), 40, "a delivery was sent twice: {} arrived", got_now.len());
    let mut deliveries: Vec<_> =
        got.iter().map(|r| r.headers["x-momo-delivery-id"].to_str().unwrap().to_owned()).collect();
    deliveries.sort();
    deliveries.dedup();
    assert_eq!(deliveries.len(), 40);
    let mut references: Vec<_> =
        got.iter().map(|r| r.headers["x-momo-reference-id"].to_str().unwrap().to_owned()).collect();
    references.sort();
    ids.sort();
    assert_eq!(references, ids);
}

#[tokio::test]
async fn a_receiver_that_resets_connections_gets_the_callback_later() {
    let app = spawn_app().await;
    let (_, token) = payer_ready(&app).await;
    // Accept and drop the first two connections without answering, then serve normally.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let resets = tokio::spawn(async move {
        for _ in 0..2 {
            let (socket, _) = listener.accept().await.unwrap();
            // A zero linger makes the close an RST: a reset, not an orderly close.
            socket.set_zero_linger().unwrap();
            drop(socket);
        }
        listener
    });
    let url = format!("http://127.0.0.1:{port}/cb");
    app.create(
        "collection",
        "/v1_0/requesttopay",
        &token,
        "sandbox",
        &new_id(),
        Some(&url),
        &rtp_body("56733123453", "1"),
    )
    .await;
    app.clock.advance(Duration::from_secs(3));
    let listener = resets.await.unwrap();
    let std_listener = listener.into_std().unwrap();
    drop(std_listener);
    let receiver = Receiver::start_on(port, 200).await;
    receiver.wait_for(1).await;
    let deliveries = deliveries_when(&app, |d| d.len() == 1 && d[0]["state"] == "delivered").await;
    let id = deliveries[0]["id"].as_str().unwrap();
    let detail: Value = app.admin(Method::GET, &format!("/deliveries/{id}"), None).await.json().await.unwrap();
    let log = detail["attemptLog"].as_array().unwrap();
    assert!(log.len() >= 3, "two resets, then delivered: {detail}");
    assert!(log[0]["statusCode"].is_null() && log[0]["error"].is_string(), "{detail}");
}

/// A callback goes out when its transaction becomes final, not at the delivery worker's next
/// round (here an hour away), and its delivery id is a time-ordered UUID (version 7), as
/// docs/callbacks.md says.
#[tokio::test]
async fn a_callback_is_sent_as_soon_as_its_transaction_is_final() {
    let app = spawn_with(|s| {
        s.pending_delay = Duration::ZERO;
        s.worker_interval = Duration::from_secs(3600);
    })
    .await;
    let receiver = Receiver::start(200).await;
    let (_, token) = payer_ready(&app).await;
    let url = receiver.url("/cb");
    let id = new_id();
    app.create("collection", "/v1_0/requesttopay", &token, "sandbox", &id, Some(&url), &rtp_body("56733123453", "1"))
        .await;
    let received = receiver.wait_for(1).await;
    let delivery = received[0].headers["X-Momo-Delivery-Id"].to_str().unwrap();
    let delivery = uuid::Uuid::parse_str(delivery).unwrap();
    assert_eq!(delivery.get_version_num(), 7, "{delivery}");
    assert_eq!(received[0].headers["X-Momo-Reference-Id"], id.as_str());
}
