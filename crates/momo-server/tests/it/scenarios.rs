//! Acceptance 2: every row of both sandbox scenario profiles, through the API.

use std::time::Duration;

use momo_server::config::ScenarioProfile;
use momo_server::domain::scenarios::{rows, Effect, ScenarioOp};
use serde_json::{json, Value};

use crate::consent::{bc_authorize, consent_user, oauth2_token};
use crate::helpers::*;

async fn every_row_behaves_as_documented(profile: ScenarioProfile) {
    let app = spawn_with(|s| s.scenario_profile = profile).await;
    let (_, token) = payer_ready(&app).await;
    let mut checked = 0;
    for row in rows().iter().filter(|r| r.profile.is_none_or(|p| p == profile)).cloned() {
        let party = |field: &str| {
            let kind = row.party_type.as_ref().map_or("MSISDN", |t| t.as_str());
            json!({ field: {"partyIdType": kind, "partyId": row.trigger} })
        };
        let (product, create, status_path, mut body) = match row.op {
            ScenarioOp::RequestToPay => ("collection", "/v1_0/requesttopay", "/v1_0/requesttopay", party("payer")),
            ScenarioOp::RequestToWithdraw => {
                ("collection", "/v2_0/requesttowithdraw", "/v1_0/requesttowithdraw", party("payer"))
            }
            ScenarioOp::Deposit => ("disbursement", "/v1_0/deposit", "/v1_0/deposit", party("payee")),
            ScenarioOp::DisbursementTransfer => ("disbursement", "/v1_0/transfer", "/v1_0/transfer", party("payee")),
            ScenarioOp::RemittanceTransfer => ("remittance", "/v1_0/transfer", "/v1_0/transfer", party("payee")),
            ScenarioOp::Refund => {
                let rtp = new_id();
                app.create(
                    "collection",
                    "/v1_0/requesttopay",
                    &token,
                    "sandbox",
                    &rtp,
                    None,
                    &rtp_body("56733123453", "10"),
                )
                .await;
                app.clock.advance(Duration::from_secs(3));
                app.get("collection", &format!("/v1_0/requesttopay/{rtp}"), &token, "sandbox").await;
                (
                    "disbursement",
                    "/v1_0/refund",
                    "/v1_0/refund",
                    json!({"externalId": row.trigger, "referenceIdToRefund": rtp}),
                )
            }
            ScenarioOp::AccountHolderActive => {
                let kind = row.party_type.as_ref().map_or("msisdn", |t| match t {
                    momo_types::payments::PartyIdType::Msisdn => "msisdn",
                    momo_types::payments::PartyIdType::Email => "email",
                    momo_types::payments::PartyIdType::PartyCode => "party_code",
                    other => panic!("no scenario row has the party type {other}"),
                });
                let response = app
                    .get("collection", &format!("/v1_0/accountholder/{kind}/{}/active", row.trigger), &token, "sandbox")
                    .await;
                let (status, text) = status_and_body(response).await;
                let expected = match &row.effect {
                    Effect::Inactive => (200, r#"{"result":false}"#.to_owned()),
                    Effect::SyncError(code) => {
                        let status = if *code == momo_types::ErrorCode::ServiceUnavailable { 503 } else { 500 };
                        let message = code.default_message();
                        (status, format!(r#"{{"code":"{code}","message":"{message}"}}"#))
                    }
                    other => panic!("unexpected account-holder effect {other:?}"),
                };
                assert_eq!((status.as_u16(), text), expected, "{row:?}");
                checked += 1;
                continue;
            }
            ScenarioOp::Consent => {
                check_consent_row(&app, &token, row).await;
                checked += 1;
                continue;
            }
            ScenarioOp::PreApproval => (
                "collection",
                "/v2_0/preapproval",
                "/v2_0/preapproval",
                json!({"payer": {"partyIdType": "MSISDN", "partyId": row.trigger}, "payerCurrency": "EUR", "validityTime": 3600}),
            ),
            ScenarioOp::CashTransfer => (
                "remittance",
                "/v2_0/cashtransfer",
                "/v2_0/cashtransfer",
                json!({"externalId": row.trigger, "payee": {"partyIdType": "MSISDN", "partyId": "56733123453"}}),
            ),
        };
        if row.op != ScenarioOp::PreApproval {
            body["amount"] = json!("10");
            body["currency"] = json!("EUR");
        }
        let id = new_id();
        let accepted = app.create(product, create, &token, "sandbox", &id, None, &body).await;
        assert_eq!(accepted.status(), 202, "{row:?}");
        // Within the shortest delay: still pending.
        let early: Value =
            app.get(product, &format!("{status_path}/{id}"), &token, "sandbox").await.json().await.unwrap();
        assert_eq!(early["status"], "PENDING", "{row:?}");
        app.clock.advance(Duration::from_secs(3));
        let after_delay: Value =
            app.get(product, &format!("{status_path}/{id}"), &token, "sandbox").await.json().await.unwrap();
        app.clock.advance(Duration::from_secs(28));
        let later: Value =
            app.get(product, &format!("{status_path}/{id}"), &token, "sandbox").await.json().await.unwrap();
        match &row.effect {
            Effect::Fail(code) => {
                // Pre-approvals carry the object shape when observed (docs/compatibility.md).
                let reason = after_delay["reason"].as_str().or(after_delay["reason"]["code"].as_str());
                assert_eq!((after_delay["status"].as_str(), reason), (Some("FAILED"), Some(code.as_str())), "{row:?}");
            }
            Effect::StayPending => assert_eq!(later["status"], "PENDING", "{row:?}"),
            Effect::SucceedAfter(_) => {
                assert_eq!(after_delay["status"], "PENDING", "{row:?}");
                assert_eq!(later["status"], "SUCCESSFUL", "{row:?}");
            }
            other => panic!("unexpected payment effect {other:?} in {row:?}"),
        }
        checked += 1;
    }
    assert!(checked > 100, "only {checked} rows checked");
}

/// A consent row: bc-authorize, then the token request once the holder has answered.
async fn check_consent_row(app: &TestApp, token: &str, row: momo_server::domain::scenarios::Row) {
    let Effect::Consent(error) = row.effect else { panic!("unexpected consent effect {row:?}") };
    let (user, key) = consent_user(app).await;
    let _ = token;
    let (status, body) = bc_authorize(app, &user, &key, row.trigger).await;
    if error == "unknown_user_id" {
        assert_eq!((status, body.as_str()), (400, r#"{"error":"unknown_user_id"}"#), "{row:?}");
        return;
    }
    assert_eq!(status, 200, "{row:?}: {body}");
    let auth_req_id = serde_json::from_str::<Value>(&body).unwrap()["auth_req_id"].as_str().unwrap().to_owned();
    app.clock.advance(Duration::from_secs(3));
    let (status, body) = oauth2_token(
        app,
        &user,
        &key,
        &format!("grant_type=urn:openid:params:grant-type:ciba&auth_req_id={auth_req_id}"),
    )
    .await;
    if error == "refresh_expired" {
        assert_eq!(status, 200, "{row:?}: {body}");
        let granted: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(granted["refresh_token_expired_in"], 0);
        let refresh = granted["refresh_token"].as_str().unwrap();
        let (status, body) =
            oauth2_token(app, &user, &key, &format!("grant_type=refresh_token&refresh_token={refresh}")).await;
        assert_eq!((status, body.as_str()), (400, r#"{"error":"invalid_grant"}"#), "{row:?}");
    } else {
        assert_eq!((status, body), (400, format!(r#"{{"error":"{error}"}}"#)), "{row:?}");
    }
}

#[tokio::test]
async fn every_observed_row_behaves_as_documented() {
    every_row_behaves_as_documented(ScenarioProfile::Observed).await;
}

#[tokio::test]
async fn every_documented_row_behaves_as_documented() {
    every_row_behaves_as_documented(ScenarioProfile::Documented).await;
}
