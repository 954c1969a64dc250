//! Bodies of openmomo's operator API (`/_momo/admin/…`): what MTN's Partner Portal does for a
//! production API user, the management of subscription keys, and the emulator's own controls
//! (transactions, callback deliveries, ledger balances, fault rules). Not part of MTN's API. The
//! server answers with these types and the SDK's `AdminClient` reads them, so both agree by
//! construction; `docs/operator-api.md` documents the routes.
//!
//! Secrets (API keys, subscription keys) appear only in the `…Created` bodies, once.

use serde::{Deserialize, Serialize};

use crate::money::Amount;
use crate::payments::{Party, TransactionStatus};
use crate::Product;

/// Where the operator API lives on an openmomo server: a prefix no MoMo path can start with.
pub const PREFIX: &str = "/_momo/admin";

/// Each call of the operator API. The server routes exactly these ([`AdminOperation::ALL`], each
/// mapped to its handler by an exhaustive match) and its OpenAPI document lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AdminOperation {
    ListUsers,
    CreateUser,
    GetUser,
    RevokeUser,
    RegenerateUserKey,
    GetCallbackSecret,
    SetUserBalance,
    ListSubscriptionKeys,
    CreateSubscriptionKey,
    RevokeSubscriptionKey,
    RegenerateSubscriptionKey,
    ListTransactions,
    GetTransaction,
    ApproveTransaction,
    RejectTransaction,
    ForceOutcome,
    ListDeliveries,
    GetDelivery,
    Redeliver,
    ListAccounts,
    SetWalletBalance,
    ListFaults,
    AddFault,
    ClearFaults,
    RemoveFault,
    Reset,
    /// The operator API's own OpenAPI document (no token needed).
    OpenApiDocument,
}

impl AdminOperation {
    /// Every call, in `docs/operator-api.md`'s order.
    pub const ALL: [AdminOperation; 27] = {
        use AdminOperation as A;
        [
            A::CreateUser,
            A::ListUsers,
            A::GetUser,
            A::RegenerateUserKey,
            A::RevokeUser,
            A::ListSubscriptionKeys,
            A::CreateSubscriptionKey,
            A::RegenerateSubscriptionKey,
            A::RevokeSubscriptionKey,
            A::ListTransactions,
            A::GetTransaction,
            A::ApproveTransaction,
            A::RejectTransaction,
            A::ForceOutcome,
            A::ListDeliveries,
            A::GetDelivery,
            A::Redeliver,
            A::GetCallbackSecret,
            A::ListAccounts,
            A::SetWalletBalance,
            A::SetUserBalance,
            A::AddFault,
            A::ListFaults,
            A::RemoveFault,
            A::ClearFaults,
            A::Reset,
            A::OpenApiDocument,
        ]
    };

    /// Its method and its route below [`PREFIX`], with `{…}` where a parameter goes (one name
    /// per position, as the router requires).
    const fn wire(self) -> (&'static str, &'static str) {
        use AdminOperation as A;
        match self {
            A::ListUsers => ("GET", "/users"),
            A::CreateUser => ("POST", "/users"),
            A::GetUser => ("GET", "/users/{apiUser}"),
            A::RevokeUser => ("DELETE", "/users/{apiUser}"),
            A::RegenerateUserKey => ("POST", "/users/{apiUser}/key"),
            A::GetCallbackSecret => ("GET", "/users/{apiUser}/callback-secret"),
            A::SetUserBalance => ("PUT", "/users/{apiUser}/accounts/{product}/balance"),
            A::ListSubscriptionKeys => ("GET", "/subscription-keys"),
            A::CreateSubscriptionKey => ("POST", "/subscription-keys"),
            A::RevokeSubscriptionKey => ("DELETE", "/subscription-keys/{keyId}"),
            A::RegenerateSubscriptionKey => ("POST", "/subscription-keys/{keyId}/regenerate"),
            A::ListTransactions => ("GET", "/transactions"),
            A::GetTransaction => ("GET", "/transactions/{referenceId}"),
            A::ApproveTransaction => ("POST", "/transactions/{referenceId}/approve"),
            A::RejectTransaction => ("POST", "/transactions/{referenceId}/reject"),
            A::ForceOutcome => ("POST", "/transactions/{referenceId}/force"),
            A::ListDeliveries => ("GET", "/deliveries"),
            A::GetDelivery => ("GET", "/deliveries/{deliveryId}"),
            A::Redeliver => ("POST", "/deliveries/{deliveryId}/redeliver"),
            A::ListAccounts => ("GET", "/accounts"),
            A::SetWalletBalance => ("PUT", "/wallets/{environment}/{partyIdType}/{partyId}/balance"),
            A::ListFaults => ("GET", "/faults"),
            A::AddFault => ("POST", "/faults"),
            A::ClearFaults => ("DELETE", "/faults"),
            A::RemoveFault => ("DELETE", "/faults/{faultId}"),
            A::Reset => ("POST", "/reset"),
            A::OpenApiDocument => ("GET", "/openapi.json"),
        }
    }

