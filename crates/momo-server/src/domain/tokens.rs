//! Access tokens.
//!
//! Tokens are JWTs shaped like MTN's (claims `clientId`, `expires`, `sessionId`), signed with
//! HS256 under a key the server keeps in its database, so every instance sharing that database
//! accepts them and they survive restarts. MTN's header says `"alg":"R256"`; ours is a real
//! algorithm name, since clients treat the token as opaque.
//!
//! A token also records the environment, product and key version it was issued under: when the
//! API user's key is replaced, tokens of the old key stop working.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use momo_types::Product;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// What a token says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The API user.
    #[serde(rename = "clientId")]
    pub client_id: String,
    /// MTN's expiry field, e.g. `2020-06-09T20:32:42.201`.
    pub expires: String,
    #[serde(rename = "sessionId")]
    pub session_id: String,
    /// Expiry, seconds since the Unix epoch.
    pub exp: i64,
    pub iat: i64,
    /// The environment of the API user.
    pub env: String,
    /// The product whose `/token/` issued it.
    pub prd: Product,
    /// The key version of the API user when it was issued.
    pub kv: i64,
    /// Present on tokens from `/oauth2/token/`: the account holder's consent. Such a token works
    /// only on `/oauth2/v1_0/userinfo`, and ordinary tokens never work there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent: Option<ConsentClaims>,
}

/// What an account holder consented to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentClaims {
    /// The account holder's MSISDN.
    pub sub: String,
    pub scope: String,
    pub auth_req_id: String,
}

/// Signs and checks tokens.
pub struct TokenSigner {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    /// The longest a token is accepted after its `iat`, whatever its `exp` says.
    max_lifetime: i64,
}

/// How far in the future a token's `iat` may be: instances sharing a database may disagree a
/// little about the time.
const CLOCK_SKEW_SECONDS: i64 = 60;

impl std::fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenSigner { key: [redacted] }")
    }
}

/// What to put into a new token.
#[derive(Debug, Clone)]
pub struct TokenRequest {
    pub api_user: String,
    pub environment: String,
    pub product: Product,
    pub key_version: i64,
    pub consent: Option<ConsentClaims>,
}

const MTN_EXPIRES: &[time::format_description::FormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]");

impl TokenSigner {
    /// A signer under `key` that accepts a token for at most `max_lifetime` (the configured
    /// token lifetime) after it was issued.
    pub fn new(key: &[u8], max_lifetime: std::time::Duration) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        // Expiry is checked against the server's (injectable) clock in `verify`.
        validation.validate_exp = false;
        validation.required_spec_claims.clear();
        Self {
            encoding: EncodingKey::from_secret(key),
            decoding: DecodingKey::from_secret(key),
            validation,
            max_lifetime: i64::try_from(max_lifetime.as_secs()).unwrap_or(i64::MAX),
        }
    }

    /// A signed token valid from `now` for `ttl_seconds`.
    pub fn issue(&self, request: TokenRequest, now: OffsetDateTime, ttl_seconds: u64) -> anyhow::Result<String> {
        let ttl = i64::try_from(ttl_seconds).unwrap_or(i64::MAX / 2);
        let expires_at = now + time::Duration::seconds(ttl);
        let claims = Claims {
            client_id: request.api_user,
            expires: expires_at.format(MTN_EXPIRES)?,
            session_id: uuid::Uuid::new_v4().to_string(),
            exp: expires_at.unix_timestamp(),
            iat: now.unix_timestamp(),
            env: request.environment,
            prd: request.product,
            kv: request.key_version,
            consent: request.consent,
        };
        Ok(jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)?)
    }

    /// The claims of a token that is well formed, signed by us and not expired at `now`: its
    /// `exp` is in the future, and it was issued (`iat`) less than the maximum lifetime ago and
    /// not in the future. A token whose `exp` lies further out than this server would ever have
    /// set (forged with a stolen key, or issued under a longer lifetime setting) ends with the
    /// lifetime this server enforces.
    pub fn verify(&self, token: &str, now: OffsetDateTime) -> Option<Claims> {
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation).ok()?.claims;
        self.in_force(&claims, now).then_some(claims)
    }

    /// Whether the claims of a token verified before are still in force at `now` (the time
    /// checks of [`TokenSigner::verify`]; the signature is not checked again).
    pub fn in_force(&self, claims: &Claims, now: OffsetDateTime) -> bool {
        let now = now.unix_timestamp();
        let fresh =
            claims.iat <= now.saturating_add(CLOCK_SKEW_SECONDS) && now < claims.iat.saturating_add(self.max_lifetime);
        claims.exp > now && fresh
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> TokenRequest {
        TokenRequest {
            api_user: "c72025f5-5cd1-4630-99e4-8ba4722fad56".into(),
            environment: "sandbox".into(),
            product: Product::Collection,
            key_version: 1,
            consent: None,
        }
    }

    #[test]
    fn issued_tokens_verify_until_they_expire() {
        let signer = TokenSigner::new(b"0123456789abcdef0123456789abcdef", HOUR);
        let now = OffsetDateTime::now_utc();
        let token = signer.issue(request(), now, 3600).unwrap();
        let claims = signer.verify(&token, now).unwrap();
        assert_eq!(claims.client_id, "c72025f5-5cd1-4630-99e4-8ba4722fad56");
        assert_eq!(claims.kv, 1);
        assert_eq!(claims.expires.len(), "2020-06-09T20:32:42.201".len());
        assert!(signer.verify(&token, now + time::Duration::seconds(3599)).is_some());
        assert!(signer.verify(&token, now + time::Duration::seconds(3600)).is_none());
    }

    const HOUR: std::time::Duration = std::time::Duration::from_secs(3600);

    #[test]
    fn a_token_is_refused_past_the_maximum_lifetime_whatever_its_expiry() {
        let signer = TokenSigner::new(b"0123456789abcdef0123456789abcdef", HOUR);
        let now = OffsetDateTime::now_utc();
        // Signed with the right key, but with a day's expiry: the server's lifetime wins.
        let long = signer.issue(request(), now, 86_400).unwrap();
        assert!(signer.verify(&long, now + time::Duration::seconds(3599)).is_some());
        assert!(signer.verify(&long, now + time::Duration::seconds(3600)).is_none());
        // Issued "in the future" to stretch the window: refused.
        let ahead = signer.issue(request(), now + time::Duration::hours(2), 86_400).unwrap();
        assert!(signer.verify(&ahead, now).is_none());
    }

    #[test]
    fn tokens_of_another_key_and_garbage_are_refused() {
        let ours = TokenSigner::new(b"0123456789abcdef0123456789abcdef", HOUR);
        let theirs = TokenSigner::new(b"fedcba9876543210fedcba9876543210", HOUR);
        let now = OffsetDateTime::now_utc();
        let forged = theirs.issue(request(), now, 3600).unwrap();
        assert!(ours.verify(&forged, now).is_none());
        for garbage in ["", "a.b.c", "not a token", "eyJhbGciOiJub25lIn0.e30."] {
            assert!(ours.verify(garbage, now).is_none());
        }
    }
}
