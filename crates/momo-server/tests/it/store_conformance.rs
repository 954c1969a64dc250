//! One conformance suite for the `Store` contract, run on SQLite and on PostgreSQL.

use std::sync::Arc;

use momo_server::domain::credentials::SecretHasher;
use momo_server::domain::transactions::{ApiVersion, Kind, Outcome};
use momo_server::store::{
    self, AccountSpec, ApiUserRecord, AttemptRecord, CallbackBacklog, CredentialStyle, DeliveryNext, DeliveryState,
    FaultRecord, Finalization, Finalized, KeyedHashes, NewDelivery, Posting, SecretHash, Store, StoreError,
    SubscriptionKeyRecord, TransactionCount, TransactionRecord, TxCursor, TxFilter, TxKey, UserOrigin,
};
use momo_types::payments::{Party, PartyIdType, TransactionStatus};
use momo_types::{ErrorCode, Product};

use crate::helpers::fresh_postgres_database;

/// The stored form of a test secret.
fn hash(secret: &str) -> SecretHash {
    hasher().hash(secret)
}

fn hasher() -> SecretHasher {
    SecretHasher::new(b"conformance-test-credential-key!")
}

fn user(id: &str) -> ApiUserRecord {
    ApiUserRecord {
        id: id.to_owned(),
        environment: "sandbox".into(),
        provider_callback_host: "webhook.site".into(),
        payment_server_url: None,
        credential_style: CredentialStyle::ApiKey,
        origin: UserOrigin::SandboxProvisioning,
        key_hash: None,
        key_version: 0,
        created_at: 1_000,
        revoked_at: None,
    }
}

fn key(id: &str, value: &str, products: &[Product]) -> SubscriptionKeyRecord {
    SubscriptionKeyRecord {
        id: id.to_owned(),
        key_hash: hash(value),
        hint: value.chars().take(4).collect(),
        products: products.to_vec(),
        label: "primary".into(),
        created_at: 2_000,
        revoked_at: None,
    }
}

async fn api_users_roundtrip_and_ids_are_unique(store: Arc<dyn Store>) {
    let epoch = store.credentials_epoch().await.unwrap();
    store.insert_api_user(&user("u1")).await.unwrap();
    assert!(store.credentials_epoch().await.unwrap() > epoch, "a new user bumps the epoch");
    assert!(matches!(store.insert_api_user(&user("u1")).await, Err(StoreError::Conflict)));
    assert_eq!(store.api_user("u1").await.unwrap(), Some(user("u1")));
    assert_eq!(store.api_user("nobody").await.unwrap(), None);
    store.insert_api_user(&user("u2")).await.unwrap();
    let ids: Vec<_> = store.api_users().await.unwrap().into_iter().map(|u| u.id).collect();
    assert_eq!(ids, ["u1", "u2"]);
}

async fn keys_replace_and_revocation_is_final(store: Arc<dyn Store>) {
    store.insert_api_user(&user("u1")).await.unwrap();
    let first = store.set_api_key("u1", &hash("k1")).await.unwrap().unwrap();
    assert_eq!(first.key_version, 1);
    assert!(hasher().matches(first.key_hash.as_ref().unwrap(), "k1"));
    let epoch = store.credentials_epoch().await.unwrap();
    let second = store.set_api_key("u1", &hash("k2")).await.unwrap().unwrap();
    assert_eq!(second.key_version, 2);
    assert!(!hasher().matches(second.key_hash.as_ref().unwrap(), "k1"));
    assert!(store.credentials_epoch().await.unwrap() > epoch);
    assert!(store.set_api_key("nobody", &hash("k")).await.unwrap().is_none());

    let revoked = store.revoke_api_user("u1", 5_000).await.unwrap().unwrap();
    assert_eq!(revoked.revoked_at, Some(5_000));
    let again = store.revoke_api_user("u1", 9_000).await.unwrap().unwrap();
    assert_eq!(again.revoked_at, Some(5_000), "the first revocation time is kept");
    assert!(store.set_api_key("u1", &hash("k3")).await.unwrap().is_none(), "no key for a revoked user");
    assert!(store.revoke_api_user("nobody", 1).await.unwrap().is_none());
}

async fn subscription_keys_are_found_by_hash_replaced_and_revoked(store: Arc<dyn Store>) {
    assert!(store.insert_subscription_key(&key("s1", "value-one", &Product::ALL)).await.unwrap());
    assert!(!store.insert_subscription_key(&key("s2", "value-one", &[Product::Collection])).await.unwrap());
    assert!(store.insert_subscription_key(&key("s3", "value-two", &[Product::Remittance])).await.unwrap());
    let found = store.subscription_key_by_hash(&hash("value-one")).await.unwrap().unwrap();
    assert_eq!(found, key("s1", "value-one", &Product::ALL));
    assert!(found.admits(Some(Product::Disbursement)) && found.admits(None));
    let two = store.subscription_key_by_hash(&hash("value-two")).await.unwrap().unwrap();
    assert!(!two.admits(Some(Product::Collection)));

    let replaced = store.replace_subscription_key("s3", &hash("value-three"), "valu").await.unwrap().unwrap();
    assert_eq!(replaced.id, "s3");
    assert!(store.subscription_key_by_hash(&hash("value-two")).await.unwrap().is_none());
    let revoked = store.revoke_subscription_key("s3", 7).await.unwrap().unwrap();
    assert!(!revoked.admits(Some(Product::Remittance)));
    assert!(store.replace_subscription_key("s3", &hash("x"), "x").await.unwrap().is_none());
    assert_eq!(store.subscription_keys().await.unwrap().len(), 2);
}

