//! Typed extractors for MoMo's headers, path parameters and JSON bodies.
//!
//! Handlers never parse a header or a body by hand, and every rejection is an [`ApiError`]:
//! a malformed request gets MoMo's error shape, never axum's plain-text rejection.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use axum::http::HeaderName;
use base64::Engine as _;
use momo_types::{headers, Environment, Product, ReferenceId};
use secrecy::SecretString;
use serde::de::DeserializeOwned;

use crate::config::TokenScope;
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::ApiUserRecord;
use momo_types::payments::{Party, PartyIdType};

/// The value of a header that may appear at most once, as visible ASCII.
/// `Ok(None)` if absent; an error if repeated or not printable.
fn single_header<'a>(parts: &'a Parts, name: &'static str) -> Result<Option<&'a str>, ApiError> {
    let mut values = parts.headers.get_all(HeaderName::from_static(name)).iter();
    let Some(value) = values.next() else { return Ok(None) };
    if values.next().is_some() {
        return Err(ApiError::BadRequest(format!("The {} header must be sent once.", display_name(name))));
    }
    let value = value
        .to_str()
        .map_err(|_| ApiError::BadRequest(format!("The {} header must be printable ASCII.", display_name(name))))?;
    Ok(Some(value.trim()))
}

/// MoMo's spelling of a header name, for messages.
fn display_name(name: &str) -> &str {
    match name {
        headers::REFERENCE_ID => "X-Reference-Id",
        headers::TARGET_ENVIRONMENT => "X-Target-Environment",
        headers::CALLBACK_URL => "X-Callback-Url",
        "authorization" => "Authorization",
        other => other,
    }
}

/// A JSON body, with MoMo-style rejections: 415 for another content type, 413 over the size
/// limit, 400 for an empty body, invalid JSON or a field of the wrong shape.
#[derive(Debug)]
pub(crate) struct MomoJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for MomoJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        read_json(req, state)
            .await?
            .map(MomoJson)
            .ok_or_else(|| ApiError::BadRequest("A JSON request body is required.".into()))
    }
}

/// A JSON body that may be absent (empty), with [`MomoJson`]'s rejections otherwise.
#[derive(Debug)]
pub(crate) struct OptionalJson<T>(pub Option<T>);

impl<T: DeserializeOwned> FromRequest<AppState> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        read_json(req, state).await.map(OptionalJson)
    }
}

/// Read and parse a JSON body; `None` if it is empty.
async fn read_json<T: DeserializeOwned>(req: Request, state: &AppState) -> Result<Option<T>, ApiError> {
    // Liberal in: no Content-Type is accepted if the body is JSON; another type is refused.
    if let Some(content_type) = req.headers().get(CONTENT_TYPE) {
        let is_json = content_type
            .to_str()
            .ok()
            .and_then(|ct| ct.split(';').next())
            .map(|mime| {
                let mime = mime.trim().to_ascii_lowercase();
                mime == "application/json" || mime.ends_with("+json")
            })
            .unwrap_or(false);
        if !is_json {
            return Err(ApiError::UnsupportedMediaType(
                "The request body must be JSON, sent with 'Content-Type: application/json'.".into(),
            ));
        }
    }
    let limit = state.settings.max_body_bytes;
    let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
        if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge(limit)
        } else {
            ApiError::BadRequest("The request body could not be read.".into())
        }
    })?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    serde_json::from_slice(&bytes).map(Some).map_err(|e| {
        use serde_json::error::Category;
        match e.classify() {
            Category::Data => ApiError::BadRequest(format!("The request body is invalid: {e}.")),
            Category::Syntax | Category::Eof | Category::Io => {
                ApiError::BadRequest("The request body is not valid JSON.".into())
            }
        }
    })
}

/// The `X-Reference-Id` header of a create request: required, a UUID version 4.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReferenceIdHeader(pub ReferenceId);

impl<S: Send + Sync> FromRequestParts<S> for ReferenceIdHeader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let value = single_header(parts, headers::REFERENCE_ID)?
            .ok_or_else(|| ApiError::BadRequest("The X-Reference-Id header is required.".into()))?;
        parse_reference_id(value, "The X-Reference-Id header").map(ReferenceIdHeader)
    }
}

/// Parse a reference id, or explain in a 400 why it is not one.
pub(crate) fn parse_reference_id(value: &str, what: &str) -> Result<ReferenceId, ApiError> {
    value.parse().map_err(|e| ApiError::BadRequest(format!("{what} {e}; UUID version 4 is required.")))
}

/// Path parameters (percent-decoded), with a MoMo-style 400 when they cannot be decoded, never
/// axum's plain-text rejection.
#[derive(Debug, Clone)]
pub(crate) struct MomoPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for MomoPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| MomoPath(value))
            .map_err(|_| ApiError::BadRequest("A path parameter is malformed.".into()))
    }
}

/// A single path parameter: [`MomoPath`] of one string.
#[derive(Debug, Clone)]
pub(crate) struct PathParam(pub String);

impl<S: Send + Sync> FromRequestParts<S> for PathParam {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        MomoPath::<String>::from_request_parts(parts, state).await.map(|MomoPath(value)| PathParam(value))
    }
}

