//! Bodies of openmomo's operator API (`/_momo/admin/…`): what MTN's Partner Portal does for a
//! production API user, and the management of subscription keys. Not part of MTN's API.
//!
//! Secrets (API keys, subscription keys) appear only in the `…Created` bodies, once.

use serde::{Deserialize, Serialize};

use crate::Product;

/// Which kind of credentials an API user has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
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
#[serde(rename_all = "kebab-case")]
pub enum UserOrigin {
    /// `POST /v1_0/apiuser` (sandbox only).
    SandboxProvisioning,
    /// The operator API.
    Operator,
}

/// An API user as the operator API lists it: never its key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
