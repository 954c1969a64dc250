//! The SDK against a spawned openmomo server (issue 4, acceptance 1).

#![expect(clippy::unwrap_used, reason = "a test fails loudly on the first surprise")]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use momo_client::{Client, Error, RetryPolicy, TransactionKind};
use momo_server::config::PinnedSubscriptionKey;
use momo_server::{Application, Clock, Settings};
use momo_types::payments::{
    CashTransfer, CreateInvoice, CreatePayments, Money, Party, PreApproval, Refund, RequestToPay, TransactionStatus,
    Transfer,
};
use momo_types::{ErrorCode, Product};
use secrecy::SecretString;
use serde_json::json;

const KEY: &str = "sdk-test-subscription-key-000001";
const ADMIN: &str = "sdk-test-operator-token-000000000000000000000000000000001";

struct Server {
    base: String,
    clock: Clock,
    http: reqwest::Client,
    _dir: Arc<tempfile::TempDir>,
}

async fn server_with(adjust: impl FnOnce(&mut Settings)) -> Server {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let mut settings = Settings {
        bind: SocketAddr::from(([127, 0, 0, 1], 0)),
        data_dir: dir.path().to_owned(),
        subscription_keys: vec![KEY.parse::<PinnedSubscriptionKey>().unwrap()],
        admin_token: Some(SecretString::from(ADMIN)),
        pending_delay: Duration::from_millis(300),
        ..Settings::default()
    };
    adjust(&mut settings);
    let clock = Clock::manual();
    let app = Application::build_with_clock(settings, clock.clone()).await.unwrap();
    let base = format!("http://{}", app.local_addr());
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    Server { base, clock, http: reqwest::Client::new(), _dir: dir }
}

async fn server() -> Server {
    server_with(|_| {}).await
}

impl Server {
    /// A client with a freshly provisioned sandbox user whose callback host is 127.0.0.1.
    async fn client(&self) -> Client {
        self.client_with(|b| b).await
    }

    async fn client_with(
        &self,
        adjust: impl FnOnce(momo_client::ClientBuilder) -> momo_client::ClientBuilder,
    ) -> Client {
        let provisioner = Client::builder().base_url(&self.base).subscription_key(KEY).build().unwrap();
        let credentials = provisioner.provision_sandbox_user("127.0.0.1").await.unwrap();
        let builder = Client::builder()
            .base_url(&self.base)
            .target_environment("sandbox")
            .subscription_key(KEY)
            .api_user(credentials.api_user.to_string())
            .api_key(secrecy::ExposeSecret::expose_secret(&credentials.api_key).to_owned())
            .retry_policy(RetryPolicy {
                max_attempts: 4,
                initial_backoff: Duration::from_millis(20),
                max_backoff: Duration::from_millis(100),
            });
        adjust(builder).build().unwrap()
    }

    async fn admin(&self, method: reqwest::Method, path: &str, body: serde_json::Value) -> serde_json::Value {
        self.http
            .request(method, format!("{}/_momo/admin{path}", self.base))
            .bearer_auth(ADMIN)
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap_or(serde_json::Value::Null)
    }
}

fn rtp(msisdn: &str) -> RequestToPay {
    RequestToPay {
        amount: "50".parse().unwrap(),
        currency: "EUR".parse().unwrap(),
        external_id: Some("order-1".into()),
        payer: Party::msisdn(msisdn.parse().unwrap()),
        payer_message: Some("Order 1".into()),
        payee_note: Some("Order 1".into()),
    }
}

fn transfer(msisdn: &str) -> Transfer {
    Transfer {
        amount: "20".parse().unwrap(),
        currency: "EUR".parse().unwrap(),
        external_id: Some("payout-1".into()),
        payee: Party::msisdn(msisdn.parse().unwrap()),
        payer_message: None,
        payee_note: None,
    }
}

const WAIT: Duration = Duration::from_secs(10);

