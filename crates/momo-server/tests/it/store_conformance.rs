//! One conformance suite for the `Store` contract, run on SQLite and on PostgreSQL.

use std::sync::Arc;

use momo_server::domain::credentials::SecretHasher;
use momo_server::domain::transactions::{ApiVersion, Kind, Outcome};
use momo_server::store::RefundGuard;
use momo_server::store::{
    self, AccountSpec, ApiUserRecord, AttemptRecord, CallbackBacklog, ConsentRecord, CredentialStyle, DeliveryNext,
    DeliveryState, FaultRecord, Finalization, Finalized, KeyedHashes, NewDelivery, Posting, SecretHash, Store,
    StoreError, SubscriptionKeyRecord, TransactionCount, TransactionRecord, TxCursor, TxFilter, TxKey, UserOrigin,
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

/// Callers inserting and settling one reference id at once (their inserts can share one group
/// commit): one wins, the others are told the id is taken, and the ledger entry and the callback
/// are written once.
async fn concurrent_settled_inserts_of_one_id_settle_once(store: Arc<dyn Store>) {
    let tx = pending("twice", 100);
    let settled = success(&tx, account("wallet:p", None), account("api-user:u1", None));
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let (store, tx, settled) = (store.clone(), tx.clone(), settled.clone());
        set.spawn(async move { store.insert_settled(&tx, &settled).await });
    }
    let results = set.join_all().await;
    assert_eq!(results.iter().filter(|r| matches!(r, Ok(true))).count(), 1, "{results:?}");
    assert!(results.iter().filter(|r| !matches!(r, Ok(true))).all(|r| matches!(r, Err(StoreError::Conflict))));
    assert_eq!(store.transaction_postings(&tx.key).await.unwrap().len(), 2);
    assert_eq!(store.balance("api-user:u1").await.unwrap(), 100);
    assert_eq!(store.balance("wallet:p").await.unwrap(), -100);
    assert_eq!(store.deliveries(None, None, 100).await.unwrap().len(), 1);
}

/// Callers inserting one reference id at once with different contents (their inserts can share
/// one group commit, where of two with one id the first is inserted): the one told it won is
/// the one whose row is stored.
async fn of_concurrent_inserts_of_one_id_the_winners_row_is_stored(store: Arc<dyn Store>) {
    let mut set = tokio::task::JoinSet::new();
    for i in 0..20 {
        let store = store.clone();
        let mut tx = pending("contested", 100 + i);
        tx.api_user = format!("u{i}");
        set.spawn(async move { (tx.api_user.clone(), tx.amount_minor, store.insert_transaction(&tx).await) });
    }
    let results = set.join_all().await;
    let winners: Vec<_> = results.iter().filter(|(.., r)| r.is_ok()).collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    assert!(results.iter().filter(|(.., r)| r.is_err()).all(|(.., r)| matches!(r, Err(StoreError::Conflict))));
    let stored = store.transaction(&pending("contested", 0).key).await.unwrap().unwrap();
    assert_eq!((&stored.api_user, stored.amount_minor), (&winners[0].0, winners[0].1));
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

/// Settlements that may be refused, several in one call (on SQLite they share a commit, each in
/// a savepoint): one refused in the middle leaves nothing of its own behind (its transaction still
/// pending, no postings, no callback) and takes nothing from the others.
async fn refusable_settlements_of_one_call_are_refused_one_by_one(store: Arc<dyn Store>) {
    let (payer, wallet, user) =
        (account("wallet:p", None), account("wallet:floored", Some(0)), account("api-user:u1", None));
    let txs: Vec<_> = [("c1", 300), ("c2", 500), ("c3", 200)].iter().map(|(id, amount)| pending(id, *amount)).collect();
    for tx in &txs {
        store.insert_transaction(tx).await.unwrap();
    }
    let batch = vec![
        success(&txs[0], payer, wallet.clone()),
        success(&txs[1], wallet.clone(), user.clone()),
        success(&txs[2], wallet, user),
    ];
    assert!(batch.iter().all(|f| !f.unconditional()), "each posting touches an account with a floor");
    let results = store.finalize_batch(&batch).await.unwrap();
    assert_eq!(results, [Finalized::Done, Finalized::InsufficientFunds, Finalized::Done]);
    for (tx, status) in txs.iter().zip(["SUCCESSFUL", "PENDING", "SUCCESSFUL"]) {
        let stored = store.transaction(&tx.key).await.unwrap().unwrap();
        assert_eq!(stored.status.as_str(), status, "{stored:?}");
    }
    assert_eq!(store.balance("wallet:floored").await.unwrap(), 100);
    assert_eq!(store.balance("api-user:u1").await.unwrap(), 200);
    assert!(store.transaction_postings(&txs[1].key).await.unwrap().is_empty());
    let mut deliveries: Vec<_> = store.deliveries(None, None, 100).await.unwrap().into_iter().map(|d| d.id).collect();
    deliveries.sort();
    assert_eq!(deliveries, ["d-c1", "d-c3"]);
    for account in store.accounts().await.unwrap() {
        assert_eq!(account.balance, account.postings_sum, "{account:?}");
    }
}

/// A refund of `amount` against `original`, pending, stored; and its settlement with the guard.
async fn refund(store: &dyn Store, id: &str, original: &TransactionRecord, amount: i64) -> Finalization {
    let mut refund = pending(id, amount);
    refund.key.product = Product::Disbursement;
    refund.key.kind = Kind::Refund;
    refund.related_reference_id = Some(original.key.reference_id.clone());
    store.insert_transaction(&refund).await.unwrap();
    let mut settlement = success(&refund, account("api-user:u1", None), account("wallet:p", None));
    settlement.refund_guard = Some(RefundGuard { original: original.key.clone(), amount });
    settlement.delivery = None;
    settlement
}

/// A refund is made only against a successful original and only up to what is left of it: a
/// missing original, one not successful, and one whose amount the refunds would exceed refuse
/// it; one within what is left is made.
async fn a_refund_is_made_only_within_what_is_left_of_a_successful_original(store: Arc<dyn Store>) {
    let (payer, user) = (account("wallet:p", None), account("api-user:u1", None));
    let original = pending("paid", 500);
    assert!(store.insert_settled(&original, &success(&original, payer.clone(), user.clone())).await.unwrap());
    let unpaid = pending("unpaid", 500);
    store.insert_transaction(&unpaid).await.unwrap();
    let mut missing = pending("missing", 500);
    missing.key.reference_id = "never-stored".into();
    let cases = [
        (refund(store.as_ref(), "of-missing", &missing, 100).await, Finalized::RefundExceeded),
        (refund(store.as_ref(), "of-unpaid", &unpaid, 100).await, Finalized::RefundExceeded),
        (refund(store.as_ref(), "first", &original, 300).await, Finalized::Done),
        (refund(store.as_ref(), "too-much", &original, 201).await, Finalized::RefundExceeded),
        (refund(store.as_ref(), "the-rest", &original, 200).await, Finalized::Done),
    ];
    for (settlement, expected) in &cases {
        assert_eq!(store.finalize(settlement).await.unwrap(), *expected, "{}", settlement.key.reference_id);
    }
    assert_eq!(store.balance("api-user:u1").await.unwrap(), 0);
    assert_eq!(store.balance("wallet:p").await.unwrap(), 0);
}

/// Callers settling one transaction at once that is refused (on SQLite they can share a group
/// commit): each is told it was refused; none is told it is no longer pending while it still is.
async fn a_refused_settlement_asked_for_twice_at_once_is_refused_to_each(store: Arc<dyn Store>) {
    let tx = pending("refused", 100);
    store.insert_transaction(&tx).await.unwrap();
    let refused = success(&tx, account("wallet:empty", Some(0)), account("api-user:u1", None));
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let (store, refused) = (store.clone(), refused.clone());
        set.spawn(async move { store.finalize(&refused).await.unwrap() });
    }
    assert!(set.join_all().await.iter().all(|r| *r == Finalized::InsufficientFunds));
    assert_eq!(store.transaction(&tx.key).await.unwrap().unwrap().status, TransactionStatus::Pending);
}

