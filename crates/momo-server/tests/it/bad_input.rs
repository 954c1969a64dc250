//! Acceptance 7: bad input gets a clear MoMo-style error; never a panic, a hang or a 5xx of
//! our own making.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use reqwest::header::{HeaderName, HeaderValue};
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::*;

/// A 4xx whose body is MoMo's `{"code","message"}` (or APIM's) — a clear error.
async fn assert_clear_error(response: reqwest::Response, context: &str) {
    let status = response.status();
    let text = response.text().await.unwrap();
    assert!(status.is_client_error(), "{context}: {status} {text}");
    let body: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{context}: not JSON: {text}"));
    assert!(
        (body["code"].is_string() && body["message"].is_string()) || body["statusCode"].is_number(),
        "{context}: {text}"
    );
}

fn apiuser(app: &TestApp) -> reqwest::RequestBuilder {
    app.client.post(app.url("/v1_0/apiuser")).header("Ocp-Apim-Subscription-Key", COLLECTION_KEY)
}

#[tokio::test]
async fn an_oversized_body_gets_413_in_momo_shape() {
    let app = spawn_with(|s| s.max_body_bytes = 1024).await;
    let big = format!(r#"{{"providerCallbackHost": "{}"}}"#, "a".repeat(2048));
    let response = apiuser(&app)
        .header("X-Reference-Id", GUIDE_USER)
        .header("Content-Type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_answer(
        response,
        413,
        r#"{"code":"PAYLOAD_TOO_LARGE","message":"The request body is larger than the 1024 bytes this server accepts."}"#,
    )
    .await;
}

#[tokio::test]
async fn a_wrong_content_type_gets_415_and_a_missing_one_is_tolerated() {
    let app = spawn_app().await;
    let body = r#"{"providerCallbackHost": "webhook.site"}"#;
    let wrong = apiuser(&app)
        .header("X-Reference-Id", GUIDE_USER)
        .header("Content-Type", "text/plain")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_answer(
        wrong,
        415,
        r#"{"code":"VALIDATION_ERROR","message":"The request body must be JSON, sent with 'Content-Type: application/json'."}"#,
    )
    .await;
    let charset = apiuser(&app)
        .header("X-Reference-Id", GUIDE_USER)
        .header("Content-Type", "application/json; charset=utf-8")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(charset.status(), StatusCode::CREATED);
    let missing = apiuser(&app).header("X-Reference-Id", uuid::Uuid::new_v4().to_string()).body(body).send();
    assert_eq!(missing.await.unwrap().status(), StatusCode::CREATED);
}

#[tokio::test]
async fn repeated_non_ascii_and_sql_laden_inputs_get_clear_errors() {
    let app = spawn_app().await;
    let body = r#"{"providerCallbackHost": "webhook.site"}"#;

    let twice = apiuser(&app)
        .header("X-Reference-Id", GUIDE_USER)
        .header("X-Reference-Id", uuid::Uuid::new_v4().to_string())
        .body(body)
        .send()
        .await
        .unwrap();
    assert_answer(
        twice,
        400,
        r#"{"code":"VALIDATION_ERROR","message":"The X-Reference-Id header must be sent once."}"#,
    )
    .await;

    let latin1 = HeaderValue::from_bytes(b"c72025f5-5cd1-4630-99e4-8ba4722fad5\xe9").unwrap();
    let non_ascii = apiuser(&app).header("X-Reference-Id", latin1).body(body).send().await.unwrap();
    assert_answer(
        non_ascii,
        400,
        r#"{"code":"VALIDATION_ERROR","message":"The X-Reference-Id header must be printable ASCII."}"#,
    )
    .await;

    let sql = "'; DROP TABLE api_users; --";
    let response = apiuser(&app).header("X-Reference-Id", sql).body(body).send().await.unwrap();
    assert_clear_error(response, "SQL in X-Reference-Id").await;
    let response = apiuser(&app)
        .header("X-Reference-Id", uuid::Uuid::new_v4().to_string())
        .body(format!(r#"{{"providerCallbackHost": "{sql}"}}"#))
        .send()
        .await
        .unwrap();
    assert_clear_error(response, "SQL in providerCallbackHost").await;
    let response = app.token("collection", "' OR '1'='1", "' OR '1'='1").await;
    assert_answer(response, 500, LOGIN_FAILED_BODY).await;
    let response = app.admin(Method::GET, "/users/'%20OR%201=1%20--", None).await;
    assert_answer(response, 404, NOT_FOUND_BODY).await;
    let unicode = apiuser(&app)
        .header("X-Reference-Id", uuid::Uuid::new_v4().to_string())
        .body(r#"{"providerCallbackHost": "exämple.com"}"#)
        .send()
        .await
        .unwrap();
    assert_clear_error(unicode, "non-ASCII host").await;

    // The tables are intact and the server still answers.
    assert_eq!(app.create_api_user(GUIDE_USER, "webhook.site").await.status(), StatusCode::CREATED);
}

/// Arbitrary header values and bodies on the write path: always a 201, a 409 or a clear 4xx.
#[test]
fn arbitrary_reference_ids_and_bodies_never_get_a_5xx() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let app = runtime.block_on(spawn_app());
    let mut runner = TestRunner::new(Config { cases: 96, failure_persistence: None, ..Config::default() });
    let strategy = (
        prop_oneof![
            any::<Vec<u8>>().prop_map(|b| b.into_iter().filter(|c| *c >= 0x20 && *c != 0x7f).collect::<Vec<u8>>()),
            "[0-9a-fA-F-]{30,40}".prop_map(String::into_bytes),
            Just(uuid::Uuid::new_v4().to_string().into_bytes()),
        ],
        prop_oneof![
            any::<Vec<u8>>(),
            "\\PC{0,64}".prop_map(String::into_bytes),
            "[{}\":,a-zA-Z0-9 ]{0,64}".prop_map(String::into_bytes),
            "[a-z.\\-]{0,40}".prop_map(|h| format!(r#"{{"providerCallbackHost":"{h}"}}"#).into_bytes()),
        ],
    );
    runner
        .run(&strategy, |(id, body)| {
            runtime.block_on(async {
                let mut request = apiuser(&app).header("Content-Type", "application/json").body(body);
                if let Ok(value) = HeaderValue::from_bytes(&id) {
                    request = request.header(HeaderName::from_static("x-reference-id"), value);
                }
                let response = request.send().await.unwrap();
                let status = response.status();
                if status != StatusCode::CREATED && status != StatusCode::CONFLICT {
                    assert_clear_error(response, &format!("id {:?}", String::from_utf8_lossy(&id))).await;
                }
            });
            Ok(())
        })
        .unwrap();
    runtime.block_on(app.stop());
}

/// Arbitrary Authorization and path values on the read path.
#[test]
fn arbitrary_tokens_and_path_segments_never_get_a_5xx() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let app = runtime.block_on(spawn_app());
    let mut runner = TestRunner::new(Config { cases: 96, failure_persistence: None, ..Config::default() });
    let strategy = ("[ -~]{0,80}", "[a-zA-Z0-9%._~-]{1,40}");
    runner
        .run(&strategy, |(authorization, segment)| {
            runtime.block_on(async {
                let balance = app
                    .client
                    .get(app.url("/collection/v1_0/account/balance"))
                    .header("Ocp-Apim-Subscription-Key", COLLECTION_KEY)
                    .header("X-Target-Environment", "sandbox")
                    .header("Authorization", format!("Bearer {authorization}"))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(balance.status(), StatusCode::UNAUTHORIZED);
                let user = app
                    .client
                    .get(app.url(&format!("/v1_0/apiuser/{segment}")))
                    .header("Ocp-Apim-Subscription-Key", COLLECTION_KEY)
                    .send()
                    .await
                    .unwrap();
                assert_clear_error(user, &format!("segment {segment:?}")).await;
            });
            Ok(())
        })
        .unwrap();
    runtime.block_on(app.stop());
}

/// Path segments that do not decode (invalid UTF-8 after percent-decoding) get MoMo's 400 on
/// every route that takes one, never axum's plain-text rejection.
#[tokio::test]
async fn undecodable_path_segments_get_momo_shaped_errors() {
    let app = spawn_app().await;
    let (user, key) = app.sandbox_user().await;
    let token = app.access_token("collection", &user, &key).await;
    let notify = app
        .client
        .post(app.url("/collection/v1_0/requesttopay/%FF/deliverynotification"))
        .header("Ocp-Apim-Subscription-Key", COLLECTION_KEY)
        .bearer_auth(&token)
        .header("X-Target-Environment", "sandbox")
        .header("notificationMessage", "hello")
        .send()
        .await
        .unwrap();
    assert_answer(notify, 400, r#"{"code":"VALIDATION_ERROR","message":"A path parameter is malformed."}"#).await;
    for path in ["/wallets/mtnuganda/MSISDN/%FF/balance", "/users/%FF/accounts/collection/balance"] {
        let response = app.admin(Method::PUT, path, Some(serde_json::json!({"amount": "1"}))).await;
        assert_answer(response, 400, r#"{"code":"VALIDATION_ERROR","message":"A path parameter is malformed."}"#).await;
    }
    let holder = app.get_with_token("/collection/v1_0/accountholder/msisdn/%FF/active", &token).await;
    assert_answer(holder, 400, r#"{"code":"VALIDATION_ERROR","message":"A path parameter is malformed."}"#).await;
}