#[tokio::test]
async fn every_operation_works_against_the_server() {
    let server = server().await;
    let client = server.client().await;
    let payer = Party::msisdn("56733123453".parse().unwrap());

    // Collection.
    let reference = client.collection().request_to_pay(rtp("56733123453")).send().await.unwrap();
    assert_eq!(client.collection().request_to_pay_status(&reference).await.unwrap().status, TransactionStatus::Pending);
    let done = client
        .wait_for_final_status(Product::Collection, TransactionKind::RequestToPay, &reference, WAIT)
        .await
        .unwrap();
    assert_eq!(done.status, TransactionStatus::Successful);
    assert!(done.financial_transaction_id.is_some());
    client.collection().request_to_pay_delivery_notification(&reference, "On its way").await.unwrap();
    for withdraw in [
        client.collection().request_to_withdraw(rtp("56733123453")),
        client.collection().request_to_withdraw_v2(rtp("56733123453")),
    ] {
        let r = withdraw.send().await.unwrap();
        client.wait_for_final_status(Product::Collection, TransactionKind::RequestToWithdraw, &r, WAIT).await.unwrap();
        assert_eq!(
            client.collection().request_to_withdraw_status(&r).await.unwrap().status,
            TransactionStatus::Successful
        );
    }
    let invoice = CreateInvoice {
        external_id: Some("inv".into()),
        amount: "10".parse().unwrap(),
        currency: "EUR".parse().unwrap(),
        validity_duration: "3600".into(),
        intended_payer: payer.clone(),
        payee: Party::msisdn("46733123499".parse().unwrap()),
        description: None,
    };
    let paid = client.collection().create_invoice(invoice.clone()).send().await.unwrap();
    client.wait_for_final_status(Product::Collection, TransactionKind::Invoice, &paid, WAIT).await.unwrap();
    assert_eq!(client.collection().invoice_status(&paid).await.unwrap().status, TransactionStatus::Successful);
    let cancelled = client.collection().create_invoice(invoice).send().await.unwrap();
    client.collection().cancel_invoice(&cancelled, Some("inv")).await.unwrap();
    let state = client.collection().invoice_status(&cancelled).await.unwrap();
    assert_eq!(state.error_reason.unwrap().code(), &ErrorCode::TransactionCanceled);
    let pre = PreApproval {
        payer: payer.clone(),
        payer_currency: "EUR".parse().unwrap(),
        payer_message: None,
        validity_time: 3600,
    };
    let pre = client.collection().pre_approval(pre).send().await.unwrap();
    client.wait_for_final_status(Product::Collection, TransactionKind::PreApproval, &pre, WAIT).await.unwrap();
    assert_eq!(client.collection().pre_approval_status(&pre).await.unwrap().status, TransactionStatus::Successful);
    assert_eq!(client.collection().approved_pre_approvals(&payer).await.unwrap().len(), 1);
    client.collection().cancel_pre_approval(&pre).await.unwrap();
    assert!(client.collection().approved_pre_approvals(&payer).await.unwrap().is_empty());
    let payment = CreatePayments {
        external_transaction_id: Some("p".into()),
        service_provider_user_name: Some("Power Co".into()),
        ..CreatePayments::new(Money { amount: "5".parse().unwrap(), currency: "EUR".parse().unwrap() })
    };
    let payment = client.collection().create_payment(payment).send().await.unwrap();
    client.wait_for_final_status(Product::Collection, TransactionKind::Payment, &payment, WAIT).await.unwrap();
    assert_eq!(client.collection().payment_status(&payment).await.unwrap().status, TransactionStatus::Successful);

    // Disbursement.
    let t = client.disbursement().transfer(transfer("56733123453")).send().await.unwrap();
    client.wait_for_final_status(Product::Disbursement, TransactionKind::Transfer, &t, WAIT).await.unwrap();
    assert_eq!(client.disbursement().transfer_status(&t).await.unwrap().status, TransactionStatus::Successful);
    for deposit in [
        client.disbursement().deposit(transfer("56733123453")),
        client.disbursement().deposit_v2(transfer("56733123453")),
    ] {
        let d = deposit.send().await.unwrap();
        client.wait_for_final_status(Product::Disbursement, TransactionKind::Deposit, &d, WAIT).await.unwrap();
        assert_eq!(client.disbursement().deposit_status(&d).await.unwrap().status, TransactionStatus::Successful);
    }
    let refund = |amount: &str| Refund {
        amount: amount.parse().unwrap(),
        currency: "EUR".parse().unwrap(),
        external_id: None,
        payer_message: None,
        payee_note: None,
        reference_id_to_refund: reference.to_string(),
    };
    let r1 = client.disbursement().refund(refund("10")).send().await.unwrap();
    let r2 = client.disbursement().refund_v2(refund("10")).send().await.unwrap();
    for r in [r1, r2] {
        client.wait_for_final_status(Product::Disbursement, TransactionKind::Refund, &r, WAIT).await.unwrap();
        let status = client.disbursement().refund_status(&r).await.unwrap();
        assert_eq!(status.payee, payer, "back to the payer");
    }

    // Remittance.
    let t = client.remittance().transfer(transfer("56733123453")).send().await.unwrap();
    client.wait_for_final_status(Product::Remittance, TransactionKind::Transfer, &t, WAIT).await.unwrap();
    assert_eq!(client.remittance().transfer_status(&t).await.unwrap().status, TransactionStatus::Successful);
    let cash = CashTransfer {
        external_id: Some("c".into()),
        orginating_country: Some("SE".into()),
        ..CashTransfer::new(
            "30".parse().unwrap(),
            "EUR".parse().unwrap(),
            Party::msisdn("56733123453".parse().unwrap()),
        )
    };
    let c = client.remittance().cash_transfer(cash).send().await.unwrap();
    client.wait_for_final_status(Product::Remittance, TransactionKind::CashTransfer, &c, WAIT).await.unwrap();
    assert_eq!(client.remittance().cash_transfer_status(&c).await.unwrap().status, TransactionStatus::Successful);

    // Common operations on every product.
    assert_eq!(client.collection().balance().await.unwrap().currency.as_str(), "EUR");
    let eur = "EUR".parse().unwrap();
    assert_eq!(client.disbursement().balance_in_currency(&eur).await.unwrap().currency.as_str(), "EUR");
    assert!(client.remittance().account_holder_active(&payer).await.unwrap());
    assert!(!client.collection().account_holder_active(&Party::msisdn("46733123451".parse().unwrap())).await.unwrap());
    assert_eq!(client.disbursement().basic_user_info(&payer).await.unwrap()["family_name"], "Box");
    let ask = client.collection().bc_authorize(&"56733123453".parse().unwrap(), "all_info", true).await.unwrap();
    let pending = client.collection().oauth2_token(&ask.auth_req_id).await.unwrap_err();
    assert!(matches!(&pending, Error::OAuth { error, .. } if error == "authorization_pending"), "{pending}");
    tokio::time::sleep(Duration::from_millis(400)).await;
    let consent = client.collection().oauth2_token(&ask.auth_req_id).await.unwrap();
    assert_eq!(client.collection().userinfo(&consent).await.unwrap()["phone_number"], "56733123453");
    let renewed = client.collection().oauth2_refresh(&consent.refresh_token).await.unwrap();
    assert_eq!(renewed.scope, "all_info");
}

