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

/// Arbitrary JSON: scalars, and arrays and objects of them, two levels deep.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_filter("JSON has no NaN", |f| f.is_finite()).prop_map(Value::from),
        "\\PC{0,24}".prop_map(Value::from),
        "-?[0-9]{0,30}(\\.[0-9]{0,8})?".prop_map(Value::from),
        prop_oneof![Just("MSISDN"), Just("EMAIL"), Just("PARTY_CODE"), Just("msisdn"), Just("")].prop_map(Value::from),
    ];
    leaf.prop_recursive(2, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map("[a-zA-Z]{1,12}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A payment body: some of the fields MoMo's create operations take, each with any value.
fn payment_body() -> impl Strategy<Value = Vec<u8>> {
    const FIELDS: &[&str] = &[
        "amount",
        "currency",
        "externalId",
        "payer",
        "payee",
        "payerMessage",
        "payeeNote",
        "validityTime",
        "intendedPayer",
        "description",
        "originatingCountry",
        "originalAmount",
        "payerIdentificationType",
        "serviceProviderUserName",
        "receivingMessage",
        "supportedPaymentMethods",
    ];
    let party = ("\\PC{0,12}", "\\PC{0,20}").prop_map(|(t, id)| serde_json::json!({"partyIdType": t, "partyId": id}));
    let value = prop_oneof![3 => json_value(), 1 => party];
    // A body every create operation accepts (each ignores the fields of the others), with up
    // to three fields replaced by anything or removed: this reaches each field's validation.
    let valid = serde_json::json!({
        "amount": "5", "currency": "EUR", "externalId": "6353636", "payerMessage": "m", "payeeNote": "n",
        "payer": {"partyIdType": "MSISDN", "partyId": "46733123450"},
        "payee": {"partyIdType": "MSISDN", "partyId": "46733123450"},
        "intendedPayer": {"partyIdType": "MSISDN", "partyId": "46733123450"},
        "validityDuration": "360", "validityTime": 3600, "payerCurrency": "EUR",
        "money": {"amount": "5", "currency": "EUR"}, "externalTransactionId": "e1",
        "originalAmount": "5", "originalCurrency": "EUR", "payerIdentificationType": "PASS",
        "payerIdentificationNumber": "1", "payerIdentity": "1", "payerFirstName": "A", "payerSurname": "B",
        "payerLanguageCode": "en", "payerEmail": "a@b.c", "payerMsisdn": "46733123450", "payerGender": "M",
    });
    let mutated = (prop::collection::vec((prop::sample::select(FIELDS), prop::option::of(json_value())), 0..3))
        .prop_map(move |changes| {
            let mut body = valid.clone();
            for (field, value) in changes {
                match value {
                    Some(value) => body[field] = value,
                    None => {
                        body.as_object_mut().unwrap().remove(field);
                    }
                }
            }
            serde_json::to_vec(&body).unwrap()
        });
    prop_oneof![
        6 => mutated,
        4 => prop::collection::btree_map(prop::sample::select(FIELDS), value, 0..8).prop_map(|fields| {
            let object: serde_json::Map<String, Value> = fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
            serde_json::to_vec(&object).unwrap()
        }),
        1 => any::<Vec<u8>>(),
        1 => json_value().prop_map(|v| serde_json::to_vec(&v).unwrap()),
    ]
}

/// 202, or a 4xx with a clear body, or a 500/503 carrying one of MTN's business codes (MTN
/// answers several refusals with 500). Never INTERNAL_PROCESSING_ERROR: that would be ours.
async fn assert_accepted_or_refused(response: reqwest::Response, context: &str) {
    let status = response.status();
    if status == StatusCode::ACCEPTED {
        return;
    }
    if status.is_client_error() {
        return assert_clear_error(response, context).await;
    }
    let text = response.text().await.unwrap();
    let body: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{context}: not JSON: {status} {text}"));
    assert!(
        matches!(status.as_u16(), 500 | 503)
            && body["code"].is_string()
            && body["code"] != "INTERNAL_PROCESSING_ERROR"
            && body["message"].is_string(),
        "{context}: {status} {text}"
    );
}

/// Arbitrary bodies, target environments, callback URLs, reference ids and path segments on
/// every create operation and a status read: no panic, no 5xx of our own making.
#[test]
fn arbitrary_payment_requests_get_202_or_a_clear_refusal() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let app = runtime.block_on(spawn_app());
    let (user, key) = runtime.block_on(app.sandbox_user());
    let tokens: Vec<(&str, String)> = ["collection", "disbursement", "remittance"]
        .into_iter()
        .map(|product| (product, runtime.block_on(app.access_token(product, &user, &key))))
        .collect();
    const CREATES: &[(usize, &str)] = &[
        (0, "/collection/v1_0/requesttopay"),
        (0, "/collection/v1_0/requesttowithdraw"),
        (0, "/collection/v2_0/invoice"),
        (0, "/collection/v2_0/preapproval"),
        (0, "/collection/v2_0/payment"),
        (1, "/disbursement/v1_0/transfer"),
        (1, "/disbursement/v2_0/deposit"),
        (1, "/disbursement/v2_0/refund"),
        (2, "/remittance/v1_0/transfer"),
        (2, "/remittance/v2_0/cashtransfer"),
    ];
    let mut runner = TestRunner::new(Config { cases: 160, failure_persistence: None, ..Config::default() });
    let strategy = (
        prop::sample::select(CREATES),
        payment_body(),
        prop_oneof![4 => Just("sandbox".to_owned()), 1 => Just("mtnuganda".to_owned()), 1 => "[ -~]{0,20}"],
        prop_oneof![2 => Just(None), 1 => Just(Some("http://127.0.0.1/cb".to_owned())), 1 => "[ -~]{0,60}".prop_map(Some)],
        prop_oneof![6 => Just(None), 1 => "[ -~]{0,40}".prop_map(Some)],
        "[a-zA-Z0-9%._~-]{1,40}",
    );
    runner
        .run(&strategy, |((product, path), body, environment, callback, reference, segment)| {
            runtime.block_on(async {
                let (product_name, token) = &tokens[product];
                let reference = reference.unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
                let mut request = app
                    .client
                    .post(app.url(path))
                    .header("Ocp-Apim-Subscription-Key", key_for(product_name))
                    .bearer_auth(token)
                    .header("Content-Type", "application/json")
                    .body(body.clone());
                for (name, value) in [
                    ("X-Target-Environment", Some(&environment)),
                    ("X-Reference-Id", Some(&reference)),
                    ("X-Callback-Url", callback.as_ref()),
                ] {
                    if let Some(value) = value.and_then(|v| HeaderValue::from_str(v).ok()) {
                        request = request.header(name, value);
                    }
                }
                let context = format!(
                    "POST {path} env {environment:?} callback {callback:?} body {}",
                    String::from_utf8_lossy(&body)
                );
                assert_accepted_or_refused(request.send().await.unwrap(), &context).await;
                let status = app
                    .client
                    .get(app.url(&format!("{path}/{segment}")))
                    .header("Ocp-Apim-Subscription-Key", key_for(product_name))
                    .bearer_auth(token)
                    .header("X-Target-Environment", "sandbox")
                    .send()
                    .await
                    .unwrap();
                if status.status() != StatusCode::OK {
                    assert_accepted_or_refused(status, &format!("GET {path}/{segment}")).await;
                }
            });
            Ok(())
        })
        .unwrap();
    runtime.block_on(app.stop());
}
