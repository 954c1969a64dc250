//! The operator API: production-like users and subscription keys.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::*;

const OPERATOR_401: &str = r#"{"code":"UNAUTHORIZED","message":"A valid operator token is required: send it as 'Authorization: Bearer <token>'."}"#;

#[tokio::test]
async fn the_operator_api_needs_the_operator_token() {
    let app = spawn_app().await;
    let none = app.client.get(app.url("/_momo/admin/users")).send().await.unwrap();
    assert_answer(none, 401, OPERATOR_401).await;
    let wrong = app.client.get(app.url("/_momo/admin/users")).bearer_auth("nope").send().await.unwrap();
    assert_answer(wrong, 401, OPERATOR_401).await;
    // A subscription key is not an operator token.
    let key = app.client.get(app.url("/_momo/admin/users")).bearer_auth(COLLECTION_KEY).send().await.unwrap();
    assert_answer(key, 401, OPERATOR_401).await;
}

const THROTTLED: &str = r#"{"code":"TOO_MANY_REQUESTS","message":"Too many failed operator authentications from this address; try again in 60 seconds."}"#;

/// A client whose connections come from `address` (any 127.x.y.z reaches the test server).
fn client_from(address: [u8; 4]) -> reqwest::Client {
    reqwest::Client::builder().local_address(std::net::IpAddr::from(address)).build().unwrap()
}

#[tokio::test]
async fn wrong_operator_tokens_are_throttled_per_address_and_correct_ones_are_not() {
    let app = spawn_app().await;
    let users = app.url("/_momo/admin/users");
    let attacker = client_from([127, 0, 0, 1]);
    let wrong = |n: usize| attacker.get(&users).bearer_auth(format!("guess-{n}")).send();
    for n in 0..10 {
        assert_answer(wrong(n).await.unwrap(), 401, OPERATOR_401).await;
    }
    // The eleventh attempt is refused without its token being checked: even the right one.
    let refused = wrong(10).await.unwrap();
    assert_eq!(refused.headers()["retry-after"], "60");
    assert_answer(refused, 429, THROTTLED).await;
    let right = attacker.get(&users).bearer_auth(ADMIN_TOKEN).send().await.unwrap();
    assert_answer(right, 429, THROTTLED).await;

    // Another address is not affected, and the locked one is let in once its window has passed.
    let operator = client_from([127, 0, 0, 2]);
    assert_eq!(operator.get(&users).bearer_auth(ADMIN_TOKEN).send().await.unwrap().status(), StatusCode::OK);
    app.clock.advance(std::time::Duration::from_secs(60));
    assert_eq!(attacker.get(&users).bearer_auth(ADMIN_TOKEN).send().await.unwrap().status(), StatusCode::OK);
}

#[tokio::test]
async fn fifty_concurrent_wrong_operator_tokens_get_ten_401s_and_forty_429s() {
    let app = spawn_app().await;
    let users = app.url("/_momo/admin/users");
    let guesses: Vec<_> =
        (0..50).map(|n| tokio::spawn(app.client.get(&users).bearer_auth(format!("guess-{n}")).send())).collect();
    let mut statuses = Vec::new();
    for guess in guesses {
        statuses.push(guess.await.unwrap().unwrap().status().as_u16());
    }
    let count = |status: u16| statuses.iter().filter(|s| **s == status).count();
    assert_eq!((count(401), count(429)), (10, 40), "{statuses:?}");
    // Nine wrong tokens and then the right one: not locked, so answered.
    let other = client_from([127, 0, 0, 3]);
    for n in 0..9 {
        assert_eq!(other.get(&users).bearer_auth(format!("typo-{n}")).send().await.unwrap().status(), 401);
    }
    assert_eq!(other.get(&users).bearer_auth(ADMIN_TOKEN).send().await.unwrap().status(), StatusCode::OK);
}