#[tokio::test]
async fn a_hundred_concurrent_first_calls_make_one_token_request() {
    let server = server().await;
    let client = server.client().await;
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..100 {
        let client = client.clone();
        calls.spawn(async move { client.collection().balance().await.map(|b| b.currency) });
    }
    for result in calls.join_all().await {
        assert_eq!(result.unwrap().as_str(), "EUR");
    }
    assert_eq!(client.token_requests(), 1);
}

#[tokio::test]
async fn tokens_are_renewed_before_they_expire() {
    let server = server_with(|s| s.token_ttl = Duration::from_secs(2)).await;
    let client = server.client().await;
    client.collection().balance().await.unwrap();
    assert_eq!(client.token_requests(), 1);
    client.collection().balance().await.unwrap();
    assert_eq!(client.token_requests(), 1, "still fresh");
    // Half the lifetime is the margin for a 2 s token: after 1 s the next call renews.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    client.collection().balance().await.unwrap();
    assert_eq!(client.token_requests(), 2);
}

#[tokio::test]
async fn a_401_gets_one_re_authentication() {
    let server = server().await;
    let client = server.client().await;
    client.collection().balance().await.unwrap();
    // The server's clock jumps past the token's expiry; the client still thinks it is fresh.
    server.clock.advance(Duration::from_secs(3601));
    client.collection().balance().await.unwrap();
    assert_eq!(client.token_requests(), 2);
}

