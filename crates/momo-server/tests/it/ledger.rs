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
        s.wallet_opening_balance = "200".into();
        s.pending_delay = Duration::ZERO;
    })
    .await;
    let created: Value = app
        .admin(Method::POST, "/users", Some(json!({"environment": "mtnghana", "providerCallbackHost": "127.0.0.1"})))
        .await
        .json()
        .await
        .unwrap();
    let (user, key) = (created["apiUser"].as_str().unwrap(), created["apiKey"].as_str().unwrap());
    let token = app.access_token("collection", user, key).await;
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
    let url = format!("sqlite://{}", app.data_dir.path().join("momo.db").display());
    let store = momo_server::store::open(&url).await.unwrap();
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
