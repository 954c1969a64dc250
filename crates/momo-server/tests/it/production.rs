//! Production-like environments: wallets, the payer's approval, real balances, and the
//! operator's controls (approve, reject, force, balances, faults, reset).

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::*;

/// An operator-created user in mtnghana with a token: `(user, token)`.
pub(crate) async fn ghana_user(app: &TestApp) -> (String, String) {
    operator_user(app, "mtnghana").await
}

pub(crate) fn ghs_rtp(msisdn: &str, amount: &str) -> Value {
    let mut body = rtp_body(msisdn, amount);
    body["currency"] = json!("GHS");
    body
}

async fn status_of(app: &TestApp, token: &str, id: &str) -> Value {
    app.get("collection", &format!("/v1_0/requesttopay/{id}"), token, "mtnghana").await.json().await.unwrap()
}

#[tokio::test]
async fn a_request_to_pay_waits_for_the_payer_and_the_operator_answers_for_them() {
    let app = spawn_app().await;
    let (_, token) = ghana_user(&app).await;
    let approved = new_id();
    let rejected = new_id();
    let ignored = new_id();
    for id in [&approved, &rejected, &ignored] {
        let r = app
            .create("collection", "/v1_0/requesttopay", &token, "mtnghana", id, None, &ghs_rtp("233241234567", "25"))
            .await;
        assert_eq!(r.status(), StatusCode::ACCEPTED);
    }
    app.clock.advance(Duration::from_secs(60));
    assert_eq!(status_of(&app, &token, &approved).await["status"], "PENDING", "no approval yet");

    let r = app.admin(Method::POST, &format!("/transactions/{approved}/approve"), None).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(status_of(&app, &token, &approved).await["status"], "SUCCESSFUL");
    let r = app.admin(Method::POST, &format!("/transactions/{rejected}/reject"), None).await;
    assert_eq!(r.status(), StatusCode::OK);
    let body = status_of(&app, &token, &rejected).await;
    assert_eq!((body["status"].as_str(), body["reason"].as_str()), (Some("FAILED"), Some("APPROVAL_REJECTED")));
    let again = app.admin(Method::POST, &format!("/transactions/{approved}/approve"), None).await;
    assert_eq!(again.status(), StatusCode::CONFLICT);

    // Unanswered past the approval window (5 minutes).
    app.clock.advance(Duration::from_secs(241));
    let body = status_of(&app, &token, &ignored).await;
    assert_eq!(
        (body["status"].as_str(), body["reason"].as_str()),
        (Some("FAILED"), Some("COULD_NOT_PERFORM_TRANSACTION"))
    );

    let balance = app.balance("collection", &token, "mtnghana").await;
    assert_answer(balance, 200, r#"{"availableBalance":"25","currency":"GHS"}"#).await;
}

#[tokio::test]
async fn funds_come_from_real_balances() {
    let app = spawn_with(|s| {
        s.auto_approve = true;
        s.wallet_opening_balance = "100".parse().unwrap();
    })
    .await;
    let (user, token) = ghana_user(&app).await;

    // The payer's wallet opens with 100 GHS: 60 goes through, then 50 more does not.
    let first = new_id();
    app.create("collection", "/v1_0/requesttopay", &token, "mtnghana", &first, None, &ghs_rtp("233241234567", "60"))
        .await;
    app.clock.advance(Duration::from_secs(3));
    assert_eq!(status_of(&app, &token, &first).await["status"], "SUCCESSFUL");
    let second = new_id();
    app.create("collection", "/v1_0/requesttopay", &token, "mtnghana", &second, None, &ghs_rtp("233241234567", "50"))
        .await;
    app.clock.advance(Duration::from_secs(3));
    let body = status_of(&app, &token, &second).await;
    assert_eq!((body["status"].as_str(), body["reason"].as_str()), (Some("FAILED"), Some("NOT_ENOUGH_FUNDS")));

    // The API user's disbursement account starts empty: a transfer fails until it is funded.
    let transfer = |id: String| {
        let body = transfer_body("233209999999", "30", "GHS");
        let app = &app;
        let token = token.clone();
        async move { app.create("disbursement", "/v1_0/transfer", &token, "mtnghana", &id, None, &body).await }
    };
    let unfunded = new_id();
    transfer(unfunded.clone()).await;
    app.clock.advance(Duration::from_secs(3));
    let body: Value =
        app.get("disbursement", &format!("/v1_0/transfer/{unfunded}"), &token, "mtnghana").await.json().await.unwrap();
    assert_eq!(body["reason"], "NOT_ENOUGH_FUNDS");

    let funded = app
        .admin(Method::PUT, &format!("/users/{user}/accounts/disbursement/balance"), Some(json!({"amount": "1000"})))
        .await;
    assert_eq!(funded.status(), StatusCode::OK);
    let ok = new_id();
    transfer(ok.clone()).await;
    app.clock.advance(Duration::from_secs(3));
    let body: Value =
        app.get("disbursement", &format!("/v1_0/transfer/{ok}"), &token, "mtnghana").await.json().await.unwrap();
    assert_eq!(body["status"], "SUCCESSFUL");
    assert_answer(
        app.balance("disbursement", &token, "mtnghana").await,
        200,
        r#"{"availableBalance":"970","currency":"GHS"}"#,
    )
    .await;

    // The operator sets a wallet, and the ledger agrees with every balance.
    let set =
        app.admin(Method::PUT, "/wallets/mtnghana/MSISDN/233241234567/balance", Some(json!({"amount": "5"}))).await;
    let set: Value = set.json().await.unwrap();
    assert_eq!(set["balance"], "5");
    assert_ledger_balances(&app).await;
}

/// Every account's balance equals the sum of its postings and, per currency, everything sums to zero.
pub async fn assert_ledger_balances(app: &TestApp) {
    let accounts: Vec<Value> = app.admin(Method::GET, "/accounts", None).await.json().await.unwrap();
    assert!(!accounts.is_empty());
    let mut totals = std::collections::BTreeMap::<String, f64>::new();
    for account in &accounts {
        let balance: f64 = account["balance"].as_str().unwrap().parse().unwrap();
        *totals.entry(account["currency"].as_str().unwrap().to_owned()).or_default() += balance;
        if let Some(floor) = account["floor"].as_str() {
            assert!(balance >= floor.parse::<f64>().unwrap(), "{account}");
        }
    }
    for (currency, total) in totals {
        assert!(total.abs() < 1e-9, "{currency} does not balance: {total}");
    }
}

#[tokio::test]
async fn the_operator_forces_outcomes_and_inspects_transactions() {
    let app = spawn_app().await;
    let (_, token) = payer_ready(&app).await;
    let id = new_id();
    app.create("collection", "/v1_0/requesttopay", &token, "sandbox", &id, None, &rtp_body("56733123453", "1")).await;
    let forced = app
        .admin(
            Method::POST,
            &format!("/transactions/{id}/force"),
            Some(json!({"status": "FAILED", "reason": "PAYER_NOT_FOUND"})),
        )
        .await;
    let forced: Value = forced.json().await.unwrap();
    assert_eq!((forced["status"].as_str(), forced["reason"].as_str()), (Some("FAILED"), Some("PAYER_NOT_FOUND")));
    let detail: Value = app.admin(Method::GET, &format!("/transactions/{id}"), None).await.json().await.unwrap();
    assert_eq!(detail["statusBody"]["reason"], "PAYER_NOT_FOUND");
    let bad = app.admin(Method::POST, &format!("/transactions/{id}/force"), Some(json!({"status": "PENDING"}))).await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let final_already =
        app.admin(Method::POST, &format!("/transactions/{id}/force"), Some(json!({"status": "SUCCESSFUL"}))).await;
    assert_eq!(final_already.status(), StatusCode::CONFLICT);

    let reset = app.admin(Method::POST, "/reset", None).await;
    assert_eq!(reset.status(), StatusCode::NO_CONTENT);
    assert_answer(
        app.get("collection", &format!("/v1_0/requesttopay/{id}"), &token, "sandbox").await,
        404,
        NOT_FOUND_BODY,
    )
    .await;
}

#[tokio::test]
async fn fault_injection_reproduces_the_sandboxs_500s_and_503s() {
    let app = spawn_app().await;
    let rule = app
        .admin(
            Method::POST,
            "/faults",
            Some(json!({"method": "POST", "path": "/v1_0/apiuser", "status": 500, "count": 2})),
        )
        .await;
    assert_eq!(rule.status(), StatusCode::CREATED);
    for _ in 0..2 {
        let (status, body) = status_and_body(app.create_api_user(&new_id(), "127.0.0.1").await).await;
        assert_eq!(status, 500);
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_eq!((body["statusCode"].as_u64(), body["message"].as_str()), (Some(500), Some("Internal server error")));
        assert!(body["activityId"].is_string());
    }
    assert_eq!(app.create_api_user(&new_id(), "127.0.0.1").await.status(), StatusCode::CREATED, "only two");

    let (user, token) = payer_ready(&app).await;
    let (_, other) = payer_ready(&app).await;
    app.admin(
        Method::POST,
        "/faults",
        Some(json!({"path": "/collection/v1_0/requesttopay*", "apiUser": user, "status": 503, "latencyMs": 50})),
    )
    .await;
    let started = std::time::Instant::now();
    let refused = app
        .create("collection", "/v1_0/requesttopay", &token, "sandbox", &new_id(), None, &rtp_body("56733123453", "1"))
        .await;
    assert!(started.elapsed() >= Duration::from_millis(50));
    assert_answer(
        refused,
        503,
        r#"{"code":"SERVICE_UNAVAILABLE","message":"Service temporary unavailable, try again later"}"#,
    )
    .await;
    let others = app
        .create("collection", "/v1_0/requesttopay", &other, "sandbox", &new_id(), None, &rtp_body("56733123453", "1"))
        .await;
    assert_eq!(others.status(), StatusCode::ACCEPTED, "another API user is not affected");

    let rules: Vec<Value> = app.admin(Method::GET, "/faults", None).await.json().await.unwrap();
    assert_eq!(rules.len(), 2);
    let id = rules[1]["id"].as_str().unwrap();
    assert_eq!(app.admin(Method::DELETE, &format!("/faults/{id}"), None).await.status(), StatusCode::NO_CONTENT);
    let served = app
        .create("collection", "/v1_0/requesttopay", &token, "sandbox", &new_id(), None, &rtp_body("56733123453", "1"))
        .await;
    assert_eq!(served.status(), StatusCode::ACCEPTED);
    let bad = app.admin(Method::POST, "/faults", Some(json!({"path": "x", "probability": 2}))).await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
}