async fn operator_tokens_and_server_secrets(store: Arc<dyn Store>) {
    assert!(!store.has_operator_tokens().await.unwrap());
    assert!(store.insert_operator_token(&hash("op"), 1).await.unwrap());
    assert!(!store.insert_operator_token(&hash("op"), 2).await.unwrap());
    assert!(store.has_operator_tokens().await.unwrap());
    assert!(store.operator_token_exists(&hash("op")).await.unwrap());
    assert!(!store.operator_token_exists(&hash("other")).await.unwrap());

    let first = store.server_secret("signing", b"first").await.unwrap();
    let second = store.server_secret("signing", b"second").await.unwrap();
    assert_eq!((first.as_slice(), second.as_slice()), (&b"first"[..], &b"first"[..]));
    assert_eq!(store.balance("api-user:u1:collection").await.unwrap(), 0);
    store.ping().await.unwrap();
}

/// A database of plain SHA-256 hashes (before keyed hashes) is converted once, in place; a
/// second key is told apart from the first.
async fn secret_hashes_are_keyed_once_and_another_key_is_recognised(store: Arc<dyn Store>) {
    let mut plain = user("u1");
    plain.key_hash = Some(SecretHash::unkeyed("k1"));
    store.insert_api_user(&plain).await.unwrap();
    let mut old_key = key("s1", "value-one", &[Product::Collection]);
    old_key.key_hash = SecretHash::unkeyed("value-one");
    assert!(store.insert_subscription_key(&old_key).await.unwrap());
    assert!(store.insert_operator_token(&SecretHash::unkeyed("op"), 1).await.unwrap());
    let epoch = store.credentials_epoch().await.unwrap();

    let rehash = |old: &SecretHash| hasher().rehash(old);
    let converted = store.key_secret_hashes(&hasher().key_check(), &rehash).await.unwrap();
    assert_eq!(converted, KeyedHashes::Converted(3));
    assert!(store.credentials_epoch().await.unwrap() > epoch, "caches must forget the old hashes");
    assert!(hasher().matches(store.api_user("u1").await.unwrap().unwrap().key_hash.as_ref().unwrap(), "k1"));
    assert!(store.subscription_key_by_hash(&hash("value-one")).await.unwrap().is_some());
    assert!(store.subscription_key_by_hash(&SecretHash::unkeyed("value-one")).await.unwrap().is_none());
    assert!(store.operator_token_exists(&hash("op")).await.unwrap());

    // Never twice: a second start finds the check and changes nothing.
    let again = store.key_secret_hashes(&hasher().key_check(), &rehash).await.unwrap();
    assert_eq!(again, KeyedHashes::AlreadyKeyed);
    assert!(store.operator_token_exists(&hash("op")).await.unwrap());
    let other = SecretHasher::new(b"another-key-another-key-another!");
    let refused = store.key_secret_hashes(&other.key_check(), &|old: &SecretHash| other.rehash(old)).await.unwrap();
    assert_eq!(refused, KeyedHashes::OtherKey);
    assert!(store.operator_token_exists(&hash("op")).await.unwrap());
}

async fn concurrent_inserts_of_one_id_conflict(store: Arc<dyn Store>) {
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let store = store.clone();
        set.spawn(async move { store.insert_api_user(&user("same")).await });
    }
    let results = set.join_all().await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
    assert!(results.iter().filter(|r| r.is_err()).all(|r| matches!(r, Err(StoreError::Conflict))));
}

fn pending(reference_id: &str, amount: i64) -> TransactionRecord {
    TransactionRecord {
        key: TxKey { product: Product::Collection, kind: Kind::RequestToPay, reference_id: reference_id.to_owned() },
        api_user: "u1".into(),
        environment: "sandbox".into(),
        currency: momo_types::Currency::from_static("EUR"),
        amount_minor: amount,
        party: Some(Party::msisdn("56733123453".parse().unwrap())),
        external_id: None,
        request: "{}".into(),
        api_version: ApiVersion::V1,
        status: TransactionStatus::Pending,
        reason: None,
        financial_transaction_id: None,
        callback_url: Some("http://127.0.0.1:9/cb".into()),
        outcome: Some(Outcome::Successful),
        due_at: Some(1_000),
        awaiting_approval: false,
        related_reference_id: None,
        notifications: 0,
        created_at: 1_000,
        updated_at: 1_000,
        cancelled_at: None,
    }
}

/// A cancellation and the new plan of what it cancels are written together or not at all.
async fn a_replan_and_its_cancellation_are_written_together(store: Arc<dyn Store>) {
    let (first, second) = (pending("invoice-1", 100), pending("invoice-2", 100));
    store.insert_transaction(&first).await.unwrap();
    store.insert_transaction(&second).await.unwrap();
    let cancellation = |id: &str| TransactionRecord {
        key: TxKey { product: Product::Collection, kind: Kind::InvoiceCancellation, reference_id: id.to_owned() },
        ..pending(id, 0)
    };
    let cancelled = Outcome::Failed(ErrorCode::TransactionCanceled);
    assert!(store.replan_with_insert(&first.key, &cancelled, 2_000, &cancellation("c-1")).await.unwrap());
    let replanned = store.transaction(&first.key).await.unwrap().unwrap();
    assert_eq!((replanned.outcome, replanned.due_at), (Some(cancelled.clone()), Some(2_000)));
    assert!(store.transaction(&cancellation("c-1").key).await.unwrap().is_some());

    // A taken reference id: the second invoice keeps its plan.
    let taken = store.replan_with_insert(&second.key, &cancelled, 2_000, &cancellation("c-1")).await;
    assert!(matches!(taken, Err(StoreError::Conflict)), "{taken:?}");
    assert_eq!(store.transaction(&second.key).await.unwrap().unwrap().outcome, Some(Outcome::Successful));

    // Not pending any more: the cancellation is not kept either.
    let done = Finalization {
        status: TransactionStatus::Failed,
        postings: Vec::new(),
        ..success(&second, account("a", None), account("b", None))
    };
    assert_eq!(store.finalize(&done).await.unwrap(), Finalized::Done);
    assert!(!store.replan_with_insert(&second.key, &cancelled, 3_000, &cancellation("c-2")).await.unwrap());
    assert!(store.transaction(&cancellation("c-2").key).await.unwrap().is_none());
}