    /// The HTTP method.
    pub const fn method(self) -> &'static str {
        self.wire().0
    }

    /// The route below [`PREFIX`].
    pub const fn route(self) -> &'static str {
        self.wire().1
    }

    /// The path below [`PREFIX`] with `params` (encoded by the caller) in its placeholders, in
    /// order.
    pub fn path(self, params: &[&str]) -> String {
        crate::operations::fill_route(self.route(), params)
    }

    /// The full route, [`PREFIX`] included.
    pub fn full_route(self) -> String {
        format!("{PREFIX}{}", self.route())
    }
}

/// Which kind of credentials an API user has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub enum CredentialStyle {
    /// A UUID API user and a 32-hex API key, as on MTN's legacy platform and sandbox.
    #[default]
    ApiKey,
    /// A base64 User ID and a Credential Token with punctuation, as on the 2026
    /// `momoapi.momo.africa` platform.
    MomoAfrica,
}

/// `POST /_momo/admin/users`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateUser {
    /// An `X-Target-Environment` value, e.g. `mtnuganda`.
    pub environment: String,
    /// The host callbacks may be sent to, e.g. `shop.example.com`.
    pub provider_callback_host: String,
    /// The Partner Portal's "Payment Server URL" (the default callback URL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_server_url: Option<String>,
    #[serde(default)]
    pub credential_style: CredentialStyle,
}

/// The one answer that shows an API user's key.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct UserCredentials {
    pub api_user: String,
    pub api_key: String,
    pub environment: String,
    pub credential_style: CredentialStyle,
}

impl std::fmt::Debug for UserCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserCredentials")
            .field("api_user", &self.api_user)
            .field("api_key", &"[redacted]")
            .field("environment", &self.environment)
            .field("credential_style", &self.credential_style)
            .finish()
    }
}

/// Who created an API user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub enum UserOrigin {
    /// `POST /v1_0/apiuser` (sandbox only).
    SandboxProvisioning,
    /// The operator API.
    Operator,
}

/// An API user as the operator API lists it: never its key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub api_user: String,
    pub environment: String,
    pub provider_callback_host: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_server_url: Option<String>,
    pub credential_style: CredentialStyle,
    pub origin: UserOrigin,
    /// Whether a key has been issued (a sandbox user has none until `POST …/apikey`).
    pub has_key: bool,
    /// How many keys have been issued; tokens of an earlier key no longer work.
    pub key_version: i64,
    /// RFC 3339.
    pub created_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
}

