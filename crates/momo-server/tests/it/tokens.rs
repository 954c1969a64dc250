//! `/token/` and Bearer tokens on product calls.

use std::time::Duration;

use momo_server::config::{Platform, TokenErrorStyle, TokenScope};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::*;

#[tokio::test]
async fn bad_basic_credentials_get_the_sandboxs_500_login_failed_with_its_headers() {
    let app = spawn_app().await;
    let (user, key) = app.sandbox_user().await;
    let send = |authorization: Option<String>| {
        let mut request =
            app.client.post(app.url("/collection/token/")).header("Ocp-Apim-Subscription-Key", COLLECTION_KEY);
        if let Some(value) = authorization {
            request = request.header("Authorization", value);
        }
        request.send()
    };
    let cases = [
        None,
        Some(basic(&user, "0123456789abcdef0123456789abcdef")),
        Some(basic(&key, &user)), // user and key swapped
        Some(basic(&uuid::Uuid::new_v4().to_string(), &key)),
        Some("Basic not-base64!".to_owned()),
        Some("Bearer something".to_owned()),
        Some(format!("Basic {}", "dXNlcm5vY29sb24=")), // "usernocolon"
    ];
    for authorization in cases {
        let response = send(authorization.clone()).await.unwrap();
        assert_eq!(response.headers()["content-type"], "application/json;charset=utf-8");
        assert_eq!(response.headers()["cache-control"], "no-store");
        assert_eq!(response.headers()["pragma"], "no-cache");
        let (status, body) = status_and_body(response).await;
        assert_eq!((status.as_u16(), body.as_str()), (500, LOGIN_FAILED_BODY), "{authorization:?}");
    }
}

#[tokio::test]
async fn the_spec_setting_answers_bad_credentials_with_401() {
    let app = spawn_with(|s| s.token_error = TokenErrorStyle::Spec).await;
    let (user, _) = app.sandbox_user().await;
    assert_answer(app.token("collection", &user, "wrong-key").await, 401, LOGIN_FAILED_BODY).await;
}

#[tokio::test]
async fn product_calls_refuse_missing_malformed_and_forged_tokens() {
    let app = spawn_app().await;
    let (user, key) = app.sandbox_user().await;
    let token = app.access_token("collection", &user, &key).await;
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    parts[2] = "AAAA".repeat(10);
    let forged = parts.join(".");
    for bad in ["", "garbage", "a.b.c", forged.as_str()] {
        assert_answer(app.balance("collection", bad, "sandbox").await, 401, UNAUTHORIZED_BODY).await;
    }
    let without = app
        .client
        .get(app.url("/collection/v1_0/account/balance"))
        .header("Ocp-Apim-Subscription-Key", COLLECTION_KEY)
        .header("X-Target-Environment", "sandbox")
        .send()
        .await
        .unwrap();
    assert_answer(without, 401, UNAUTHORIZED_BODY).await;
}

#[tokio::test]
async fn tokens_expire_after_expires_in() {
    let app = spawn_app().await;
    let (user, key) = app.sandbox_user().await;
    let token = app.access_token("collection", &user, &key).await;
    app.clock.advance(Duration::from_secs(3599));
    assert_eq!(app.balance("collection", &token, "sandbox").await.status(), StatusCode::OK);
    app.clock.advance(Duration::from_secs(1));
    assert_answer(app.balance("collection", &token, "sandbox").await, 401, UNAUTHORIZED_BODY).await;
}

#[tokio::test]
async fn the_token_lifetime_is_a_setting() {
    let app = spawn_with(|s| s.token_ttl = Duration::from_secs(60)).await;
    let (user, key) = app.sandbox_user().await;
    let body: Value = app.token("collection", &user, &key).await.json().await.unwrap();
    assert_eq!(body["expires_in"], 60);
}

#[tokio::test]
async fn the_target_environment_must_be_known_and_the_users() {
    let app = spawn_app().await;
    let (user, key) = app.sandbox_user().await;
    let token = app.access_token("collection", &user, &key).await;
    for env in ["mtnuganda", "production", "SANDBOX", ""] {
        let response = app.balance("collection", &token, env).await;
        let (status, body) = status_and_body(response).await;
        assert_eq!((status.as_u16(), body.as_str()), (500, TARGET_ENV_BODY), "env {env:?}");
    }
    let missing = app
        .client
        .get(app.url("/collection/v1_0/account/balance"))
        .header("Ocp-Apim-Subscription-Key", COLLECTION_KEY)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_answer(missing, 500, TARGET_ENV_BODY).await;
}