/// A planned failure keeps its reason code, a known one or one MTN added later; a replan and a
/// finalization write it typed, and a final transaction has no plan left.
async fn a_failed_plan_and_its_reason_round_trip(store: Arc<dyn Store>) {
    let failed =
        |id: &str, code: ErrorCode| TransactionRecord { outcome: Some(Outcome::Failed(code)), ..pending(id, 100) };
    let known = failed("failed-known", ErrorCode::NotEnoughFunds);
    let new = failed("failed-new", ErrorCode::Unknown("SOMETHING_NEW".into()));
    let undecided = TransactionRecord { outcome: None, due_at: None, ..pending("undecided", 100) };
    for tx in [&known, &new, &undecided] {
        store.insert_transaction(tx).await.unwrap();
        assert_eq!(store.transaction(&tx.key).await.unwrap().as_ref(), Some(tx));
    }

    let rejected = Outcome::Failed(ErrorCode::ApprovalRejected);
    assert!(store.replan(&undecided.key, &rejected, 3_000, false).await.unwrap());
    assert_eq!(store.transaction(&undecided.key).await.unwrap().unwrap().outcome, Some(rejected));
    assert!(store.replan(&known.key, &Outcome::Successful, 3_000, false).await.unwrap());
    assert_eq!(store.transaction(&known.key).await.unwrap().unwrap().outcome, Some(Outcome::Successful));

    let done = Finalization {
        status: TransactionStatus::Failed,
        reason: Some(ErrorCode::Unknown("SOMETHING_NEW".into())),
        postings: Vec::new(),
        ..success(&new, account("a", None), account("b", None))
    };
    assert_eq!(store.finalize(&done).await.unwrap(), Finalized::Done);
    let finalized = store.transaction(&new.key).await.unwrap().unwrap();
    assert_eq!((finalized.outcome, finalized.reason), (None, done.reason));
}

/// Console sessions are found by their hash until they end, and gone once deleted.
async fn console_sessions_last_until_they_end_or_are_deleted(store: Arc<dyn Store>) {
    let session = |id: &str, created_at: i64| store::ConsoleSession {
        id_hash: hash(id),
        csrf_token: format!("csrf-{id}"),
        created_at,
        expires_at: created_at + 1_000,
    };
    store.insert_console_session(&session("one", 10_000)).await.unwrap();
    store.insert_console_session(&session("two", 10_500)).await.unwrap();
    assert_eq!(store.console_session(&hash("one"), 10_999).await.unwrap(), Some(session("one", 10_000)));
    assert_eq!(store.console_session(&hash("one"), 11_000).await.unwrap(), None, "ended");
    assert_eq!(store.console_session(&hash("nobody"), 10_000).await.unwrap(), None);
    store.set_console_csrf(&hash("two"), "rotated").await.unwrap();
    assert_eq!(store.console_session(&hash("two"), 10_600).await.unwrap().unwrap().csrf_token, "rotated");
    store.delete_console_session(&hash("two")).await.unwrap();
    assert_eq!(store.console_session(&hash("two"), 10_600).await.unwrap(), None, "signed out");
}

/// One party's wallet: its transactions in one environment newest first and bounded, its id in
/// either case, not another type's or environment's; and apart, those waiting for its approval.
async fn a_partys_transactions_and_its_prompts_are_listed_newest_first(store: Arc<dyn Store>) {
    let email = |id: &str| Party { party_id_type: PartyIdType::Email, party_id: id.to_owned() };
    let tx = |reference: &str, party: Party, environment: &str, created_at: i64, awaiting: bool| TransactionRecord {
        environment: environment.to_owned(),
        party: Some(party),
        created_at,
        awaiting_approval: awaiting,
        ..pending(reference, 100)
    };
    for record in [
        tx("old", email("payer@example.com"), "mtnuganda", 1_000, false),
        tx("waiting", email("Payer@Example.com"), "mtnuganda", 3_000, true),
        tx("middle", email("payer@example.com"), "mtnuganda", 2_000, false),
        tx("elsewhere", email("payer@example.com"), "mtnghana", 4_000, true),
        tx("someone-else", email("other@example.com"), "mtnuganda", 5_000, true),
        tx(
            "other-type",
            Party { party_id_type: PartyIdType::PartyCode, ..email("payer@example.com") },
            "mtnuganda",
            6_000,
            true,
        ),
    ] {
        store.insert_transaction(&record).await.unwrap();
    }
    let payer = email("PAYER@example.com");
    let listed = |awaiting: bool, limit: i64| {
        let (store, payer) = (store.clone(), payer.clone());
        async move {
            let found = store.party_transactions("mtnuganda", &payer, awaiting, limit).await.unwrap();
            found.into_iter().map(|tx| tx.key.reference_id).collect::<Vec<_>>()
        }
    };
    assert_eq!(listed(false, 10).await, ["waiting", "middle", "old"]);
    assert_eq!(listed(false, 2).await, ["waiting", "middle"], "bounded");
    assert_eq!(listed(true, 10).await, ["waiting"]);

    // Once answered it is no longer a prompt, and still in the history.
    assert!(store.replan(&pending("waiting", 100).key, &Outcome::Successful, 3_500, true).await.unwrap());
    assert!(listed(true, 10).await.is_empty());
    assert_eq!(listed(false, 10).await, ["waiting", "middle", "old"]);
}

fn account(id: &str, floor: Option<i64>) -> AccountSpec {
    AccountSpec { id: id.to_owned(), currency: "EUR".into(), floor, opening: 0, top_up_from: None }
}

