//! The gateway: subscription keys and unknown routes, with APIM's exact bodies.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::*;

#[tokio::test]
async fn a_missing_subscription_key_gets_apims_401() {
    let app = spawn_app().await;
    let response = app.client.post(app.url("/collection/token/")).send().await.unwrap();
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_answer(response, 401, MISSING_KEY_BODY).await;
    let empty = app.client.get(app.url("/v1_0/apiuser/x")).header("Ocp-Apim-Subscription-Key", "").send().await;
    assert_answer(empty.unwrap(), 401, MISSING_KEY_BODY).await;
}

#[tokio::test]
async fn unknown_revoked_or_other_product_keys_get_apims_invalid_key_401() {
    let app = spawn_app().await;
    let (user, key) = app.sandbox_user().await;
    let token_with = |subscription_key: &'static str| {
        app.client
            .post(app.url("/collection/token/"))
            .header("Ocp-Apim-Subscription-Key", subscription_key)
            .header("Authorization", basic(&user, &key))
            .send()
    };
    assert_answer(token_with("ffffffffffffffffffffffffffffffff").await.unwrap(), 401, INVALID_KEY_BODY).await;
    // A Disbursement key on a Collection route: the 401 integrators meet most often with MTN.
    assert_answer(token_with(DISBURSEMENT_KEY).await.unwrap(), 401, INVALID_KEY_BODY).await;
    assert_eq!(token_with(COLLECTION_KEY).await.unwrap().status(), StatusCode::OK);

    let keys: Vec<Value> = app.admin(Method::GET, "/subscription-keys", None).await.json().await.unwrap();
    let collection = keys.iter().find(|k| k["products"] == serde_json::json!(["collection"])).unwrap();
    let path = format!("/subscription-keys/{}", collection["id"].as_str().unwrap());
    assert_eq!(app.admin(Method::DELETE, &path, None).await.status(), StatusCode::OK);
    assert_answer(token_with(COLLECTION_KEY).await.unwrap(), 401, INVALID_KEY_BODY).await;
}

#[tokio::test]
async fn provisioning_accepts_a_key_of_any_product() {
    let app = spawn_app().await;
    for key in [COLLECTION_KEY, DISBURSEMENT_KEY, REMITTANCE_KEY] {
        let response = app
            .client
            .post(app.url("/v1_0/apiuser"))
            .header("Ocp-Apim-Subscription-Key", key)
            .header("X-Reference-Id", uuid::Uuid::new_v4().to_string())
            .json(&serde_json::json!({"providerCallbackHost": "webhook.site"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED, "with {key}");
    }
}

#[tokio::test]
async fn the_subscription_key_query_parameter_works_like_the_header() {
    let app = spawn_app().await;
    let (user, key) = app.sandbox_user().await;
    let response = app
        .client
        .post(app.url(&format!("/collection/token/?subscription-key={COLLECTION_KEY}")))
        .header("Authorization", basic(&user, &key))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let wrong = app.client.post(app.url("/collection/token/?subscription-key=nope")).send().await.unwrap();
    assert_answer(wrong, 401, INVALID_KEY_BODY).await;
}

#[tokio::test]
async fn unknown_routes_and_methods_get_apims_404_even_without_a_key() {
    let app = spawn_app().await;
    for (method, path) in [
        (Method::GET, "/"),
        (Method::GET, "/collection/v9_0/nothing"),
        (Method::POST, "/wallet/token/"),
        (Method::DELETE, "/collection/token/"),
        (Method::PUT, "/v1_0/apiuser"),
    ] {
        let response = app.client.request(method.clone(), app.url(path)).send().await.unwrap();
        let (status, body) = status_and_body(response).await;
        assert_eq!((status.as_u16(), body.as_str()), (404, NOT_FOUND_ROUTE_BODY), "{method} {path}");
    }
}

#[tokio::test]
async fn a_repeated_subscription_key_header_is_invalid() {
    let app = spawn_app().await;
    let response = app
        .client
        .post(app.url("/collection/token/"))
        .header("Ocp-Apim-Subscription-Key", COLLECTION_KEY)
        .header("Ocp-Apim-Subscription-Key", COLLECTION_KEY)
        .send()
        .await
        .unwrap();
    assert_answer(response, 401, INVALID_KEY_BODY).await;
}

#[tokio::test]
async fn every_response_carries_a_request_id_and_health_answers() {
    let app = spawn_app().await;
    let response = app.client.get(app.url("/_momo/health")).send().await.unwrap();
    assert!(response.headers().contains_key("x-request-id"));
    assert_eq!(response.status(), StatusCode::OK);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!((body["database"].as_str(), body["status"].as_str()), (Some(crate::ENGINE.name()), Some("ok")));
    assert!(body["connections"].as_u64().is_some_and(|n| n >= 1), "this request's connection is counted");
}