#[tokio::test]
async fn balance_in_another_currency_is_invalid_currency() {
    let app = spawn_app().await;
    let (user, key) = app.sandbox_user().await;
    let token = app.access_token("collection", &user, &key).await;
    let get = |currency: &str| {
        app.client
            .get(app.url(&format!("/collection/v1_0/account/balance/{currency}")))
            .header("Ocp-Apim-Subscription-Key", COLLECTION_KEY)
            .header("X-Target-Environment", "sandbox")
            .bearer_auth(&token)
            .send()
    };
    assert_answer(get("EUR").await.unwrap(), 200, r#"{"availableBalance":"0","currency":"EUR"}"#).await;
    assert_answer(get("UGX").await.unwrap(), 500, r#"{"code":"INVALID_CURRENCY","message":"Currency not supported."}"#)
        .await;
}

#[tokio::test]
async fn sandbox_tokens_work_across_products_unless_scoped() {
    let shared = spawn_app().await;
    let (user, key) = shared.sandbox_user().await;
    let token = shared.access_token("collection", &user, &key).await;
    // MTN's notebook uses a Collection token on Disbursement (docs/compatibility.md).
    assert_eq!(shared.balance("disbursement", &token, "sandbox").await.status(), StatusCode::OK);

    let scoped = spawn_with(|s| s.token_scope = TokenScope::Product).await;
    let (user, key) = scoped.sandbox_user().await;
    let token = scoped.access_token("collection", &user, &key).await;
    assert_eq!(scoped.balance("collection", &token, "sandbox").await.status(), StatusCode::OK);
    assert_answer(scoped.balance("disbursement", &token, "sandbox").await, 401, UNAUTHORIZED_BODY).await;
}

#[tokio::test]
async fn tokens_of_a_revoked_user_stop_working_on_the_next_request() {
    let app = spawn_app().await;
    let (user, key) = app.sandbox_user().await;
    let token = app.access_token("collection", &user, &key).await;
    assert_eq!(app.balance("collection", &token, "sandbox").await.status(), StatusCode::OK);
    assert_eq!(app.admin(Method::DELETE, &format!("/users/{user}"), None).await.status(), StatusCode::OK);
    assert_answer(app.balance("collection", &token, "sandbox").await, 401, UNAUTHORIZED_BODY).await;
    assert_answer(app.token("collection", &user, &key).await, 500, LOGIN_FAILED_BODY).await;
}

/// A token this instance has verified before is answered from its cache of verified tokens
/// (docs/performance.md, "The per-request work"); it must stop working as soon as its user's key
/// is replaced or its user revoked, as a token checked afresh does.
#[tokio::test]
async fn a_token_used_before_is_refused_once_its_key_is_replaced_or_its_user_revoked() {
    let app = spawn_app().await;
    let (user, old_token) = operator_user(&app, "mtnghana").await;
    for _ in 0..3 {
        assert_eq!(app.balance("collection", &old_token, "mtnghana").await.status(), StatusCode::OK);
    }
    let renewed: Value = app.admin(Method::POST, &format!("/users/{user}/key"), None).await.json().await.unwrap();
    assert_answer(app.balance("collection", &old_token, "mtnghana").await, 401, UNAUTHORIZED_BODY).await;

    let token = app.access_token("collection", &user, renewed["apiKey"].as_str().unwrap()).await;
    for _ in 0..3 {
        assert_eq!(app.balance("collection", &token, "mtnghana").await.status(), StatusCode::OK);
    }
    assert_eq!(app.admin(Method::DELETE, &format!("/users/{user}"), None).await.status(), StatusCode::OK);
    assert_answer(app.balance("collection", &token, "mtnghana").await, 401, UNAUTHORIZED_BODY).await;
}

const MOMO_AFRICA_ENV_BODY: &str = r#"{"error": "Invalid or missing X-Target-Environment header"}"#;

#[tokio::test]
async fn momo_africa_requires_the_target_environment_on_token_requests() {
    let app = spawn_with(|s| s.platform = Platform::MomoAfrica).await;
    let created: Value = app
        .admin(
            Method::POST,
            "/users",
            Some(json!({"environment": "mtnuganda", "providerCallbackHost": "shop.example", "credentialStyle": "momo-africa"})),
        )
        .await
        .json()
        .await
        .unwrap();
    let (user, key) = (created["apiUser"].as_str().unwrap(), created["apiKey"].as_str().unwrap());
    assert!(user.ends_with('='), "new-style User ID: {user}");
    let token = |env: Option<&str>| {
        let mut request = app
            .client
            .post(app.url("/collection/token/"))
            .header("Ocp-Apim-Subscription-Key", COLLECTION_KEY)
            .header("Authorization", basic(user, key));
        if let Some(env) = env {
            request = request.header("X-Target-Environment", env);
        }
        request.send()
    };
    assert_answer(token(None).await.unwrap(), 400, MOMO_AFRICA_ENV_BODY).await;
    assert_answer(token(Some("nowhere")).await.unwrap(), 400, MOMO_AFRICA_ENV_BODY).await;
    assert_answer(token(Some("mtnghana")).await.unwrap(), 400, MOMO_AFRICA_ENV_BODY).await;
    let ok = token(Some("mtnuganda")).await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    let access: Value = ok.json().await.unwrap();
    let balance = app.balance("collection", access["access_token"].as_str().unwrap(), "mtnuganda").await;
    assert_answer(balance, 200, r#"{"availableBalance":"0","currency":"UGX"}"#).await;
}

#[tokio::test]
async fn legacy_ignores_the_target_environment_on_token_requests() {
    let app = spawn_app().await;
    let (user, key) = app.sandbox_user().await;
    let response = app
        .client
        .post(app.url("/collection/token/"))
        .header("Ocp-Apim-Subscription-Key", COLLECTION_KEY)
        .header("X-Target-Environment", "mtnghana")
        .header("Authorization", basic(&user, &key))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}