#[tokio::test]
async fn an_operator_created_production_user_works_through_the_whole_chain() {
    let app = spawn_app().await;
    let response = app
        .admin(
            Method::POST,
            "/users",
            Some(json!({
                "environment": "mtnuganda",
                "providerCallbackHost": "shop.example.com",
                "paymentServerUrl": "https://shop.example.com/momo"
            })),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let created: Value = response.json().await.unwrap();
    let (user, key) = (created["apiUser"].as_str().unwrap(), created["apiKey"].as_str().unwrap());
    assert_eq!(created["environment"], "mtnuganda");
    uuid::Uuid::parse_str(user).unwrap();
    assert_eq!(key.len(), 32);

    let token = app.access_token("disbursement", user, key).await;
    let balance = app.balance("disbursement", &token, "mtnuganda").await;
    assert_answer(balance, 200, r#"{"availableBalance":"0","currency":"UGX"}"#).await;
    assert_answer(app.balance("disbursement", &token, "sandbox").await, 500, TARGET_ENV_BODY).await;

    // Not a sandbox user: the provisioning API does not know it.
    let info = app
        .client
        .get(app.url(&format!("/v1_0/apiuser/{user}")))
        .header("Ocp-Apim-Subscription-Key", COLLECTION_KEY)
        .send()
        .await
        .unwrap();
    assert_answer(info, 404, NOT_FOUND_BODY).await;
    assert_answer(app.create_api_key(user).await, 404, NOT_FOUND_BODY).await;

    // Listed, never with its key.
    let listed = app.admin(Method::GET, "/users", None).await.text().await.unwrap();
    assert!(listed.contains(user));
    assert!(!listed.contains(key));
    let users: Value = serde_json::from_str(&listed).unwrap();
    assert_eq!(users[0]["origin"], "operator");
    assert_eq!(users[0]["paymentServerUrl"], "https://shop.example.com/momo");
    assert_eq!(users[0]["keyVersion"], 1);
}

#[tokio::test]
async fn regenerating_a_users_key_invalidates_the_old_key_and_tokens() {
    let app = spawn_app().await;
    let created: Value = app
        .admin(Method::POST, "/users", Some(json!({"environment": "mtnghana", "providerCallbackHost": "shop.example"})))
        .await
        .json()
        .await
        .unwrap();
    let (user, old_key) = (created["apiUser"].as_str().unwrap(), created["apiKey"].as_str().unwrap());
    let old_token = app.access_token("collection", user, old_key).await;

    let renewed = app.admin(Method::POST, &format!("/users/{user}/key"), None).await;
    assert_eq!(renewed.status(), StatusCode::CREATED);
    let renewed: Value = renewed.json().await.unwrap();
    let new_key = renewed["apiKey"].as_str().unwrap();
    assert_ne!(new_key, old_key);

    assert_answer(app.balance("collection", &old_token, "mtnghana").await, 401, UNAUTHORIZED_BODY).await;
    assert_answer(app.token("collection", user, old_key).await, 500, LOGIN_FAILED_BODY).await;
    let token = app.access_token("collection", user, new_key).await;
    assert_eq!(app.balance("collection", &token, "mtnghana").await.status(), StatusCode::OK);

    // A revoked user cannot get a new key.
    app.admin(Method::DELETE, &format!("/users/{user}"), None).await;
    let refused = app.admin(Method::POST, &format!("/users/{user}/key"), None).await;
    assert_answer(refused, 409, r#"{"code":"NOT_ALLOWED","message":"The API user is revoked; create a new one."}"#)
        .await;
}

#[tokio::test]
async fn operator_user_creation_validates_its_input() {
    let app = spawn_app().await;
    let cases = [
        (json!({"environment": "narnia", "providerCallbackHost": "x.example"}), 400),
        (json!({"environment": "mtnuganda", "providerCallbackHost": "not a host"}), 400),
        (json!({"environment": "mtnuganda", "providerCallbackHost": "x.example", "paymentServerUrl": "ftp://x"}), 400),
        (
            json!({"environment": "mtnuganda", "providerCallbackHost": "x.example", "credentialStyle": "momo-africa"}),
            400,
        ),
        (json!({"environment": "mtnuganda", "providerCallbackHost": "x.example", "extra": 1}), 400),
        (json!({"providerCallbackHost": "x.example"}), 400),
    ];
    for (body, status) in cases {
        let response = app.admin(Method::POST, "/users", Some(body.clone())).await;
        let (got, text) = status_and_body(response).await;
        assert_eq!(got.as_u16(), status, "{body} → {text}");
        let error: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(error["code"], "VALIDATION_ERROR", "{text}");
    }
    let unknown = app.admin(Method::DELETE, "/users/no-such-user", None).await;
    assert_answer(unknown, 404, NOT_FOUND_BODY).await;
}

#[tokio::test]
async fn subscription_keys_can_be_listed_added_and_regenerated() {
    let app = spawn_app().await;
    let (user, key) = app.sandbox_user().await;

    let listed = app.admin(Method::GET, "/subscription-keys", None).await.text().await.unwrap();
    assert!(!listed.contains(COLLECTION_KEY), "keys are never listed");
    let keys: Vec<Value> = serde_json::from_str(&listed).unwrap();
    assert_eq!(keys.len(), 3, "{listed}");
    assert!(keys.iter().all(|k| k["label"] == "pinned"));
    assert!(keys.iter().any(|k| k["hint"] == "test"));

    let added = app.admin(Method::POST, "/subscription-keys", Some(json!({"products": ["remittance"]}))).await;
    assert_eq!(added.status(), StatusCode::CREATED);
    let added: Value = added.json().await.unwrap();
    let new_key = added["key"].as_str().unwrap().to_owned();
    let token_with = |subscription_key: String| {
        app.client
            .post(app.url("/remittance/token/"))
            .header("Ocp-Apim-Subscription-Key", subscription_key)
            .header("Authorization", basic(&user, &key))
            .send()
    };
    assert_eq!(token_with(new_key.clone()).await.unwrap().status(), StatusCode::OK);

    let path = format!("/subscription-keys/{}/regenerate", added["id"].as_str().unwrap());
    let regenerated = app.admin(Method::POST, &path, None).await;
    assert_eq!(regenerated.status(), StatusCode::CREATED);
    let regenerated: Value = regenerated.json().await.unwrap();
    let newer_key = regenerated["key"].as_str().unwrap().to_owned();
    assert_ne!(newer_key, new_key);
    assert_answer(token_with(new_key).await.unwrap(), 401, INVALID_KEY_BODY).await;
    assert_eq!(token_with(newer_key).await.unwrap().status(), StatusCode::OK);

    // A key with a chosen value, for all products; the same value twice is a conflict.
    let chosen = json!({"key": "chosen-key-for-all-products"});
    let first = app.admin(Method::POST, "/subscription-keys", Some(chosen.clone())).await;
    let first: Value = first.json().await.unwrap();
    assert_eq!(first["products"], json!(["collection", "disbursement", "remittance"]));
    let again = app.admin(Method::POST, "/subscription-keys", Some(chosen)).await;
    assert_answer(again, 409, ALREADY_EXISTS_BODY).await;
}

#[tokio::test]
async fn first_start_creates_a_subscription_per_product_and_an_operator_token() {
    let dir = std::sync::Arc::new(tempfile::tempdir().unwrap());
    let postgres = fresh_database().await;
    let settings = momo_server::Settings {
        bind: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        data_dir: dir.path().to_owned(),
        database_url: postgres.as_ref().map(PostgresDatabase::setting),
        ..Default::default()
    };
    let app = momo_server::Application::build(settings.clone()).await.unwrap();
    let created = app.created();
    assert_eq!(created.subscription_keys.len(), 6);
    for product in momo_types::Product::ALL {
        let labels: Vec<_> =
            created.subscription_keys.iter().filter(|k| k.product == product).map(|k| k.label.as_str()).collect();
        assert_eq!(labels, ["primary", "secondary"]);
    }
    assert!(created.operator_token.is_some());
    drop(app);
    // The second start creates nothing.
    let again = momo_server::Application::build(settings).await.unwrap();
    assert!(again.created().is_empty());
}
