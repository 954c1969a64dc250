//! Payment operations: happy paths with MTN's exact bodies, every validation error, 409s.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::*;

#[tokio::test]
async fn request_to_pay_is_accepted_pending_then_successful_with_the_sandboxs_body() {
    let app = spawn_app().await;
    let (_, token) = payer_ready(&app).await;
    let id = new_id();
    let accepted = app
        .create("collection", "/v1_0/requesttopay", &token, "sandbox", &id, None, &rtp_body("56733123453", "50000"))
        .await;
    assert_eq!(accepted.status(), StatusCode::ACCEPTED);
    assert_eq!(accepted.text().await.unwrap(), "");

    let pending = app.get("collection", &format!("/v1_0/requesttopay/{id}"), &token, "sandbox").await;
    assert_answer(
        pending,
        200,
        r#"{"externalId":"ext-1","amount":"50000","currency":"EUR","payer":{"partyIdType":"MSISDN","partyId":"56733123453"},"payerMessage":"MoMo Debit API","payeeNote":"MoMo Debit API","status":"PENDING"}"#,
    )
    .await;

    app.clock.advance(Duration::from_secs(3));
    let done: Value =
        app.get("collection", &format!("/v1_0/requesttopay/{id}"), &token, "sandbox").await.json().await.unwrap();
    let fti = done["financialTransactionId"].as_str().unwrap().to_owned();
    assert_eq!(fti.len(), 10);
    let text = serde_json::to_string(&done).unwrap();
    // serde_json::Value sorts keys; check the wire order on the raw body instead.
    let raw = app.get("collection", &format!("/v1_0/requesttopay/{id}"), &token, "sandbox").await.text().await.unwrap();
    assert_eq!(
        raw,
        format!(
            r#"{{"financialTransactionId":"{fti}","externalId":"ext-1","amount":"50000","currency":"EUR","payer":{{"partyIdType":"MSISDN","partyId":"56733123453"}},"payerMessage":"MoMo Debit API","payeeNote":"MoMo Debit API","status":"SUCCESSFUL"}}"#
        ),
        "{text}"
    );

    let balance = app.balance("collection", &token, "sandbox").await;
    assert_answer(balance, 200, r#"{"availableBalance":"50000","currency":"EUR"}"#).await;
}

#[tokio::test]
async fn amounts_are_echoed_exactly_as_sent() {
    let app = spawn_app().await;
    let (_, token) = payer_ready(&app).await;
    let id = new_id();
    let created = app
        .create("collection", "/v1_0/requesttopay", &token, "sandbox", &id, None, &rtp_body("56733123453", "0012.50"))
        .await;
    assert_eq!(created.status(), StatusCode::ACCEPTED);
    let body = app.final_status("collection", &format!("/v1_0/requesttopay/{id}"), &token, "sandbox").await;
    assert!(body.contains(r#""amount":"0012.50""#), "{body}");
    assert_answer(
        app.balance("collection", &token, "sandbox").await,
        200,
        r#"{"availableBalance":"12.5","currency":"EUR"}"#,
    )
    .await;
}

/// Acceptance 1: each documented error of the create operations, in the order docs/compatibility.md gives.
#[tokio::test]
async fn invalid_payment_requests_get_exact_errors() {
    let app = spawn_app().await;
    let (_, token) = payer_ready(&app).await;
    let bad = |code: &str, message: &str| format!(r#"{{"code":"{code}","message":"{message}"}}"#);
    let validation = |message: &str| bad("VALIDATION_ERROR", message);
    let good = rtp_body("56733123453", "100");
    let with = |field: &str, value: Value| {
        let mut body = good.clone();
        body[field] = value;
        body
    };
    let bad_amount = validation("amount must be a positive decimal number as a string, with at most 2 decimal places.");
    let mut malformed = with("amount", json!("1e3"));
    malformed["currency"] = json!("eur");
    malformed["payer"] = json!({"partyIdType": "MSISDN", "partyId": "+46 733"});
    let cases: Vec<(Option<&str>, Value, u16, String)> = vec![
        (
            None,
            with("amount", json!("-1")),
            400,
            validation("amount must be a positive decimal number as a string, with at most 2 decimal places."),
        ),
        (
            None,
            with("amount", json!("1.005")),
            400,
            validation("amount must be a positive decimal number as a string, with at most 2 decimal places."),
        ),
        (
            None,
            with("amount", json!(100)),
            400,
            validation(
                "The request body is invalid: invalid type: integer `100`, expected a string at line 1 column 13.",
            ),
        ),
        (None, with("currency", json!("UGX")), 500, bad("INVALID_CURRENCY", "Currency not supported.")),
        (
            None,
            with("payerMessage", json!("x".repeat(161))),
            400,
            validation("payerMessage must be at most 160 characters."),
        ),
        (None, with("payeeNote", json!("x".repeat(161))), 400, validation("payeeNote must be at most 160 characters.")),
        (
            None,
            with("payerMessage", json!("Tom's order")),
            400,
            validation("payerMessage must not contain the characters ' or &."),
        ),
        (
            None,
            with("payeeNote", json!("Fish & chips")),
            400,
            validation("payeeNote must not contain the characters ' or &."),
        ),
        (
            None,
            with("payer", json!({"partyIdType": "MSISDN", "partyId": "+46733123450"})),
            400,
            validation(
                "payer.partyId must be an MSISDN: the number with its country code, digits only (e.g. 46733123450).",
            ),
        ),
        (
            None,
            with("payer", json!({"partyIdType": "EMAIL", "partyId": "nobody"})),
            400,
            validation("payer.partyId must be an e-mail address."),
        ),
        (Some(""), good.clone(), 400, validation("X-Callback-Url must not be empty; leave the header out instead.")),
        (Some("not a url"), good.clone(), 400, validation("X-Callback-Url must be an absolute URL.")),
        (
            Some("http://evil.example/cb"),
            good.clone(),
            500,
            bad("INVALID_CALLBACK_URL_HOST", "Callback URL with different host name than configured for API User"),
        ),
        // Malformed wire values are decoded as sent and refused by their own check, in the order
        // of checks, never as a JSON decoding error (docs/architecture.md, "Wire values").
        (None, with("amount", json!("1e3")), 400, bad_amount.clone()),
        (None, with("amount", json!("")), 400, bad_amount.clone()),
        (None, malformed.clone(), 400, bad_amount.clone()),
        (None, with("currency", json!("eur")), 500, bad("INVALID_CURRENCY", "Currency not supported.")),
        (Some(""), malformed, 400, validation("X-Callback-Url must not be empty; leave the header out instead.")),
    ];
    for (callback, body, status, expected) in cases {
        let response =
            app.create("collection", "/v1_0/requesttopay", &token, "sandbox", &new_id(), callback, &body).await;
        let (got_status, got) = status_and_body(response).await;
        assert_eq!(
            (got_status.as_u16(), got.as_str()),
            (status, expected.as_str()),
            "callback {callback:?} body {body}"
        );
    }
    let no_reference = app
        .client
        .post(app.url("/collection/v1_0/requesttopay"))
        .header("Ocp-Apim-Subscription-Key", COLLECTION_KEY)
        .bearer_auth(&token)
        .header("X-Target-Environment", "sandbox")
        .json(&good)
        .send()
        .await
        .unwrap();
    assert_answer(no_reference, 400, &validation("The X-Reference-Id header is required.")).await;
    // Nothing of the above was recorded.
    let listed: Vec<Value> = app.admin(Method::GET, "/transactions", None).await.json().await.unwrap();
    assert!(listed.is_empty(), "{listed:?}");
}

#[tokio::test]
async fn a_reused_reference_id_is_409_also_under_concurrency() {
    let app = spawn_app().await;
    let (_, token) = payer_ready(&app).await;
    let id = new_id();
    let body = rtp_body("56733123453", "100");
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..30 {
        let (client, url, token, id, body) =
            (app.client.clone(), app.url("/collection/v1_0/requesttopay"), token.clone(), id.clone(), body.clone());
        set.spawn(async move {
            client
                .post(url)
                .header("Ocp-Apim-Subscription-Key", COLLECTION_KEY)
                .bearer_auth(token)
                .header("X-Target-Environment", "sandbox")
                .header("X-Reference-Id", id)
                .json(&body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        });
    }
    let statuses = set.join_all().await;
    assert_eq!(statuses.iter().filter(|s| **s == 202).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 29, "{statuses:?}");
    let again = app.create("collection", "/v1_0/requesttopay", &token, "sandbox", &id, None, &body).await;
    assert_answer(again, 409, ALREADY_EXISTS_BODY).await;
}

#[tokio::test]
async fn statuses_are_404_for_unknown_ids_and_other_users_and_400_for_malformed_ones() {
    let app = spawn_app().await;
    let (_, token) = payer_ready(&app).await;
    let (_, other) = payer_ready(&app).await;
    let id = new_id();
    app.create("collection", "/v1_0/requesttopay", &token, "sandbox", &id, None, &rtp_body("56733123453", "1")).await;
    assert_answer(
        app.get("collection", &format!("/v1_0/requesttopay/{}", new_id()), &token, "sandbox").await,
        404,
        NOT_FOUND_BODY,
    )
    .await;
    assert_answer(
        app.get("collection", &format!("/v1_0/requesttopay/{id}"), &other, "sandbox").await,
        404,
        NOT_FOUND_BODY,
    )
    .await;
    // Another kind's status endpoint does not see it either.
    assert_answer(
        app.get("collection", &format!("/v1_0/requesttowithdraw/{id}"), &token, "sandbox").await,
        404,
        NOT_FOUND_BODY,
    )
    .await;
    let (status, _) = status_and_body(app.get("collection", "/v1_0/requesttopay/nope", &token, "sandbox").await).await;
    assert_eq!(status, 400);
}

/// MTN's sandbox answers 400 for `'` and `&` in `payerMessage` / `payeeNote`: so does every
/// operation that takes them, unless `accept_special_characters` is set.
#[tokio::test]
async fn apostrophes_and_ampersands_in_messages_get_400_on_every_operation_unless_accepted() {
    let refused = |field: &str| {
        format!(r#"{{"code":"VALIDATION_ERROR","message":"{field} must not contain the characters ' or &."}}"#)
    };
    for accept in [false, true] {
        let app = spawn_with(|s| s.accept_special_characters = accept).await;
        let (_, token) = payer_ready(&app).await;
        let rtp = new_id();
        let r = app
            .create("collection", "/v1_0/requesttopay", &token, "sandbox", &rtp, None, &rtp_body("56733123453", "9"))
            .await;
        assert_eq!(r.status(), StatusCode::ACCEPTED);
        app.final_status("collection", &format!("/v1_0/requesttopay/{rtp}"), &token, "sandbox").await;
        let payee = json!({"partyIdType": "MSISDN", "partyId": "56733123453"});
        let operations: Vec<(&str, &str, Value)> = vec![
            ("collection", "/v1_0/requesttopay", rtp_body("56733123453", "1")),
            ("collection", "/v1_0/requesttowithdraw", rtp_body("56733123453", "1")),
            ("collection", "/v2_0/requesttowithdraw", rtp_body("56733123453", "1")),
            (
                "collection",
                "/v2_0/preapproval",
                json!({"payer": payee, "payerCurrency": "EUR", "payerMessage": "m", "validityTime": 3600}),
            ),
            ("disbursement", "/v1_0/transfer", transfer_body("56733123453", "1", "EUR")),
            ("disbursement", "/v1_0/deposit", transfer_body("56733123453", "1", "EUR")),
            ("disbursement", "/v2_0/deposit", transfer_body("56733123453", "1", "EUR")),
            (
                "disbursement",
                "/v1_0/refund",
                json!({"amount": "1", "currency": "EUR", "payerMessage": "m", "payeeNote": "n", "referenceIdToRefund": rtp}),
            ),
            (
                "disbursement",
                "/v2_0/refund",
                json!({"amount": "1", "currency": "EUR", "payerMessage": "m", "payeeNote": "n", "referenceIdToRefund": rtp}),
            ),
            ("remittance", "/v1_0/transfer", transfer_body("56733123453", "1", "EUR")),
            (
                "remittance",
                "/v2_0/cashtransfer",
                json!({"amount": "1", "currency": "EUR", "payee": payee, "payerMessage": "m", "payeeNote": "n"}),
            ),
        ];
        for (product, path, body) in operations {
            let fields: &[&str] =
                if path.ends_with("preapproval") { &["payerMessage"] } else { &["payerMessage", "payeeNote"] };
            for field in fields {
                for text in ["Tom's order", "Fish & chips"] {
                    let mut body = body.clone();
                    body[*field] = json!(text);
                    let r = app.create(product, path, &token, "sandbox", &new_id(), None, &body).await;
                    let (status, got) = status_and_body(r).await;
                    if accept {
                        assert_eq!(status, StatusCode::ACCEPTED, "{product}{path} {field}={text:?}: {got}");
                    } else {
                        assert_eq!((status.as_u16(), got), (400, refused(field)), "{product}{path} {field}={text:?}");
                    }
                }
            }
        }
    }
}

#[tokio::test]
async fn transfers_deposits_withdrawals_and_refunds_have_their_own_bodies() {
    let app = spawn_app().await;
    let (_, token) = payer_ready(&app).await;

    let transfer = new_id();
    let r = app
        .create(
            "disbursement",
            "/v1_0/transfer",
            &token,
            "sandbox",
            &transfer,
            None,
            &transfer_body("56733123453", "500", "EUR"),
        )
        .await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let body = app.final_status("disbursement", &format!("/v1_0/transfer/{transfer}"), &token, "sandbox").await;
    assert!(body.starts_with(r#"{"amount":"500","currency":"EUR","financialTransactionId":""#), "{body}");
    assert!(body.ends_with(r#""externalId":"ext-2","payee":{"partyIdType":"MSISDN","partyId":"56733123453"},"payerMessage":"MoMo Transfer API","payeeNote":"MoMo Transfer API","status":"SUCCESSFUL"}"#), "{body}");

    for path in ["/v1_0/deposit", "/v2_0/deposit"] {
        let deposit = new_id();
        let r = app
            .create(
                "disbursement",
                path,
                &token,
                "sandbox",
                &deposit,
                None,
                &transfer_body("56733123453", "50089", "EUR"),
            )
            .await;
        assert_eq!(r.status(), StatusCode::ACCEPTED);
        let body = app.final_status("disbursement", &format!("/v1_0/deposit/{deposit}"), &token, "sandbox").await;
        // Unlike MTN's recorded status body, with the financialTransactionId its callback carries.
        assert_eq!(
            mask_fti(&body),
            r#"{"financialTransactionId":"<fti>","externalId":"ext-2","amount":"50089","currency":"EUR","payee":{"partyIdType":"MSISDN","partyId":"56733123453"},"payerMessage":"MoMo Transfer API","payeeNote":"MoMo Transfer API","status":"SUCCESSFUL"}"#
        );
    }

    for path in ["/v1_0/requesttowithdraw", "/v2_0/requesttowithdraw"] {
        let withdraw = new_id();
        let r = app
            .create("collection", path, &token, "sandbox", &withdraw, None, &rtp_body("56733123453", "5000000"))
            .await;
        assert_eq!(r.status(), StatusCode::ACCEPTED);
        let body =
            app.final_status("collection", &format!("/v1_0/requesttowithdraw/{withdraw}"), &token, "sandbox").await;
        assert!(
            body.starts_with(r#"{"financialTransactionId":""#) && body.ends_with(r#""status":"SUCCESSFUL"}"#),
            "{body}"
        );
    }

    // Remittance transfers too.
    let remit = new_id();
    let r = app
        .create(
            "remittance",
            "/v1_0/transfer",
            &token,
            "sandbox",
            &remit,
            None,
            &transfer_body("56733123453", "7", "EUR"),
        )
        .await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let body = app.final_status("remittance", &format!("/v1_0/transfer/{remit}"), &token, "sandbox").await;
    assert!(body.ends_with(r#""status":"SUCCESSFUL"}"#), "{body}");
}

#[tokio::test]
async fn a_refund_goes_back_to_the_payer_and_never_exceeds_the_request_to_pay() {
    let app = spawn_app().await;
    let (_, token) = payer_ready(&app).await;
    let rtp = new_id();
    app.create("collection", "/v1_0/requesttopay", &token, "sandbox", &rtp, None, &rtp_body("56733123452", "200"))
        .await;
    app.final_status("collection", &format!("/v1_0/requesttopay/{rtp}"), &token, "sandbox").await;

    let refund_body = |amount: &str, of: &str| json!({"amount": amount, "currency": "EUR", "externalId": "r", "payerMessage": "MoMo Refund API", "payeeNote": "MoMo Refund API", "referenceIdToRefund": of});
    let first = new_id();
    let r =
        app.create("disbursement", "/v1_0/refund", &token, "sandbox", &first, None, &refund_body("150", &rtp)).await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let body = app.final_status("disbursement", &format!("/v1_0/refund/{first}"), &token, "sandbox").await;
    assert!(body.contains(r#""payee":{"partyIdType":"MSISDN","partyId":"56733123452"}"#), "{body}");
    assert!(
        body.starts_with(r#"{"financialTransactionId":""#) && body.ends_with(r#""status":"SUCCESSFUL"}"#),
        "{body}"
    );

    let second = new_id();
    app.create("disbursement", "/v2_0/refund", &token, "sandbox", &second, None, &refund_body("51", &rtp)).await;
    let body = app.final_status("disbursement", &format!("/v1_0/refund/{second}"), &token, "sandbox").await;
    assert!(body.ends_with(r#""status":"FAILED","reason":"NOT_ALLOWED"}"#), "150 + 51 > 200: {body}");

    let unknown = app
        .create("disbursement", "/v1_0/refund", &token, "sandbox", &new_id(), None, &refund_body("1", &new_id()))
        .await;
    assert_answer(unknown, 404, NOT_FOUND_BODY).await;
    let malformed =
        app.create("disbursement", "/v1_0/refund", &token, "sandbox", &new_id(), None, &refund_body("1", "x")).await;
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn account_holder_checks_and_basic_user_info() {
    let app = spawn_app().await;
    let (_, token) = payer_ready(&app).await;
    let get = |path: &'static str| app.get("collection", path, &token, "sandbox");
    assert_answer(get("/v1_0/accountholder/msisdn/56733123453/active").await, 200, r#"{"result":true}"#).await;
    assert_answer(get("/v1_0/accountholder/MSISDN/46733123450/active").await, 200, r#"{"result":false}"#).await;
    assert_answer(get("/v1_0/accountholder/msisdn/46733123453/active").await, 500, TARGET_ENV_BODY).await;
    assert_answer(
        get("/v1_0/accountholder/email/serviceunavailable@email.com/active").await,
        503,
        r#"{"code":"SERVICE_UNAVAILABLE","message":"Service temporary unavailable, try again later"}"#,
    )
    .await;
    let (status, _) = status_and_body(get("/v1_0/accountholder/phone/123/active").await).await;
    assert_eq!(status, 400);
    // MTN's key order, byte for byte (`updated_at` is the server's clock).
    let info = get("/v1_0/accountholder/msisdn/46733123450/basicuserinfo").await.text().await.unwrap();
    let updated_at = serde_json::from_str::<Value>(&info).unwrap()["updated_at"].as_i64().unwrap();
    assert_eq!(
        info,
        format!(
            r#"{{"sub":"0","name":"Sand Box","given_name":"Sand","family_name":"Box","birthdate":"1976-08-13","locale":"sv_SE","gender":"MALE","updated_at":{updated_at}}}"#
        )
    );
}

#[tokio::test]
async fn delivery_notifications_follow_mtns_rules() {
    // A token that outlives the 24-hour notification window.
    let app = spawn_with(|s| s.token_ttl = Duration::from_secs(30 * 86_400)).await;
    let (_, token) = payer_ready(&app).await;
    let id = new_id();
    app.create("collection", "/v1_0/requesttopay", &token, "sandbox", &id, None, &rtp_body("56733123453", "1")).await;
    let notify = |reference: String| {
        app.client
            .post(app.url(&format!("/collection/v1_0/requesttopay/{reference}/deliverynotification")))
            .header("Ocp-Apim-Subscription-Key", COLLECTION_KEY)
            .bearer_auth(&token)
            .header("X-Target-Environment", "sandbox")
            .header("notificationMessage", "Your order is on its way")
            .send()
    };
    let pending = notify(id.clone()).await.unwrap();
    assert_answer(
        pending,
        409,
        r#"{"code":"TRANSACTION_NOT_COMPLETED","message":"The transaction is not successfully completed."}"#,
    )
    .await;
    app.clock.advance(Duration::from_secs(3));
    for _ in 0..3 {
        let ok = notify(id.clone()).await.unwrap();
        assert_eq!(ok.status(), StatusCode::OK);
    }
    assert_eq!(notify(id.clone()).await.unwrap().status(), StatusCode::TOO_MANY_REQUESTS);
    assert_answer(notify(new_id()).await.unwrap(), 404, NOT_FOUND_BODY).await;
    app.clock.advance(Duration::from_secs(25 * 3600));
    assert_eq!(notify(id).await.unwrap().status(), StatusCode::GONE);
}

#[tokio::test]
async fn the_object_reason_format_answers_code_and_message() {
    let app = spawn_with(|s| s.reason_format = momo_server::config::ReasonFormat::Object).await;
    let (_, token) = payer_ready(&app).await;
    let id = new_id();
    app.create("collection", "/v1_0/requesttopay", &token, "sandbox", &id, None, &rtp_body("46733123451", "1")).await;
    let body = app.final_status("collection", &format!("/v1_0/requesttopay/{id}"), &token, "sandbox").await;
    assert!(
        body.ends_with(
            r#""status":"FAILED","reason":{"code":"APPROVAL_REJECTED","message":"The payer rejected the request."}}"#
        ),
        "{body}"
    );
}

#[tokio::test]
async fn invoices_are_created_paid_and_cancelled() {
    let app = spawn_app().await;
    let (_, token) = payer_ready(&app).await;
    let invoice = json!({
        "externalId": "inv-1", "amount": "700000", "currency": "EUR", "validityDuration": "360",
        "intendedPayer": {"partyIdType": "MSISDN", "partyId": "5677876667"},
        "payee": {"partyIdType": "MSISDN", "partyId": "46733123450"},
        "description": "MoMo Invoice API"
    });
    let paid = new_id();
    let r = app.create("collection", "/v2_0/invoice", &token, "sandbox", &paid, None, &invoice).await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let body = app.final_status("collection", &format!("/v2_0/invoice/{paid}"), &token, "sandbox").await;
    let v: Value = serde_json::from_str(&body).unwrap();
    assert!(body.starts_with(&format!(r#"{{"referenceId":"{paid}","externalId":"inv-1","amount":"700000","currency":"EUR","status":"SUCCESSFUL","paymentReference":""#)), "{body}");
    assert!(
        body.ends_with(
            r#""intendedPayer":{"partyIdType":"MSISDN","partyId":"5677876667"},"description":"MoMo Invoice API"}"#
        ),
        "{body}"
    );
    assert_eq!(v["invoiceId"].as_str().unwrap().len(), 10);
    assert_eq!(v["expiryDateTime"].as_str().unwrap().len(), "2024-11-10T17:36:25.698".len());

    let cancelled = new_id();
    app.create("collection", "/v2_0/invoice", &token, "sandbox", &cancelled, None, &invoice).await;
    let cancel = |id: &str| {
        app.client
            .delete(app.url(&format!("/collection/v2_0/invoice/{id}")))
            .header("Ocp-Apim-Subscription-Key", COLLECTION_KEY)
            .bearer_auth(&token)
            .header("X-Target-Environment", "sandbox")
            .header("X-Reference-Id", new_id())
            .json(&json!({"externalId": "inv-1"}))
            .send()
    };
    assert_eq!(cancel(&cancelled).await.unwrap().status(), StatusCode::ACCEPTED, "the sandbox answers 202");
    let v: Value =
        app.get("collection", &format!("/v2_0/invoice/{cancelled}"), &token, "sandbox").await.json().await.unwrap();
    assert_eq!(v["status"], "FAILED");
    assert_eq!(v["errorReason"]["code"], "TRANSACTION_CANCELED");
    assert_eq!(cancel(&paid).await.unwrap().status(), StatusCode::CONFLICT);
    let bad = json!({"amount": "1", "currency": "EUR", "validityDuration": "soon", "intendedPayer": {"partyIdType": "MSISDN", "partyId": "1234"}, "payee": {"partyIdType": "MSISDN", "partyId": "1234"}});
    assert_eq!(
        app.create("collection", "/v2_0/invoice", &token, "sandbox", &new_id(), None, &bad).await.status(),
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn pre_approvals_are_listed_while_approved_and_can_be_cancelled() {
    let app = spawn_app().await;
    let (user, token) = payer_ready(&app).await;
    let id = new_id();
    let body = json!({"payer": {"partyIdType": "MSISDN", "partyId": "46733123499"}, "payerCurrency": "EUR", "payerMessage": "Subscription", "validityTime": 3600});
    assert_eq!(
        app.create("collection", "/v2_0/preapproval", &token, "sandbox", &id, None, &body).await.status(),
        StatusCode::ACCEPTED
    );
    let status = app.final_status("collection", &format!("/v2_0/preapproval/{id}"), &token, "sandbox").await;
    assert!(status.starts_with(r#"{"payer":{"partyIdType":"MSISDN","partyId":"46733123499"},"payerCurrency":"EUR","payerMessage":"Subscription","status":"SUCCESSFUL","expirationDateTime":""#), "{status}");
    let listed: Vec<Value> =
        app.get("collection", "/v1_0/preapprovals/msisdn/46733123499", &token, "sandbox").await.json().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["preApprovalId"], id.as_str());
    assert_eq!(listed[0]["status"], "APPROVED");
    assert_eq!(listed[0]["toFri"], format!("FRI:{user}/USER"));
    assert_eq!(listed[0]["fromFri"], "FRI:46733123499/MSISDN");

    let cancel = app
        .client
        .delete(app.url(&format!("/collection/v1_0/preapproval/{id}")))
        .header("Ocp-Apim-Subscription-Key", COLLECTION_KEY)
        .bearer_auth(&token)
        .header("X-Target-Environment", "sandbox")
        .send()
        .await
        .unwrap();
    assert_eq!(cancel.status(), StatusCode::OK);
    let listed: Vec<Value> =
        app.get("collection", "/v1_0/preapprovals/msisdn/46733123499", &token, "sandbox").await.json().await.unwrap();
    assert!(listed.is_empty());
    let wrong_currency = json!({"payer": {"partyIdType": "MSISDN", "partyId": "46733123499"}, "payerCurrency": "GHS", "validityTime": 60});
    let r = app.create("collection", "/v2_0/preapproval", &token, "sandbox", &new_id(), None, &wrong_currency).await;
    assert_answer(r, 500, r#"{"code":"INVALID_CURRENCY","message":"Currency not supported."}"#).await;
}

#[tokio::test]
async fn payments_and_cash_transfers_settle_with_their_own_bodies() {
    let app = spawn_app().await;
    let (_, token) = payer_ready(&app).await;
    let payment = new_id();
    let body = json!({"externalTransactionId": "p-1", "money": {"amount": "25", "currency": "EUR"}, "customerReference": "+46070911111", "serviceProviderUserName": "Electricity Inc."});
    assert_eq!(
        app.create("collection", "/v2_0/payment", &token, "sandbox", &payment, None, &body).await.status(),
        StatusCode::ACCEPTED
    );
    let status = app.final_status("collection", &format!("/v2_0/payment/{payment}"), &token, "sandbox").await;
    assert!(
        status.starts_with(&format!(r#"{{"referenceId":"{payment}","status":"SUCCESSFUL","financialTransactionId":""#)),
        "{status}"
    );
    // Paid from an empty sandbox account: the sandbox funds it, the balance is never negative.
    assert_answer(
        app.balance("collection", &token, "sandbox").await,
        200,
        r#"{"availableBalance":"0","currency":"EUR"}"#,
    )
    .await;

    let cash = new_id();
    let body = json!({
        "amount": "100", "currency": "EUR", "payee": {"partyIdType": "MSISDN", "partyId": "56733123453"},
        "externalId": "c-1", "orginatingCountry": "SE", "originalAmount": "1100", "originalCurrency": "SEK",
        "payerMessage": "Family", "payeeNote": "Family", "payerIdentificationType": "PASS", "payerFirstName": "Ada", "payerSurName": "L"
    });
    assert_eq!(
        app.create("remittance", "/v2_0/cashtransfer", &token, "sandbox", &cash, None, &body).await.status(),
        StatusCode::ACCEPTED
    );
    let status = app.final_status("remittance", &format!("/v2_0/cashtransfer/{cash}"), &token, "sandbox").await;
    // The result fields first, as the spec's CashTransferResult lists them.
    assert_eq!(
        mask_fti(&status),
        r#"{"financialTransactionId":"<fti>","status":"SUCCESSFUL","amount":"100","currency":"EUR","payee":{"partyIdType":"MSISDN","partyId":"56733123453"},"externalId":"c-1","orginatingCountry":"SE","originalAmount":"1100","originalCurrency":"SEK","payerMessage":"Family","payeeNote":"Family","payerIdentificationType":"PASS","payerFirstName":"Ada","payerSurName":"L"}"#
    );
}

/// A cash transfer's `originalCurrency` and `payerMsisdn` are echoed in its status and callback
/// bodies, so a malformed one is refused (400) rather than published against the schema.
#[tokio::test]
async fn a_cash_transfer_with_a_malformed_original_currency_or_payer_msisdn_is_refused() {
    let app = spawn_app().await;
    let (_, token) = payer_ready(&app).await;
    for (field, value, message) in [
        ("originalCurrency", "sek", "originalCurrency is not a currency"),
        ("payerMsisdn", "+46733123450", "payerMsisdn is not an MSISDN"),
    ] {
        let mut body = json!({
            "amount": "100", "currency": "EUR", "payee": {"partyIdType": "MSISDN", "partyId": "56733123453"},
            "originalCurrency": "SEK", "payerMsisdn": "46733123450",
        });
        body[field] = json!(value);
        let response = app.create("remittance", "/v2_0/cashtransfer", &token, "sandbox", &new_id(), None, &body).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{field}");
        let text = response.text().await.unwrap();
        assert!(text.contains(message), "{field}: {text}");
    }
}

/// With no pending delay, both engines make a sandbox transaction final in the commit that
/// accepts it: its ledger entry and callback exist before any status read or settler round.
#[tokio::test]
async fn with_no_pending_delay_the_outcome_is_written_with_the_transaction() {
    let app = spawn_with(|s| {
        s.pending_delay = Duration::ZERO;
        // The settler and the callback worker run once at start, then not again in this test.
        s.worker_interval = Duration::from_secs(3600);
    })
    .await;
    let (_, token) = payer_ready(&app).await;
    let id = new_id();
    let callback = "http://127.0.0.1:9/callback";
    let accepted = app
        .create(
            "collection",
            "/v1_0/requesttopay",
            &token,
            "sandbox",
            &id,
            Some(callback),
            &rtp_body("56733123453", "75"),
        )
        .await;
    assert_eq!(accepted.status(), StatusCode::ACCEPTED);
    let balance = app.balance("collection", &token, "sandbox").await;
    assert_answer(balance, 200, r#"{"availableBalance":"75","currency":"EUR"}"#).await;
    let deliveries: Vec<Value> = app.admin(Method::GET, "/deliveries", None).await.json().await.unwrap();
    assert_eq!(deliveries.len(), 1, "{deliveries:?}");
    assert_eq!(deliveries[0]["referenceId"], id.as_str());
    let status: Value =
        app.get("collection", &format!("/v1_0/requesttopay/{id}"), &token, "sandbox").await.json().await.unwrap();
    assert_eq!(status["status"], "SUCCESSFUL");
}

/// A reused reference id must not settle the transaction that already has it.
#[tokio::test]
async fn with_no_pending_delay_a_reused_reference_id_leaves_the_first_transaction_alone() {
    let app = spawn_with(|s| {
        s.pending_delay = Duration::ZERO;
        s.scenario_profile = momo_server::config::ScenarioProfile::Documented;
    })
    .await;
    let (_, token) = payer_ready(&app).await;
    let id = new_id();
    // Documented profile: this number stays PENDING.
    let first = app
        .create("collection", "/v1_0/requesttopay", &token, "sandbox", &id, None, &rtp_body("46733123454", "5"))
        .await;
    assert_eq!(first.status(), StatusCode::ACCEPTED);
    let again = app
        .create("collection", "/v1_0/requesttopay", &token, "sandbox", &id, None, &rtp_body("56733123453", "9"))
        .await;
    assert_answer(again, 409, ALREADY_EXISTS_BODY).await;
    let status: Value =
        app.get("collection", &format!("/v1_0/requesttopay/{id}"), &token, "sandbox").await.json().await.unwrap();
    assert_eq!((status["status"].as_str(), status["amount"].as_str()), (Some("PENDING"), Some("5")), "{status}");
    let balance = app.balance("collection", &token, "sandbox").await;
    assert_answer(balance, 200, r#"{"availableBalance":"0","currency":"EUR"}"#).await;
}

/// MTN's sandbox never shows a negative balance. Payouts from an account that cannot cover them
/// are funded from issuance first, visibly in the ledger; what the account had is spent first.
#[tokio::test]
async fn sandbox_payouts_never_make_a_balance_negative_and_the_funding_is_in_the_ledger() {
    let app = spawn_app().await;
    let (user, token) = payer_ready(&app).await;
    settled_request_to_pay(&app, &token, "30").await;
    let path = format!("/users/{user}/accounts/disbursement/balance");
    assert_eq!(app.admin(Method::PUT, &path, Some(json!({"amount": "40"}))).await.status(), StatusCode::OK);
    for (amount, left) in [("25", "15"), ("100", "0"), ("7", "0")] {
        let id = new_id();
        let body = transfer_body("56733123453", amount, "EUR");
        assert_eq!(
            app.create("disbursement", "/v1_0/transfer", &token, "sandbox", &id, None, &body).await.status(),
            202
        );
        let status = app.final_status("disbursement", &format!("/v1_0/transfer/{id}"), &token, "sandbox").await;
        assert!(status.contains(r#""status":"SUCCESSFUL""#), "{status}");
        let expected = format!(r#"{{"availableBalance":"{left}","currency":"EUR"}}"#);
        assert_answer(app.balance("disbursement", &token, "sandbox").await, 200, &expected).await;
    }
    assert_answer(
        app.balance("collection", &token, "sandbox").await,
        200,
        r#"{"availableBalance":"30","currency":"EUR"}"#,
    )
    .await;
    // 40 set by the operator, from issuance; 85 + 7 funded, from the user's own funding account.
    let accounts: Vec<Value> = app.admin(Method::GET, "/accounts", None).await.json().await.unwrap();
    let balance_of = |id: &str| accounts.iter().find(|a| a["account"] == id).map(|a| a["balance"].clone());
    assert_eq!(balance_of("system:sandbox:issuance"), Some(json!("-40")), "{accounts:?}");
    assert_eq!(balance_of(&format!("system:sandbox:funding:{user}")), Some(json!("-92")), "{accounts:?}");
    crate::production::assert_ledger_balances(&app).await;
}

/// `--sandbox-balance fixed`: exactly MTN's sandbox constants, whatever the ledger says.
#[tokio::test]
async fn fixed_sandbox_balances_answer_mtns_constants() {
    let app = spawn_with(|s| s.sandbox_balance = momo_server::config::SandboxBalance::Fixed).await;
    let (_, token) = payer_ready(&app).await;
    settled_request_to_pay(&app, &token, "30").await;
    assert_answer(
        app.balance("collection", &token, "sandbox").await,
        200,
        r#"{"availableBalance":"1000","currency":"EUR"}"#,
    )
    .await;
    for product in ["disbursement", "remittance"] {
        assert_answer(
            app.balance(product, &token, "sandbox").await,
            200,
            r#"{"availableBalance":"0","currency":"EUR"}"#,
        )
        .await;
    }
}