/// A refusable settlement that fails in the database (a callback id that is taken), made with
/// others in one call: the call fails, the failed one writes nothing, the ledger stays balanced,
/// and the next call settles what is still pending (whichever of the others each engine made).
async fn a_failed_refusable_settlement_writes_nothing_and_the_store_recovers(store: Arc<dyn Store>) {
    let (payer, wallet, user) =
        (account("wallet:p", None), account("wallet:floored", Some(0)), account("api-user:u1", None));
    let (funding, failing) = (pending("g1", 300), pending("g2", 100));
    store.insert_transaction(&funding).await.unwrap();
    store.insert_transaction(&failing).await.unwrap();
    let fund = success(&funding, payer, wallet.clone());
    let mut clash = success(&failing, wallet.clone(), user.clone());
    clash.delivery.as_mut().unwrap().id = "d-g1".into();
    assert!(!fund.unconditional() && !clash.unconditional());
    assert!(store.finalize_batch(&[fund.clone(), clash]).await.is_err());
    let stored = store.transaction(&failing.key).await.unwrap().unwrap();
    assert_eq!(stored.status, TransactionStatus::Pending, "{stored:?}");
    assert!(store.transaction_postings(&failing.key).await.unwrap().is_empty());
    let again = store.finalize_batch(&[fund, success(&failing, wallet, user)]).await.unwrap();
    assert_eq!(again[1], Finalized::Done, "{again:?}");
    assert_eq!(store.balance("wallet:floored").await.unwrap(), 200);
    assert_eq!(store.balance("api-user:u1").await.unwrap(), 100);
    for account in store.accounts().await.unwrap() {
        assert_eq!(account.balance, account.postings_sum, "{account:?}");
    }
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

/// A transaction final without money moving or a callback (a declined or cancelled one).
fn made_final(tx: &TransactionRecord, status: TransactionStatus) -> Finalization {
    Finalization {
        status,
        postings: Vec::new(),
        delivery: None,
        ..success(tx, account("wallet:p", None), account("api-user:u1", None))
    }
}

fn reference_ids(txs: Vec<TransactionRecord>) -> Vec<String> {
    txs.into_iter().map(|tx| tx.key.reference_id).collect()
}

fn consent_request(auth_req_id: &str) -> ConsentRecord {
    ConsentRecord {
        auth_req_id: auth_req_id.to_owned(),
        api_user: "u1".into(),
        environment: "sandbox".into(),
        msisdn: "46733123450".into(),
        scope: "profile".into(),
        access_type: "offline".into(),
        outcome: "approved".into(),
        ready_at: 1_500,
        expires_at: 3_601_000,
        used_at: None,
        refresh_expires_at: None,
        created_at: 1_000,
    }
}

/// A consent request is kept as written and used once, however many token requests race for
/// it; its refresh token then finds it, and a later use changes nothing.
async fn a_consent_is_used_once_and_then_found_by_its_refresh_token(store: Arc<dyn Store>) {
    let (first, other) = (consent_request("auth-1"), consent_request("auth-2"));
    store.insert_consent(&first).await.unwrap();
    store.insert_consent(&other).await.unwrap();
    assert!(matches!(store.insert_consent(&first).await, Err(StoreError::Conflict)));
    assert_eq!(store.consent("auth-1").await.unwrap(), Some(first.clone()));
    assert_eq!(store.consent("nobody").await.unwrap(), None);

    let refresh = |i: i64| hash(&format!("refresh-{i}"));
    let mut set = tokio::task::JoinSet::new();
    for i in 0..10 {
        let store = store.clone();
        set.spawn(async move {
            store.use_consent("auth-1", &refresh(i), 90_000 + i, 2_000 + i).await.unwrap().then_some(i)
        });
    }
    let winners: Vec<i64> = set.join_all().await.into_iter().flatten().collect();
    let [winner] = winners[..] else { panic!("one token request gets the consent, not {winners:?}") };
    let used =
        ConsentRecord { used_at: Some(2_000 + winner), refresh_expires_at: Some(90_000 + winner), ..first.clone() };
    assert_eq!(store.consent("auth-1").await.unwrap(), Some(used.clone()));
    assert_eq!(store.consent_by_refresh_token(&refresh(winner)).await.unwrap(), Some(used.clone()));
    for loser in (0..10).filter(|&i| i != winner) {
        assert_eq!(store.consent_by_refresh_token(&refresh(loser)).await.unwrap(), None, "{loser}");
    }

    assert!(!store.use_consent("auth-1", &hash("late"), 99_000, 3_000).await.unwrap(), "used already");
    assert_eq!(store.consent("auth-1").await.unwrap(), Some(used.clone()));
    assert_eq!(store.consent_by_refresh_token(&hash("late")).await.unwrap(), None);
    assert_eq!(store.consent_by_refresh_token(&refresh(winner)).await.unwrap(), Some(used));
    assert!(!store.use_consent("nobody", &hash("late"), 99_000, 3_000).await.unwrap());
    assert_eq!(store.consent("auth-2").await.unwrap(), Some(other), "another consent is untouched");
}

/// Only a successful transaction (an approved pre-approval) is cancelled, once: the first time
/// is kept, and its status stays what it was.
async fn only_a_successful_transaction_is_cancelled_and_only_once(store: Arc<dyn Store>) {
    let preapproval = |id: &str| TransactionRecord {
        key: TxKey { product: Product::Collection, kind: Kind::PreApproval, reference_id: id.to_owned() },
        ..pending(id, 0)
    };
    let (approved, waiting, declined) = (preapproval("approved"), preapproval("waiting"), preapproval("declined"));
    for tx in [&approved, &waiting, &declined] {
        store.insert_transaction(tx).await.unwrap();
    }
    let results = store
        .finalize_batch(&[
            made_final(&approved, TransactionStatus::Successful),
            made_final(&declined, TransactionStatus::Failed),
        ])
        .await
        .unwrap();
    assert_eq!(results, [Finalized::Done, Finalized::Done]);

    assert!(!store.cancel_transaction(&waiting.key, 3_000).await.unwrap(), "pending");
    assert_eq!(store.transaction(&waiting.key).await.unwrap(), Some(waiting.clone()));
    assert!(!store.cancel_transaction(&declined.key, 3_000).await.unwrap(), "failed");
    assert_eq!(store.transaction(&declined.key).await.unwrap().unwrap().cancelled_at, None);

    assert!(store.cancel_transaction(&approved.key, 3_000).await.unwrap());
    let cancelled = store.transaction(&approved.key).await.unwrap().unwrap();
    assert_eq!(
        (&cancelled.status, cancelled.cancelled_at, cancelled.updated_at),
        (&TransactionStatus::Successful, Some(3_000), 3_000)
    );
    assert!(!store.cancel_transaction(&approved.key, 4_000).await.unwrap(), "cancelled already");
    assert_eq!(store.transaction(&approved.key).await.unwrap(), Some(cancelled), "the first time is kept");
    assert!(!store.cancel_transaction(&preapproval("nobody").key, 3_000).await.unwrap());
}

/// Delivery notifications are counted per transaction: each call returns the new count, no two
/// concurrent calls the same, and the transaction keeps it.
async fn delivery_notifications_are_counted_per_transaction(store: Arc<dyn Store>) {
    let (paid, other) = (pending("n1", 100), pending("n2", 100));
    store.insert_transaction(&paid).await.unwrap();
    store.insert_transaction(&other).await.unwrap();
    assert_eq!(store.count_notification(&paid.key).await.unwrap(), 1);
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..9 {
        let (store, key) = (store.clone(), paid.key.clone());
        set.spawn(async move { store.count_notification(&key).await.unwrap() });
    }
    let mut counts = set.join_all().await;
    counts.sort_unstable();
    assert_eq!(counts, (2..=10).collect::<Vec<i64>>());
    assert_eq!(store.transaction(&paid.key).await.unwrap().unwrap().notifications, 10);
    assert_eq!(store.count_notification(&other.key).await.unwrap(), 1, "counted apart");
    assert_eq!(store.transaction(&other.key).await.unwrap().unwrap().notifications, 1);
}

/// The operator sets a balance: the difference from what the account holds (its opening balance
/// included) is posted against issuance, the ledger stays balanced, the account's floor then
/// holds against it, and a balance past the ledger's limit is refused with nothing written.
async fn a_balance_is_set_by_posting_the_difference_against_issuance(store: Arc<dyn Store>) {
    let issuance = "issuance:mtnuganda";
    let wallet = AccountSpec { floor: Some(0), opening: 1_000, ..account("wallet:mtnuganda:MSISDN:256", None) };
    store.set_balance(&wallet, issuance, 5_000, 10).await.unwrap();
    assert_eq!((store.balance(&wallet.id).await.unwrap(), store.balance(issuance).await.unwrap()), (5_000, -5_000));
    store.set_balance(&wallet, issuance, 2_000, 20).await.unwrap();
    store.set_balance(&wallet, issuance, 2_000, 30).await.unwrap();
    assert_eq!((store.balance(&wallet.id).await.unwrap(), store.balance(issuance).await.unwrap()), (2_000, -2_000));
    let accounts = store.accounts().await.unwrap();
    let shown: Vec<_> = accounts.iter().map(|a| (a.id.as_str(), a.currency.as_str(), a.floor, a.balance)).collect();
    assert_eq!(shown, [(issuance, "EUR", None, -2_000), (wallet.id.as_str(), "EUR", Some(0), 2_000)]);
    for account in &accounts {
        assert_eq!(account.balance, account.postings_sum, "{account:?}");
    }

    // The wallet pays up to its balance and no more.
    let (too_much, enough) = (pending("too-much", 2_001), pending("enough", 2_000));
    store.insert_transaction(&too_much).await.unwrap();
    store.insert_transaction(&enough).await.unwrap();
    let payee = account("api-user:u1", None);
    let refused = store.finalize(&success(&too_much, wallet.clone(), payee.clone())).await.unwrap();
    assert_eq!(refused, Finalized::InsufficientFunds);
    assert_eq!(store.finalize(&success(&enough, wallet.clone(), payee)).await.unwrap(), Finalized::Done);
    assert_eq!(store.balance(&wallet.id).await.unwrap(), 0);

    let limit = momo_server::domain::money::BALANCE_LIMIT_MINOR;
    let past = store.set_balance(&wallet, issuance, limit + 1, 40).await;
    assert!(matches!(past, Err(StoreError::BalanceLimit)), "{past:?}");
    assert_eq!((store.balance(&wallet.id).await.unwrap(), store.balance(issuance).await.unwrap()), (0, -2_000));
    for account in store.accounts().await.unwrap() {
        assert_eq!(account.balance, account.postings_sum, "{account:?}");
    }
}

/// A reset forgets every transaction, ledger entry, account, callback and consent, and a
/// reference id is free again; API users, keys, operator tokens, server secrets and console
/// sessions stay; instances are told to forget what they cached.
async fn a_reset_forgets_payments_and_keeps_credentials(store: Arc<dyn Store>) {
    store.insert_api_user(&user("u1")).await.unwrap();
    store.set_api_key("u1", &hash("k1")).await.unwrap().unwrap();
    assert!(store.insert_subscription_key(&key("s1", "value-one", &Product::ALL)).await.unwrap());
    assert!(store.insert_operator_token(&hash("op"), 1).await.unwrap());
    let secret = store.server_secret("signing", b"first").await.unwrap();
    let session = store::ConsoleSession {
        id_hash: hash("console"),
        csrf_token: "csrf".into(),
        created_at: 1,
        expires_at: i64::MAX,
    };
    store.insert_console_session(&session).await.unwrap();

    settled_with_callbacks(store.as_ref(), "x").await;
    store.insert_transaction(&pending("waiting", 10)).await.unwrap();
    store.claim_deliveries(2_000, 60_000, 10).await.unwrap();
    let attempt = AttemptRecord { attempt: 1, at: 3_000, status_code: Some(200), latency_ms: 5, error: None };
    store.record_attempts(&[("d-x1".into(), attempt, DeliveryNext::Delivered)]).await.unwrap();
    store.set_balance(&account("wallet:w", Some(0)), "issuance:sandbox", 500, 3_000).await.unwrap();
    store.insert_consent(&consent_request("auth-1")).await.unwrap();
    assert!(store.use_consent("auth-1", &hash("refresh"), 90_000, 2_000).await.unwrap());
    let epoch = store.credentials_epoch().await.unwrap();

    store.reset_payments().await.unwrap();

    assert!(store.credentials_epoch().await.unwrap() > epoch, "instances forget the final statuses they cached");
    let x1 = pending("x1", 10);
    assert!(store.transactions_page(&TxFilter::default(), None, 10).await.unwrap().is_empty());
    assert_eq!(store.transaction(&x1.key).await.unwrap(), None);
    assert!(store.due_transactions(i64::MAX, 10).await.unwrap().is_empty());
    assert!(store.transaction_counts().await.unwrap().is_empty());
    assert!(store.transaction_postings(&x1.key).await.unwrap().is_empty());
    assert!(store.accounts().await.unwrap().is_empty());
    assert_eq!(store.balance("api-user:u1").await.unwrap(), 0);
    assert!(store.deliveries(None, None, 10).await.unwrap().is_empty());
    assert_eq!(store.delivery("d-x1").await.unwrap(), None);
    assert!(store.delivery_attempts("d-x1").await.unwrap().is_empty());
    assert_eq!(store.unfinished_deliveries().await.unwrap(), (0, 0));
    assert_eq!(store.callback_backlog(i64::MAX).await.unwrap(), CallbackBacklog { due: 0, oldest_due_at: None });
    assert_eq!(store.consent("auth-1").await.unwrap(), None);
    assert_eq!(store.consent_by_refresh_token(&hash("refresh")).await.unwrap(), None);

    let kept = store.api_users().await.unwrap();
    assert_eq!(kept.len(), 1);
    assert!(hasher().matches(kept[0].key_hash.as_ref().unwrap(), "k1"));
    assert!(store.subscription_key_by_hash(&hash("value-one")).await.unwrap().is_some());
    assert!(store.operator_token_exists(&hash("op")).await.unwrap());
    assert_eq!(store.server_secret("signing", b"second").await.unwrap(), secret);
    assert_eq!(store.console_session(&hash("console"), 5_000).await.unwrap(), Some(session), "still signed in");

    // The same reference id, ledger entry and callback id are free again; the ledger starts at 0.
    store.insert_transaction(&x1).await.unwrap();
    let again = success(&x1, account("wallet:p", None), account("api-user:u1", None));
    assert_eq!(store.finalize(&again).await.unwrap(), Finalized::Done);
    assert_eq!(store.balance("api-user:u1").await.unwrap(), 10);
    assert_eq!(store.transaction_postings(&x1.key).await.unwrap().len(), 2);
    assert_eq!(store.delivery("d-x1").await.unwrap().unwrap().attempts, 0);
}

/// A plan changes only while its transaction is pending. Asked for one awaiting approval (the
/// payer's answer), only such a one, and once answered it awaits nothing; the operator forces
/// any pending one, which also ends its prompt, and never a final one.
async fn only_a_pending_plan_changes_and_an_answer_only_while_awaited(store: Arc<dyn Store>) {
    let prompt =
        |id: &str| TransactionRecord { outcome: None, due_at: None, awaiting_approval: true, ..pending(id, 100) };
    let (answered, forced, timed, done) =
        (prompt("answered"), prompt("forced"), pending("timed", 100), pending("done", 100));
    for tx in [&answered, &forced, &timed, &done] {
        store.insert_transaction(tx).await.unwrap();
    }
    assert_eq!(store.finalize(&made_final(&done, TransactionStatus::Failed)).await.unwrap(), Finalized::Done);
    let rejected = Outcome::Failed(ErrorCode::ApprovalRejected);
    let plan = |tx: TransactionRecord| (tx.status, tx.outcome, tx.due_at, tx.awaiting_approval);

    assert!(!store.replan(&timed.key, &rejected, 5_000, true).await.unwrap(), "nobody was asked");
    assert_eq!(store.transaction(&timed.key).await.unwrap(), Some(timed.clone()));
    assert!(store.replan(&answered.key, &rejected, 5_000, true).await.unwrap());
    let after = store.transaction(&answered.key).await.unwrap().unwrap();
    assert_eq!(plan(after), (TransactionStatus::Pending, Some(rejected.clone()), Some(5_000), false));
    assert!(!store.replan(&answered.key, &Outcome::Successful, 6_000, true).await.unwrap(), "answered once");
    assert_eq!(store.transaction(&answered.key).await.unwrap().unwrap().outcome, Some(rejected.clone()));

    assert!(store.replan(&timed.key, &rejected, 7_000, false).await.unwrap());
    let after = store.transaction(&timed.key).await.unwrap().unwrap();
    assert_eq!(plan(after), (TransactionStatus::Pending, Some(rejected.clone()), Some(7_000), false));
    assert!(store.replan(&forced.key, &Outcome::Successful, 8_000, false).await.unwrap());
    let after = store.transaction(&forced.key).await.unwrap().unwrap();
    assert_eq!(plan(after), (TransactionStatus::Pending, Some(Outcome::Successful), Some(8_000), false));
    let party = forced.party.clone().unwrap();
    assert!(store.party_transactions("sandbox", &party, true, 10).await.unwrap().is_empty(), "no prompt left");

    for only_awaiting_approval in [false, true] {
        assert!(!store.replan(&done.key, &Outcome::Successful, 9_000, only_awaiting_approval).await.unwrap());
        assert!(!store
            .replan(&prompt("nobody").key, &Outcome::Successful, 9_000, only_awaiting_approval)
            .await
            .unwrap());
    }
    let final_ = store.transaction(&done.key).await.unwrap().unwrap();
    assert_eq!(plan(final_), (TransactionStatus::Failed, None, None, false));
}

/// The settler's work: the pending transactions whose plan is due by `now` (inclusive), the
/// longest due first, at most `limit`; not those waiting for a decision, planned later, or final.
async fn due_transactions_are_the_pending_ones_due_by_now_longest_due_first(store: Arc<dyn Store>) {
    let due = |id: &str, due_at: i64| TransactionRecord { due_at: Some(due_at), ..pending(id, 10) };
    let undecided =
        TransactionRecord { outcome: None, due_at: None, awaiting_approval: true, ..pending("undecided", 10) };
    let settled = due("settled", 500);
    for tx in [
        &due("due-5000", 5_000),
        &due("due-1000", 1_000),
        &due("later", 9_000),
        &due("due-3000", 3_000),
        &undecided,
        &settled,
    ] {
        store.insert_transaction(tx).await.unwrap();
    }
    assert_eq!(store.finalize(&made_final(&settled, TransactionStatus::Successful)).await.unwrap(), Finalized::Done);

    assert_eq!(reference_ids(store.due_transactions(5_000, 10).await.unwrap()), ["due-1000", "due-3000", "due-5000"]);
    assert_eq!(reference_ids(store.due_transactions(5_000, 2).await.unwrap()), ["due-1000", "due-3000"], "limit");
    assert!(store.due_transactions(999, 10).await.unwrap().is_empty(), "nothing due yet");
    assert_eq!(
        reference_ids(store.due_transactions(i64::MAX, 10).await.unwrap()),
        ["due-1000", "due-3000", "due-5000", "later"]
    );
    assert_eq!(store.due_transactions(1_000, 10).await.unwrap(), [due("due-1000", 1_000)], "whole records");
}

/// The most recent transactions, newest first, of every API user or of one, at most `limit`.
async fn recent_transactions_are_listed_newest_first_optionally_of_one_user(store: Arc<dyn Store>) {
    // Each at its own millisecond, inserted out of order.
    let txs: Vec<_> = varied()
        .into_iter()
        .zip(0_i64..)
        .map(|(tx, i)| TransactionRecord { created_at: 20_000 + (i * 17) % 45, ..tx })
        .collect();
    for tx in &txs {
        store.insert_transaction(tx).await.unwrap();
    }
    let all = newest_first(&txs);
    let of_u1: Vec<_> = all.iter().filter(|tx| tx.api_user == "u1").cloned().collect();
    assert!(of_u1.len() > 3 && of_u1.len() < all.len());
    assert_eq!(store.transactions(None, 100).await.unwrap(), all);
    assert_eq!(store.transactions(None, 5).await.unwrap(), all[..5]);
    assert_eq!(store.transactions(Some("u1"), 100).await.unwrap(), of_u1);
    assert_eq!(store.transactions(Some("u1"), 3).await.unwrap(), of_u1[..3]);
    assert!(store.transactions(Some("nobody"), 100).await.unwrap().is_empty());
}

/// Every transaction with a reference id, of every product and kind, and no other.
async fn transactions_by_reference_are_every_product_and_kind_with_that_id(store: Arc<dyn Store>) {
    let shaped = |product: Product, kind: Kind, id: &str| TransactionRecord {
        key: TxKey { product, kind, reference_id: id.to_owned() },
        ..pending(id, 10)
    };
    let mut shared: Vec<_> = Product::ALL
        .into_iter()
        .flat_map(|product| Kind::ALL.into_iter().map(move |kind| shaped(product, kind, "shared")))
        .collect();
    let alone = shaped(Product::Disbursement, Kind::Deposit, "alone");
    for tx in shared.iter().chain([&alone, &shaped(Product::Collection, Kind::RequestToPay, "shared-not")]) {
        store.insert_transaction(tx).await.unwrap();
    }
    let by_key = |txs: &mut Vec<TransactionRecord>| {
        txs.sort_by(|a, b| {
            (a.key.product.as_str(), a.key.kind.as_str()).cmp(&(b.key.product.as_str(), b.key.kind.as_str()))
        });
    };
    let mut found = store.transactions_by_reference("shared").await.unwrap();
    by_key(&mut found);
    by_key(&mut shared);
    assert_eq!(found, shared);
    assert_eq!(store.transactions_by_reference("alone").await.unwrap(), [alone]);
    assert!(store.transactions_by_reference("nobody").await.unwrap().is_empty());
}

/// The overview's counts: per product and status, failed ones too; a product with none in a
/// status (here no successful payout, and no remittance at all) has no row for it.
async fn transactions_are_counted_per_product_and_status(store: Arc<dyn Store>) {
    use Product::{Collection, Disbursement};
    use TransactionStatus::{Failed, Pending, Successful};
    let with = |id: &str, product: Product, status: TransactionStatus| {
        let mut tx = pending(id, 10);
        tx.key.product = product;
        tx.status = status;
        tx
    };
    for tx in [
        with("c1", Collection, Pending),
        with("c2", Collection, Pending),
        with("c3", Collection, Successful),
        with("c4", Collection, Successful),
        with("c5", Collection, Successful),
        with("c6", Collection, Failed),
        with("d1", Disbursement, Failed),
        with("d2", Disbursement, Failed),
    ] {
        store.insert_transaction(&tx).await.unwrap();
    }
    let count = |product, status, count| TransactionCount { product, status, count };
    assert_eq!(
        store.transaction_counts().await.unwrap(),
        [
            count(Collection, Failed, 1),
            count(Collection, Pending, 2),
            count(Collection, Successful, 3),
            count(Disbursement, Failed, 2),
        ]
    );
}

/// A transaction whose outcome is due at once: on SQLite written final in its insert's commit;
/// on PostgreSQL inserted pending and due, and the settler's finalization writes it. Either way
/// it ends final with its ledger entry and its callback, as the finalization says.
async fn a_transaction_settled_on_insert_ends_final_with_its_ledger_and_callback(store: Arc<dyn Store>) {
    let paid = TransactionRecord { due_at: Some(2_000), ..pending("instant", 250) };
    let declined = TransactionRecord {
        outcome: Some(Outcome::Failed(ErrorCode::PayerNotFound)),
        due_at: Some(2_000),
        ..pending("instant-declined", 100)
    };
    let paid_final = success(&paid, account("wallet:p", None), account("api-user:u1", None));
    let declined_final = Finalization {
        status: TransactionStatus::Failed,
        reason: Some(ErrorCode::PayerNotFound),
        financial_transaction_id: None,
        postings: Vec::new(),
        ..success(&declined, account("wallet:p", None), account("api-user:u1", None))
    };
    for (tx, finalization) in [(&paid, &paid_final), (&declined, &declined_final)] {
        assert!(finalization.unconditional());
        // Both engines' group commits settle it with the insert.
        assert!(store.insert_settled(tx, finalization).await.unwrap());
        assert_eq!(store.finalize(finalization).await.unwrap(), Finalized::NotPending);
        assert_eq!(store.transaction(&tx.key).await.unwrap(), Some(finalization.applied_to(tx)));
        let delivery = store.delivery(&format!("d-{}", tx.key.reference_id)).await.unwrap().unwrap();
        let queued = finalization.delivery.as_ref().unwrap();
        assert_eq!(
            (&delivery.key, &delivery.api_user, &delivery.url, &delivery.method, &delivery.body),
            (&tx.key, &queued.api_user, &queued.url, &queued.method, &queued.body)
        );
        assert_eq!(
            (delivery.state.as_str(), delivery.attempts, delivery.next_attempt_at, delivery.finished_at),
            ("pending", 0, Some(2_000), None)
        );
    }
    assert!(store.due_transactions(i64::MAX, 10).await.unwrap().is_empty());
    let entry = paid.key.ledger_entry();
    let mut postings: Vec<_> = store
        .transaction_postings(&paid.key)
        .await
        .unwrap()
        .into_iter()
        .map(|p| (p.entry_id, p.account, p.amount_minor, p.created_at))
        .collect();
    postings.sort_unstable();
    assert_eq!(
        postings,
        [(entry.clone(), "api-user:u1".to_owned(), 250, 2_000), (entry, "wallet:p".to_owned(), -250, 2_000)]
    );
    assert!(store.transaction_postings(&declined.key).await.unwrap().is_empty());
    assert_eq!((store.balance("api-user:u1").await.unwrap(), store.balance("wallet:p").await.unwrap()), (250, -250));
    assert_eq!(store.callback_backlog(2_000).await.unwrap(), CallbackBacklog { due: 2, oldest_due_at: Some(2_000) });
}

/// Every change to a credential (a user, an API key, a subscription key) and a reset bump the
/// credentials epoch, so that every instance drops what it cached; reading changes nothing.
async fn every_credential_change_bumps_the_epoch(store: Arc<dyn Store>) {
    async fn bumped(store: &dyn Store, epoch: &mut i64, change: &str) {
        let now = store.credentials_epoch().await.unwrap();
        assert!(now > *epoch, "{change} must bump the credentials epoch");
        *epoch = now;
    }
    let mut epoch = store.credentials_epoch().await.unwrap();
    store.insert_api_user(&user("u1")).await.unwrap();
    bumped(store.as_ref(), &mut epoch, "a new API user").await;
    store.set_api_key("u1", &hash("k1")).await.unwrap().unwrap();
    bumped(store.as_ref(), &mut epoch, "a new API key").await;
    assert!(store.insert_subscription_key(&key("s1", "value-one", &Product::ALL)).await.unwrap());
    bumped(store.as_ref(), &mut epoch, "a new subscription key").await;
    store.replace_subscription_key("s1", &hash("value-two"), "valu").await.unwrap().unwrap();
    bumped(store.as_ref(), &mut epoch, "a replaced subscription key").await;
    store.revoke_subscription_key("s1", 10).await.unwrap().unwrap();
    bumped(store.as_ref(), &mut epoch, "a revoked subscription key").await;
    store.revoke_api_user("u1", 10).await.unwrap().unwrap();
    bumped(store.as_ref(), &mut epoch, "a revoked API user").await;
    store.reset_payments().await.unwrap();
    bumped(store.as_ref(), &mut epoch, "a reset").await;

    store.api_user("u1").await.unwrap();
    store.subscription_keys().await.unwrap();
    store.subscription_key_by_hash(&hash("value-two")).await.unwrap();
    assert_eq!(store.credentials_epoch().await.unwrap(), epoch, "reads change nothing");
}

/// The callbacks page lists callbacks newest first; the outbox leases the longest due first, at
/// most `limit`; a callback's attempts are listed in order, each as recorded.
async fn callbacks_are_listed_newest_first_and_their_attempts_in_order(store: Arc<dyn Store>) {
    let txs: Vec<_> = (1..=3).map(|i| pending(&format!("l{i}"), 10)).collect();
    for (tx, now) in txs.iter().zip([2_000, 4_000, 3_000]) {
        store.insert_transaction(tx).await.unwrap();
        let finalization = Finalization { now, ..success(tx, account("wallet:p", None), account("api-user:u1", None)) };
        assert_eq!(store.finalize(&finalization).await.unwrap(), Finalized::Done);
    }
    let ids = |deliveries: Vec<momo_server::store::DeliveryRecord>| -> Vec<String> {
        let mut ids: Vec<_> = deliveries.into_iter().map(|d| d.id).collect();
        ids.sort();
        ids
    };
    let listed: Vec<_> = store.deliveries(None, None, 10).await.unwrap().into_iter().map(|d| d.id).collect();
    assert_eq!(listed, ["d-l2", "d-l3", "d-l1"]);
    let listed: Vec<_> = store.deliveries(None, None, 2).await.unwrap().into_iter().map(|d| d.id).collect();
    assert_eq!(listed, ["d-l2", "d-l3"]);

    assert_eq!(ids(store.claim_deliveries(10_000, 20_000, 1).await.unwrap()), ["d-l1"], "the longest due");
    let first = AttemptRecord {
        attempt: 1,
        at: 11_000,
        status_code: None,
        latency_ms: 3_000,
        error: Some("connection refused".into()),
    };
    store.record_attempts(&[("d-l1".into(), first.clone(), DeliveryNext::RetryAt(12_000))]).await.unwrap();
    assert_eq!(ids(store.claim_deliveries(12_000, 30_000, 2).await.unwrap()), ["d-l2", "d-l3"], "the longest due");
    assert_eq!(ids(store.claim_deliveries(12_000, 30_000, 10).await.unwrap()), ["d-l1"]);
    let second = AttemptRecord { attempt: 2, at: 12_500, status_code: Some(204), latency_ms: 40, error: None };
    store.record_attempts(&[("d-l1".into(), second.clone(), DeliveryNext::Delivered)]).await.unwrap();

    assert_eq!(store.delivery_attempts("d-l1").await.unwrap(), [first, second]);
    let delivered = store.delivery("d-l1").await.unwrap().unwrap();
    assert_eq!(
        (delivered.state.as_str(), delivered.attempts, delivered.next_attempt_at, delivered.finished_at),
        ("delivered", 2, None, Some(12_500))
    );
    assert!(store.delivery_attempts("d-l2").await.unwrap().is_empty());
    assert!(store.delivery_attempts("d-none").await.unwrap().is_empty());
    assert_eq!(store.delivery("d-none").await.unwrap(), None);
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
    concurrent_settled_inserts_of_one_id_settle_once,
    of_concurrent_inserts_of_one_id_the_winners_row_is_stored,
    a_replan_and_its_cancellation_are_written_together,
    a_failed_plan_and_its_reason_round_trip,
    console_sessions_last_until_they_end_or_are_deleted,
    a_partys_transactions_and_its_prompts_are_listed_newest_first,
    settlements_write_state_ledger_and_callback_once,
    refusable_settlements_of_one_call_are_refused_one_by_one,
    a_refund_is_made_only_within_what_is_left_of_a_successful_original,
    a_refused_settlement_asked_for_twice_at_once_is_refused_to_each,
    a_failed_refusable_settlement_writes_nothing_and_the_store_recovers,
    attempts_are_recorded_for_a_batch,
    a_failed_settlement_writes_nothing_and_the_store_recovers,
    a_batch_larger_than_one_statement_is_written_whole,
    fault_rules_are_counted_atomically_and_removed_at_once,
    counts_and_callback_filters_for_the_console,
    the_callback_backlog_is_the_due_pending_deliveries,
    transaction_pages_follow_each_filter_without_gaps_or_repeats,
    a_transactions_postings_are_its_own,
    a_callback_is_redelivered_with_its_body,
    a_consent_is_used_once_and_then_found_by_its_refresh_token,
    only_a_successful_transaction_is_cancelled_and_only_once,
    delivery_notifications_are_counted_per_transaction,
    a_balance_is_set_by_posting_the_difference_against_issuance,
    a_reset_forgets_payments_and_keeps_credentials,
    only_a_pending_plan_changes_and_an_answer_only_while_awaited,
    due_transactions_are_the_pending_ones_due_by_now_longest_due_first,
    recent_transactions_are_listed_newest_first_optionally_of_one_user,
    transactions_by_reference_are_every_product_and_kind_with_that_id,
    transactions_are_counted_per_product_and_status,
    a_transaction_settled_on_insert_ends_final_with_its_ledger_and_callback,
    every_credential_change_bumps_the_epoch,
    callbacks_are_listed_newest_first_and_their_attempts_in_order,
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

/// Two stores on one SQLite file (two instances): refunds settled on one, whose guard reads
/// before it writes, while the other's committer writes without pause, wait for SQLite's write
/// lock instead of failing at once with `SQLITE_BUSY` (a transaction begun as a reader cannot
/// wait for the lock once another connection has written; one begun `IMMEDIATE` can).
#[tokio::test]
async fn refunds_on_one_sqlite_instance_wait_for_the_others_commits_instead_of_failing() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("momo.db").display());
    let writing: Arc<dyn Store> = Arc::new(store::sqlite::SqliteStore::open(&url).await.unwrap());
    let refunding: Arc<dyn Store> = Arc::new(store::sqlite::SqliteStore::open(&url).await.unwrap());
    let (payer, user) = (account("wallet:p", None), account("api-user:u1", None));
    let original = pending("original", 1_000_000);
    assert!(refunding.insert_settled(&original, &success(&original, payer.clone(), user.clone())).await.unwrap());
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writers: Vec<_> = (0..8)
        .map(|w| {
            let (writing, stop) = (writing.clone(), stop.clone());
            tokio::spawn(async move {
                let mut i = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    writing.insert_transaction(&pending(&format!("w{w}-{i}"), 1)).await.unwrap();
                    i += 1;
                    // Commits every millisecond or so, not back to back: SQLite's lock has no
                    // queue, and a waiter polls for it, so a committer that never paused could
                    // starve the refunds (a 503 after the busy timeout) whichever way they begin.
                    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
                }
                i
            })
        })
        .collect();
    for i in 0..100 {
        let mut refund = pending(&format!("refund-{i}"), 1);
        refund.key.product = Product::Disbursement;
        refund.key.kind = Kind::Refund;
        refund.related_reference_id = Some(original.key.reference_id.clone());
        refunding.insert_transaction(&refund).await.unwrap();
        let mut settlement = success(&refund, user.clone(), payer.clone());
        settlement.refund_guard = Some(RefundGuard { original: original.key.clone(), amount: 1 });
        settlement.delivery = None;
        assert_eq!(refunding.finalize(&settlement).await.unwrap(), Finalized::Done, "refund {i}");
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut written = 0;
    for writer in writers {
        written += writer.await.unwrap();
    }
    assert!(written > 0, "the other instance wrote meanwhile");
    assert_eq!(refunding.balance("api-user:u1").await.unwrap(), 1_000_000 - 100);
}

