//! The console's transactions pages over plain HTTP (the list, its filters and pages, a
//! transaction's page and its actions), the operator API's redelivery, and the same pages in a
//! real Chromium at laptop and phone width.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::console::{form_csrf, page, post_form, signed_in};
use crate::helpers::*;
use crate::production::{ghana_user, ghs_rtp};

const LIST: &str = "/_momo/console/transactions";

/// A sandbox user with collection and disbursement tokens: `(user, collection, disbursement)`.
async fn sandbox_payer(app: &TestApp) -> (String, String, String) {
    let user = new_id();
    assert_eq!(app.create_api_user(&user, "127.0.0.1").await.status(), StatusCode::CREATED);
    let key: Value = app.create_api_key(&user).await.json().await.unwrap();
    let key = key["apiKey"].as_str().unwrap();
    let collection = app.access_token("collection", &user, key).await;
    let disbursement = app.access_token("disbursement", &user, key).await;
    (user, collection, disbursement)
}

async fn request_to_pay(app: &TestApp, token: &str, env: &str, callback: Option<&str>, body: &Value) -> String {
    let id = new_id();
    let accepted = app.create("collection", "/v1_0/requesttopay", token, env, &id, callback, body).await;
    assert_eq!(accepted.status(), StatusCode::ACCEPTED);
    id
}

/// The reference ids a list page links to, in its order.
fn listed(html: &str) -> Vec<String> {
    html.split(r#"<a href="/_momo/console/transactions/"#)
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap().rsplit('/').next().unwrap().to_owned())
        .collect()
}

