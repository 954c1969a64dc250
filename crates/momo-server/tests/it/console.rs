//! The browser console over plain HTTP: sessions, CSRF and headers as a browser would meet them
//! (`browser.rs` drives a real Chromium through the same flows).

use reqwest::header::{HeaderMap, CONTENT_SECURITY_POLICY, LOCATION, SET_COOKIE};
use reqwest::StatusCode;

use crate::helpers::{spawn_app, TestApp, ADMIN_TOKEN};

/// A client that does not follow redirects and keeps cookies by hand, as a test must see both.
pub(crate) fn client() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

fn cookie_named<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get_all(SET_COOKIE).iter().filter_map(|v| v.to_str().ok()).find(|v| v.starts_with(&format!("{name}=")))
}

fn value(set_cookie: &str) -> &str {
    set_cookie.split(';').next().unwrap().split_once('=').unwrap().1
}

/// The sign-in form's CSRF token, from its cookie and its hidden field (they must agree).
async fn sign_in_form(app: &TestApp) -> String {
    let form = client().get(app.url("/_momo/console/sign-in")).send().await.unwrap();
    assert_eq!(form.status(), StatusCode::OK);
    let cookie = value(cookie_named(form.headers(), "momo_console_sign_in").unwrap()).to_owned();
    let html = form.text().await.unwrap();
    assert!(html.contains(&format!(r#"name="csrf" value="{cookie}""#)), "{html}");
    cookie
}

async fn sign_in(app: &TestApp, token: &str, csrf_cookie: &str, csrf_field: &str) -> reqwest::Response {
    client()
        .post(app.url("/_momo/console/sign-in"))
        .header("Cookie", format!("momo_console_sign_in={csrf_cookie}"))
        .form(&[("token", token), ("csrf", csrf_field)])
        .send()
        .await
        .unwrap()
}

async fn overview(app: &TestApp, session: &str) -> reqwest::Response {
    client().get(app.url("/_momo/console/")).header("Cookie", format!("momo_console={session}")).send().await.unwrap()
}

#[tokio::test]
async fn browsers_at_the_root_go_to_the_console_and_api_clients_keep_momos_404() {
    let app = spawn_app().await;
    let browser = client().get(app.url("/")).header("Accept", "text/html,application/xhtml+xml").send().await.unwrap();
    assert_eq!(browser.status(), StatusCode::SEE_OTHER);
    assert_eq!(browser.headers()[LOCATION], "/_momo/console/");
    let api = client().get(app.url("/")).send().await.unwrap();
    assert_eq!(api.status(), StatusCode::NOT_FOUND);
    assert_eq!(api.text().await.unwrap(), crate::helpers::NOT_FOUND_ROUTE_BODY);
    let unsigned = client().get(app.url("/_momo/console/")).send().await.unwrap();
    assert_eq!(unsigned.headers()[LOCATION], "/_momo/console/sign-in");
}

#[tokio::test]
async fn console_pages_send_a_strict_content_security_policy_and_are_not_cached() {
    let app = spawn_app().await;
    let page = client().get(app.url("/_momo/console/sign-in")).send().await.unwrap();
    let csp = page.headers()[CONTENT_SECURITY_POLICY].to_str().unwrap();
    for directive in ["default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'"] {
        assert!(csp.contains(directive), "{csp}");
    }
    assert!(!csp.contains("unsafe-inline") && !csp.contains("http"), "{csp}");
    assert_eq!(page.headers()["cache-control"], "no-store");
    let html = page.text().await.unwrap();
    assert!(!html.contains("style="), "no inline style: {html}");
    // Scripts only from this origin's assets, none inline.
    assert_eq!(
        html.matches("<script").count(),
        html.matches(r#"<script src="/_momo/console/assets/"#).count(),
        "{html}"
    );
    let script = client().get(app.url("/_momo/console/assets/console.js")).send().await.unwrap();
    assert_eq!(script.headers()["content-type"], "text/javascript; charset=utf-8");
}

#[tokio::test]
async fn a_wrong_token_gets_no_session_and_the_right_one_an_http_only_strict_cookie() {
    let app = spawn_app().await;
    let csrf = sign_in_form(&app).await;
    let wrong = sign_in(&app, "not-the-operator-token", &csrf, &csrf).await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(cookie_named(wrong.headers(), "momo_console").is_none());
    assert!(wrong.text().await.unwrap().contains("That is not an operator token of this server."));

    let right = sign_in(&app, ADMIN_TOKEN, &csrf, &csrf).await;
    assert_eq!(right.status(), StatusCode::SEE_OTHER);
    let cookie = cookie_named(right.headers(), "momo_console").unwrap();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/_momo/console", "Max-Age="] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert!(!cookie.contains(ADMIN_TOKEN), "the session is not the token");
    let page = overview(&app, value(cookie)).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("<h1>Overview</h1>") && html.contains(crate::ENGINE.name()), "{html}");
    assert!(!html.contains(ADMIN_TOKEN) && !html.contains(crate::helpers::COLLECTION_KEY), "no secret rendered");
}

#[tokio::test]
async fn a_sign_in_without_the_forms_csrf_token_changes_nothing() {
    let app = spawn_app().await;
    let csrf = sign_in_form(&app).await;
    for (cookie, field) in [("", ""), (csrf.as_str(), ""), ("", csrf.as_str()), (csrf.as_str(), "0000")] {
        let refused = sign_in(&app, ADMIN_TOKEN, cookie, field).await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "cookie {cookie:?} field {field:?}");
        assert!(cookie_named(refused.headers(), "momo_console").is_none());
    }
}

#[tokio::test]
async fn sign_out_needs_the_sessions_csrf_token_and_ends_the_session() {
    let app = spawn_app().await;
    let csrf = sign_in_form(&app).await;
    let signed_in = sign_in(&app, ADMIN_TOKEN, &csrf, &csrf).await;
    let session = value(cookie_named(signed_in.headers(), "momo_console").unwrap()).to_owned();
    let html = overview(&app, &session).await.text().await.unwrap();
    let form_csrf = html.split(r#"name="csrf" value=""#).nth(1).unwrap().split('"').next().unwrap().to_owned();

    let sign_out = |csrf: String| {
        client()
            .post(app.url("/_momo/console/sign-out"))
            .header("Cookie", format!("momo_console={session}"))
            .form(&[("csrf", csrf)])
            .send()
    };
    // From another page (no or a wrong token): refused, and the session goes on.
    for forged in [String::new(), "f".repeat(64)] {
        assert_eq!(sign_out(forged).await.unwrap().status(), StatusCode::FORBIDDEN);
        assert_eq!(overview(&app, &session).await.status(), StatusCode::OK);
    }
    let out = sign_out(form_csrf).await.unwrap();
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert!(cookie_named(out.headers(), "momo_console").unwrap().contains("Max-Age=0"));
    // The old cookie no longer opens anything, on this instance or any other.
    let after = overview(&app, &session).await;
    assert_eq!(after.headers()[LOCATION], "/_momo/console/sign-in");
}

#[tokio::test]
async fn repeated_wrong_tokens_are_slowed_down_per_address() {
    let app = spawn_app().await;
    let mut statuses = Vec::new();
    for _ in 0..12 {
        let csrf = sign_in_form(&app).await;
        statuses.push(sign_in(&app, "wrong-token", &csrf, &csrf).await.status().as_u16());
    }
    assert_eq!(statuses.iter().filter(|s| **s == 401).count(), 10, "{statuses:?}");
    assert_eq!(&statuses[10..], [429, 429]);
    // Locked out: even the right token waits for the window to pass.
    let csrf = sign_in_form(&app).await;
    assert_eq!(sign_in(&app, ADMIN_TOKEN, &csrf, &csrf).await.status(), StatusCode::TOO_MANY_REQUESTS);
    app.clock.advance(std::time::Duration::from_secs(61));
    let csrf = sign_in_form(&app).await;
    assert_eq!(sign_in(&app, ADMIN_TOKEN, &csrf, &csrf).await.status(), StatusCode::SEE_OTHER);
}

/// A signed-in session: its cookie value and the CSRF token of its pages.
pub(crate) async fn signed_in(app: &TestApp) -> (String, String) {
    let csrf = sign_in_form(app).await;
    let response = sign_in(app, ADMIN_TOKEN, &csrf, &csrf).await;
    let session = value(cookie_named(response.headers(), "momo_console").unwrap()).to_owned();
    let html = overview(app, &session).await.text().await.unwrap();
    (session, form_csrf(&html))
}

pub(crate) fn form_csrf(html: &str) -> String {
    html.split(r#"name="csrf" value=""#).nth(1).unwrap().split('"').next().unwrap().to_owned()
}

/// A console page's HTML, as the session sees it.
pub(crate) async fn page(app: &TestApp, session: &str, path: &str) -> String {
    get_signed_in(app, session, path).await.text().await.unwrap()
}

/// `GET path` with the session's cookie, redirects not followed.
pub(crate) async fn get_signed_in(app: &TestApp, session: &str, path: &str) -> reqwest::Response {
    client().get(app.url(path)).header("Cookie", format!("momo_console={session}")).send().await.unwrap()
}

pub(crate) async fn post_form(app: &TestApp, session: &str, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
    client().post(app.url(path)).header("Cookie", format!("momo_console={session}")).form(form).send().await.unwrap()
}

/// The developer portal's job: a new key is shown once, works at the gateway at once, the same
/// form sent again (a reload) neither makes another key nor shows it, and a revoked key stops.
#[tokio::test]
async fn a_key_added_in_the_console_is_shown_once_works_and_stops_when_revoked() {
    let app = spawn_app().await;
    let (session, csrf) = signed_in(&app).await;
    let list = page(&app, &session, "/_momo/console/keys").await;
    assert!(list.contains("<code>test…</code>"), "hints of the pinned keys: {list}");
    assert!(!list.contains(crate::helpers::COLLECTION_KEY), "a key's value is never listed");

    let form = [("csrf", csrf.as_str()), ("collection", "on")];
    let added = post_form(&app, &session, "/_momo/console/keys", &form).await;
    assert_eq!(added.status(), StatusCode::OK);
    let shown = added.text().await.unwrap();
    let key =
        shown.split(r#"id="new-key""#).nth(1).unwrap().split(r#"value=""#).nth(1).unwrap().split('"').next().unwrap();
    assert_eq!(key.len(), 32, "{shown}");
    let provisioned = |key: String| {
        app.client
            .post(app.url("/v1_0/apiuser"))
            .header("Ocp-Apim-Subscription-Key", key)
            .header("X-Reference-Id", uuid::Uuid::new_v4().to_string())
            .json(&serde_json::json!({"providerCallbackHost": "webhook.site"}))
            .send()
    };
    assert_eq!(provisioned(key.to_owned()).await.unwrap().status(), StatusCode::CREATED);

    // The reload: the same form again.
    let again = post_form(&app, &session, "/_momo/console/keys", &form).await;
    assert_eq!(again.status(), StatusCode::FORBIDDEN);
    let again = again.text().await.unwrap();
    assert!(!again.contains(key) && !again.contains(r#"id="new-key""#), "{again}");
    let keys: Vec<serde_json::Value> =
        app.admin(reqwest::Method::GET, "/subscription-keys", None).await.json().await.unwrap();
    let added: Vec<_> = keys.iter().filter(|k| k["label"] == "added").collect();
    assert_eq!(added.len(), 1, "no second key: {keys:?}");
    let id = added[0]["id"].as_str().unwrap();

    // Revoke it from the list, with the list's (new) token.
    let list = page(&app, &session, "/_momo/console/keys").await;
    assert!(list.contains(&format!("/_momo/console/keys/{id}/revoke")), "{list}");
    let revoked =
        post_form(&app, &session, &format!("/_momo/console/keys/{id}/revoke"), &[("csrf", &form_csrf(&list))]).await;
    assert_eq!(revoked.status(), StatusCode::SEE_OTHER);
    assert_eq!(provisioned(key.to_owned()).await.unwrap().status(), StatusCode::UNAUTHORIZED);
}

/// The Partner Portal's dangerous actions need the session's form token: a revocation posted
/// from elsewhere changes nothing; the signing secret is the operator API's, shown on request.
#[tokio::test]
async fn user_actions_need_the_sessions_token_and_the_signing_secret_matches_the_operator_api() {
    let app = spawn_app().await;
    let (session, csrf) = signed_in(&app).await;
    let (user, _) = app.sandbox_user().await;
    let revoke = format!("/_momo/console/users/{user}/revoke");
    assert_eq!(post_form(&app, &session, &revoke, &[("csrf", "forged")]).await.status(), StatusCode::FORBIDDEN);
    let listed: serde_json::Value =
        app.admin(reqwest::Method::GET, &format!("/users/{user}"), None).await.json().await.unwrap();
    assert!(listed["revokedAt"].is_null(), "{listed}");

    let secret_page =
        post_form(&app, &session, &format!("/_momo/console/users/{user}/callback-secret"), &[("csrf", &csrf)])
            .await
            .text()
            .await
            .unwrap();
    let expected: serde_json::Value =
        app.admin(reqwest::Method::GET, &format!("/users/{user}/callback-secret"), None).await.json().await.unwrap();
    let expected = expected["callbackSigningSecret"].as_str().unwrap();
    assert!(secret_page.contains(&format!(r#"value="{expected}""#)), "{secret_page}");
    // Listed pages never show it.
    assert!(!page(&app, &session, "/_momo/console/users").await.contains(expected));
}

/// The sandbox preset fails exactly the next `POST /v1_0/apiuser`; a rule the form gets wrong is
/// explained and not added.
#[tokio::test]
async fn the_apiuser_500_preset_fails_once_and_a_bad_rule_is_explained() {
    let app = spawn_app().await;
    let (session, csrf) = signed_in(&app).await;
    let preset = "/_momo/console/faults/presets/sandbox-apiuser-500";
    assert_eq!(post_form(&app, &session, preset, &[("csrf", &csrf)]).await.status(), StatusCode::SEE_OTHER);
    let id = uuid::Uuid::new_v4().to_string();
    assert_eq!(app.create_api_user(&id, "webhook.site").await.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        app.create_api_user(&id, "webhook.site").await.status(),
        StatusCode::CREATED,
        "the retry with the same id"
    );

    let csrf = form_csrf(&page(&app, &session, "/_momo/console/faults").await);
    let bad =
        post_form(&app, &session, "/_momo/console/faults", &[("csrf", &csrf), ("path", "no-slash"), ("status", "x")])
            .await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert!(bad.text().await.unwrap().contains("Status must be a whole number."));
    let rules: Vec<serde_json::Value> = app.admin(reqwest::Method::GET, "/faults", None).await.json().await.unwrap();
    assert!(rules.iter().all(|rule| rule["path"] == "/v1_0/apiuser"), "nothing added: {rules:?}");
}

/// A receiver that never answers is obvious on the callbacks page, in the failed filter and on
/// the delivery's page with its attempt and error.
#[tokio::test]
async fn a_failing_receiver_is_obvious_on_the_callbacks_page() {
    let app = crate::helpers::spawn_with(|s| {
        s.pending_delay = std::time::Duration::ZERO;
        s.callback_retry = momo_server::config::CallbackRetry::Once;
    })
    .await;
    let (_, token) = crate::helpers::payer_ready(&app).await;
    let id = crate::helpers::new_id();
    let body = crate::helpers::rtp_body("56733123453", "5");
    let accepted = app
        .create("collection", "/v1_0/requesttopay", &token, "sandbox", &id, Some("http://127.0.0.1:9/cb"), &body)
        .await;
    assert_eq!(accepted.status(), StatusCode::ACCEPTED);
    let mut delivery = serde_json::Value::Null;
    for _ in 0..100 {
        let listed: Vec<serde_json::Value> =
            app.admin(reqwest::Method::GET, "/deliveries", None).await.json().await.unwrap();
        if let Some(failed) = listed.into_iter().find(|d| d["state"] == "failed") {
            delivery = failed;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let delivery_id = delivery["id"].as_str().expect("the callback failed").to_owned();

    let (session, _) = signed_in(&app).await;
    let all = page(&app, &session, "/_momo/console/callbacks").await;
    assert!(all.contains(r#"<span class="badge failed">failed</span>"#) && all.contains(&id), "{all}");
    assert!(all.contains("1 of the newest 1 callbacks failed"), "{all}");
    assert!(page(&app, &session, "/_momo/console/callbacks?state=failed").await.contains(&id));
    assert!(!page(&app, &session, "/_momo/console/callbacks?state=delivered").await.contains(&id));
    let detail = page(&app, &session, &format!("/_momo/console/callbacks/{delivery_id}")).await;
    // The signed body, escaped as HTML; the attempt without an answer, and why.
    assert!(detail.contains("http://127.0.0.1:9/cb") && detail.contains("&quot;status&quot;:&quot;SUCCESSFUL&quot;"));
    assert!(detail.contains(r#"<td data-label="Answer">none</td>"#), "{detail}");
    assert!(detail.contains("could not connect"), "{detail}");
}
