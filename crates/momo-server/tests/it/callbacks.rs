//! Acceptance 3: callbacks reach a local receiver with MTN's method and the status body, survive
//! a receiver that is down, are signed, and never go to another host.

use std::time::Duration;

use hmac::{Hmac, Mac};
use momo_server::config::CallbackRetry;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use sha2::Sha256;

use crate::helpers::*;

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
    pay_with_callback(&app, &token, &url).await;
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
    pay_with_callback(&app, &token, &url).await;
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
    let r = pay_with_callback(&app, &token, &elsewhere).await;
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
    if skip_on_postgres("it brings its own PostgreSQL database") {
        return;
    }
    let Some(url) = fresh_postgres_database().await else { return };
    let dir = std::sync::Arc::new(tempfile::tempdir().unwrap());
    let clock = momo_server::Clock::manual();
    let settings = || {
        let mut settings = shared_postgres_settings(dir.path(), &url);
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
    pay_with_callback(&app, &token, &url).await;
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
    // SQLite made it final in the commit that accepted it; PostgreSQL leaves that to the settler
    // (docs/performance.md, 6), here an hour away too, or to the first status read.
    let status = app.get("collection", &format!("/v1_0/requesttopay/{id}"), &token, "sandbox").await;
    assert_eq!(status.status(), StatusCode::OK);
    let received = receiver.wait_for(1).await;
    let delivery = received[0].headers["X-Momo-Delivery-Id"].to_str().unwrap();
    let delivery = uuid::Uuid::parse_str(delivery).unwrap();
    assert_eq!(delivery.get_version_num(), 7, "{delivery}");
    assert_eq!(received[0].headers["X-Momo-Reference-Id"], id.as_str());
}

/// A request to pay of 1 EUR from a number that succeeds, with this `X-Callback-Url`.
async fn pay_with_callback(app: &TestApp, token: &str, url: &str) -> reqwest::Response {
    app.create(
        "collection",
        "/v1_0/requesttopay",
        token,
        "sandbox",
        &new_id(),
        Some(url),
        &rtp_body("56733123453", "1"),
    )
    .await
}

/// A stored time as the operator API shows it (RFC 3339), in milliseconds.
fn ms(value: &Value) -> i64 {
    let text = value.as_str().unwrap_or_else(|| panic!("not a time: {value}"));
    // `2025-01-31T10:00:01.5Z`: the only shape the operator API writes.
    let (date, clock) = text.strip_suffix('Z').and_then(|t| t.split_once('T')).unwrap();
    let date: Vec<i64> = date.split('-').map(|n| n.parse().unwrap()).collect();
    let (hms, fraction) = clock.split_once('.').unwrap_or((clock, "0"));
    let hms: Vec<i64> = hms.split(':').map(|n| n.parse().unwrap()).collect();
    let month = time::Month::try_from(u8::try_from(date[1]).unwrap()).unwrap();
    let day = time::Date::from_calendar_date(i32::try_from(date[0]).unwrap(), month, u8::try_from(date[2]).unwrap());
    let millis: i64 = format!("{fraction:0<3}")[..3].parse().unwrap();
    (i64::from(day.unwrap().to_julian_day()) * 86_400 + hms[0] * 3600 + hms[1] * 60 + hms[2]) * 1000 + millis
}

