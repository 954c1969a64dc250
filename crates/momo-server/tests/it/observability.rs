//! `GET /_momo/metrics` and `GET /_momo/ready` (docs/operator-api.md, "Health, readiness and
//! metrics"). Readiness during a database outage is in `persistence.rs`, beside the outage test
//! whose proxy it uses.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use secrecy::SecretString;

use crate::helpers::*;

const OPERATOR_401: &str = r#"{"code":"UNAUTHORIZED","message":"A valid operator token is required: send it as 'Authorization: Bearer <token>'."}"#;
const SCRAPE_TOKEN: &str = "test-scrape-token-0000000000000000000000000000005";

/// The metrics, read with the operator token.
async fn scrape(app: &TestApp) -> String {
    let response = app.client.get(app.url("/_momo/metrics")).bearer_auth(ADMIN_TOKEN).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "text/plain; version=0.0.4; charset=utf-8");
    response.text().await.unwrap()
}

/// The value of one series (`name{labels}` exactly as written), 0 if it is not there yet.
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map_or(0.0, |value| value.parse().unwrap())
}

/// How much each series moved between two scrapes.
fn moved(before: &str, after: &str, series: &str) -> f64 {
    sample(after, series) - sample(before, series)
}

/// Scrape until `series` has moved by `by` since `before` (callback attempts are counted when
/// the receiver's answer arrives, a moment after the receiver saw the request).
async fn scrape_until(app: &TestApp, before: &str, series: &str, by: f64) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let after = scrape(app).await;
        if moved(before, &after, series) >= by {
            return after;
        }
        assert!(Instant::now() < deadline, "{series} never moved by {by}:\n{after}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn metrics_count_a_token_a_request_to_pay_its_status_read_and_its_callback() {
    let app = spawn_app().await;
    let receiver = Receiver::start(200).await;
    let user = new_id();
    assert_eq!(app.create_api_user(&user, "127.0.0.1").await.status(), StatusCode::CREATED);
    let key: serde_json::Value = app.create_api_key(&user).await.json().await.unwrap();
    let key = key["apiKey"].as_str().unwrap().to_owned();
    let before = scrape(&app).await;

    let token = app.access_token("collection", &user, &key).await;
    assert_eq!(app.token("collection", &user, "not-the-key").await.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let id = new_id();
    let callback = receiver.url("/momo/rtp");
    let body = rtp_body("56733123453", "10");
    let accepted = app.create("collection", "/v1_0/requesttopay", &token, "sandbox", &id, Some(&callback), &body).await;
    assert_eq!(accepted.status(), StatusCode::ACCEPTED);
    app.final_status("collection", &format!("/v1_0/requesttopay/{id}"), &token, "sandbox").await;
    receiver.wait_for(1).await;
    assert_eq!(app.client.get(app.url("/no/such/route")).send().await.unwrap().status(), StatusCode::NOT_FOUND);
    let after = scrape_until(&app, &before, r#"momo_callback_deliveries_total{outcome="Delivered"}"#, 1.0).await;

    for (series, by) in [
        (r#"momo_access_tokens_issued_total{product="collection"}"#, 1.0),
        (r#"momo_access_token_failures_total{product="collection",reason="InvalidCredentials"}"#, 1.0),
        (r#"momo_http_requests_total{operation="CreateAccessToken",product="collection",status="200"}"#, 1.0),
        (r#"momo_http_requests_total{operation="CreateAccessToken",product="collection",status="500"}"#, 1.0),
        (r#"momo_http_requests_total{operation="RequestToPay",product="collection",status="202"}"#, 1.0),
        (r#"momo_http_requests_total{operation="RequestToPayStatus",product="collection",status="200"}"#, 1.0),
        (r#"momo_http_requests_total{operation="other",product="none",status="404"}"#, 1.0),
        (r#"momo_http_request_duration_seconds_count{operation="RequestToPayStatus"}"#, 1.0),
        (r#"momo_transactions_created_total{product="collection",kind="requesttopay"}"#, 1.0),
        (r#"momo_transactions_finalized_total{product="collection",kind="requesttopay",status="Successful"}"#, 1.0),
        (r#"momo_callback_attempts_total{result="Delivered"}"#, 1.0),
        (r#"momo_callback_deliveries_total{outcome="Delivered"}"#, 1.0),
    ] {
        assert_eq!(moved(&before, &after, series), by, "{series}:\n{after}");
    }
    for untouched in [
        r#"momo_transactions_finalized_total{product="collection",kind="requesttopay",status="Failed"}"#,
        r#"momo_callback_attempts_total{result="Rejected"}"#,
        r#"momo_access_token_failures_total{product="collection",reason="MissingCredentials"}"#,
    ] {
        assert_eq!(moved(&before, &after, untouched), 0.0, "{untouched}:\n{after}");
    }
    // The group commit wrote the request to pay, its settlement, and the callback's claim and
    // attempt: commits were counted.
    assert!(moved(&before, &after, "momo_store_commit_rows_count") >= 1.0, "{after}");
    assert!(moved(&before, &after, "momo_store_commit_duration_seconds_count") >= 1.0, "{after}");
    assert!(sample(&after, "momo_open_connections") >= 1.0, "{after}");
    let version = format!(r#"momo_build_info{{version="{}"}} 1"#, env!("CARGO_PKG_VERSION"));
    assert!(after.lines().any(|line| line == version), "{after}");
    // No label carries what a client sent.
    for sent in [id.as_str(), user.as_str(), token.as_str(), "/no/such/route"] {
        assert!(!after.contains(sent), "{sent} in the metrics");
    }
}

/// A receiver that accepts connections and never answers: a delivery to it stays in flight.
async fn silent_receiver() -> (u16, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    (port, task)
}

#[tokio::test]
async fn the_callback_backlog_and_its_oldest_age_are_read_at_scrape_time() {
    let app = spawn_with(|s| s.callback_timeout = Duration::from_secs(60)).await;
    let (port, receiver) = silent_receiver().await;
    let (_, token) = payer_ready(&app).await;
    let empty = scrape(&app).await;
    assert_eq!(sample(&empty, "momo_callback_backlog"), 0.0, "{empty}");
    assert_eq!(sample(&empty, "momo_callback_backlog_oldest_age_seconds"), 0.0, "{empty}");

    let id = new_id();
    let callback = format!("http://127.0.0.1:{port}/momo/rtp");
    let body = rtp_body("56733123453", "10");
    app.create("collection", "/v1_0/requesttopay", &token, "sandbox", &id, Some(&callback), &body).await;
    // Final now, its callback due now; in flight to a receiver that never answers.
    app.final_status("collection", &format!("/v1_0/requesttopay/{id}"), &token, "sandbox").await;
    app.clock.advance(Duration::from_secs(5));
    let text = scrape(&app).await;
    assert_eq!(sample(&text, "momo_callback_backlog"), 1.0, "{text}");
    // The manual clock is the system's plus what the test added: a few milliseconds more.
    let age = sample(&text, "momo_callback_backlog_oldest_age_seconds");
    assert!((5.0..6.0).contains(&age), "{text}");
    receiver.abort();
}

#[tokio::test]
async fn metrics_refuse_without_the_operator_or_scrape_token_as_the_operator_api_does() {
    let app = spawn_with(|s| s.metrics_token = Some(SecretString::from(SCRAPE_TOKEN))).await;
    let metrics = app.url("/_momo/metrics");

    assert_answer(app.client.get(&metrics).send().await.unwrap(), 401, OPERATOR_401).await;
    assert_answer(app.client.get(&metrics).bearer_auth("wrong-token").send().await.unwrap(), 401, OPERATOR_401).await;
    let scraped = app.client.get(&metrics).bearer_auth(SCRAPE_TOKEN).send().await.unwrap();
    assert_eq!(scraped.status(), StatusCode::OK);
    assert!(scraped.text().await.unwrap().contains("momo_http_requests_total"));
    assert!(!scrape(&app).await.is_empty(), "the operator token reads them too");
    // The scrape token opens nothing else.
    let admin = app.client.get(app.url("/_momo/admin/users")).bearer_auth(SCRAPE_TOKEN).send().await.unwrap();
    assert_answer(admin, 401, OPERATOR_401).await;
}

#[tokio::test]
async fn without_a_scrape_token_set_only_the_operator_token_reads_the_metrics() {
    let app = spawn_app().await;
    let scraped = app.client.get(app.url("/_momo/metrics")).bearer_auth(SCRAPE_TOKEN).send().await.unwrap();
    assert_answer(scraped, 401, OPERATOR_401).await;
}

#[tokio::test]
async fn ready_answers_200_once_started_without_a_token() {
    let app = spawn_app().await;
    let ready = app.client.get(app.url("/_momo/ready")).send().await.unwrap();
    assert_answer(ready, 200, r#"{"status":"ready"}"#).await;
}