/// On PostgreSQL the payment tables are analyzed again as they grow (the migrations analyzed
/// them empty, and with those statistics a status read walked an index: docs/performance.md,
/// "PostgreSQL's group commit"): 1,000 inserts later, an ANALYZE has run.
#[tokio::test]
async fn the_payment_tables_are_analyzed_again_as_they_grow_on_postgres() {
    let Some(url) = fresh_postgres_database().await else { return };
    let store = store::open(&url).await.unwrap();
    let analyses = || async {
        let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&url).await.unwrap();
        let count: i64 =
            sqlx::query_scalar("SELECT analyze_count FROM pg_stat_user_tables WHERE relname = 'transactions'")
                .fetch_one(&mut conn)
                .await
                .unwrap();
        count
    };
    let before = analyses().await;
    let mut inserts = tokio::task::JoinSet::new();
    for i in 0..1_000 {
        let store = store.clone();
        inserts.spawn(async move { store.insert_transaction(&pending(&format!("grow-{i}"), 1)).await });
    }
    assert!(inserts.join_all().await.iter().all(Result::is_ok));
    // The ANALYZE runs beside the commits, and its count reaches the statistics views a moment later.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while analyses().await == before {
        assert!(std::time::Instant::now() < deadline, "no ANALYZE after 1,000 inserts");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// PostgreSQL's group commit takes the rows it settles `FOR UPDATE SKIP LOCKED`: a transaction