#[tokio::test]
async fn retries_reuse_the_reference_id_and_business_errors_are_not_retried() {
    let server = server().await;
    let client = server.client().await;
    server
        .admin(
            reqwest::Method::POST,
            "/faults",
            json!({"method": "POST", "path": "/collection/v1_0/requesttopay", "status": 503, "count": 2}),
        )
        .await;
    let reference = client.collection().request_to_pay(rtp("56733123453")).send().await.unwrap();
    let listed = server.admin(reqwest::Method::GET, "/transactions", json!(null)).await;
    assert_eq!(listed.as_array().unwrap().len(), 1, "one transaction after three attempts");
    assert_eq!(listed[0]["referenceId"], reference.to_string());

    // The gateway's own 500 is retried too.
    server
        .admin(
            reqwest::Method::POST,
            "/faults",
            json!({"path": "/collection/v1_0/account/balance", "status": 500, "count": 1}),
        )
        .await;
    client.collection().balance().await.unwrap();

    // A business error comes back at once, typed.
    let mut wrong = rtp("56733123453");
    wrong.currency = "UGX".parse().unwrap();
    let error = client.collection().request_to_pay(wrong).send().await.unwrap_err();
    assert_eq!(error.code(), Some(&ErrorCode::InvalidCurrency));
    assert_eq!(error.status(), Some(500));
}

#[tokio::test]
async fn a_409_after_a_retry_resolves_to_the_transaction_and_without_one_is_an_error() {
    let server = server().await;
    let client = server.client().await;
    // The first attempt goes through but its answer is lost: simulate it with a first POST, then
    // a 503 on the client's first attempt, so its retry meets the existing transaction.
    let reference = client.collection().request_to_pay(rtp("56733123453")).send().await.unwrap();
    server
        .admin(
            reqwest::Method::POST,
            "/faults",
            json!({"method": "POST", "path": "/collection/v1_0/requesttopay", "status": 503, "count": 1}),
        )
        .await;
    let again = client.collection().request_to_pay(rtp("56733123453")).reference_id(reference).send().await.unwrap();
    assert_eq!(again, reference);
    let error =
        client.collection().request_to_pay(rtp("56733123453")).reference_id(reference).send().await.unwrap_err();
    assert_eq!(error.code(), Some(&ErrorCode::ResourceAlreadyExist));
}

#[tokio::test]
async fn both_reason_shapes_decode() {
    for format in [momo_server::config::ReasonFormat::Observed, momo_server::config::ReasonFormat::Object] {
        let server = server_with(|s| s.reason_format = format).await;
        let client = server.client().await;
        let reference = client.collection().request_to_pay(rtp("46733123451")).send().await.unwrap();
        let state = client
            .wait_for_final_status(Product::Collection, TransactionKind::RequestToPay, &reference, WAIT)
            .await
            .unwrap();
        assert_eq!(state.status, TransactionStatus::Failed, "a FAILED transaction is a status, not an error");
        assert_eq!(state.reason.as_ref().unwrap().code(), &ErrorCode::ApprovalRejected);
        let typed = client.collection().request_to_pay_status(&reference).await.unwrap();
        assert_eq!(typed.reason.unwrap().code(), &ErrorCode::ApprovalRejected);
    }
}

#[tokio::test]
async fn provisioning_survives_the_sandboxs_500s() {
    let server = server().await;
    server
        .admin(
            reqwest::Method::POST,
            "/faults",
            json!({"method": "POST", "path": "/v1_0/apiuser", "status": 500, "count": 2}),
        )
        .await;
    let provisioner = Client::builder()
        .base_url(&server.base)
        .subscription_key(KEY)
        .retry_policy(RetryPolicy {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(50),
        })
        .build()
        .unwrap();
    let credentials = provisioner.provision_sandbox_user("webhook.site").await.unwrap();
    assert_eq!(credentials.provider_callback_host, "webhook.site");
    assert!(!format!("{credentials:?}").contains(secrecy::ExposeSecret::expose_secret(&credentials.api_key)));
}