/// The `mtn` retry schedule end to end on the injected clock: a receiver that always answers 500
/// gets the first attempt, then each retry falls due exactly the tier's delay after the attempt
/// before it (20 × 1 s, 30 × 2 min, 24 × 1 h, in that order), the clock is moved by that delay,
/// and the retry is made; after the 75th attempt the delivery is given up.
#[tokio::test]
async fn the_mtn_schedule_runs_every_tier_in_order_on_the_clock_and_gives_up_after_75_attempts() {
    let app = spawn_with(|s| {
        s.pending_delay = Duration::ZERO;
        s.worker_interval = Duration::from_millis(10);
    })
    .await;
    let receiver = Receiver::start(500).await;
    let (_, token) = payer_ready(&app).await;
    let url = receiver.url("/cb");
    pay_with_callback(&app, &token, &url).await;
    let deliveries = deliveries_when(&app, |d| d.len() == 1).await;
    let detail_path = format!("/deliveries/{}", deliveries[0]["id"].as_str().unwrap());
    let mut delays = Vec::new();
    let detail = loop {
        let attempts = delays.len() + 1;
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        let detail = loop {
            let detail: Value = app.admin(Method::GET, &detail_path, None).await.json().await.unwrap();
            // The delivery row and its attempt log are two reads: wait until both show the attempt.
            if detail["attempts"] == attempts && detail["attemptLog"].as_array().unwrap().len() == attempts {
                break detail;
            }
            assert!(std::time::Instant::now() < deadline, "attempt {attempts} was never made: {detail}");
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        if detail["state"] != "pending" {
            break detail;
        }
        let delay = ms(&detail["nextAttemptAt"]) - ms(&detail["attemptLog"][attempts - 1]["at"]);
        delays.push(delay);
        app.clock.advance(Duration::from_millis(u64::try_from(delay).unwrap()));
        assert!(delays.len() < 200, "the schedule never gives up");
    };
    let expected: Vec<i64> = std::iter::repeat_n(1_000, 20)
        .chain(std::iter::repeat_n(120_000, 30))
        .chain(std::iter::repeat_n(3_600_000, 24))
        .collect();
    assert_eq!(delays, expected);
    assert_eq!(detail["state"], "failed", "{detail}");
    assert_eq!(detail["attempts"], 75);
    assert_eq!(receiver.count(), 75, "every attempt reached the receiver, and no more");
}

/// An API user and a token on `app` with this `providerCallbackHost`.
async fn user_with_host(app: &TestApp, host: &str) -> String {
    let user = new_id();
    let created = app.create_api_user(&user, host).await;
    assert_eq!(created.status(), StatusCode::CREATED, "{host}: {}", created.text().await.unwrap());
    let key: Value = app.create_api_key(&user).await.json().await.unwrap();
    app.access_token("collection", &user, key["apiKey"].as_str().unwrap()).await
}

/// The `code` and `message` of a MoMo error answer with this status.
async fn refusal(response: reqwest::Response, status: u16) -> String {
    let (got, body) = status_and_body(response).await;
    assert_eq!(got.as_u16(), status, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["code"], "VALIDATION_ERROR", "{body}");
    body["message"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn provisioning_a_link_local_or_cloud_metadata_callback_host_is_a_400() {
    let app = spawn_with(|s| {
        s.callback_allow_private = true;
        s.callback_allow = vec!["0.0.0.0/0".parse().unwrap(), "::/0".parse().unwrap()];
    })
    .await;
    for host in [
        "169.254.169.254",
        "169.254.169.254:80",
        "http://169.254.169.254/latest/meta-data/",
        "metadata.google.internal",
        "http://[fd00:ec2::254]/",
        "100.100.100.200",
        "http://[fe80::1]:8080/",
    ] {
        let user = new_id();
        let message = refusal(app.create_api_user(&user, host).await, 400).await;
        assert!(message.contains("never sent there"), "{host}: {message}");
        assert_eq!(app.api_user(&user).await.status(), StatusCode::NOT_FOUND, "{host} was stored");
    }
}

#[tokio::test]
async fn a_private_callback_host_is_refused_by_default_and_accepted_when_allowed() {
    let app = spawn_app().await;
    for host in ["10.0.0.1", "192.168.1.20:8080", "http://172.16.5.5/cb", "http://[fd12::1]/"] {
        let message = refusal(app.create_api_user(&new_id(), host).await, 400).await;
        assert!(message.contains("private address"), "{host}: {message}");
    }
    let receiver = Receiver::start(200).await;
    let url = format!("http://10.0.0.1:{}/cb", receiver.port);
    // An X-Callback-Url naming a private address is refused on sight as well.
    let token = user_with_host(&app, "127.0.0.1").await;
    let r = pay_with_callback(&app, &token, &url).await;
    assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR, "not the registered host");

    let flag = spawn_with(|s| s.callback_allow_private = true).await;
    assert_eq!(flag.create_api_user(&new_id(), "10.0.0.1").await.status(), StatusCode::CREATED);
    let listed = spawn_with(|s| s.callback_allow = vec!["192.168.0.0/16".parse().unwrap()]).await;
    assert_eq!(listed.create_api_user(&new_id(), "192.168.1.20:8080").await.status(), StatusCode::CREATED);
    let message = refusal(listed.create_api_user(&new_id(), "10.0.0.1").await, 400).await;
    assert!(message.contains("private address"), "{message}");
}

/// The server listens on every interface, so loopback receivers are not allowed; `localhost` is a
/// name, accepted at registration, and refused once it resolves, at the delivery attempt: the
/// attempt is recorded as failed with the reason, nothing reaches the receiver and it is not
/// retried.
#[tokio::test]
async fn a_name_that_resolves_to_a_refused_address_gets_no_callback() {
    let mut app = spawn_with(|s| s.bind = std::net::SocketAddr::from(([0, 0, 0, 0], 0))).await;
    let port = app.base.rsplit_once(':').unwrap().1.to_owned();
    app.base = format!("http://127.0.0.1:{port}");
    let message = refusal(app.create_api_user(&new_id(), "127.0.0.1").await, 400).await;
    assert!(message.contains("loopback address"), "{message}");

    let receiver = Receiver::start(200).await;
    let token = user_with_host(&app, "localhost").await;
    let url = format!("http://localhost:{}/cb", receiver.port);
    let r = pay_with_callback(&app, &token, &url).await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    app.clock.advance(Duration::from_secs(3));
    let deliveries = deliveries_when(&app, |d| d.len() == 1 && d[0]["state"] == "failed").await;
    assert_eq!(deliveries[0]["attempts"], 1, "a refused target is not retried: {deliveries:?}");
    let id = deliveries[0]["id"].as_str().unwrap();
    let detail: Value = app.admin(Method::GET, &format!("/deliveries/{id}"), None).await.json().await.unwrap();
    let error = detail["attemptLog"][0]["error"].as_str().unwrap();
    assert!(error.starts_with("refused target: localhost resolves only to refused addresses"), "{error}");
    assert!(error.contains("loopback address"), "{error}");
    assert_eq!(receiver.count(), 0);
}

#[tokio::test]
async fn callbacks_go_only_to_the_registered_port() {
    let app = spawn_app().await;
    let receiver = Receiver::start(200).await;
    let other = Receiver::start(200).await;
    let token = user_with_host(&app, &format!("127.0.0.1:{}", receiver.port)).await;
    let body = rtp_body("56733123453", "1");
    let wrong = other.url("/cb");
    let r = app.create("collection", "/v1_0/requesttopay", &token, "sandbox", &new_id(), Some(&wrong), &body).await;
    let (status, answer) = status_and_body(r).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(answer.contains(r#""code":"INVALID_CALLBACK_URL_HOST""#), "{answer}");
    let right = receiver.url("/cb");
    let r = app.create("collection", "/v1_0/requesttopay", &token, "sandbox", &new_id(), Some(&right), &body).await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    app.clock.advance(Duration::from_secs(3));
    receiver.wait_for(1).await;
    deliveries_when(&app, |d| d.len() == 1 && d[0]["state"] == "delivered").await;
    assert_eq!(other.count(), 0);
}

#[tokio::test]
async fn callback_urls_and_hosts_with_user_info_are_a_400_and_not_stored() {
    let app = spawn_app().await;
    let message = refusal(app.create_api_user(&new_id(), "http://user:secret@webhook.site/").await, 400).await;
    assert!(message.contains("user name or password"), "{message}");
    let receiver = Receiver::start(200).await;
    let token = user_with_host(&app, "127.0.0.1").await;
    let url = format!("http://user:secret@127.0.0.1:{}/cb", receiver.port);
    let r = pay_with_callback(&app, &token, &url).await;
    let message = refusal(r, 400).await;
    assert!(message.contains("user name or password"), "{message}");
    let transactions = app.admin(Method::GET, "/transactions", None).await.text().await.unwrap();
    assert!(!transactions.contains("secret"), "{transactions}");
}

/// A sandbox invoice for 700000 EUR, pending for the default delay, with this `X-Callback-Url`.
async fn pending_invoice(app: &TestApp, token: &str, callback: Option<&str>) -> String {
    let invoice = serde_json::json!({
        "externalId": "inv-1", "amount": "700000", "currency": "EUR", "validityDuration": "360",
        "intendedPayer": {"partyIdType": "MSISDN", "partyId": "5677876667"},
        "payee": {"partyIdType": "MSISDN", "partyId": "46733123450"},
        "description": "MoMo Invoice API"
    });
    let id = new_id();
    let r = app.create("collection", "/v2_0/invoice", token, "sandbox", &id, callback, &invoice).await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    id
}

/// `DELETE /collection/v2_0/invoice/{invoice}` with this `X-Reference-Id` (if any) and `X-Callback-Url`.
async fn cancel_invoice(
    app: &TestApp,
    token: &str,
    invoice: &str,
    reference: Option<&str>,
    callback: Option<&str>,
) -> reqwest::Response {
    let mut request = app
        .client
        .delete(app.url(&format!("/collection/v2_0/invoice/{invoice}")))
        .header("Ocp-Apim-Subscription-Key", COLLECTION_KEY)
        .bearer_auth(token)
        .header("X-Target-Environment", "sandbox")
        .json(&serde_json::json!({"externalId": "cancel-1"}));
    if let Some(reference) = reference {
        request = request.header("X-Reference-Id", reference);
    }
    if let Some(url) = callback {
        request = request.header("X-Callback-Url", url);
    }
    request.send().await.unwrap()
}

async fn invoice_status(app: &TestApp, token: &str, invoice: &str) -> Value {
    app.get("collection", &format!("/v2_0/invoice/{invoice}"), token, "sandbox").await.json().await.unwrap()
}

/// The cancel's own callback: PUT to its `X-Callback-Url` with the invoice's final status body,
/// signed and carrying the cancel's reference id, besides the invoice's own callback.
async fn cancel_callback_carries_the_cancelled_invoice(app: &TestApp) {
    let receiver = Receiver::start(200).await;
    let token = user_with_host(app, "127.0.0.1").await;
    let invoice = pending_invoice(app, &token, Some(&receiver.url("/invoice"))).await;
    let cancellation = new_id();
    let r = cancel_invoice(app, &token, &invoice, Some(&cancellation), Some(&receiver.url("/cancel"))).await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let got = receiver.wait_for(2).await;
    let status = app.get("collection", &format!("/v2_0/invoice/{invoice}"), &token, "sandbox").await;
    let status = status.text().await.unwrap();
    assert!(status.contains(r#""status":"FAILED""#) && status.contains("TRANSACTION_CANCELED"), "{status}");
    let cancel = got.iter().find(|r| r.path == "/cancel").expect("the cancel's callback");
    assert_eq!(cancel.method, "PUT", "the spec's \"PUT Callback URL\"");
    assert_eq!(cancel.body, status);
    assert_eq!(cancel.headers["x-momo-reference-id"], cancellation.as_str());
    assert!(cancel.headers["x-momo-signature"].to_str().unwrap().starts_with("t="));
    let own = got.iter().find(|r| r.path == "/invoice").expect("the invoice's own callback");
    assert_eq!(own.body, status);
    assert_eq!(own.headers["x-momo-reference-id"], invoice.as_str());
    deliveries_when(app, |d| d.len() == 2 && d.iter().all(|d| d["state"] == "delivered")).await;
    let listed = app.admin(Method::GET, "/transactions", None).await;
    assert_eq!(listed.status(), StatusCode::OK);
    assert!(listed.text().await.unwrap().contains("invoicecancellation"), "the cancellation is recorded");
}

/// On PostgreSQL (`it_postgres`) the cancellation is settled by the settler, not in the insert's
/// commit: the same callback comes out.
#[tokio::test]
async fn cancelling_an_invoice_calls_back_the_cancels_url_with_the_cancelled_invoice() {
    cancel_callback_carries_the_cancelled_invoice(&spawn_app().await).await;
}

#[tokio::test]
async fn a_cancel_with_a_foreign_callback_host_is_refused_and_cancels_nothing() {
    let app = spawn_app().await;
    let token = user_with_host(&app, "127.0.0.1").await;
    let invoice = pending_invoice(&app, &token, None).await;
    let r = cancel_invoice(&app, &token, &invoice, Some(&new_id()), Some("http://evil.example/cb")).await;
    let (status, body) = status_and_body(r).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(body.contains(r#""code":"INVALID_CALLBACK_URL_HOST""#), "{body}");
    let r = cancel_invoice(&app, &token, &invoice, Some(&new_id()), Some("http://user:pw@127.0.0.1/cb")).await;
    assert!(refusal(r, 400).await.contains("user name or password"));
    assert_eq!(invoice_status(&app, &token, &invoice).await["status"], "PENDING");
}

#[tokio::test]
async fn a_cancel_without_a_valid_reference_id_is_a_400_and_cancels_nothing() {
    let app = spawn_app().await;
    let token = user_with_host(&app, "127.0.0.1").await;
    let invoice = pending_invoice(&app, &token, None).await;
    let missing = refusal(cancel_invoice(&app, &token, &invoice, None, None).await, 400).await;
    assert!(missing.contains("X-Reference-Id"), "{missing}");
    let malformed = refusal(cancel_invoice(&app, &token, &invoice, Some("not-a-uuid"), None).await, 400).await;
    assert!(malformed.contains("X-Reference-Id"), "{malformed}");
    assert_eq!(invoice_status(&app, &token, &invoice).await["status"], "PENDING");
}

#[tokio::test]
async fn a_reused_cancel_reference_id_is_a_409_and_cancels_nothing() {
    let app = spawn_app().await;
    let token = user_with_host(&app, "127.0.0.1").await;
    let first = pending_invoice(&app, &token, None).await;
    let second = pending_invoice(&app, &token, None).await;
    let reference = new_id();
    assert_eq!(cancel_invoice(&app, &token, &first, Some(&reference), None).await.status(), StatusCode::ACCEPTED);
    assert_answer(cancel_invoice(&app, &token, &second, Some(&reference), None).await, 409, ALREADY_EXISTS_BODY).await;
    assert_eq!(invoice_status(&app, &token, &second).await["status"], "PENDING");
    // The same cancel sent again: the reference id is taken.
    assert_answer(cancel_invoice(&app, &token, &first, Some(&reference), None).await, 409, ALREADY_EXISTS_BODY).await;
}

/// Two cancels of different invoices with one reference id, at once: the reference id is
/// written with the cancellation, so exactly one cancels its invoice and the other cancels nothing.
#[tokio::test]
async fn concurrent_cancels_sharing_a_reference_id_cancel_exactly_one_invoice() {
    let app = spawn_app().await;
    let token = user_with_host(&app, "127.0.0.1").await;
    for _ in 0..5 {
        let invoices = [pending_invoice(&app, &token, None).await, pending_invoice(&app, &token, None).await];
        let reference = new_id();
        let (a, b) = tokio::join!(
            cancel_invoice(&app, &token, &invoices[0], Some(&reference), None),
            cancel_invoice(&app, &token, &invoices[1], Some(&reference), None)
        );
        let mut statuses = [a.status().as_u16(), b.status().as_u16()];
        statuses.sort_unstable();
        assert_eq!(statuses, [202, 409]);
        let mut pending = 0;
        for invoice in &invoices {
            pending += usize::from(invoice_status(&app, &token, invoice).await["status"] == "PENDING");
        }
        assert_eq!(pending, 1, "exactly one invoice was cancelled");
    }
}
