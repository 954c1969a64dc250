//! The console's handset simulator: a payer's wallet, the requests waiting for their approval,
//! and their answers (a PIN and Approve, or Reject), over plain HTTP and in a real Chromium.

use fantoccini::Locator;
use reqwest::header::LOCATION;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::browser::{Browser, Viewport};
use crate::console::{form_csrf, page, post_form, signed_in};
use crate::helpers::{new_id, rtp_body, spawn_app, spawn_with, TestApp};

const PAYER: &str = "256771234567";

/// A production-like user in mtnuganda (callbacks to shop.example.com) and its collection token.
async fn shop(app: &TestApp) -> String {
    let body = json!({"environment": "mtnuganda", "providerCallbackHost": "shop.example.com"});
    let created: Value = app.admin(Method::POST, "/users", Some(body)).await.json().await.unwrap();
    let (user, key) = (created["apiUser"].as_str().unwrap(), created["apiKey"].as_str().unwrap());
    app.access_token("collection", user, key).await
}

/// A request to pay of `amount` UGX from `payer`, waiting for their approval; its reference id.
async fn request_to_pay(app: &TestApp, token: &str, payer: &str, amount: &str) -> String {
    let id = new_id();
    let mut body = rtp_body(payer, amount);
    body["currency"] = json!("UGX");
    body["payerMessage"] = json!("Order 42 at the corner shop");
    let accepted = app.create("collection", "/v1_0/requesttopay", token, "mtnuganda", &id, None, &body).await;
    assert_eq!(accepted.status(), StatusCode::ACCEPTED);
    id
}

/// `(status, reason)` as the MoMo API answers it.
async fn api_status(app: &TestApp, token: &str, id: &str) -> (String, Option<String>) {
    let body: Value =
        app.get("collection", &format!("/v1_0/requesttopay/{id}"), token, "mtnuganda").await.json().await.unwrap();
    (body["status"].as_str().unwrap().to_owned(), body["reason"].as_str().map(str::to_owned))
}

fn handset(payer: &str) -> String {
    format!("/_momo/console/handset?environment=mtnuganda&type=MSISDN&id={payer}")
}

fn prompt_path(id: &str) -> String {
    format!("/_momo/console/handset/prompts/collection/requesttopay/{id}")
}

/// Answer the prompt `id` from the payer's page (with the page's CSRF token).
async fn answer(app: &TestApp, session: &str, id: &str, pin: &str, decision: &str) -> reqwest::Response {
    let csrf = form_csrf(&page(app, session, &handset(PAYER)).await);
    post_form(app, session, &prompt_path(id), &[("csrf", &csrf), ("pin", pin), ("decision", decision)]).await
}

