//! The sandbox provisioning API (`/v1_0/apiuser…`).

use serde::{Deserialize, Serialize};

/// The body of `POST /v1_0/apiuser`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct CreateApiUser {
    pub provider_callback_host: String,
}

/// The body of `GET /v1_0/apiuser/{id}`. `targetEnvironment` is a plain string on the wire,
/// although MTN's exported schema models it as an object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ApiUserInfo {
    pub provider_callback_host: String,
    pub target_environment: String,
}

/// The body of `POST /v1_0/apiuser/{id}/apikey`: 32 lowercase hex digits.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyCreated {
    pub api_key: String,
}

impl std::fmt::Debug for ApiKeyCreated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKeyCreated").field("api_key", &"[redacted]").finish()
    }
}
