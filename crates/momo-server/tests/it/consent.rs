//! The OAuth2 / CIBA consent flow: bc-authorize, oauth2/token/ and userinfo.

use std::time::Duration;

use serde_json::Value;

use crate::helpers::*;

/// A sandbox user with its key: `(user, key)`.
pub async fn consent_user(app: &TestApp) -> (String, String) {
    app.sandbox_user().await
}

/// `POST /collection/v1_0/bc-authorize` with Basic credentials: status and body.
pub async fn bc_authorize(app: &TestApp, user: &str, key: &str, msisdn: &str) -> (u16, String) {
    let response = app
        .client
        .post(app.url("/collection/v1_0/bc-authorize"))
        .header("Ocp-Apim-Subscription-Key", COLLECTION_KEY)
        .header("Authorization", basic(user, key))
        .header("X-Target-Environment", "sandbox")
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!("login_hint=ID:{msisdn}/MSISDN&scope=all_info&access_type=offline"))
        .send()
        .await
        .unwrap();
    let (status, body) = status_and_body(response).await;
    (status.as_u16(), body)
}

/// `POST /collection/oauth2/token/` with a form: status and body.
pub async fn oauth2_token(app: &TestApp, user: &str, key: &str, form: &str) -> (u16, String) {
    let response = app
        .client
        .post(app.url("/collection/oauth2/token/"))
        .header("Ocp-Apim-Subscription-Key", COLLECTION_KEY)
        .header("Authorization", basic(user, key))
        .header("X-Target-Environment", "sandbox")
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(form.to_owned())
        .send()
        .await
        .unwrap();
    let (status, body) = status_and_body(response).await;
    (status.as_u16(), body)
}

#[tokio::test]
async fn consent_is_asked_granted_refreshed_and_used_for_userinfo() {
    let app = spawn_app().await;
    let (user, key) = consent_user(&app).await;
    let (status, body) = bc_authorize(&app, &user, &key, "56733123453").await;
    assert_eq!(status, 200, "{body}");
    let started: Value = serde_json::from_str(&body).unwrap();
    let auth_req_id = started["auth_req_id"].as_str().unwrap().to_owned();
    assert!(started["interval"].as_u64().unwrap() >= 1 && started["expires_in"].as_u64().unwrap() > 0);

    let ciba = format!("grant_type=urn:openid:params:grant-type:ciba&auth_req_id={auth_req_id}");
    assert_eq!(oauth2_token(&app, &user, &key, &ciba).await, (400, r#"{"error":"authorization_pending"}"#.into()));
    app.clock.advance(Duration::from_secs(3));
    let (status, body) = oauth2_token(&app, &user, &key, &ciba).await;
    assert_eq!(status, 200, "{body}");
    let granted: Value = serde_json::from_str(&body).unwrap();
    // The spec's key order, byte for byte.
    assert_eq!(
        body,
        format!(
            r#"{{"access_token":"{}","token_type":"Bearer","expires_in":{},"scope":"all_info","refresh_token":"{}","refresh_token_expired_in":{}}}"#,
            granted["access_token"].as_str().unwrap(),
            granted["expires_in"],
            granted["refresh_token"].as_str().unwrap(),
            granted["refresh_token_expired_in"]
        )
    );
    assert!(granted["refresh_token_expired_in"].as_i64().unwrap() > 86_400, "offline access");
    assert_eq!(oauth2_token(&app, &user, &key, &ciba).await, (400, r#"{"error":"invalid_grant"}"#.into()), "used once");

    let consent_token = granted["access_token"].as_str().unwrap();
    let info = app.get("collection", "/oauth2/v1_0/userinfo", consent_token, "sandbox").await;
    let info = info.text().await.unwrap();
    let updated_at = serde_json::from_str::<Value>(&info).unwrap()["updated_at"].as_i64().unwrap();
    // MTN's recorded userinfo, in its key order, with the consenting number.
    assert_eq!(
        info,
        format!(
            r#"{{"sub":"0","name":"Sand Box","given_name":"Sand","family_name":"Box","birthdate":"1976-08-13","locale":"sv_SE","status":"ACTIVE","gender":"MALE","email":"email@domain.test","email_verified":true,"phone_number":"56733123453","phone_number_verified":true,"address":{{"formatted":"Street 17\n123 45 Karlskrona\nBlekinge\nSweden","street_address":"Street 17","postal_code":"123 45","locality":"Karlskrona","region":"Blekinge","country":"Sweden"}},"updated_at":{updated_at},"credit_score":123,"active":true,"country_of_birth":"Sweden","region_of_birth":"Blekinge","city_of_birth":"Karlskrona","occupation":"Manager","employer_name":"Ericsson","identification_type":"PASS","identification_value":"S1234567"}}"#
        )
    );
    // A consent token is for userinfo only, and an ordinary token does not open userinfo.
    assert_answer(app.balance("collection", consent_token, "sandbox").await, 401, UNAUTHORIZED_BODY).await;
    let ordinary = app.access_token("collection", &user, &key).await;
    assert_answer(app.get("collection", "/oauth2/v1_0/userinfo", &ordinary, "sandbox").await, 401, UNAUTHORIZED_BODY)
        .await;

    let refresh = format!("grant_type=refresh_token&refresh_token={}", granted["refresh_token"].as_str().unwrap());
    let (status, body) = oauth2_token(&app, &user, &key, &refresh).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        oauth2_token(&app, &user, &key, "grant_type=password").await,
        (400, r#"{"error":"unsupported_grant_type"}"#.into())
    );
    assert_eq!(oauth2_token(&app, &user, "wrong", &refresh).await.0, 500, "the sandbox's login_failed");
}

#[tokio::test]
async fn bc_authorize_checks_its_form_and_accepts_a_bearer_token() {
    let app = spawn_app().await;
    let (user, key) = consent_user(&app).await;
    let token = app.access_token("collection", &user, &key).await;
    let send = |body: &'static str| {
        app.client
            .post(app.url("/remittance/v1_0/bc-authorize"))
            .header("Ocp-Apim-Subscription-Key", REMITTANCE_KEY)
            .bearer_auth(&token)
            .header("X-Target-Environment", "sandbox")
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    assert_eq!(send("login_hint=ID:46733123499/MSISDN&scope=profile&access_type=online").await.unwrap().status(), 200);
    assert_answer(
        send("login_hint=46733123499&scope=profile").await.unwrap(),
        400,
        r#"{"code":"VALIDATION_ERROR","message":"login_hint must be ID:<msisdn>/MSISDN, e.g. ID:46733123450/MSISDN."}"#,
    )
    .await;
    assert_answer(
        send("login_hint=ID:46733123499/MSISDN").await.unwrap(),
        400,
        r#"{"code":"VALIDATION_ERROR","message":"scope is required."}"#,
    )
    .await;
    let json = app
        .client
        .post(app.url("/remittance/v1_0/bc-authorize"))
        .header("Ocp-Apim-Subscription-Key", REMITTANCE_KEY)
        .bearer_auth(&token)
        .header("X-Target-Environment", "sandbox")
        .json(&serde_json::json!({"login_hint": "ID:46733123499/MSISDN"}))
        .send()
        .await
        .unwrap();
    assert_eq!(json.status(), 415);
}