#[tokio::test]
async fn errors_tell_gateway_authentication_and_momo_apart_and_secrets_stay_hidden() {
    let server = server().await;
    let wrong_key = Client::builder()
        .base_url(&server.base)
        .subscription_key("not-the-key-at-all")
        .api_user("c72025f5-5cd1-4630-99e4-8ba4722fad56")
        .api_key("0123456789abcdef0123456789abcdef")
        .build()
        .unwrap();
    let error = wrong_key.collection().balance().await.unwrap_err();
    assert!(matches!(error, Error::Gateway { status: 401, .. }), "{error}");
    let wrong_credentials = Client::builder()
        .base_url(&server.base)
        .subscription_key(KEY)
        .api_user("c72025f5-5cd1-4630-99e4-8ba4722fad56")
        .api_key("0123456789abcdef0123456789abcdef")
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let error = wrong_credentials.collection().balance().await.unwrap_err();
    assert!(matches!(error, Error::Authentication { status: 500, .. }), "{error}");
    let debug = format!("{wrong_credentials:?}");
    assert!(!debug.contains("0123456789abcdef0123456789abcdef") && !debug.contains(KEY), "{debug}");
    let missing = Client::builder().base_url(&server.base).build().unwrap();
    let error = missing.collection().balance().await.unwrap_err();
    assert!(matches!(&error, Error::Config(m) if m.contains("MOMO_COLLECTION_SUBSCRIPTION_KEY")), "{error}");
    let _ = Product::ALL;
}