/// Success for `tx`: `amount` moves from `from` to `to`, with a callback.
fn success(tx: &TransactionRecord, from: AccountSpec, to: AccountSpec) -> Finalization {
    Finalization {
        key: tx.key.clone(),
        status: TransactionStatus::Successful,
        reason: None,
        financial_transaction_id: Some(format!("fti-{}", tx.key.reference_id)),
        postings: vec![
            Posting { account: from, amount: -tx.amount_minor },
            Posting { account: to, amount: tx.amount_minor },
        ],
        issuance: "issuance:sandbox".into(),
        refund_guard: None,
        delivery: Some(NewDelivery {
            id: format!("d-{}", tx.key.reference_id),
            api_user: tx.api_user.clone(),
            url: "http://127.0.0.1:9/cb".into(),
            method: "PUT".into(),
            body: "{}".into(),
        }),
        now: 2_000,
    }
}

/// Settlement in bulk and one by one, in one call: each transaction once, its postings and its
/// callback with it, a refused one with nothing, and a second finalization of one transaction
/// changing nothing.
async fn settlements_write_state_ledger_and_callback_once(store: Arc<dyn Store>) {
    let (payer, user) = (account("wallet:p", None), account("api-user:u1", None));
    let txs: Vec<_> = (1..=5).map(|i| pending(&format!("r{i}"), 100 * i)).collect();
    for tx in &txs[1..] {
        store.insert_transaction(tx).await.unwrap();
    }
    // r1 is accepted and settled in one commit (both engines' group commits settle it with the
    // insert); a second insert of r1 settles nothing.
    let first = success(&txs[0], payer.clone(), user.clone());
    assert!(store.insert_settled(&txs[0], &first).await.unwrap());
    let status = store.transaction(&txs[0].key).await.unwrap().unwrap().status;
    assert_eq!(status, TransactionStatus::Successful);
    assert_eq!(store.finalize(&first).await.unwrap(), Finalized::NotPending);
    let mut other = pending("r1", 999);
    other.api_user = "u2".into();
    let again = success(&other, payer.clone(), account("api-user:u2", None));
    assert!(matches!(store.insert_settled(&other, &again).await, Err(StoreError::Conflict)));
    // r2 and r3 in bulk, r2 twice; r4 from an account with a floor it would cross; r5 not at all.
    let floored = account("wallet:poor", Some(0));
    let batch = vec![
        success(&txs[1], payer.clone(), user.clone()),
        success(&txs[2], payer.clone(), user.clone()),
        success(&txs[1], payer.clone(), user.clone()),
        success(&txs[3], floored, user.clone()),
    ];
    let results = store.finalize_batch(&batch).await.unwrap();
    assert_eq!(results, vec![Finalized::Done, Finalized::Done, Finalized::NotPending, Finalized::InsufficientFunds]);
    for (i, status) in [(0, "SUCCESSFUL"), (1, "SUCCESSFUL"), (2, "SUCCESSFUL"), (3, "PENDING"), (4, "PENDING")] {
        let stored = store.transaction(&txs[i].key).await.unwrap().unwrap();
        assert_eq!(stored.status.as_str(), status, "{stored:?}");
        assert_eq!(stored.amount_minor, txs[i].amount_minor);
        if status == "SUCCESSFUL" {
            assert_eq!(stored.financial_transaction_id, Some(format!("fti-r{}", i + 1)));
            assert_eq!(stored.due_at, None);
        }
    }
    assert_eq!(store.balance("api-user:u1").await.unwrap(), 100 + 200 + 300);
    assert_eq!(store.balance("wallet:p").await.unwrap(), -600);
    assert_eq!(store.balance("api-user:u2").await.unwrap(), 0);
    for account in store.accounts().await.unwrap() {
        assert_eq!(account.balance, account.postings_sum, "{account:?}");
    }
    let mut deliveries: Vec<_> = store.deliveries(None, None, 100).await.unwrap().into_iter().map(|d| d.id).collect();
    deliveries.sort();
    assert_eq!(deliveries, ["d-r1", "d-r2", "d-r3"]);
}

/// A settlement that fails in the database (here a callback id that is taken) fails as a
/// whole, leaves nothing behind, and the store goes on working.
async fn a_failed_settlement_writes_nothing_and_the_store_recovers(store: Arc<dyn Store>) {
    let (payer, user) = (account("wallet:p", None), account("api-user:u1", None));
    let (first, second) = (pending("f1", 100), pending("f2", 200));
    store.insert_transaction(&first).await.unwrap();
    store.insert_transaction(&second).await.unwrap();
    assert_eq!(store.finalize(&success(&first, payer.clone(), user.clone())).await.unwrap(), Finalized::Done);
    let mut clash = success(&second, payer.clone(), user.clone());
    clash.delivery.as_mut().unwrap().id = "d-f1".into();
    assert!(store.finalize(&clash).await.is_err());
    let stored = store.transaction(&second.key).await.unwrap().unwrap();
    assert_eq!(stored.status, TransactionStatus::Pending, "{stored:?}");
    assert_eq!(store.balance("api-user:u1").await.unwrap(), 100);
    assert_eq!(store.finalize(&success(&second, payer, user)).await.unwrap(), Finalized::Done);
    assert_eq!(store.balance("api-user:u1").await.unwrap(), 300);
    for account in store.accounts().await.unwrap() {
        assert_eq!(account.balance, account.postings_sum, "{account:?}");
    }
}

