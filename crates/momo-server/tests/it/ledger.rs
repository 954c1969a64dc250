//! Acceptance 6: for any sequence of operations the ledger conserves money, no account goes
//! below its floor, every balance equals its postings, and refunds never exceed their request.

use std::collections::BTreeMap;
use std::time::Duration;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::*;

#[derive(Debug, Clone)]
enum Op {
    RequestToPay { payer: usize, amount: u32 },
    Transfer { payee: usize, amount: u32, remittance: bool },
    Refund { of: usize, amount: u32 },
    Fund { amount: u32 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..3usize, 1..150u32).prop_map(|(payer, amount)| Op::RequestToPay { payer, amount }),
        (0..3usize, 1..300u32, any::<bool>()).prop_map(|(payee, amount, remittance)| Op::Transfer {
            payee,
            amount,
            remittance
        }),
        (0..8usize, 1..150u32).prop_map(|(of, amount)| Op::Refund { of, amount }),
        (0..400u32).prop_map(|amount| Op::Fund { amount }),
    ]
}

const WALLETS: [&str; 3] = ["233240000001", "233240000002", "233240000003"];

async fn run(ops: Vec<Op>) {
    let app = spawn_with(|s| {
        s.auto_approve = true;
        s.wallet_opening_balance = "200".parse().unwrap();
        s.pending_delay = Duration::ZERO;
    })
    .await;
    let (user, token) = operator_user(&app, "mtnghana").await;
    let mut rtps: Vec<String> = Vec::new();
    for op in ops {
        let (product, create, status, body, id) = match op {
            Op::RequestToPay { payer, amount } => {
                let mut body = rtp_body(WALLETS[payer], &amount.to_string());
                body["currency"] = json!("GHS");
                let id = new_id();
                rtps.push(id.clone());
                ("collection", "/v1_0/requesttopay", "/v1_0/requesttopay", body, id)
            }
            Op::Transfer { payee, amount, remittance } => {
                let product = if remittance { "remittance" } else { "disbursement" };
                (
                    product,
                    "/v1_0/transfer",
                    "/v1_0/transfer",
                    transfer_body(WALLETS[payee], &amount.to_string(), "GHS"),
                    new_id(),
                )
            }
            Op::Refund { of, amount } => {
                let Some(original) = rtps.get(of) else { continue };
                let body = json!({"amount": amount.to_string(), "currency": "GHS", "referenceIdToRefund": original});
                ("disbursement", "/v1_0/refund", "/v1_0/refund", body, new_id())
            }
            Op::Fund { amount } => {
                let path = format!("/users/{user}/accounts/disbursement/balance");
                app.admin(Method::PUT, &path, Some(json!({"amount": amount.to_string()}))).await;
                continue;
            }
        };
        let accepted = app.create(product, create, &token, "mtnghana", &id, None, &body).await;
        assert_eq!(accepted.status(), 202);
        let settled: Value =
            app.get(product, &format!("{status}/{id}"), &token, "mtnghana").await.json().await.unwrap();
        assert_ne!(settled["status"], "PENDING", "{settled}");
    }

    // Read the ledger straight from the database.
    let store = momo_server::store::open(&app.database_url).await.unwrap();
    let mut totals = BTreeMap::<String, i64>::new();
    for account in store.accounts().await.unwrap() {
        assert_eq!(account.balance, account.postings_sum, "{account:?}");
        if let Some(floor) = account.floor {
            assert!(account.balance >= floor, "{account:?} is below its floor");
        }
        *totals.entry(account.currency).or_default() += account.balance;
    }
    assert!(totals.values().all(|t| *t == 0), "money was created or lost: {totals:?}");
    // Refunds never exceed their request to pay.
    let transactions = store.transactions(None, 10_000).await.unwrap();
    for rtp in transactions.iter().filter(|t| t.key.kind.as_str() == "requesttopay") {
        let refunded: i64 = transactions
            .iter()
            .filter(|t| {
                t.key.kind.as_str() == "refund" && t.related_reference_id.as_deref() == Some(&rtp.key.reference_id)
            })
            .filter(|t| t.status.as_str() == "SUCCESSFUL")
            .map(|t| t.amount_minor)
            .sum();
        let paid = if rtp.status.as_str() == "SUCCESSFUL" { rtp.amount_minor } else { 0 };
        assert!(refunded <= paid, "refunded {refunded} of {paid}");
    }
    app.stop().await;
}

#[test]
fn any_sequence_of_operations_conserves_money_and_respects_floors() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut runner = TestRunner::new(Config { cases: 12, failure_persistence: None, ..Config::default() });
    runner
        .run(&prop::collection::vec(op(), 1..30), |ops| {
            runtime.block_on(run(ops));
            Ok(())
        })
        .unwrap();
}

