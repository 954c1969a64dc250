//! `POST /{product}/token/`, and the consent flow's answers: `bc-authorize` and
//! `oauth2/token/`.

use serde::{Deserialize, Serialize};

/// The token response. MTN's `token_type` is the literal `"access_token"`, not `"Bearer"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct AccessToken {
    pub access_token: String,
    pub token_type: String,
    pub expires_in: u64,
}

/// The form (`application/x-www-form-urlencoded`) of `POST /{product}/v1_0/bc-authorize`: ask an
/// account holder to consent. Every field may be absent on the wire so that the server can say
/// which one is missing in MoMo's error shape; `login_hint` and `scope` are required.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct BcAuthorizeRequest {
    /// `ID:<msisdn>/MSISDN`, e.g. `ID:46733123450/MSISDN`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schema", schemars(required))]
    pub login_hint: Option<String>,
    /// What the consent is for, e.g. `profile` or `all_info`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schema", schemars(required))]
    pub scope: Option<String>,
    /// `online` (the default) or `offline`, which makes the refresh token last 30 days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_type: Option<String>,
    /// Accepted and not used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent_valid_in: Option<String>,
    /// Accepted and not used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_notification_token: Option<String>,
    /// Accepted and not used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope_instruction: Option<String>,
}

/// The form (`application/x-www-form-urlencoded`) of `POST /{product}/oauth2/token/`: exchange an
/// answered consent request (`grant_type=urn:openid:params:grant-type:ciba` with `auth_req_id`)
/// or a refresh token (`grant_type=refresh_token` with `refresh_token`) for a consent token.
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Oauth2TokenRequest {
    /// `urn:openid:params:grant-type:ciba` or `refresh_token`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schema", schemars(required))]
    pub grant_type: Option<String>,
    /// The `auth_req_id` of `bc-authorize`'s answer (CIBA grant).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_req_id: Option<String>,
    /// A refresh token from an earlier answer (refresh grant).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

impl Oauth2TokenRequest {
    /// The `grant_type` of an answered consent request.
    pub const CIBA_GRANT: &'static str = "urn:openid:params:grant-type:ciba";
}

/// The answer of `POST /{product}/v1_0/bc-authorize`: the consent request's id, how often to
/// poll `oauth2/token/` for the answer, and how long the request may be answered (seconds).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct BcAuthorizeResponse {
    pub auth_req_id: String,
    pub interval: u64,
    pub expires_in: u64,
}

/// The answer of `POST /{product}/oauth2/token/`: a consent token for `userinfo`, in the
/// spec's key order (`access_token, token_type, expires_in, scope, refresh_token,
/// refresh_token_expired_in`). `Debug` shows neither token.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ConsentToken {
    pub access_token: String,
    pub token_type: String,
    pub expires_in: u64,
    pub scope: String,
    pub refresh_token: String,
    /// Seconds the refresh token has left.
    pub refresh_token_expired_in: i64,
}

/// Shows the grant type only: a refresh token and an `auth_req_id` are bearer secrets.
impl std::fmt::Debug for Oauth2TokenRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Oauth2TokenRequest").field("grant_type", &self.grant_type).finish_non_exhaustive()
    }
}

impl std::fmt::Debug for ConsentToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsentToken")
            .field("scope", &self.scope)
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_request_does_not_show_its_secrets_in_debug() {
        let request = Oauth2TokenRequest {
            grant_type: Some("refresh_token".into()),
            auth_req_id: Some("secret-auth-req-id".into()),
            refresh_token: Some("secret-refresh-token".into()),
        };
        let shown = format!("{request:?}");
        assert!(shown.contains("refresh_token\"") && !shown.contains("secret-"), "{shown}");
    }

    #[test]
    fn a_bc_authorize_answer_has_the_specs_keys_in_order() {
        let answer = BcAuthorizeResponse { auth_req_id: "id-1".into(), interval: 5, expires_in: 3600 };
        let body = serde_json::to_string(&answer).unwrap();
        assert_eq!(body, r#"{"auth_req_id":"id-1","interval":5,"expires_in":3600}"#);
        assert_eq!(serde_json::from_str::<BcAuthorizeResponse>(&body).unwrap(), answer);
    }

    #[test]
    fn a_consent_token_has_the_specs_key_order_and_hides_its_tokens() {
        let token = ConsentToken {
            access_token: "eyJ.secret-access".into(),
            token_type: "Bearer".into(),
            expires_in: 3600,
            scope: "all_info".into(),
            refresh_token: "secret-refresh".into(),
            refresh_token_expired_in: 86400,
        };
        assert_eq!(
            serde_json::to_string(&token).unwrap(),
            r#"{"access_token":"eyJ.secret-access","token_type":"Bearer","expires_in":3600,"scope":"all_info","refresh_token":"secret-refresh","refresh_token_expired_in":86400}"#
        );
        let shown = format!("{token:?}");
        assert!(!shown.contains("secret"), "{shown}");
    }
}
