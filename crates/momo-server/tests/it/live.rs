//! Live updates of the console: the event streams its pages follow (docs/console.md, "Live
//! updates"), on one instance and across instances sharing PostgreSQL; the overview's counts.
//! `browser.rs` checks in Chromium that pages change by themselves.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::console::{client, get_signed_in, page, signed_in};
use crate::helpers::*;

/// A console event stream, read as a browser's `EventSource` would.
struct Stream {
    response: reqwest::Response,
    seen: String,
}

impl Stream {
    async fn open(app: &TestApp, session: &str, query: &str) -> Stream {
        let response = client()
            .get(app.url(&format!("/_momo/console/events?{query}")))
            .header("Cookie", format!("momo_console={session}"))
            .header("Accept", "text/event-stream")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        let mut stream = Stream { response, seen: String::new() };
        // The opening comment: the stream is subscribed from here on.
        stream.read_until(": live").await;
        stream
    }

    /// Read until `what` arrives (a hang fails the test after a generous bound).
    async fn read_until(&mut self, what: &str) {
        let read = async {
            while !self.seen.contains(what) {
                let chunk = self.response.chunk().await.unwrap().expect("the stream ended");
                self.seen.push_str(&String::from_utf8_lossy(&chunk));
            }
        };
        tokio::time::timeout(Duration::from_secs(20), read)
            .await
            .unwrap_or_else(|_| panic!("no {what:?} on the stream; it said {:?}", self.seen));
        self.seen.clear();
    }

    async fn change(&mut self) {
        self.read_until("event: change").await;
    }
}

/// A sandbox request to pay of 5 EUR from `payer`: its reference id.
async fn sandbox_request_to_pay(app: &TestApp, token: &str, payer: &str) -> String {
    let id = new_id();
    let r = app.create("collection", "/v1_0/requesttopay", token, "sandbox", &id, None, &rtp_body(payer, "5")).await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    id
}

async fn request_to_pay(app: &TestApp, token: &str, id: &str) {
    let mut body = rtp_body("233241234567", "25");
    body["currency"] = json!("GHS");
    let r = app.create("collection", "/v1_0/requesttopay", token, "mtnghana", id, None, &body).await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
}

#[tokio::test]
async fn event_streams_need_a_session_and_a_known_topic() {
    let app = spawn_app().await;
    let anonymous = client().get(app.url("/_momo/console/events?topic=transactions")).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::NO_CONTENT, "an EventSource stops reconnecting on 204");
    let (session, _) = signed_in(&app).await;
    for query in ["topic=nonsense", "topic=transaction", "topic=wallet&reference=x", ""] {
        let r = get_signed_in(&app, &session, &format!("/_momo/console/events?{query}")).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{query}");
    }
}

#[tokio::test]
async fn a_payment_tells_the_pages_that_show_it_and_only_them() {
    let app = spawn_app().await;
    let (session, _) = signed_in(&app).await;
    let (_, token) = operator_user(&app, "mtnghana").await;
    let id = new_id();
    let mut list = Stream::open(&app, &session, "topic=transactions").await;
    let mut detail = Stream::open(&app, &session, &format!("topic=transaction&reference={id}")).await;
    let mut other = Stream::open(&app, &session, &format!("topic=transaction&reference={}", new_id())).await;
    let wallet = "wallet:mtnghana:MSISDN:233241234567";
    let mut handset = Stream::open(&app, &session, &format!("topic=wallet&account={wallet}")).await;

    request_to_pay(&app, &token, &id).await;
    list.change().await;
    detail.change().await;
    handset.change().await;

    // The operator approves: the payment is final and the pages hear of it again.
    let r = app.admin(Method::POST, &format!("/transactions/{id}/approve"), None).await;
    assert_eq!(r.status(), StatusCode::OK);
    detail.change().await;
    list.change().await;
    // The unrelated transaction's page heard nothing of either: its stream only carries the
    // keep-alive so far (checked last, after the others proved the hints went out).
    let quiet = tokio::time::timeout(Duration::from_millis(500), other.response.chunk()).await;
    assert!(!matches!(&quiet, Ok(Ok(Some(chunk))) if String::from_utf8_lossy(chunk).contains("change")), "{quiet:?}");
}