/// whose row another session holds is passed over in a batch (told it is no longer pending,
/// while the others are made), and a settlement asked for alone waits for the row instead and
/// is made once it is free.
#[tokio::test]
async fn a_row_held_elsewhere_is_passed_over_in_bulk_and_waited_for_alone_on_postgres() {
    let Some(url) = fresh_postgres_database().await else { return };
    let store = store::open(&url).await.unwrap();
    let (payer, user) = (account("wallet:p", None), account("api-user:u1", None));
    let (held, free) = (pending("held", 100), pending("free", 200));
    for tx in [&held, &free] {
        store.insert_transaction(tx).await.unwrap();
    }
    let mut other = <sqlx::PgConnection as sqlx::Connection>::connect(&url).await.unwrap();
    sqlx::query("BEGIN").execute(&mut other).await.unwrap();
    sqlx::query("SELECT 1 FROM transactions WHERE reference_id = 'held' FOR UPDATE").execute(&mut other).await.unwrap();
    let batch = [success(&held, payer.clone(), user.clone()), success(&free, payer.clone(), user.clone())];
    assert_eq!(store.finalize_batch(&batch).await.unwrap(), [Finalized::NotPending, Finalized::Done]);
    let alone = tokio::spawn({
        let (store, settlement) = (store.clone(), success(&held, payer, user));
        async move { store.finalize(&settlement).await }
    });
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(!alone.is_finished(), "a settlement asked for alone waits for the row");
    sqlx::query("ROLLBACK").execute(&mut other).await.unwrap();
    assert_eq!(alone.await.unwrap().unwrap(), Finalized::Done);
    let stored = store.transaction(&held.key).await.unwrap().unwrap();
    assert_eq!(stored.status, TransactionStatus::Successful);
    assert_eq!(store.balance("api-user:u1").await.unwrap(), 300);
}