/// A query string, with a MoMo-style 400 when it does not parse.
#[derive(Debug, Clone)]
pub(crate) struct MomoQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for MomoQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| MomoQuery(value))
            .map_err(|e| ApiError::BadRequest(format!("The query string is invalid: {}.", e.body_text())))
    }
}

/// The raw `X-Target-Environment` header, checked by whoever needs it.
#[derive(Debug, Clone)]
pub(crate) struct TargetEnvironmentHeader(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for TargetEnvironmentHeader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        // A repeated or unprintable value names no environment; the caller decides the answer.
        let value = single_header(parts, headers::TARGET_ENVIRONMENT).ok().flatten();
        Ok(Self(value.filter(|v| !v.is_empty()).map(str::to_owned)))
    }
}

/// The raw `X-Callback-Url` header: `Some("")` when present but empty (a 400 later).
#[derive(Debug, Clone)]
pub(crate) struct CallbackUrlHeader(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for CallbackUrlHeader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(single_header(parts, headers::CALLBACK_URL)?.map(str::to_owned)))
    }
}

/// An optional header that must be printable ASCII if present (e.g. `notificationMessage`).
pub(crate) fn optional_header(parts: &Parts, name: &'static str) -> Result<Option<String>, ApiError> {
    Ok(single_header(parts, name)?.map(str::to_owned))
}

/// `Authorization: Basic base64(user:key)`, if present and well formed.
#[derive(Debug)]
pub(crate) struct BasicCredentials {
    pub user: String,
    pub key: SecretString,
}

/// Basic credentials or nothing: every malformation is the same `login_failed` to the token endpoint.
#[derive(Debug)]
pub(crate) struct MaybeBasic(pub Option<BasicCredentials>);

impl<S: Send + Sync> FromRequestParts<S> for MaybeBasic {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let Ok(Some(value)) = single_header(parts, "authorization") else { return Ok(Self(None)) };
        Ok(Self(parse_basic(value)))
    }
}

fn parse_basic(value: &str) -> Option<BasicCredentials> {
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    // The user id never contains ':' (a UUID, or base64 on the new platform); the key may.
    let (user, key) = decoded.split_once(':')?;
    (!user.is_empty() && !key.is_empty())
        .then(|| BasicCredentials { user: user.to_owned(), key: SecretString::from(key.to_owned()) })
}

/// `Authorization: Bearer <token>`, if present.
fn bearer(parts: &Parts) -> Option<&str> {
    let value = single_header(parts, "authorization").ok()??;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The product of the request, from the first segment of its path.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CurrentProduct(pub Product);

impl<S: Send + Sync> FromRequestParts<S> for CurrentProduct {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Product::from_path(parts.uri.path()).map(CurrentProduct).ok_or(ApiError::RouteNotFound)
    }
}

/// An API user calling a product operation with a valid access token and the right
/// `X-Target-Environment` (checked in that order, docs/compatibility.md).
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    pub user: Arc<ApiUserRecord>,
    pub environment: &'static Environment,
    pub product: Product,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let (caller, consent) = authorize(parts, state).await?;
        // A consent token (from /oauth2/token/) is for userinfo only.
        if consent.is_some() {
            return Err(ApiError::Unauthorized);
        }
        Ok(caller)
    }
}

/// A caller holding an account holder's consent (a token from `/oauth2/token/`): checked as
/// any caller is, and carrying the consent.
#[derive(Debug, Clone)]
pub(crate) struct ConsentCaller {
    pub(crate) consent: crate::domain::tokens::ConsentClaims,
}

impl FromRequestParts<AppState> for ConsentCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let (_, consent) = authorize(parts, state).await?;
        let consent = consent.ok_or(ApiError::Unauthorized)?;
        Ok(ConsentCaller { consent })
    }
}

/// The token check shared by [`Caller`] and [`ConsentCaller`].
async fn authorize(
    parts: &Parts,
    state: &AppState,
) -> Result<(Caller, Option<crate::domain::tokens::ConsentClaims>), ApiError> {
    let product = Product::from_path(parts.uri.path()).ok_or(ApiError::RouteNotFound)?;
    let token = bearer(parts).ok_or(ApiError::Unauthorized)?;
    let claims = state.cache.verified_token(&state.tokens, token, state.clock.now()).ok_or(ApiError::Unauthorized)?;
    let user = state.cache.api_user(state.store.as_ref(), &claims.client_id).await?.ok_or(ApiError::Unauthorized)?;
    let current = user.revoked_at.is_none() && user.key_version == claims.kv && user.key_hash.is_some();
    let scoped = match state.settings.token_scope {
        TokenScope::Shared => true,
        TokenScope::Product => claims.prd == product,
    };
    if !current || !scoped {
        return Err(ApiError::Unauthorized);
    }
    let environment = target_environment_of(parts, &user.environment)?;
    Ok((Caller { user, environment, product }, claims.consent.clone()))
}