/// A batch larger than one statement's chunk (512 settlements, 1,024 attempts) is written whole.
async fn a_batch_larger_than_one_statement_is_written_whole(store: Arc<dyn Store>) {
    const N: usize = 1_200;
    let txs: Vec<_> = (0..N).map(|i| pending(&format!("big{i}"), 1)).collect();
    let mut inserts = tokio::task::JoinSet::new();
    for tx in txs.clone() {
        let store = store.clone();
        inserts.spawn(async move { store.insert_transaction(&tx).await });
    }
    assert!(inserts.join_all().await.iter().all(Result::is_ok));
    let batch: Vec<_> =
        txs.iter().map(|tx| success(tx, account("wallet:p", None), account("api-user:u1", None))).collect();
    let results = store.finalize_batch(&batch).await.unwrap();
    assert!(results.iter().all(|r| *r == Finalized::Done), "{results:?}");
    assert_eq!(store.balance("api-user:u1").await.unwrap(), N as i64);
    let claimed = store.claim_deliveries(2_000, 60_000, 10_000).await.unwrap();
    assert_eq!(claimed.len(), N);
    let attempts: Vec<_> = claimed
        .iter()
        .map(|d| {
            let attempt = AttemptRecord { attempt: 1, at: 3_000, status_code: Some(200), latency_ms: 1, error: None };
            (d.id.clone(), attempt, DeliveryNext::Delivered)
        })
        .collect();
    store.record_attempts(&attempts).await.unwrap();
    let deliveries = store.deliveries(None, None, 10_000).await.unwrap();
    assert_eq!(deliveries.iter().filter(|d| d.state == "delivered").count(), N);
}

/// Three transactions `{prefix}1`..`{prefix}3` made final, each with a callback (`d-{prefix}1`..)
/// due at 2,000.
async fn settled_with_callbacks(store: &dyn Store, prefix: &str) {
    let txs: Vec<_> = (1..=3).map(|i| pending(&format!("{prefix}{i}"), 10)).collect();
    for tx in &txs {
        store.insert_transaction(tx).await.unwrap();
    }
    let batch: Vec<_> =
        txs.iter().map(|tx| success(tx, account("wallet:p", None), account("api-user:u1", None))).collect();
    store.finalize_batch(&batch).await.unwrap();
}

async fn attempts_are_recorded_for_a_batch(store: Arc<dyn Store>) {
    let txs: Vec<_> = (1..=3).map(|i| pending(&format!("a{i}"), 10)).collect();
    let batch: Vec<_> =
        txs.iter().map(|tx| success(tx, account("wallet:p", None), account("api-user:u1", None))).collect();
    for tx in &txs {
        store.insert_transaction(tx).await.unwrap();
    }
    store.finalize_batch(&batch).await.unwrap();
    let claimed = store.claim_deliveries(2_000, 60_000, 10).await.unwrap();
    assert_eq!(claimed.len(), 3);
    assert!(
        store.claim_deliveries(2_000, 60_000, 10).await.unwrap().is_empty(),
        "leased deliveries are not claimed twice"
    );
    let attempt =
        |status: Option<i64>| AttemptRecord { attempt: 1, at: 3_000, status_code: status, latency_ms: 5, error: None };
    store
        .record_attempts(&[
            ("d-a1".into(), attempt(Some(200)), DeliveryNext::Delivered),
            ("d-a2".into(), attempt(Some(500)), DeliveryNext::RetryAt(4_000)),
            ("d-a3".into(), attempt(None), DeliveryNext::GaveUp),
        ])
        .await
        .unwrap();
    for (id, state, next, finished) in [
        ("d-a1", "delivered", None, Some(3_000)),
        ("d-a2", "pending", Some(4_000), None),
        ("d-a3", "failed", None, Some(3_000)),
    ] {
        let d = store.delivery(id).await.unwrap().unwrap();
        assert_eq!(
            (d.state.as_str(), d.attempts, d.next_attempt_at, d.finished_at),
            (state, 1, next, finished),
            "{id}"
        );
        assert_eq!(store.delivery_attempts(id).await.unwrap().len(), 1);
    }
    // Only the one to retry comes back, and only once it is due.
    assert!(store.claim_deliveries(3_999, 60_000, 10).await.unwrap().is_empty());
    let again = store.claim_deliveries(4_000, 60_000, 10).await.unwrap();
    assert_eq!(again.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(), ["d-a2"]);
}

/// The metrics' callback backlog: the pending deliveries that are due, those leased (in flight)
/// included, and when the longest-waiting became due; retries not yet due and finished
/// deliveries are not in it.
async fn the_callback_backlog_is_the_due_pending_deliveries(store: Arc<dyn Store>) {
    let empty = CallbackBacklog { due: 0, oldest_due_at: None };
    assert_eq!(store.callback_backlog(10_000).await.unwrap(), empty);
    settled_with_callbacks(store.as_ref(), "b").await;
    assert_eq!(store.callback_backlog(1_999).await.unwrap(), empty, "not due yet");
    let all_due = CallbackBacklog { due: 3, oldest_due_at: Some(2_000) };
    assert_eq!(store.callback_backlog(2_000).await.unwrap(), all_due);
    assert_eq!(store.claim_deliveries(2_000, 60_000, 10).await.unwrap().len(), 3);
    assert_eq!(store.callback_backlog(2_500).await.unwrap(), all_due, "in flight, still due");
    let attempt = AttemptRecord { attempt: 1, at: 3_000, status_code: Some(500), latency_ms: 5, error: None };
    store
        .record_attempts(&[
            ("d-b1".into(), attempt.clone(), DeliveryNext::Delivered),
            ("d-b2".into(), attempt.clone(), DeliveryNext::RetryAt(9_000)),
            ("d-b3".into(), attempt, DeliveryNext::GaveUp),
        ])
        .await
        .unwrap();
    assert_eq!(store.callback_backlog(8_999).await.unwrap(), empty);
    assert_eq!(store.callback_backlog(9_500).await.unwrap(), CallbackBacklog { due: 1, oldest_due_at: Some(9_000) });
}