/// `POST /_momo/admin/subscription-keys`.
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateSubscriptionKey {
    /// The products the key is valid for; empty means all three.
    #[serde(default)]
    pub products: Vec<Product>,
    /// A value to use instead of a generated one (for scripts and CI).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

impl std::fmt::Debug for CreateSubscriptionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreateSubscriptionKey")
            .field("products", &self.products)
            .field("key", &self.key.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

/// A subscription key as listed: its id and a short hint, never the key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionKey {
    pub id: String,
    pub products: Vec<Product>,
    /// `primary`, `secondary`, `pinned` (from `--subscription-key`) or `added`.
    pub label: String,
    /// The first four characters of the key, to tell keys apart.
    pub hint: String,
    pub created_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
}

/// The one answer that shows a subscription key.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionKeyCreated {
    #[serde(flatten)]
    pub key_info: SubscriptionKey,
    pub key: String,
}

impl std::fmt::Debug for SubscriptionKeyCreated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SubscriptionKeyCreated").field("key_info", &self.key_info).field("key", &"[redacted]").finish()
    }
}

/// `GET /_momo/admin/users/{id}/callback-secret`: the secret an API user's callbacks are signed
/// with (`X-Momo-Signature`).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct CallbackSecret {
    pub api_user: String,
    pub callback_signing_secret: String,
}

impl std::fmt::Debug for CallbackSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallbackSecret")
            .field("api_user", &self.api_user)
            .field("callback_signing_secret", &"[redacted]")
            .finish()
    }
}

/// The query of `GET /_momo/admin/transactions` and `GET /_momo/admin/deliveries`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ListQuery {
    /// Only this API user's transactions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_user: Option<String>,
    /// Only the deliveries of this reference id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_id: Option<String>,
    /// How many, newest first: 100 if absent, at most 1000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
}

/// A transaction as the operator sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Transaction {
    pub reference_id: String,
    pub product: Product,
    /// The operation, as in its path: `requesttopay`, `transfer`, …
    pub kind: String,
    pub api_user: String,
    pub environment: String,
    /// Major units, as MoMo writes them.
    pub amount: String,
    pub currency: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub party: Option<Party>,
    pub status: TransactionStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub financial_transaction_id: Option<String>,
    /// Waiting for the payer (`…/approve` or `…/reject`).
    pub awaiting_approval: bool,
    /// What the transaction will become when it is due (`SUCCESSFUL` or `FAILED:{reason}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub planned_outcome: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_url: Option<String>,
    /// RFC 3339.
    pub created_at: String,
    pub updated_at: String,
}

/// `GET /_momo/admin/transactions/{referenceId}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct TransactionDetail {
    #[serde(flatten)]
    pub transaction: Transaction,
    /// What `GET …/{kind}/{referenceId}` answers now.
    pub status_body: serde_json::Value,
    pub deliveries: Vec<Delivery>,
}

/// `POST /_momo/admin/transactions/{referenceId}/force`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ForceOutcome {
    /// `SUCCESSFUL` or `FAILED`.
    pub status: TransactionStatus,
    /// The reason when FAILED (default `INTERNAL_PROCESSING_ERROR`).
    #[serde(default)]
    pub reason: Option<String>,
}

/// A callback delivery as the operator sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    pub id: String,
    pub reference_id: String,
    /// The operation of the transaction, as in [`Transaction::kind`].
    pub kind: String,
    pub api_user: String,
    pub method: String,
    pub url: String,
    /// `pending`, `delivered` or `failed`.
    pub state: String,
    pub attempts: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<String>,
    pub created_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
}

/// One attempt at delivering a callback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct DeliveryAttempt {
    pub attempt: i64,
    pub at: String,
    /// The receiver's status; absent if there was no answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_code: Option<i64>,
    pub latency_ms: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// `GET /_momo/admin/deliveries/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct DeliveryDetail {
    #[serde(flatten)]
    pub delivery: Delivery,
    /// The callback's body (a string if it is not JSON).
    pub body: serde_json::Value,
    pub attempt_log: Vec<DeliveryAttempt>,
}

/// A ledger account and its balance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Account {
    pub account: String,
    pub currency: String,
    /// Major units.
    pub balance: String,
    /// The lowest the balance may go (production wallets and accounts: 0); absent: no floor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub floor: Option<String>,
}

