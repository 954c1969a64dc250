//! `POST /{product}/token/`.

use serde::{Deserialize, Serialize};

/// The token response. MTN's `token_type` is the literal `"access_token"`, not `"Bearer"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessToken {
    pub access_token: String,
    pub token_type: String,
    pub expires_in: u64,
}