/// The request's `X-Target-Environment`, which must be `expected`; else MTN's 500
/// `NOT_ALLOWED_TARGET_ENVIRONMENT`.
pub(crate) fn target_environment_of(parts: &Parts, expected: &str) -> Result<&'static Environment, ApiError> {
    let requested = single_header(parts, headers::TARGET_ENVIRONMENT).ok().flatten();
    requested
        .and_then(Environment::lookup)
        .filter(|env| env.name == expected)
        .ok_or(ApiError::NotAllowedTargetEnvironment)
}

/// An `application/x-www-form-urlencoded` body (bc-authorize, oauth2/token), with MoMo-style
/// rejections.
#[derive(Debug)]
pub(crate) struct MomoForm<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for MomoForm<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let limit = state.settings.max_body_bytes;
        axum::Form::<T>::from_request(req, state).await.map(|axum::Form(v)| MomoForm(v)).map_err(|rejection| {
            match rejection.status() {
                axum::http::StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge(limit),
                axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedMediaType(
                    "The request body must be sent with 'Content-Type: application/x-www-form-urlencoded'.".into(),
                ),
                _ => ApiError::BadRequest(format!("The form body is invalid: {}.", rejection.body_text())),
            }
        })
    }
}

/// The operator API's `Authorization: Bearer <operator token>`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Operator;

impl FromRequestParts<AppState> for Operator {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        operator_or(parts, state, None).await.map(|()| Operator)
    }
}

/// Whoever may read `GET /_momo/metrics`: the operator, or a scraper with the scrape token
/// (`--metrics-token`), which opens nothing else. Refused as the operator API refuses.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MetricsReader;

impl FromRequestParts<AppState> for MetricsReader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        operator_or(parts, state, state.metrics_token.as_ref()).await.map(|()| MetricsReader)
    }
}

/// Accept the request's Bearer token if it is an operator token or hashes to `also`.
///
/// A wrong token counts against the client's address; a locked-out address is refused with 429
/// before its token is looked at (`domain::throttle`). A missing token guesses nothing and is not
/// counted.
async fn operator_or(
    parts: &Parts,
    state: &AppState,
    also: Option<&crate::domain::credentials::SecretHash>,
) -> Result<(), ApiError> {
    // Without the peer's address (a server started without connect info) every client
    // shares one count: stricter, never more lenient.
    let address = parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map_or(std::net::IpAddr::from([0, 0, 0, 0]), |info| info.0.ip());
    let attempt = state.operator_failures.admit(address, &state.clock).await.map_err(ApiError::OperatorThrottled)?;
    let Some(token) = bearer(parts) else { return Err(ApiError::OperatorUnauthorized) };
    if also.is_some_and(|expected| state.hasher.matches(expected, token)) {
        return Ok(());
    }
    if state.store.operator_token_exists(&state.hasher.hash(token)).await? {
        return Ok(());
    }
    if attempt.failed(state.clock.now_ms()) {
        tracing::warn!(
            client = %address,
            failures = crate::domain::throttle::FailureThrottle::LIMIT,
            "wrong operator tokens: this address is refused until its window passes"
        );
    }
    Err(ApiError::OperatorUnauthorized)
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn basic_credentials_parse_and_reject_malformed_values() {
        let encoded = base64::engine::general_purpose::STANDARD.encode("user-id:the:key");
        let creds = parse_basic(&format!("Basic {encoded}")).unwrap();
        assert_eq!(creds.user, "user-id");
        assert_eq!(creds.key.expose_secret(), "the:key");
        assert!(parse_basic(&format!("basic {encoded}")).is_some());
        for bad in ["Basic", "Basic !!!", "Bearer abc", "Basic dXNlcg==", "Basic OmtleQ==", ""] {
            assert!(parse_basic(bad).is_none(), "{bad:?} was accepted");
        }
    }
}

/// `{accountHolderIdType}/{accountHolderId}`: MTN documents lowercase types; any case is read.
#[derive(Debug)]
pub(crate) struct AccountHolder(pub Party);

impl FromRequestParts<AppState> for AccountHolder {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let MomoPath((kind, id)) = MomoPath::<(String, String)>::from_request_parts(parts, state).await?;
        let party_id_type = match kind.to_ascii_lowercase().as_str() {
            "msisdn" => PartyIdType::Msisdn,
            "email" => PartyIdType::Email,
            "party_code" | "partycode" | "id" | "alias" => PartyIdType::PartyCode,
            _ => return Err(ApiError::BadRequest("accountHolderIdType must be msisdn, email or party_code.".into())),
        };
        let party = Party { party_id_type, party_id: id };
        // Alias and id are free-form at MTN; only check the documented types.
        if matches!(kind.to_ascii_lowercase().as_str(), "msisdn" | "email" | "party_code") {
            crate::domain::validation::check_party("accountHolder", &party)?;
        }
        Ok(AccountHolder(party))
    }
}

/// The router's filter for a method of an operation table (`None` for one axum cannot route).
pub(crate) fn method_filter(method: &str) -> Option<axum::routing::MethodFilter> {
    axum::routing::MethodFilter::try_from(axum::http::Method::from_bytes(method.as_bytes()).ok()?).ok()
}