#[tokio::test]
async fn a_pending_request_to_pay_is_a_prompt_on_its_payers_handset_and_nowhere_else() {
    let app = spawn_app().await;
    let token = shop(&app).await;
    let id = request_to_pay(&app, &token, PAYER, "50").await;
    let (session, _) = signed_in(&app).await;

    let html = page(&app, &session, &handset(PAYER)).await;
    assert!(html.contains("shop.example.com asks you to pay 50 UGX."), "{html}");
    assert!(html.contains("“Order 42 at the corner shop”") && html.contains("Reference: ext-1"), "{html}");
    assert!(html.contains(&format!(r#"action="{}""#, prompt_path(&id))), "{html}");
    assert!(
        html.contains(
            r#"data-events="/_momo/console/events?topic=wallet&amp;account=wallet%3Amtnuganda%3AMSISDN%3A256771234567&amp;since="#
        ),
        "the wallet is the live region: {html}"
    );

    for other in [handset("256770000001"), format!("/_momo/console/handset?environment=sandbox&type=MSISDN&id={PAYER}")]
    {
        let html = page(&app, &session, &other).await;
        assert!(!html.contains(&id) && html.contains("Nothing to approve."), "{other}: {html}");
    }
}

/// Every kind that waits for the payer is a prompt, worded for what it asks.
#[tokio::test]
async fn pre_approvals_and_invoices_are_prompts_too() {
    let app = spawn_app().await;
    let token = shop(&app).await;
    let payer = json!({"partyIdType": "MSISDN", "partyId": PAYER});
    let preapproval =
        json!({"payer": payer, "payerCurrency": "UGX", "payerMessage": "Weekly box", "validityTime": 604_800});
    let invoice = json!({
        "externalId": "inv-7", "amount": "3000", "currency": "UGX", "validityDuration": "3600",
        "intendedPayer": payer, "payee": {"partyIdType": "MSISDN", "partyId": "256779999999"},
        "description": "Water bill"
    });
    for (path, body) in [("/v2_0/preapproval", &preapproval), ("/v2_0/invoice", &invoice)] {
        let accepted = app.create("collection", path, &token, "mtnuganda", &new_id(), None, body).await;
        assert_eq!(accepted.status(), StatusCode::ACCEPTED, "{path}");
    }
    let (session, _) = signed_in(&app).await;
    let html = page(&app, &session, &handset(PAYER)).await;
    assert!(html.contains("shop.example.com asks you to pre-approve its payments in UGX, for 7 days."), "{html}");
    assert!(html.contains("“Weekly box”"), "{html}");
    assert!(
        html.contains("shop.example.com sends you an invoice of 3000 UGX.") && html.contains("“Water bill”"),
        "{html}"
    );
}

#[tokio::test]
async fn approving_with_a_pin_settles_as_the_operator_api_does() {
    let app = spawn_app().await;
    let token = shop(&app).await;
    let id = request_to_pay(&app, &token, PAYER, "50").await;
    let (session, _) = signed_in(&app).await;
    let html = page(&app, &session, &handset(PAYER)).await;
    assert!(html.contains("it starts with 1000000 UGX at its first payment"), "an unused wallet: {html}");

    let approved = answer(&app, &session, &id, "12345", "approve").await;
    assert_eq!(approved.status(), StatusCode::SEE_OTHER);
    let back = approved.headers()[LOCATION].to_str().unwrap().to_owned();
    assert!(back.starts_with(&handset(PAYER)) && back.ends_with(&format!("done={id}")), "{back}");
    assert_eq!(api_status(&app, &token, &id).await, ("SUCCESSFUL".to_owned(), None));
    // The ledger moved: the payer's opening balance less 50, the shop's account 50.
    let balance = app.balance("collection", &token, "mtnuganda").await.json::<Value>().await.unwrap();
    assert_eq!(balance["availableBalance"], "50");
    let html = page(&app, &session, &back).await;
    assert!(html.contains("Approved: Request to pay of 50 UGX is SUCCESSFUL."), "{html}");
    assert!(html.contains(r#"<p class="balance">999950 UGX</p>"#), "{html}");
    assert!(html.contains("−50 UGX") && html.contains("Nothing to approve."), "{html}");

    // Answered once: a second answer is refused and changes nothing.
    let again = answer(&app, &session, &id, "12345", "approve").await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    assert!(again.text().await.unwrap().contains("not waiting for an answer any more"));
}

#[tokio::test]
async fn rejecting_or_a_wrong_pin_fails_the_request_with_its_reason() {
    let app = spawn_app().await;
    let token = shop(&app).await;
    let rejected = request_to_pay(&app, &token, PAYER, "50").await;
    let wrong_pin = request_to_pay(&app, &token, PAYER, "70").await;
    let (session, _) = signed_in(&app).await;

    // Rejecting needs no PIN, as on a phone.
    assert_eq!(answer(&app, &session, &rejected, "", "reject").await.status(), StatusCode::SEE_OTHER);
    assert_eq!(api_status(&app, &token, &rejected).await, ("FAILED".to_owned(), Some("APPROVAL_REJECTED".to_owned())));
    let wrong = answer(&app, &session, &wrong_pin, "0000", "approve").await;
    assert_eq!(wrong.status(), StatusCode::SEE_OTHER);
    let (status, reason) = api_status(&app, &token, &wrong_pin).await;
    assert_eq!((status.as_str(), reason.as_deref()), ("FAILED", Some("INTERNAL_PROCESSING_ERROR")));
    let html = page(&app, &session, wrong.headers()[LOCATION].to_str().unwrap()).await;
    assert!(html.contains("Wrong PIN: Request to pay of 70 UGX is FAILED (INTERNAL_PROCESSING_ERROR)."), "{html}");
    let balance = app.balance("collection", &token, "mtnuganda").await.json::<Value>().await.unwrap();
    assert_eq!(balance["availableBalance"], "0", "no money moved");
}

#[tokio::test]
async fn a_bad_pin_or_a_form_without_the_sessions_token_changes_nothing() {
    let app = spawn_app().await;
    let token = shop(&app).await;
    let id = request_to_pay(&app, &token, PAYER, "50").await;
    let (session, _) = signed_in(&app).await;
    for pin in ["", "123", "123456", "12a4", "１２３４"] {
        let refused = answer(&app, &session, &id, pin, "approve").await;
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST, "PIN {pin:?}");
        let html = refused.text().await.unwrap();
        assert!(html.contains("A PIN is 4 or 5 digits: nothing was decided."), "{html}");
        assert!(html.contains(&prompt_path(&id)), "the prompt is still there: {html}");
    }
    for csrf in ["", "forged"] {
        let form = [("csrf", csrf), ("pin", "12345"), ("decision", "approve")];
        assert_eq!(post_form(&app, &session, &prompt_path(&id), &form).await.status(), StatusCode::FORBIDDEN);
    }
    // A page without a session: sent to sign in.
    let anonymous = crate::console::client()
        .post(app.url(&prompt_path(&id)))
        .form(&[("csrf", "x"), ("pin", "12345"), ("decision", "approve")])
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.headers()[LOCATION], "/_momo/console/sign-in");
    assert_eq!(api_status(&app, &token, &id).await, ("PENDING".to_owned(), None));
}

#[tokio::test]
async fn a_bad_payer_is_explained_on_the_page() {
    let app = spawn_app().await;
    let (session, _) = signed_in(&app).await;
    for (query, message) in [
        ("environment=mtnuganda&type=MSISDN&id=abc", "The party id must be an MSISDN"),
        ("environment=mtnuganda&type=EMAIL&id=nobody", "The party id must be an e-mail address."),
        (
            "environment=atlantis&type=MSISDN&id=256771234567",
            "Pick one of this server's environments: sandbox, mtnuganda",
        ),
        ("environment=mtnuganda&type=PHONE&id=256771234567", "The party type must be MSISDN, EMAIL or PARTY_CODE."),
    ] {
        let response = crate::console::get_signed_in(&app, &session, &format!("/_momo/console/handset?{query}")).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{query}");
        let html = response.text().await.unwrap();
        assert!(html.contains(r#"role="alert""#) && html.contains(message), "{query}: {html}");
    }
    for path in [prompt_path(&new_id()), "/_momo/console/handset/prompts/collection/nonsense/x".to_owned()] {
        let csrf = form_csrf(&page(&app, &session, "/_momo/console/handset").await);
        let form = [("csrf", csrf.as_str()), ("pin", "12345"), ("decision", "approve")];
        let unknown = post_form(&app, &session, &path, &form).await;
        assert_eq!(unknown.status(), StatusCode::NOT_FOUND, "{path}");
        assert!(unknown.text().await.unwrap().contains("There is no such request: nothing was decided."));
    }
}

#[tokio::test]
async fn the_sandbox_test_numbers_are_listed_with_the_outcome_of_the_active_profile() {
    let row = |number: &str, use_case: &str, outcome: &str| {
        format!(
            r#"{number}</code></a> <span class="use-case">{use_case}</span>: <span class="outcome">{outcome}</span>"#
        )
    };
    let observed = spawn_app().await;
    let (session, _) = signed_in(&observed).await;
    let html = page(&observed, &session, "/_momo/console/handset").await;
    assert!(html.contains(&row("46733123451", "Rejected", "FAILED, reason APPROVAL_REJECTED")), "{html}");
    assert!(html.contains(&row("46733123453", "Ongoing", "FAILED, reason ONGOING")), "{html}");
    assert!(
        html.contains(&row(
            "notactive@email.com",
            "NotActive",
            r#"200 {"result":false}"#.replace('"', "&quot;").as_str()
        )),
        "{html}"
    );
    assert!(html.contains("/_momo/console/handset?environment=sandbox&amp;type=MSISDN&amp;id=46733123451"), "{html}");

    let documented = spawn_with(|s| s.scenario_profile = momo_server::config::ScenarioProfile::Documented).await;
    let (session, _) = signed_in(&documented).await;
    let html = page(&documented, &session, "/_momo/console/handset").await;
    assert!(html.contains(&row("46733123453", "Ongoing", "PENDING for 30 s, then SUCCESSFUL")), "{html}");
}

/// Issue 10's handset flow in a real browser: the prompt on a 390-px phone without horizontal
/// scrolling; a PIN and Approve make the API's status SUCCESSFUL; the page at laptop width.
#[tokio::test]
async fn a_prompt_approved_in_a_real_browser_on_a_phone() {
    let app = spawn_app().await;
    let token = shop(&app).await;
    let approved = request_to_pay(&app, &token, PAYER, "50").await;
    let waiting = request_to_pay(&app, &token, PAYER, "1200").await;
    let Some(browser) = Browser::start().await else { return };
    crate::browser::signed_in(&browser, &app).await;
    browser.set_viewport(Viewport::PHONE).await;
    browser.goto(&app.url(&handset(PAYER))).await.unwrap();
    crate::browser::wait_for(&browser, ".prompt").await;
    assert!(!browser.scrolls_horizontally().await, "the handset page fits a 390-px phone");
    browser.screenshot("handset-prompt-390").await;

    let form = format!("form[action='{}']", prompt_path(&approved));
    let pin = browser.find(Locator::Css(&format!("{form} input[name=pin]"))).await.unwrap();
    pin.send_keys("2468").await.unwrap();
    browser.find(Locator::Css(&format!("{form} button[value=approve]"))).await.unwrap().click().await.unwrap();
    crate::browser::wait_for(&browser, ".notice").await;
    assert_eq!(browser.text(".notice").await, "Approved: Request to pay of 50 UGX is SUCCESSFUL.");
    assert_eq!(api_status(&app, &token, &approved).await, ("SUCCESSFUL".to_owned(), None));
    assert_eq!(browser.text(".balance").await, "999950 UGX");
    assert!(browser.text(".prompt .ask").await.contains("asks you to pay 1200 UGX"), "the other one still waits");
    assert!(!browser.scrolls_horizontally().await);
    browser.screenshot("handset-390").await;
    browser.execute("document.querySelector('ol.history').scrollIntoView()", vec![]).await.unwrap();
    browser.screenshot("handset-history-390").await;

    browser.set_viewport(Viewport::LAPTOP).await;
    assert!(!browser.scrolls_horizontally().await);
    browser.screenshot("handset-1280").await;
    assert_eq!(api_status(&app, &token, &waiting).await, ("PENDING".to_owned(), None));
    browser.close().await;
    app.stop().await;
}
