//! Sandbox provisioning (docs/compatibility.md), and the guide's walkthrough.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::*;

/// Acceptance 1: MTN's guide, step by step, with its own example id and host.
#[tokio::test]
async fn the_guides_walkthrough_creates_a_user_a_key_a_token_and_reads_the_balance() {
    let app = spawn_app().await;

    let created = app.create_api_user(GUIDE_USER, "webhook.site").await;
    assert_eq!(created.status(), StatusCode::CREATED);
    assert_eq!(created.text().await.unwrap(), "", "201 has an empty body");

    let info = app
        .client
        .get(app.url(&format!("/v1_0/apiuser/{GUIDE_USER}")))
        .header("Ocp-Apim-Subscription-Key", COLLECTION_KEY)
        .send()
        .await
        .unwrap();
    assert_answer(info, 200, r#"{"providerCallbackHost":"webhook.site","targetEnvironment":"sandbox"}"#).await;

    let key = app.create_api_key(GUIDE_USER).await;
    assert_eq!(key.status(), StatusCode::CREATED);
    // As in MTN's recorded answer: with a charset, 45 bytes.
    assert_eq!(key.headers()["content-type"], "application/json;charset=utf-8");
    let key = key.text().await.unwrap();
    assert_eq!(key.len(), 45, "{key}");
    let key: Value = serde_json::from_str(&key).unwrap();
    let api_key = key["apiKey"].as_str().unwrap().to_owned();
    assert_eq!(key.as_object().unwrap().len(), 1, "only apiKey: {key}");
    assert_eq!(api_key.len(), 32);
    assert!(api_key.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()), "{api_key}");

    let token = app.token("collection", GUIDE_USER, &api_key).await;
    assert_eq!(token.status(), StatusCode::OK);
    let token: Value = token.json().await.unwrap();
    assert_eq!(token["token_type"], "access_token");
    assert_eq!(token["expires_in"], 3600);
    let access_token = token["access_token"].as_str().unwrap();
    assert_eq!(access_token.split('.').count(), 3, "a JWT");

    let balance = app.balance("collection", access_token, "sandbox").await;
    assert_answer(balance, 200, r#"{"availableBalance":"0","currency":"EUR"}"#).await;
}

#[tokio::test]
async fn a_reused_reference_id_gets_409_with_mtns_body() {
    let app = spawn_app().await;
    assert_eq!(app.create_api_user(GUIDE_USER, "webhook.site").await.status(), StatusCode::CREATED);
    assert_answer(app.create_api_user(GUIDE_USER, "other.example").await, 409, ALREADY_EXISTS_BODY).await;
}

/// Acceptance 3: uniqueness holds under concurrency (the database enforces it).
#[tokio::test]
async fn fifty_concurrent_creations_with_one_id_give_one_201_and_forty_nine_409s() {
    let app = spawn_app().await;
    let id = uuid::Uuid::new_v4().to_string();
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..50 {
        // Each request in its own task, so they really run at once.
        let (client, url, id) = (app.client.clone(), app.url("/v1_0/apiuser"), id.clone());
        set.spawn(async move {
            let response = client
                .post(url)
                .header("Ocp-Apim-Subscription-Key", COLLECTION_KEY)
                .header("X-Reference-Id", id)
                .json(&serde_json::json!({ "providerCallbackHost": "webhook.site" }))
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            (status, response.text().await.unwrap())
        });
    }
    let answers = set.join_all().await;
    assert_eq!(answers.iter().filter(|(s, _)| *s == 201).count(), 1, "{answers:?}");
    let conflicts: Vec<_> = answers.iter().filter(|(s, _)| *s == 409).collect();
    assert_eq!(conflicts.len(), 49, "{answers:?}");
    assert!(conflicts.iter().all(|(_, body)| body == ALREADY_EXISTS_BODY));
}

#[tokio::test]
async fn unknown_users_get_404_with_mtns_body_and_malformed_ids_get_400() {
    let app = spawn_app().await;
    let unknown = uuid::Uuid::new_v4();
    let get = |path: String| app.client.get(app.url(&path)).header("Ocp-Apim-Subscription-Key", COLLECTION_KEY).send();
    assert_answer(get(format!("/v1_0/apiuser/{unknown}")).await.unwrap(), 404, NOT_FOUND_BODY).await;
    assert_answer(app.create_api_key(&unknown.to_string()).await, 404, NOT_FOUND_BODY).await;

    let (status, body) = status_and_body(get("/v1_0/apiuser/not-a-uuid".into()).await.unwrap()).await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        r#"{"code":"VALIDATION_ERROR","message":"The API user id is not a UUID in the form xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx; UUID version 4 is required."}"#
    );
    let (status, _) = status_and_body(app.create_api_key("c72025f5-5cd1-1630-99e4-8ba4722fad56").await).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn create_api_user_validates_the_reference_id_and_body() {
    let app = spawn_app().await;
    let post = |id: Option<&str>, body: Option<&str>| {
        let mut request = app
            .client
            .post(app.url("/v1_0/apiuser"))
            .header("Ocp-Apim-Subscription-Key", COLLECTION_KEY)
            .header("Content-Type", "application/json");
        if let Some(id) = id {
            request = request.header("X-Reference-Id", id);
        }
        if let Some(body) = body {
            request = request.body(body.to_owned());
        }
        request.send()
    };
    let host = Some(r#"{"providerCallbackHost": "webhook.site"}"#);
    let cases: &[(Option<&str>, Option<&str>, &str)] = &[
        (None, host, r#"{"code":"VALIDATION_ERROR","message":"The X-Reference-Id header is required."}"#),
        (
            Some("not-a-uuid"),
            host,
            r#"{"code":"VALIDATION_ERROR","message":"The X-Reference-Id header is not a UUID in the form xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx; UUID version 4 is required."}"#,
        ),
        (
            Some("c72025f5-5cd1-1630-99e4-8ba4722fad56"),
            host,
            r#"{"code":"VALIDATION_ERROR","message":"The X-Reference-Id header is a UUID of version 1, but version 4 is required; UUID version 4 is required."}"#,
        ),
        (Some(GUIDE_USER), None, r#"{"code":"VALIDATION_ERROR","message":"A JSON request body is required."}"#),
        (Some(GUIDE_USER), Some("{"), r#"{"code":"VALIDATION_ERROR","message":"The request body is not valid JSON."}"#),
        (
            Some(GUIDE_USER),
            Some("{}"),
            r#"{"code":"VALIDATION_ERROR","message":"The request body is invalid: missing field `providerCallbackHost` at line 1 column 2."}"#,
        ),
        (
            Some(GUIDE_USER),
            Some(r#"{"providerCallbackHost": 42}"#),
            r#"{"code":"VALIDATION_ERROR","message":"The request body is invalid: invalid type: integer `42`, expected a string at line 1 column 27."}"#,
        ),
        (
            Some(GUIDE_USER),
            Some(r#"{"providerCallbackHost": ""}"#),
            r#"{"code":"VALIDATION_ERROR","message":"providerCallbackHost must not be empty."}"#,
        ),
    ];
    for (id, body, expected) in cases {
        let (status, got) = status_and_body(post(*id, *body).await.unwrap()).await;
        assert_eq!((status.as_u16(), got.as_str()), (400, *expected), "id {id:?} body {body:?}");
    }
    // None of them created the user.
    assert_eq!(app.create_api_user(GUIDE_USER, "webhook.site").await.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn a_new_api_key_replaces_the_old_one_and_its_tokens() {
    let app = spawn_app().await;
    let (user, old_key) = app.sandbox_user().await;
    let old_token = app.access_token("collection", &user, &old_key).await;
    assert_eq!(app.balance("collection", &old_token, "sandbox").await.status(), StatusCode::OK);

    let new_key: Value = app.create_api_key(&user).await.json().await.unwrap();
    let new_key = new_key["apiKey"].as_str().unwrap();
    assert_ne!(new_key, old_key);

    // Acceptance 5: on the very next request.
    assert_answer(app.balance("collection", &old_token, "sandbox").await, 401, UNAUTHORIZED_BODY).await;
    assert_answer(app.token("collection", &user, &old_key).await, 500, LOGIN_FAILED_BODY).await;
    let new_token = app.access_token("collection", &user, new_key).await;
    assert_eq!(app.balance("collection", &new_token, "sandbox").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_sandbox_user_has_no_key_until_one_is_created() {
    let app = spawn_app().await;
    let id = uuid::Uuid::new_v4().to_string();
    app.create_api_user(&id, "webhook.site").await;
    assert_answer(app.token("collection", &id, "00000000000000000000000000000000").await, 500, LOGIN_FAILED_BODY).await;
}