/// `PUT /_momo/admin/wallets/{environment}/{partyIdType}/{partyId}/balance` and
/// `PUT /_momo/admin/users/{id}/accounts/{product}/balance`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct SetBalance {
    /// Major units, e.g. "2500.50".
    pub amount: Amount,
}

/// A fault rule as the operator writes it (`POST /_momo/admin/faults`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FaultSpec {
    /// HTTP method to match; any if absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Path pattern; `*` matches any run of characters (e.g. `/collection/v1_0/requesttopay*`).
    pub path: String,
    /// Only requests of this API user (from the Bearer token or the Basic credentials).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_user: Option<String>,
    /// Answer with this status instead of serving the request; absent: only add latency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The body to answer with; a MoMo-style default for the status if absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Delay before answering (or before serving, without a status).
    #[serde(default)]
    pub latency_ms: u64,
    /// Chance that a matching request is affected (0 to 1).
    #[serde(default = "one")]
    pub probability: f64,
    /// How many requests it affects; until removed if absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<i64>,
}

fn one() -> f64 {
    1.0
}

impl FaultSpec {
    /// Why the rule cannot be used, if it cannot.
    pub fn check(&self) -> Result<(), String> {
        if !(0.0..=1.0).contains(&self.probability) {
            return Err("probability must be between 0 and 1.".into());
        }
        // Three digits, as HTTP allows (what `http::StatusCode::from_u16` accepts).
        if self.status.is_some_and(|status| !(100..1000).contains(&status)) {
            return Err("status must be an HTTP status code.".into());
        }
        if self.count.is_some_and(|c| c < 1) {
            return Err("count must be at least 1.".into());
        }
        if !self.path.starts_with('/') {
            return Err("path must start with '/'.".into());
        }
        if self.latency_ms > 600_000 {
            return Err("latencyMs must be at most 600000.".into());
        }
        Ok(())
    }
}

/// A fault rule as listed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Fault {
    pub id: String,
    #[serde(flatten)]
    pub spec: FaultSpec,
    /// Requests it may still affect, on all instances together; absent: until removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remaining: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operator_call_is_listed_once_with_its_own_method_and_route() {
        let mut seen = std::collections::HashSet::new();
        for op in AdminOperation::ALL {
            assert!(seen.insert((op.method(), op.route())), "{op:?}: {} {} twice", op.method(), op.route());
            assert!(["GET", "POST", "PUT", "DELETE"].contains(&op.method()), "{op:?}");
        }
    }

    #[test]
    fn a_fault_rule_reads_with_its_defaults_and_writes_back_without_absent_fields() {
        let spec: FaultSpec = serde_json::from_str(r#"{"path":"/v1_0/apiuser","status":500}"#).unwrap();
        assert_eq!((spec.probability, spec.latency_ms, spec.count), (1.0, 0, None));
        assert_eq!(spec.check(), Ok(()));
        let listed = Fault { id: "f1".into(), spec, remaining: None };
        let json = serde_json::to_string(&listed).unwrap();
        assert_eq!(json, r#"{"id":"f1","path":"/v1_0/apiuser","status":500,"latencyMs":0,"probability":1.0}"#);
        assert_eq!(serde_json::from_str::<Fault>(&json).unwrap(), listed);
        assert!(serde_json::from_str::<FaultSpec>(r#"{"path":"/x","colour":"red"}"#).is_err());
    }

    #[test]
    fn a_fault_rule_is_checked_as_http_allows() {
        let with_status =
            |status| FaultSpec { status: Some(status), ..serde_json::from_str(r#"{"path":"/x"}"#).unwrap() };
        assert_eq!(with_status(100).check(), Ok(()));
        assert_eq!(with_status(999).check(), Ok(()));
        assert!(with_status(99).check().is_err() && with_status(1000).check().is_err());
    }
}