#[tokio::test]
async fn callbacks_parse_verify_and_confirm() {
    let server = server().await;
    let client = server.client().await;
    let reference = client.collection().request_to_pay(rtp("46733123451")).send().await.unwrap();
    let state = client
        .wait_for_final_status(Product::Collection, TransactionKind::RequestToPay, &reference, WAIT)
        .await
        .unwrap();
    let body = serde_json::to_vec(&state.body).unwrap();
    let parsed = momo_client::callbacks::parse(&body).unwrap();
    assert_eq!(parsed.status, TransactionStatus::Failed);
    client.confirm_callback(Product::Collection, TransactionKind::RequestToPay, &reference, &parsed).await.unwrap();
    let mut lying = parsed.clone();
    lying.status = TransactionStatus::Successful;
    assert!(client
        .confirm_callback(Product::Collection, TransactionKind::RequestToPay, &reference, &lying)
        .await
        .is_err());

    // A signature made as the server makes them verifies; a tampered body does not.
    use hmac::Mac as _;
    let secret = "a-user-signing-secret";
    let mut mac = <hmac::Hmac<sha2::Sha256> as hmac::Mac>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(b"1700000000.");
    mac.update(&body);
    let header = format!("t=1700000000,v1={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(momo_client::callbacks::verify_signature(secret, &header, &body, 1_700_000_100, 300), Ok(()));
    assert!(momo_client::callbacks::verify_signature(secret, &header, b"{}", 1_700_000_100, 300).is_err());
    assert!(momo_client::callbacks::verify_signature(secret, &header, &body, 1_700_009_999, 300).is_err());
}

#[tokio::test]
async fn the_admin_client_reads_every_operator_route_in_the_servers_own_shapes() {
    use momo_client::AdminClient;
    use momo_types::admin::{CreateSubscriptionKey, CreateUser, FaultSpec, ForceOutcome, ListQuery, SetBalance};

    let server = server().await;
    let client = server.client().await;
    let admin = client.admin(SecretString::from(ADMIN));
    assert!(!format!("{admin:?}").contains(ADMIN));

    // Users and keys.
    let created = admin
        .create_user(&CreateUser {
            environment: "mtnuganda".into(),
            provider_callback_host: "shop.example.com".into(),
            payment_server_url: None,
            credential_style: Default::default(),
        })
        .await
        .unwrap();
    assert_eq!(admin.user(&created.api_user).await.unwrap().key_version, 1);
    assert!(admin.users().await.unwrap().iter().any(|u| u.api_user == created.api_user));
    assert_eq!(admin.regenerate_user_key(&created.api_user).await.unwrap().api_user, created.api_user);
    assert_eq!(admin.callback_secret(&created.api_user).await.unwrap().callback_signing_secret.len(), 64);
    let balance = SetBalance { amount: "5000".parse().unwrap() };
    let funded = admin.set_user_balance(&created.api_user, Product::Disbursement, &balance).await.unwrap();
    assert_eq!((funded.balance.as_str(), funded.currency.as_str()), ("5000", "UGX"));
    assert!(admin.revoke_user(&created.api_user).await.unwrap().revoked_at.is_some());
    let key = admin.create_subscription_key(&CreateSubscriptionKey::default()).await.unwrap();
    assert!(admin.subscription_keys().await.unwrap().iter().any(|k| k.id == key.key_info.id));
    assert_ne!(admin.regenerate_subscription_key(&key.key_info.id).await.unwrap().key, key.key);
    assert!(admin.revoke_subscription_key(&key.key_info.id).await.unwrap().revoked_at.is_some());

    // Payments: the typed bodies hold exactly what the server sends.
    let reference = client.collection().request_to_pay(rtp("56733123453")).send().await.unwrap().to_string();
    let listed = admin.transactions(&ListQuery::default()).await.unwrap();
    assert!(listed.iter().any(|tx| tx.reference_id == reference && tx.status == TransactionStatus::Pending));
    let detail = admin.transaction(&reference).await.unwrap();
    let raw = server.admin(reqwest::Method::GET, &format!("/transactions/{reference}"), json!(null)).await;
    assert_eq!(serde_json::to_value(&detail).unwrap(), raw);
    let outcome = ForceOutcome { status: TransactionStatus::Failed, reason: Some("NOT_ENOUGH_FUNDS".into()) };
    let forced = admin.force(&reference, &outcome).await.unwrap();
    assert_eq!((forced.status, forced.reason.as_deref()), (TransactionStatus::Failed, Some("NOT_ENOUGH_FUNDS")));
    let refused = admin.approve(&reference).await.unwrap_err();
    assert_eq!(refused.status(), Some(409), "{refused}");
    let query = ListQuery { reference_id: Some(reference.clone()), ..ListQuery::default() };
    assert!(admin.deliveries(&query).await.unwrap().is_empty());
    let wallet =
        admin.set_wallet_balance("mtnuganda", &Party::msisdn("256771234567".parse().unwrap()), &balance).await.unwrap();
    assert_eq!(wallet.account, "wallet:mtnuganda:MSISDN:256771234567");
    let accounts = admin.accounts().await.unwrap();
    let raw = server.admin(reqwest::Method::GET, "/accounts", json!(null)).await;
    assert_eq!(serde_json::to_value(&accounts).unwrap(), raw);

    // Faults and reset.
    let spec: FaultSpec = serde_json::from_value(json!({"path": "/v1_0/apiuser", "status": 500, "count": 1})).unwrap();
    let rule = admin.add_fault(&spec).await.unwrap();
    assert_eq!(admin.faults().await.unwrap()[0].remaining, Some(1));
    admin.remove_fault(&rule.id).await.unwrap();
    admin.clear_faults().await.unwrap();
    admin.reset().await.unwrap();
    assert!(admin.transactions(&ListQuery::default()).await.unwrap().is_empty());

    // Errors are classified as MoMo's are.
    let missing = admin.user("nobody").await.unwrap_err();
    assert!(matches!(&missing, Error::Momo { status: 404, code: ErrorCode::ResourceNotFound, .. }), "{missing}");
    let wrong = AdminClient::new(&server.base, SecretString::from("wrong-token")).unwrap();
    assert_eq!(wrong.users().await.unwrap_err().status(), Some(401));
}
