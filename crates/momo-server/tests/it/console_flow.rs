//! Issue 10's end-to-end flow in real browsers: a request to pay made through the MoMo API shows
//! up by itself on the transactions page (one browser, the operator's) and as a prompt on the
//! payer's handset (another browser, a phone), without a reload; approving it there makes the
//! API's status SUCCESSFUL, and the callback, sent to a receiver the test runs, shows as
//! delivered on the transaction's page.

use std::time::{Duration, Instant};

use fantoccini::Locator;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::browser::{signed_in, wait_for, Browser, Viewport};
use crate::helpers::{new_id, rtp_body, spawn_app, Receiver, TestApp};

const PAYER: &str = "256772345678";

/// Wait until `script` (returning a boolean) is true in `browser`, and say how long it took.
/// The bound only stops a hang; how fast it happens is printed, not asserted.
async fn until(browser: &Browser, script: &str, what: &str) -> Duration {
    let started = Instant::now();
    loop {
        let done = browser.execute(script, vec![]).await.unwrap();
        if done == Value::Bool(true) {
            return started.elapsed();
        }
        assert!(started.elapsed() < Duration::from_secs(15), "{what} never happened");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Whether the live region of the page shows `text`.
fn live_shows(text: &str) -> String {
    format!("return (document.getElementById('live') || document.body).textContent.includes({text:?})")
}

/// Open `path` and wait until its event stream is connected; then mark the page, so that a
/// reload (which would clear the mark) can be told from a live update.
async fn open_live(browser: &Browser, app: &TestApp, path: &str) {
    browser.goto(&app.url(path)).await.unwrap();
    until(
        browser,
        "return (document.querySelector('.live-status') || {}).textContent === 'Live: this page updates by itself.'",
        "the page going live",
    )
    .await;
    browser.execute("window.notReloaded = true", vec![]).await.unwrap();
}

async fn not_reloaded(browser: &Browser) -> bool {
    browser.execute("return window.notReloaded === true", vec![]).await.unwrap() == Value::Bool(true)
}

#[tokio::test]
async fn a_request_to_pay_shows_up_live_and_is_approved_on_the_handset_in_real_browsers() {
    let app = spawn_app().await;
    let receiver = Receiver::start(200).await;
    // A production environment calls back over https only, or to the user's Payment Server URL,
    // which may be the test's plain-http receiver.
    let shop = json!({"environment": "mtnuganda", "providerCallbackHost": "127.0.0.1", "paymentServerUrl": receiver.url("/momo")});
    let created: Value = app.admin(Method::POST, "/users", Some(shop)).await.json().await.unwrap();
    let (user, key) = (created["apiUser"].as_str().unwrap(), created["apiKey"].as_str().unwrap());
    let token = app.access_token("collection", user, key).await;
    let Some(operator) = Browser::start().await else { return };
    let Some(phone) = Browser::start().await else { return };
    signed_in(&operator, &app).await;
    signed_in(&phone, &app).await;
    phone.set_viewport(Viewport::PHONE).await;
    open_live(&operator, &app, "/_momo/console/transactions").await;
    open_live(&phone, &app, &format!("/_momo/console/handset?environment=mtnuganda&type=MSISDN&id={PAYER}")).await;

    let id = new_id();
    let mut body = rtp_body(PAYER, "750");
    body["currency"] = json!("UGX");
    body["payerMessage"] = json!("Two bags of rice");
    let accepted = app.create("collection", "/v1_0/requesttopay", &token, "mtnuganda", &id, None, &body).await;
    assert_eq!(accepted.status(), StatusCode::ACCEPTED, "{:?}", accepted.text().await);
    let on_list = until(&operator, &live_shows(&id), "the request on the transactions page").await;
    let on_phone = until(&phone, "return !!document.querySelector('#live .prompt')", "the prompt on the handset").await;
    eprintln!("live: on the transactions page {on_list:?}, on the handset {on_phone:?} after the 202");
    assert!(not_reloaded(&operator).await && not_reloaded(&phone).await, "both pages changed without a reload");
    assert!(phone.text("#live .prompt .ask").await.contains("asks you to pay 750 UGX"));
    assert!(!phone.scrolls_horizontally().await);
    operator.screenshot("transactions-live-1280").await;
    phone.screenshot("handset-live-prompt-390").await;

    // The payer approves with a PIN.
    phone.find(Locator::Css("#live .prompt input[name=pin]")).await.unwrap().send_keys("13579").await.unwrap();
    phone.find(Locator::Css("#live .prompt button[value=approve]")).await.unwrap().click().await.unwrap();
    wait_for(&phone, ".notice").await;
    assert_eq!(phone.text(".notice").await, "Approved: Request to pay of 750 UGX is SUCCESSFUL.");
    let status: Value =
        app.get("collection", &format!("/v1_0/requesttopay/{id}"), &token, "mtnuganda").await.json().await.unwrap();
    assert_eq!(status["status"], "SUCCESSFUL", "{status}");

    // The callback reached the receiver, and the transaction's page says so.
    let received = receiver.wait_for(1).await;
    assert!(received[0].body.contains("SUCCESSFUL"), "{:?}", received[0].body);
    open_live(&operator, &app, &format!("/_momo/console/transactions/collection/requesttopay/{id}")).await;
    until(&operator, &live_shows("delivered"), "the callback shown as delivered").await;
    assert!(operator.text("#live").await.contains("SUCCESSFUL"));
    operator.screenshot("transaction-delivered-1280").await;

    operator.close().await;
    phone.close().await;
    app.stop().await;
}