/// What the console's overview counts and its callbacks page filters.
async fn counts_and_callback_filters_for_the_console(store: Arc<dyn Store>) {
    assert_eq!(store.transaction_counts().await.unwrap(), vec![]);
    assert_eq!(store.unfinished_deliveries().await.unwrap(), (0, 0));
    let txs: Vec<_> = (1..=4).map(|i| pending(&format!("c{i}"), 10)).collect();
    for tx in &txs {
        store.insert_transaction(tx).await.unwrap();
    }
    let mut payout = pending("c1", 10);
    payout.key.product = Product::Disbursement;
    payout.key.kind = Kind::Transfer;
    store.insert_transaction(&payout).await.unwrap();
    let settled: Vec<_> =
        txs[..3].iter().map(|tx| success(tx, account("wallet:p", None), account("api-user:u1", None))).collect();
    store.finalize_batch(&settled).await.unwrap();
    let count = |product, status, count| TransactionCount { product, status, count };
    assert_eq!(
        store.transaction_counts().await.unwrap(),
        vec![
            count(Product::Collection, TransactionStatus::Pending, 1),
            count(Product::Collection, TransactionStatus::Successful, 3),
            count(Product::Disbursement, TransactionStatus::Pending, 1),
        ]
    );
    assert_eq!(store.unfinished_deliveries().await.unwrap(), (3, 0));
    store.claim_deliveries(2_000, 60_000, 10).await.unwrap();
    let attempt = AttemptRecord { attempt: 1, at: 3_000, status_code: Some(500), latency_ms: 5, error: None };
    store
        .record_attempts(&[
            ("d-c1".into(), attempt.clone(), DeliveryNext::Delivered),
            ("d-c2".into(), attempt.clone(), DeliveryNext::GaveUp),
        ])
        .await
        .unwrap();
    assert_eq!(store.unfinished_deliveries().await.unwrap(), (1, 1));
    let ids = |deliveries: Vec<momo_server::store::DeliveryRecord>| -> Vec<String> {
        deliveries.into_iter().map(|d| d.id).collect()
    };
    assert_eq!(ids(store.deliveries(None, Some(DeliveryState::Failed), 10).await.unwrap()), ["d-c2"]);
    assert_eq!(ids(store.deliveries(None, Some(DeliveryState::Pending), 10).await.unwrap()), ["d-c3"]);
    assert_eq!(ids(store.deliveries(None, Some(DeliveryState::Delivered), 10).await.unwrap()), ["d-c1"]);
    assert_eq!(ids(store.deliveries(Some("c2"), None, 10).await.unwrap()), ["d-c2"]);
    assert!(store.deliveries(Some("c2"), Some(DeliveryState::Pending), 10).await.unwrap().is_empty());
    assert_eq!(store.deliveries(None, None, 2).await.unwrap().len(), 2, "the limit holds");
}