/// Every method of the storage contract is called somewhere in this suite, so that a method
/// added to the contract, or left out when it is rewritten, cannot go without a test on both
/// engines. The names are read from the source: every method of every `pub trait` in any `.rs`
/// file under `src/store/`, so the guard follows the contract when it is split into traits.
#[test]
fn every_store_method_is_called_by_the_conformance_suite() {
    // Methods tested elsewhere than here, each with where and why. Empty: this suite calls all.
    const COVERED_ELSEWHERE: &[&str] = &[];
    let crate_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let suite = std::fs::read_to_string(crate_dir.join("tests/it/store_conformance.rs")).unwrap();
    let suite = without_comment_lines(&suite);
    let methods = contract_methods(&crate_dir.join("src/store"));
    assert!(!methods.is_empty(), "no method of a `pub trait` found under src/store/: the guard cannot read them");
    for allowed in COVERED_ELSEWHERE {
        assert!(methods.iter().any(|(_, m)| m == allowed), "{allowed} is not a store method any more");
    }
    let uncalled: Vec<String> = methods
        .iter()
        .filter(|(_, method)| !COVERED_ELSEWHERE.contains(&method.as_str()))
        .filter(|(_, method)| !suite.contains(&format!(".{method}(")))
        .map(|(declared, method)| format!("{declared}::{method}"))
        .collect();
    assert!(
        uncalled.is_empty(),
        "store methods no conformance test calls (test each on both engines, in the conformance! list): {uncalled:?}"
    );
}