/// A page rendered just before a change, whose stream connects just after it, still hears of
/// it: the stream is opened with the page's render time.
#[tokio::test]
async fn a_change_between_rendering_a_page_and_following_it_is_not_missed() {
    let app = spawn_app().await;
    let (session, _) = signed_in(&app).await;
    let (_, token) = operator_user(&app, "mtnghana").await;
    let rendered = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis();
    // Another page watching makes the change be handed on.
    let mut watching = Stream::open(&app, &session, "topic=transactions").await;
    request_to_pay(&app, &token, &new_id()).await;
    watching.change().await;
    let mut late = Stream::open(&app, &session, &format!("topic=transactions&since={rendered}")).await;
    late.change().await;
}

/// The overview's count in the cell `id`, once the counts are taken (the first view may show
/// "Counting…": it never waits for a count); each look after the first waits for a hint.
async fn counted(app: &TestApp, session: &str, counts: &mut Stream, id: &str, wanted: &str) -> String {
    loop {
        let html = page(app, session, "/_momo/console/").await;
        if let Some(after) = html.split(&format!(r#"id="{id}""#)).nth(1) {
            let value = after.split("</a>").next().unwrap().rsplit('>').next().unwrap().to_owned();
            if value == wanted {
                return html;
            }
        } else {
            assert!(html.contains("Counting…"), "{html}");
        }
        counts.change().await;
    }
}

#[tokio::test]
async fn the_overview_counts_transactions_and_counts_again_after_a_change_while_open() {
    let app = spawn_app().await;
    let (session, _) = signed_in(&app).await;
    let (_, token) = operator_user(&app, "mtnghana").await;
    let (_, sandbox_token) = payer_ready(&app).await;
    sandbox_request_to_pay(&app, &sandbox_token, "46733123450").await;
    let mut counts = Stream::open(&app, &session, "topic=counts").await;
    // The sandbox number that fails: counted as FAILED, nothing pending yet.
    app.clock.advance(Duration::from_secs(60));
    let html = counted(&app, &session, &mut counts, "count-collection-FAILED", "1").await;
    assert!(html.contains(r#"id="count-collection-PENDING"><a href="/_momo/console/transactions?product=collection&amp;status=PENDING">0</a>"#), "{html}");
    request_to_pay(&app, &token, &new_id()).await;
    request_to_pay(&app, &token, &new_id()).await;
    // Counted again (at most once a second) while the page is open: both pending ones show.
    let html = counted(&app, &session, &mut counts, "count-collection-PENDING", "2").await;
    assert!(html.contains(r#"id="count-disbursement-PENDING"><a href="/_momo/console/transactions?product=disbursement&amp;status=PENDING">0</a>"#), "{html}");
    assert!(html.contains(r#"id="count-collection-FAILED"><a href="/_momo/console/transactions?product=collection&amp;status=FAILED">1</a>"#), "{html}");
}

/// Instances sharing a PostgreSQL database tell each other: a page open on one hears of a
/// payment made through the other.
#[tokio::test]
async fn a_page_on_one_instance_hears_of_a_payment_made_on_another_sharing_postgres() {
    if skip_on_postgres("it brings its own PostgreSQL database") {
        return;
    }
    let Some(url) = fresh_postgres_database().await else { return };
    let dir = std::sync::Arc::new(tempfile::tempdir().unwrap());
    let clock = momo_server::Clock::manual();
    let first = start(shared_postgres_settings(dir.path(), &url), dir.clone(), clock.clone()).await;
    let second = start(shared_postgres_settings(dir.path(), &url), dir.clone(), clock.clone()).await;
    let (session, _) = signed_in(&second).await;
    let (_, token) = operator_user(&first, "mtnghana").await;
    let id = new_id();
    let mut detail = Stream::open(&second, &session, &format!("topic=transaction&reference={id}")).await;
    request_to_pay(&first, &token, &id).await;
    detail.change().await;
    let r = first.admin(Method::POST, &format!("/transactions/{id}/approve"), None).await;
    assert_eq!(r.status(), StatusCode::OK);
    detail.change().await;
}

/// An open page never holds up a graceful stop: its stream ends when the server stops.
#[tokio::test]
async fn open_event_streams_end_when_the_server_stops() {
    let app = spawn_app().await;
    let (session, _) = signed_in(&app).await;
    let mut stream = Stream::open(&app, &session, "topic=callbacks").await;
    tokio::time::timeout(Duration::from_secs(20), app.stop()).await.expect("the server stopped");
    let end = tokio::time::timeout(Duration::from_secs(20), stream.response.chunk()).await.expect("the stream ended");
    assert!(matches!(end, Ok(None) | Err(_)), "{end:?}");
}

/// A refund names its request to pay, not the payer it credits: the payer's handset still hears
/// of it when it settles (the wallet is found in its postings).
#[tokio::test]
async fn a_refund_tells_the_handset_of_the_payer_it_credits() {
    let app = spawn_app().await;
    let (session, _) = signed_in(&app).await;
    let (_, token) = payer_ready(&app).await;
    let rtp = sandbox_request_to_pay(&app, &token, "56733123453").await;
    let paid = app.final_status("collection", &format!("/v1_0/requesttopay/{rtp}"), &token, "sandbox").await;
    assert!(paid.contains("SUCCESSFUL"), "{paid}");
    let mut wallet = Stream::open(&app, &session, "topic=wallet&account=wallet:sandbox:MSISDN:56733123453").await;
    let refund = new_id();
    let body = json!({"amount": "5", "currency": "EUR", "externalId": "r1", "referenceIdToRefund": rtp});
    let r = app.create("disbursement", "/v1_0/refund", &token, "sandbox", &refund, None, &body).await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let refunded = app.final_status("disbursement", &format!("/v1_0/refund/{refund}"), &token, "sandbox").await;
    assert!(refunded.contains("SUCCESSFUL"), "{refunded}");
    wallet.change().await;
}

/// Signing out ends the session's live pages: the next change ends their streams instead of
/// being told to them.
#[tokio::test]
async fn a_stream_ends_at_the_first_change_after_its_session_signed_out() {
    let app = spawn_app().await;
    let (session, csrf) = signed_in(&app).await;
    let (_, token) = operator_user(&app, "mtnghana").await;
    let mut stream = Stream::open(&app, &session, "topic=transactions").await;
    let out = crate::console::post_form(&app, &session, "/_momo/console/sign-out", &[("csrf", &csrf)]).await;
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    request_to_pay(&app, &token, &new_id()).await;
    let rest = async {
        let mut said = String::new();
        while let Some(chunk) = stream.response.chunk().await.unwrap() {
            said.push_str(&String::from_utf8_lossy(&chunk));
        }
        said
    };
    let said = tokio::time::timeout(Duration::from_secs(20), rest).await.expect("the stream ended");
    assert!(!said.contains("event: change"), "{said}");
}

/// A page that answers a form (here a refused approval, shown at the form's address) has no
/// event stream: its address cannot be loaded again to show a change. The same transaction's own
/// page has one.
#[tokio::test]
async fn a_page_answering_a_form_does_not_follow_changes() {
    let app = spawn_app().await;
    let (session, csrf) = signed_in(&app).await;
    let (_, token) = payer_ready(&app).await;
    let id = sandbox_request_to_pay(&app, &token, "56733123453").await;
    let path = format!("/_momo/console/transactions/collection/requesttopay/{id}");
    assert!(page(&app, &session, &path).await.contains(r#"<div id="live" data-events="#));
    let refused = crate::console::post_form(&app, &session, &format!("{path}/approve"), &[("csrf", &csrf)]).await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    let html = refused.text().await.unwrap();
    assert!(html.contains(r#"<div id="live">"#), "{html}");
    assert!(!html.contains("data-events"), "{html}");
}