fn fault(id: &str, remaining: Option<i64>, created_at: i64) -> FaultRecord {
    FaultRecord { id: id.to_owned(), spec: format!(r#"{{"path":"/{id}"}}"#), remaining, created_at }
}

async fn fault_rules_are_counted_atomically_and_removed_at_once(store: Arc<dyn Store>) {
    assert!(store.faults().await.unwrap().is_empty());
    store.insert_fault(&fault("f-counted", Some(2), 20)).await.unwrap();
    store.insert_fault(&fault("f-forever", None, 10)).await.unwrap();
    assert!(matches!(store.insert_fault(&fault("f-forever", None, 30)).await, Err(StoreError::Conflict)));
    let listed = store.faults().await.unwrap();
    assert_eq!(listed, [fault("f-forever", None, 10), fault("f-counted", Some(2), 20)], "oldest first");

    // Ten concurrent uses of a rule counted to two: exactly two get it.
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let store = store.clone();
        set.spawn(async move { store.use_fault("f-counted", true).await.unwrap() });
    }
    assert_eq!(set.join_all().await.into_iter().filter(|used| *used).count(), 2);
    assert!(!store.use_fault("f-counted", true).await.unwrap(), "used up");
    let counted = store.faults().await.unwrap().into_iter().find(|f| f.id == "f-counted").unwrap();
    assert_eq!(counted.remaining, Some(0), "listed with nothing left");

    // A rule until removed is usable any number of times, and its remaining stays unset.
    for _ in 0..3 {
        assert!(store.use_fault("f-forever", false).await.unwrap());
    }
    assert_eq!(store.faults().await.unwrap()[0], fault("f-forever", None, 10));
    assert!(!store.use_fault("nothing", true).await.unwrap() && !store.use_fault("nothing", false).await.unwrap());

    assert!(store.delete_fault("f-forever").await.unwrap());
    assert!(!store.delete_fault("f-forever").await.unwrap());
    assert!(!store.use_fault("f-forever", false).await.unwrap(), "a removed rule never fires");
    store.delete_faults().await.unwrap();
    assert!(store.faults().await.unwrap().is_empty());
}

/// A varied set of transactions: three products, several kinds, statuses, environments and API
/// users, and several at one millisecond (so that the tie-breaker matters).
fn varied() -> Vec<TransactionRecord> {
    let shapes = [
        (Product::Collection, Kind::RequestToPay),
        (Product::Disbursement, Kind::Transfer),
        (Product::Remittance, Kind::Transfer),
        (Product::Collection, Kind::Invoice),
        (Product::Remittance, Kind::CashTransfer),
    ];
    (0..45_i64)
        .map(|i| {
            let (product, kind) = shapes[usize::try_from(i % 5).unwrap()];
            let mut tx = pending(&format!("t{:03}", (i * 7) % 45), 100 + i);
            tx.key.product = product;
            tx.key.kind = kind;
            tx.status = match i % 9 {
                0 => TransactionStatus::Failed,
                1 => TransactionStatus::Pending,
                _ => TransactionStatus::Successful,
            };
            tx.environment = if i % 11 == 0 { "mtnuganda".into() } else { "sandbox".into() };
            tx.api_user = format!("u{}", i % 3);
            // Four at a time share a millisecond.
            tx.created_at = 10_000 + i / 4;
            tx
        })
        .collect()
}

fn newest_first(txs: &[TransactionRecord]) -> Vec<TransactionRecord> {
    let mut sorted = txs.to_vec();
    sorted.sort_by(|a, b| {
        let key = |t: &TransactionRecord| {
            (t.created_at, t.key.product.as_str(), t.key.kind.as_str(), t.key.reference_id.clone())
        };
        key(b).cmp(&key(a))
    });
    sorted
}

/// Every filter, a page at a time from the cursor: each matching transaction once, newest first,
/// none that does not match.
async fn transaction_pages_follow_each_filter_without_gaps_or_repeats(store: Arc<dyn Store>) {
    let txs = varied();
    for tx in &txs {
        store.insert_transaction(tx).await.unwrap();
    }
    let uganda = momo_types::Environment::lookup("mtnuganda");
    let sandbox = momo_types::Environment::lookup("sandbox");
    let filters = [
        TxFilter::default(),
        TxFilter { product: Some(Product::Remittance), ..TxFilter::default() },
        TxFilter { kind: Some(Kind::Transfer), ..TxFilter::default() },
        TxFilter { product: Some(Product::Disbursement), kind: Some(Kind::Transfer), ..TxFilter::default() },
        TxFilter { status: Some(TransactionStatus::Failed), ..TxFilter::default() },
        TxFilter { status: Some(TransactionStatus::Successful), ..TxFilter::default() },
        TxFilter { environment: uganda, ..TxFilter::default() },
        TxFilter { environment: sandbox, ..TxFilter::default() },
        TxFilter { api_user: Some("u1".into()), ..TxFilter::default() },
        TxFilter { reference_id: Some(txs[12].key.reference_id.clone()), ..TxFilter::default() },
        TxFilter { status: Some(TransactionStatus::Pending), api_user: Some("u2".into()), ..TxFilter::default() },
        TxFilter { kind: Some(Kind::PreApproval), ..TxFilter::default() },
    ];
    for filter in filters {
        let matches = |t: &TransactionRecord| {
            filter.product.is_none_or(|p| t.key.product == p)
                && filter.kind.is_none_or(|k| t.key.kind == k)
                && filter.status.as_ref().is_none_or(|s| &t.status == s)
                && filter.environment.is_none_or(|e| t.environment == e.name)
                && filter.api_user.as_ref().is_none_or(|u| &t.api_user == u)
                && filter.reference_id.as_ref().is_none_or(|r| &t.key.reference_id == r)
        };
        let expected: Vec<TxKey> = newest_first(&txs).into_iter().filter(|t| matches(t)).map(|t| t.key).collect();
        let mut seen = Vec::new();
        let mut cursor: Option<TxCursor> = None;
        loop {
            let page = store.transactions_page(&filter, cursor.as_ref(), 7).await.unwrap();
            assert!(page.len() <= 7);
            seen.extend(page.iter().map(|t| t.key.clone()));
            if page.len() < 7 {
                break;
            }
            cursor = page.last().map(TxCursor::after);
            // The cursor survives its trip through a URL.
            let encoded = cursor.as_ref().unwrap().encode();
            assert_eq!(TxCursor::parse(&encoded), cursor);
        }
        assert_eq!(seen, expected, "{filter:?}");
    }
    assert_eq!(
        store.transactions_page(&TxFilter::default(), None, 3).await.unwrap(),
        newest_first(&txs)[..3].to_vec(),
        "whole records"
    );
}

/// A transaction's postings are its own entry's (and its sandbox funding's), no other's.
async fn a_transactions_postings_are_its_own(store: Arc<dyn Store>) {
    let (payer, user) = (account("wallet:p", None), account("api-user:u1", None));
    let (first, second) = (pending("p1", 100), pending("p2", 250));
    store.insert_transaction(&first).await.unwrap();
    store.insert_transaction(&second).await.unwrap();
    assert!(store.transaction_postings(&first.key).await.unwrap().is_empty());
    let mut funded = success(&first, payer.clone(), user.clone());
    funded.postings[0].account.top_up_from = Some("funding:sandbox".into());
    assert_eq!(store.finalize(&funded).await.unwrap(), Finalized::Done);
    assert_eq!(store.finalize(&success(&second, payer, user)).await.unwrap(), Finalized::Done);
    let postings = store.transaction_postings(&first.key).await.unwrap();
    let entry = first.key.ledger_entry();
    let funding = format!("funding:{entry}");
    let mut shown: Vec<_> =
        postings.iter().map(|p| (p.entry_id.as_str(), p.account.as_str(), p.amount_minor)).collect();
    shown.sort_unstable();
    let mut expected = vec![
        (entry.as_str(), "api-user:u1", 100),
        (entry.as_str(), "wallet:p", -100),
        (funding.as_str(), "funding:sandbox", -100),
        (funding.as_str(), "wallet:p", 100),
    ];
    expected.sort_unstable();
    assert_eq!(shown, expected);
    assert!(postings.iter().all(|p| p.currency == "EUR" && p.created_at == 2_000));
    let sum: i64 = postings.iter().filter(|p| p.entry_id == entry).map(|p| p.amount_minor).sum();
    assert_eq!(sum, 0, "the entry balances");
    assert_eq!(store.transaction_postings(&second.key).await.unwrap().len(), 2);
}

/// A delivered, a failed and a pending callback are each attempted again from now, with the same
/// body, their attempts counted on.
async fn a_callback_is_redelivered_with_its_body(store: Arc<dyn Store>) {
    settled_with_callbacks(store.as_ref(), "rd").await;
    assert_eq!(store.claim_deliveries(2_000, 60_000, 10).await.unwrap().len(), 3);
    let attempt = AttemptRecord { attempt: 1, at: 3_000, status_code: Some(500), latency_ms: 5, error: None };
    store
        .record_attempts(&[
            ("d-rd1".into(), attempt.clone(), DeliveryNext::Delivered),
            ("d-rd2".into(), attempt.clone(), DeliveryNext::GaveUp),
            ("d-rd3".into(), attempt, DeliveryNext::RetryAt(90_000)),
        ])
        .await
        .unwrap();
    for id in ["d-rd1", "d-rd2", "d-rd3"] {
        let before = store.delivery(id).await.unwrap().unwrap();
        let again = store.redeliver(id, 5_000).await.unwrap().unwrap();
        assert_eq!(
            (again.state.as_str(), again.next_attempt_at, again.finished_at, again.attempts),
            ("pending", Some(5_000), None, 1),
            "{id}"
        );
        assert_eq!((&again.body, &again.url), (&before.body, &before.url));
    }
    let claimed = store.claim_deliveries(5_000, 60_000, 10).await.unwrap();
    assert_eq!(claimed.len(), 3, "all due again now");
    // Leased until 60,000: an attempt is in flight, whose outcome would overwrite a redelivery.
    assert!(store.redeliver("d-rd1", 6_000).await.unwrap().is_none(), "not while an attempt is in flight");
    let attempt = AttemptRecord { attempt: 2, at: 7_000, status_code: Some(500), latency_ms: 5, error: None };
    store.record_attempts(&[("d-rd1".into(), attempt, DeliveryNext::GaveUp)]).await.unwrap();
    let again = store.redeliver("d-rd1", 8_000).await.unwrap().expect("redelivered once the attempt is recorded");
    assert_eq!((again.state.as_str(), again.next_attempt_at), ("pending", Some(8_000)));
    assert!(store.redeliver("d-none", 5_000).await.unwrap().is_none());
}

async fn sqlite() -> (Arc<dyn Store>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("momo.db").display());
    (store::open(&url).await.unwrap(), dir)
}

macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    let (store, _dir) = super::sqlite().await;
                    assert_eq!(store.backend(), "sqlite");
                    super::$name(store).await;
                }
            )*
        }
        mod on_postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    let Some(url) = super::fresh_postgres_database().await else { return };
                    let store = momo_server::store::open(&url).await.unwrap();
                    assert_eq!(store.backend(), "postgres");
                    super::$name(store).await;
                }
            )*
        }
    };
}

conformance!(
    api_users_roundtrip_and_ids_are_unique,
    keys_replace_and_revocation_is_final,
    subscription_keys_are_found_by_hash_replaced_and_revoked,
    operator_tokens_and_server_secrets,
    secret_hashes_are_keyed_once_and_another_key_is_recognised,
    concurrent_inserts_of_one_id_conflict,
    a_replan_and_its_cancellation_are_written_together,
    a_failed_plan_and_its_reason_round_trip,
    console_sessions_last_until_they_end_or_are_deleted,
    a_partys_transactions_and_its_prompts_are_listed_newest_first,
    settlements_write_state_ledger_and_callback_once,
    attempts_are_recorded_for_a_batch,
    a_failed_settlement_writes_nothing_and_the_store_recovers,
    a_batch_larger_than_one_statement_is_written_whole,
    fault_rules_are_counted_atomically_and_removed_at_once,
    counts_and_callback_filters_for_the_console,
    the_callback_backlog_is_the_due_pending_deliveries,
    transaction_pages_follow_each_filter_without_gaps_or_repeats,
    a_transactions_postings_are_its_own,
    a_callback_is_redelivered_with_its_body,
);

/// Runs `statements` on the database at `url`, outside the store.
async fn execute(url: &str, statements: &[&str]) {
    if url.starts_with("sqlite:") {
        let db = sqlx::SqlitePool::connect(url).await.unwrap();
        for statement in statements {
            sqlx::query(statement).execute(&db).await.unwrap();
        }
        db.close().await;
    } else {
        let db = sqlx::PgPool::connect(url).await.unwrap();
        for statement in statements {
            sqlx::query(statement).execute(&db).await.unwrap();
        }
        db.close().await;
    }
}

/// A database written before migration 11 planned a failure as one string, `FAILED:<code>`:
/// the migration splits it into `outcome` and `outcome_reason`, and the store reads it typed.
async fn an_old_failed_plan_is_converted(url: &str) {
    let (failed, succeeding) = (pending("old-failed", 100), pending("old-successful", 100));
    let store = store::open(url).await.unwrap();
    store.insert_transaction(&failed).await.unwrap();
    store.insert_transaction(&succeeding).await.unwrap();
    drop(store);
    // Back to migration 10, with the old encoding.
    execute(
        url,
        &[
            "UPDATE transactions SET outcome = 'FAILED:NOT_ENOUGH_FUNDS' WHERE reference_id = 'old-failed'",
            "ALTER TABLE transactions DROP COLUMN outcome_reason",
            "DELETE FROM _sqlx_migrations WHERE version = 11",
        ],
    )
    .await;

    let store = store::open(url).await.unwrap();
    let converted = store.transaction(&failed.key).await.unwrap().unwrap();
    assert_eq!(converted.outcome, Some(Outcome::Failed(ErrorCode::NotEnoughFunds)));
    assert_eq!(store.transaction(&succeeding.key).await.unwrap().unwrap().outcome, Some(Outcome::Successful));
}

#[tokio::test]
async fn an_old_failed_plan_is_converted_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    an_old_failed_plan_is_converted(&format!("sqlite://{}", dir.path().join("momo.db").display())).await;
}

#[tokio::test]
async fn an_old_failed_plan_is_converted_on_postgres() {
    let Some(url) = fresh_postgres_database().await else { return };
    an_old_failed_plan_is_converted(&url).await;
}