/// POST `bodies` concurrently; every one must be accepted. Returns the reference ids.
async fn create_concurrently(app: &TestApp, product: &str, path: &str, token: &str, bodies: Vec<Value>) -> Vec<String> {
    let mut tasks = tokio::task::JoinSet::new();
    let mut ids = Vec::new();
    for body in bodies {
        let id = new_id();
        ids.push(id.clone());
        let request = app
            .client
            .post(app.url(&format!("/{product}{path}")))
            .header("Ocp-Apim-Subscription-Key", key_for(product))
            .header("Authorization", format!("Bearer {token}"))
            .header("X-Target-Environment", "sandbox")
            .header("X-Reference-Id", id)
            .json(&body);
        tasks.spawn(async move { request.send().await.unwrap().status() });
    }
    while let Some(status) = tasks.join_next().await {
        assert_eq!(status.unwrap(), 202);
    }
    ids
}

/// The final statuses (and reasons) of transactions, counted.
async fn outcomes(app: &TestApp, product: &str, path: &str, token: &str, ids: &[String]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for id in ids {
        // No pending delay: a status read finds (or makes) the transaction final.
        let body: Value = app.get(product, &format!("{path}/{id}"), token, "sandbox").await.json().await.unwrap();
        let outcome = match body["reason"].as_str() {
            Some(reason) => format!("{} {reason}", body["status"].as_str().unwrap()),
            None => body["status"].as_str().unwrap().to_owned(),
        };
        *counts.entry(outcome).or_default() += 1;
    }
    counts
}

/// The review's overflow: amounts at the largest accepted value, concurrently, until an
/// account reaches the ledger's limit. Exactly the payments that fit settle; the rest fail
/// with MoMo's limit codes; balances stay exact 64-bit integers that every endpoint can show.
#[tokio::test]
async fn concurrent_maximum_payments_and_refunds_stop_at_the_ledger_limit() {
    const MAX: &str = "10000000000000"; // 10^15 minor units of EUR
    let app = spawn_with(|s| s.pending_delay = Duration::ZERO).await;
    let (_, token) = payer_ready(&app).await;
    let too_large = app
        .create(
            "collection",
            "/v1_0/requesttopay",
            &token,
            "sandbox",
            &new_id(),
            None,
            &rtp_body("56733123453", "10000000000000.01"),
        )
        .await;
    assert_eq!(too_large.status(), 400);

    // 100 maximum payments fill an account (10^17); 110 arrive at once, from one payer.
    let rtps =
        create_concurrently(&app, "collection", "/v1_0/requesttopay", &token, vec![rtp_body("56733123453", MAX); 110])
            .await;
    let paid = outcomes(&app, "collection", "/v1_0/requesttopay", &token, &rtps).await;
    assert_eq!(paid.get("SUCCESSFUL"), Some(&100), "{paid:?}");
    let refused: usize = paid.iter().filter(|(k, _)| k.ends_with("_LIMIT_REACHED")).map(|(_, n)| n).sum();
    assert_eq!(refused, 10, "{paid:?}");
    let balance = app.balance("collection", &token, "sandbox").await;
    assert_eq!(balance.status(), 200);
    let balance: Value = balance.json().await.unwrap();
    assert_eq!(balance["availableBalance"], "1000000000000000");

    // Refund every successful one in full, at once: the disbursement account pays them out.
    let mut successful = Vec::new();
    for id in &rtps {
        let body =
            app.get("collection", &format!("/v1_0/requesttopay/{id}"), &token, "sandbox").await.text().await.unwrap();
        if body.contains("SUCCESSFUL") {
            successful.push(json!({"amount": MAX, "currency": "EUR", "referenceIdToRefund": id}));
        }
    }
    let refunds = create_concurrently(&app, "disbursement", "/v1_0/refund", &token, successful).await;
    let refunded = outcomes(&app, "disbursement", "/v1_0/refund", &token, &refunds).await;
    assert_eq!(refunded.get("SUCCESSFUL"), Some(&100), "{refunded:?}");
    // Payouts past the limit are refused alone.
    let transfers = create_concurrently(
        &app,
        "disbursement",
        "/v1_0/transfer",
        &token,
        vec![transfer_body("56733123453", MAX, "EUR"); 5],
    )
    .await;
    let transferred = outcomes(&app, "disbursement", "/v1_0/transfer", &token, &transfers).await;
    assert_eq!(transferred.get("FAILED PAYER_LIMIT_REACHED"), Some(&5), "{transferred:?}");

    // Every endpoint still answers, and the ledger is exact.
    let accounts = app.admin(Method::GET, "/accounts", None).await;
    assert_eq!(accounts.status(), 200);
    let store = momo_server::store::open(&app.database_url).await.unwrap();
    for account in store.accounts().await.unwrap() {
        assert_eq!(account.balance, account.postings_sum, "{account:?}");
        assert!(account.balance.abs() <= momo_server::domain::money::BALANCE_LIMIT_MINOR, "{account:?}");
    }
    app.stop().await;
}