/// The "Older" link of a list page, if any.
fn older(html: &str) -> Option<String> {
    let link = html.split(r#"<a rel="next" href=""#).nth(1)?;
    Some(link.split('"').next().unwrap().replace("&amp;", "&"))
}

fn unescape(html: &str) -> String {
    html.replace("&quot;", "\"").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
}

fn detail_path(product: &str, kind: &str, id: &str) -> String {
    format!("{LIST}/{product}/{kind}/{id}")
}

/// Everything newest first with amounts, parties and status badges; each filter shows what it
/// names and nothing else; a filter the server cannot read is explained.
#[tokio::test]
async fn the_list_shows_every_transaction_and_each_filter_narrows_it() {
    let app = spawn_app().await;
    let (_, collection, disbursement) = sandbox_payer(&app).await;
    let (ghana, ghana_token) = ghana_user(&app).await;
    // A millisecond apart, so that "newest first" is one order (ties are another test's).
    let tick = || app.clock.advance(Duration::from_millis(5));
    let sandbox_rtp = request_to_pay(&app, &collection, "sandbox", None, &rtp_body("56733123453", "5")).await;
    tick();
    let failed = request_to_pay(&app, &collection, "sandbox", None, &rtp_body("56733123453", "7")).await;
    let forced = app
        .admin(Method::POST, &format!("/transactions/{failed}/force"), Some(serde_json::json!({"status": "FAILED"})))
        .await;
    assert_eq!(forced.status(), StatusCode::OK);
    tick();
    let transfer = new_id();
    let body = transfer_body("56733123453", "12.5", "EUR");
    let accepted = app.create("disbursement", "/v1_0/transfer", &disbursement, "sandbox", &transfer, None, &body).await;
    assert_eq!(accepted.status(), StatusCode::ACCEPTED);
    tick();
    let ghana_rtp = request_to_pay(&app, &ghana_token, "mtnghana", None, &ghs_rtp("233241234567", "25")).await;

    let (session, _) = signed_in(&app).await;
    let all = page(&app, &session, LIST).await;
    assert_eq!(listed(&all).len(), 4, "{all}");
    assert_eq!(listed(&all)[0], ghana_rtp, "newest first");
    for shown in ["25 GHS", "5 EUR", "12.5 EUR", "<small>MSISDN</small> <span class=\"party\">233241234567</span>"] {
        assert!(all.contains(shown), "{shown}: {all}");
    }
    assert!(all.contains(r#"<span class="badge failed">FAILED</span> <small>INTERNAL_PROCESSING_ERROR</small>"#));
    assert!(all.contains(r#"<span class="badge pending">PENDING</span> <small>waiting for the payer</small>"#));
    assert!(
        all.contains(r#"<div id="live" data-events="/_momo/console/events?topic=transactions&amp;since="#),
        "{all}"
    );
    assert!(older(&all).is_none(), "one page only");

    let upper = sandbox_rtp.to_ascii_uppercase();
    for (query, expected) in [
        ("product=disbursement", vec![&transfer]),
        ("kind=requesttopay", vec![&ghana_rtp, &failed, &sandbox_rtp]),
        ("status=FAILED", vec![&failed]),
        ("status=PENDING&environment=sandbox", vec![&transfer, &sandbox_rtp]),
        ("environment=mtnghana", vec![&ghana_rtp]),
        (&format!("api_user={ghana}") as &str, vec![&ghana_rtp]),
        (&format!("reference={upper}"), vec![&sandbox_rtp]),
    ] {
        let html = page(&app, &session, &format!("{LIST}?{query}")).await;
        let expected: Vec<String> = expected.into_iter().cloned().collect();
        assert_eq!(listed(&html), expected, "{query}");
    }
    // The form shows the filter in force.
    let filtered = page(&app, &session, &format!("{LIST}?environment=mtnghana")).await;
    assert!(filtered.contains(r#"<option value="mtnghana" selected>"#), "{filtered}");

    let response = crate::console::get_signed_in(&app, &session, &format!("{LIST}?product=savings")).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.text().await.unwrap().contains("&quot;savings&quot; is not a product."));
    let damaged = page(&app, &session, &format!("{LIST}?before=nonsense")).await;
    assert!(damaged.contains("This page's link is damaged"), "{damaged}");
    // Signed out, the list is not shown.
    let unsigned = crate::console::client().get(app.url(LIST)).send().await.unwrap();
    assert_eq!(unsigned.status(), StatusCode::SEE_OTHER);
}

/// Following "Older" visits every transaction once, in order, with the filter kept, even when
/// many share one millisecond (the test clock stands still).
#[tokio::test]
async fn older_pages_show_every_transaction_once() {
    let app = spawn_app().await;
    let (user, collection, _) = sandbox_payer(&app).await;
    let (_, ghana_token) = ghana_user(&app).await;
    let mut made = Vec::new();
    for i in 0..120 {
        made.push(
            request_to_pay(&app, &collection, "sandbox", None, &rtp_body("56733123453", &format!("{}", i + 1))).await,
        );
        if i % 10 == 0 {
            // Another user's, which the filter leaves out.
            request_to_pay(&app, &ghana_token, "mtnghana", None, &ghs_rtp("233241234567", "1")).await;
        }
    }
    let (session, _) = signed_in(&app).await;
    let mut next = Some(format!("{LIST}?api_user={user}"));
    let (mut seen, mut sizes) = (Vec::new(), Vec::new());
    while let Some(path) = next {
        let html = page(&app, &session, &path).await;
        let ids = listed(&html);
        sizes.push(ids.len());
        seen.extend(ids);
        next = older(&html);
        if let Some(link) = &next {
            assert!(link.contains(&format!("api_user={user}&before=")), "the filter is kept: {link}");
        }
    }
    assert_eq!(sizes, [50, 50, 20]);
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 120, "no duplicates");
    made.sort();
    assert_eq!(unique, made, "no gaps");
}

/// A server that settles at once, a receiver answering 200, and a sandbox request to pay with
/// its callback to that receiver: `(app, receiver, collection token, reference id)`.
async fn settled_with_callback() -> (TestApp, Receiver, String, String) {
    let app = spawn_with(|s| s.pending_delay = Duration::ZERO).await;
    let receiver = Receiver::start(200).await;
    let (_, collection, _) = sandbox_payer(&app).await;
    let callback = receiver.url("/momo");
    let id = request_to_pay(&app, &collection, "sandbox", Some(&callback), &rtp_body("56733123453", "5")).await;
    (app, receiver, collection, id)
}

/// A transaction's page: the request as received, the status body byte for byte as the API
/// answers it, the ledger postings, and the callback with its attempt.
#[tokio::test]
async fn a_transactions_page_shows_request_status_body_postings_and_callbacks() {
    let (app, receiver, collection, id) = settled_with_callback().await;
    receiver.wait_for(1).await;
    deliveries_when(&app, |d| d.iter().all(|d| d["state"] == "delivered")).await;

    let (session, _) = signed_in(&app).await;
    let html = page(&app, &session, &detail_path("collection", "requesttopay", &id)).await;
    let api = app.get("collection", &format!("/v1_0/requesttopay/{id}"), &collection, "sandbox").await;
    let api = api.text().await.unwrap();
    let shown = html
        .split(r#"id="status-body""#)
        .nth(1)
        .unwrap()
        .split("<code>")
        .nth(1)
        .unwrap()
        .split("</code>")
        .next()
        .unwrap();
    assert_eq!(unescape(shown), api, "the status body as the API answers it");
    assert!(html.contains("&quot;payerMessage&quot;: &quot;MoMo Debit API&quot;"), "the request, indented: {html}");
    assert!(html.contains(&format!("collection:requesttopay:{id}")), "the ledger entry: {html}");
    assert!(html.contains("-5 EUR") && html.contains("5 EUR"), "{html}");
    assert!(html.contains(r#"<span class="badge delivered">delivered</span>"#), "{html}");
    assert!(html.contains(r#"<td data-label="Answer">200</td>"#), "the attempt: {html}");
    assert!(html.contains(&unescape_inverse(&receiver.received.lock().unwrap()[0].body)), "the signed body: {html}");
    assert!(html
        .contains(&format!(r#"data-events="/_momo/console/events?topic=transaction&amp;reference={id}&amp;since="#)));
    assert!(!html.contains(r#"id="approve""#) && !html.contains(r#"id="force""#), "nothing to do on a final one");

    let missing =
        crate::console::get_signed_in(&app, &session, &detail_path("disbursement", "requesttopay", &id)).await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND, "reference ids are per product and kind");
}

/// What maud writes for `text` in HTML.
fn unescape_inverse(text: &str) -> String {
    text.replace('&', "&amp;").replace('"', "&quot;").replace('<', "&lt;").replace('>', "&gt;")
}

async fn api_status(app: &TestApp, token: &str, id: &str) -> (String, String) {
    let body: Value =
        app.get("collection", &format!("/v1_0/requesttopay/{id}"), token, "mtnghana").await.json().await.unwrap();
    (body["status"].as_str().unwrap().to_owned(), body["reason"].as_str().unwrap_or("").to_owned())
}

/// Approve, reject and force from a transaction's page settle as the API then says; a form
/// without the session's token changes nothing; an action that no longer applies is explained.
#[tokio::test]
async fn approve_reject_and_force_from_the_console_settle_the_transaction() {
    let app = spawn_app().await;
    let (_, token) = ghana_user(&app).await;
    let ids: Vec<String> = waiting_requests(&app, &token, 4).await;
    let (session, _) = signed_in(&app).await;
    let path = |id: &str| detail_path("collection", "requesttopay", id);

    // Without the session's token: refused, still waiting.
    let forged = post_form(&app, &session, &format!("{}/approve", path(&ids[0])), &[("csrf", "forged")]).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let no_session = crate::console::client()
        .post(app.url(&format!("{}/approve", path(&ids[0]))))
        .form(&[("csrf", "anything")])
        .send()
        .await
        .unwrap();
    assert_eq!(no_session.status(), StatusCode::SEE_OTHER);
    assert_eq!(api_status(&app, &token, &ids[0]).await.0, "PENDING");

    let html = page(&app, &session, &path(&ids[0])).await;
    assert!(html.contains(r#"id="approve""#) && html.contains(r#"id="reject""#) && html.contains(r#"id="force""#));
    let approved =
        post_form(&app, &session, &format!("{}/approve", path(&ids[0])), &[("csrf", &form_csrf(&html))]).await;
    assert_eq!(approved.status(), StatusCode::SEE_OTHER);
    assert_eq!(approved.headers()["location"], path(&ids[0]).as_str());
    assert_eq!(api_status(&app, &token, &ids[0]).await, ("SUCCESSFUL".into(), String::new()));

    let html = page(&app, &session, &path(&ids[1])).await;
    post_form(&app, &session, &format!("{}/reject", path(&ids[1])), &[("csrf", &form_csrf(&html))]).await;
    assert_eq!(api_status(&app, &token, &ids[1]).await, ("FAILED".into(), "APPROVAL_REJECTED".into()));

    let html = page(&app, &session, &path(&ids[2])).await;
    let csrf = form_csrf(&html);
    let form = [("csrf", csrf.as_str()), ("status", "FAILED"), ("reason", "NOT_ENOUGH_FUNDS")];
    assert_eq!(
        post_form(&app, &session, &format!("{}/force", path(&ids[2])), &form).await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(api_status(&app, &token, &ids[2]).await, ("FAILED".into(), "NOT_ENOUGH_FUNDS".into()));

    let html = page(&app, &session, &path(&ids[3])).await;
    let csrf = form_csrf(&html);
    let form = [("csrf", csrf.as_str()), ("status", "SUCCESSFUL"), ("reason", "NOT_ENOUGH_FUNDS")];
    post_form(&app, &session, &format!("{}/force", path(&ids[3])), &form).await;
    assert_eq!(api_status(&app, &token, &ids[3]).await, ("SUCCESSFUL".into(), String::new()));

    // Approving one that is final already: explained on its page, nothing changes.
    let html = page(&app, &session, &path(&ids[1])).await;
    let again = post_form(&app, &session, &format!("{}/approve", path(&ids[1])), &[("csrf", &form_csrf(&html))]).await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    assert!(again.text().await.unwrap().contains("The transaction is not waiting for the payer's approval."));
    assert_eq!(api_status(&app, &token, &ids[1]).await, ("FAILED".into(), "APPROVAL_REJECTED".into()));
    // A bad outcome is explained.
    let html = page(&app, &session, &path(&ids[1])).await;
    let csrf = form_csrf(&html);
    let bad = [("csrf", csrf.as_str()), ("status", "MAYBE"), ("reason", "")];
    let bad = post_form(&app, &session, &format!("{}/force", path(&ids[1])), &bad).await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert!(bad.text().await.unwrap().contains("Choose SUCCESSFUL or FAILED."));
}

/// `n` requests to pay in mtnghana, each waiting for the payer.
async fn waiting_requests(app: &TestApp, token: &str, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for _ in 0..n {
        ids.push(request_to_pay(app, token, "mtnghana", None, &ghs_rtp("233241234567", "25")).await);
    }
    ids
}

/// Redelivery, from the console and from the operator API: the receiver gets the same body
/// again; without the session's token nothing is sent; an unknown delivery is MoMo's 404.
#[tokio::test]
async fn a_callback_is_redelivered_from_the_console_and_the_operator_api() {
    let (app, receiver, _, id) = settled_with_callback().await;
    let first = receiver.wait_for(1).await.remove(0);
    let deliveries = deliveries_when(&app, |d| d.len() == 1 && d[0]["state"] == "delivered").await;
    let delivery = deliveries[0]["id"].as_str().unwrap().to_owned();
    let redeliver = format!("/_momo/console/callbacks/{delivery}/redeliver");

    let (session, _) = signed_in(&app).await;
    let forged = post_form(&app, &session, &redeliver, &[("csrf", "forged")]).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let state: Value = app.admin(Method::GET, &format!("/deliveries/{delivery}"), None).await.json().await.unwrap();
    assert_eq!((state["state"].as_str(), state["attempts"].as_i64()), (Some("delivered"), Some(1)), "unchanged");

    let html = page(&app, &session, &detail_path("collection", "requesttopay", &id)).await;
    assert!(html.contains(&format!(r#"action="{redeliver}""#)), "{html}");
    let sent = post_form(&app, &session, &redeliver, &[("csrf", &form_csrf(&html))]).await;
    assert_eq!(sent.status(), StatusCode::SEE_OTHER);
    assert_eq!(sent.headers()["location"], detail_path("collection", "requesttopay", &id).as_str());
    let second = receiver.wait_for(2).await.remove(1);
    assert_eq!(second.body, first.body, "the same body");
    assert_eq!(second.path, "/momo");
    // The receiver has it before the server has recorded the attempt, and an attempt in flight
    // cannot be redelivered (409): wait for the record.
    deliveries_when(&app, |d| d[0]["attempts"] == 2 && d[0]["state"] == "delivered").await;

    let by_api = app.admin(Method::POST, &format!("/deliveries/{delivery}/redeliver"), None).await;
    assert_eq!(by_api.status(), StatusCode::OK);
    let view: Value = by_api.json().await.unwrap();
    assert_eq!((view["id"].as_str(), view["state"].as_str()), (Some(delivery.as_str()), Some("pending")));
    assert_eq!(receiver.wait_for(3).await[2].body, first.body);
    // Every attempt is on the transaction's page.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let d: Value = app.admin(Method::GET, &format!("/deliveries/{delivery}"), None).await.json().await.unwrap();
        if d["attemptLog"].as_array().unwrap().len() == 3 && d["state"] == "delivered" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{d}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let html = page(&app, &session, &detail_path("collection", "requesttopay", &id)).await;
    assert_eq!(html.matches(r#"<td data-label="Answer">200</td>"#).count(), 3, "{html}");

    let unknown = app.admin(Method::POST, "/deliveries/no-such-delivery/redeliver", None).await;
    assert_answer(unknown, 404, NOT_FOUND_BODY).await;
}

/// The list and a transaction's page in a real Chromium, at laptop and phone width, reached with
/// the keyboard-usable links of the page.
#[tokio::test]
async fn the_transactions_pages_in_a_real_browser() {
    use crate::browser::{Browser, Viewport};
    use fantoccini::Locator;
    let app = spawn_with(|s| s.pending_delay = Duration::ZERO).await;
    let receiver = Receiver::start(200).await;
    let (_, collection, disbursement) = sandbox_payer(&app).await;
    let (_, ghana_token) = ghana_user(&app).await;
    let callback = receiver.url("/momo");
    let paid = request_to_pay(&app, &collection, "sandbox", Some(&callback), &rtp_body("56733123453", "5")).await;
    let body = transfer_body("56733123453", "12.5", "EUR");
    let transfer = new_id();
    app.create("disbursement", "/v1_0/transfer", &disbursement, "sandbox", &transfer, None, &body).await;
    let waiting = request_to_pay(&app, &ghana_token, "mtnghana", None, &ghs_rtp("233241234567", "25")).await;
    receiver.wait_for(1).await;

    let Some(browser) = Browser::start().await else { return };
    crate::browser::signed_in(&browser, &app).await;
    browser.goto(&app.url(LIST)).await.unwrap();
    assert_eq!(browser.text("h1").await, "Transactions");
    let table = browser.text("#live table").await;
    assert!(table.contains(&waiting) && table.contains("25 GHS") && table.contains("12.5 EUR"), "{table}");
    browser.fits_laptop_and_phone("transactions").await;

    // The waiting one, then approve it with the keyboard.
    browser.find(Locator::LinkText(&waiting)).await.unwrap().click().await.unwrap();
    crate::browser::wait_for(&browser, "#approve").await;
    browser.screenshot("transaction-waiting-1280").await;
    browser.find(Locator::Css("#approve")).await.unwrap().send_keys("\u{E007}").await.unwrap();
    crate::browser::wait_for(&browser, "#summary-title .badge.successful").await;
    let body: Value = app
        .get("collection", &format!("/v1_0/requesttopay/{waiting}"), &ghana_token, "mtnghana")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["status"], "SUCCESSFUL");

    browser.goto(&app.url(&detail_path("collection", "requesttopay", &paid))).await.unwrap();
    crate::browser::wait_for(&browser, ".delivery").await;
    assert!(browser.text("#status-body").await.contains("SUCCESSFUL"));
    browser.screenshot("transaction-1280").await;
    browser.set_viewport(Viewport::PHONE).await;
    browser.screenshot("transaction-390").await;
    assert!(!browser.scrolls_horizontally().await, "a transaction's page fits a 390-px phone");
    browser.close().await;
    app.stop().await;
}