/// `(file and trait, method)` for each method declared in a `pub trait` block of the `.rs`
/// files under `dir`, at any depth: a line `fn name(` or `async fn name(` (or `<` for a
/// generic one) directly inside the trait's braces.
fn contract_methods(dir: &std::path::Path) -> Vec<(String, String)> {
    let mut files = Vec::new();
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    let mut methods = Vec::new();
    for file in files {
        let source = without_comment_lines(&std::fs::read_to_string(&file).unwrap());
        let shown = file.strip_prefix(dir).unwrap().display().to_string();
        // The trait being read, and how deep in braces the line is (1: directly inside it).
        let mut open: Option<(String, usize)> = None;
        for line in source.lines() {
            let line = line.trim_start();
            if open.is_none() {
                let Some(rest) = line.strip_prefix("pub trait ") else { continue };
                let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                open = Some((format!("{shown}: {name}"), 0));
            }
            let Some((declared, depth)) = open.as_mut() else { continue };
            if *depth == 1 {
                let signature = line.strip_prefix("async ").unwrap_or(line);
                if let Some(rest) = signature.strip_prefix("fn ") {
                    let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                    assert!(rest[name.len()..].starts_with(['(', '<']), "{declared}: cannot read {line:?}");
                    methods.push((declared.clone(), name));
                }
            }
            let (opened, closed) = (line.matches('{').count(), line.matches('}').count());
            let was_inside = *depth > 0 || opened > 0;
            *depth = (*depth + opened).checked_sub(closed).expect("braces balance");
            if was_inside && *depth == 0 {
                open = None;
            }
        }
        assert!(open.is_none(), "{shown}: a `pub trait` block does not end: {open:?}");
    }
    methods
}

/// `text` without its comment lines (`//`, `///`, `//!`), whose words are not code.
fn without_comment_lines(text: &str) -> String {
    text.lines().filter(|line| !line.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n")
}
