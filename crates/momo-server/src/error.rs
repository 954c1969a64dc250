//! The one error type of the HTTP surface, and its exact wire form.
//!
//! `status()` and the body are exhaustive matches: a new variant forces a decision about what
//! MTN would send. Internal failures are logged in full (by `request_log`, in one line with the
//! request's id, method and path) and answered with MTN's generic `INTERNAL_PROCESSING_ERROR` body; a library's error text never reaches a client.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use momo_types::error::{ApimError, ErrorCode, ErrorReason, TokenError};

use crate::config::TokenErrorStyle;

/// Everything a request can fail with.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ApiError {
    /// Gateway: no `Ocp-Apim-Subscription-Key` header nor `subscription-key` query parameter.
    #[error("missing subscription key")]
    MissingSubscriptionKey,
    /// Gateway: the key is unknown, revoked, or for another product.
    #[error("invalid subscription key")]
    InvalidSubscriptionKey,
    /// Gateway: no operation has this method and path.
    #[error("no such operation")]
    RouteNotFound,
    /// A malformed header, path parameter or body (MTN's 400; its body is ours, see
    /// `docs/compatibility.md`).
    #[error("bad request: {0}")]
    BadRequest(String),
    /// A body that is not JSON where JSON is required.
    #[error("unsupported media type: {0}")]
    UnsupportedMediaType(String),
    /// A body over the server's limit.
    #[error("payload too large (limit {0} bytes)")]
    PayloadTooLarge(usize),
    /// The `X-Reference-Id` names a resource that exists already.
    #[error("resource already exists")]
    ResourceAlreadyExist,
    /// The id in the path names nothing.
    #[error("resource not found")]
    ResourceNotFound,
    /// Token endpoint: wrong, missing or malformed Basic credentials.
    #[error("login failed")]
    LoginFailed(TokenErrorStyle),
    /// Token endpoint on the `momo-africa` platform: `X-Target-Environment` missing or wrong.
    #[error("invalid or missing X-Target-Environment on a token request")]
    TokenTargetEnvironment,
    /// An OAuth2 error of the consent flow (`authorization_pending`, `access_denied`, …): 400
    /// `{"error":"…"}` as RFC 6749 and OpenID CIBA define (MTN documents none).
    #[error("oauth2 error {0}")]
    OAuth(&'static str),
    /// `X-Target-Environment` unknown, missing, or not the API user's.
    #[error("target environment not allowed")]
    NotAllowedTargetEnvironment,
    /// A currency that is not the environment's.
    #[error("currency not supported")]
    InvalidCurrency,
    /// No usable Bearer token: missing, malformed, forged, expired, of a revoked user or of a
    /// replaced key.
    #[error("unauthorized")]
    Unauthorized,
    /// Operator API: no valid operator token.
    #[error("operator token required")]
    OperatorUnauthorized,
    /// Operator API: too many failed authentications from this address; refused without checking
    /// the token for this long.
    #[error("operator authentication throttled")]
    OperatorThrottled(std::time::Duration),
    /// Operator API: the action does not apply to the resource's state (e.g. a revoked user).
    #[error("conflict: {0}")]
    OperatorConflict(String),
    /// A synchronous MoMo business error with MTN's message for its code (e.g. 500
    /// `INVALID_CALLBACK_URL_HOST`, 503 `SERVICE_UNAVAILABLE`, 409 on a delivery notification).
    #[error("{1}")]
    Business(StatusCode, ErrorCode),
    /// The same with a message of its own (for codes whose usual message does not fit).
    #[error("{1}: {2}")]
    Refused(StatusCode, ErrorCode, &'static str),
    /// An MTN operation openmomo does not implement yet.
    #[error("not implemented: {0}")]
    NotImplemented(&'static str),
    /// The database is out of reach for now (down, restarting): 503 `SERVICE_UNAVAILABLE`,
    /// which MTN's clients (and ours) retry.
    #[error("database unavailable: {0:#}")]
    Unavailable(anyhow::Error),
    /// Anything else: a database failure, a bug.
    #[error(transparent)]
    Internal(anyhow::Error),
}

impl From<crate::domain::DomainError> for ApiError {
    fn from(e: crate::domain::DomainError) -> Self {
        use crate::domain::DomainError;
        match e {
            DomainError::Invalid(message) => ApiError::BadRequest(message),
            DomainError::InvalidCurrency => ApiError::InvalidCurrency,
            DomainError::Refused(code) => ApiError::momo500(code),
        }
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        match e {
            crate::store::StoreError::Conflict => ApiError::ResourceAlreadyExist,
            crate::store::StoreError::Unavailable(e) => ApiError::Unavailable(e.into()),
            crate::store::StoreError::Backend(e) => ApiError::Internal(e.into()),
            // Only an operator's balance change can meet it here (payments are refused with
            // PAYEE_LIMIT_REACHED / PAYER_LIMIT_REACHED when they settle).
            crate::store::StoreError::BalanceLimit => ApiError::OperatorConflict(format!(
                "the balance would pass the ledger's limit of {} minor units",
                crate::domain::money::BALANCE_LIMIT_MINOR
            )),
        }
    }
}

impl From<anyhow::Error> for ApiError {
    /// Internal, unless a store failure in its chain says the database is out of reach.
    fn from(e: anyhow::Error) -> Self {
        let unavailable =
            e.chain().any(|cause| matches!(cause.downcast_ref(), Some(crate::store::StoreError::Unavailable(_))));
        if unavailable {
            ApiError::Unavailable(e)
        } else {
            ApiError::Internal(e)
        }
    }
}

/// The three body shapes.
enum Body {
    /// Azure API Management's `{ "statusCode": …, "message": … }`.
    Apim(&'static str),
    /// MoMo's `{"code":…,"message":…}`.
    Momo(ErrorCode, String),
    /// The token endpoint's `{"error":…}`, with its `no-store` headers.
    Token(&'static str),
    /// A body given byte for byte.
    Raw(&'static str),
}

impl ApiError {
    /// A synchronous 500 with a MoMo code, as MTN answers most business refusals.
    pub(crate) fn momo500(code: ErrorCode) -> Self {
        ApiError::Business(StatusCode::INTERNAL_SERVER_ERROR, code)
    }

    pub(crate) fn status(&self) -> StatusCode {
        match self {
            ApiError::MissingSubscriptionKey | ApiError::InvalidSubscriptionKey => StatusCode::UNAUTHORIZED,
            ApiError::RouteNotFound => StatusCode::NOT_FOUND,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::ResourceAlreadyExist => StatusCode::CONFLICT,
            ApiError::ResourceNotFound => StatusCode::NOT_FOUND,
            // The sandbox answers 500 here, not the 401 the spec lists (docs/compatibility.md).
            ApiError::LoginFailed(TokenErrorStyle::Observed) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::LoginFailed(TokenErrorStyle::Spec) => StatusCode::UNAUTHORIZED,
            ApiError::TokenTargetEnvironment | ApiError::OAuth(_) => StatusCode::BAD_REQUEST,
            // MTN's common-error table: a wrong target environment is a 500, not a 4xx.
            ApiError::NotAllowedTargetEnvironment => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::InvalidCurrency => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Unauthorized | ApiError::OperatorUnauthorized => StatusCode::UNAUTHORIZED,
            ApiError::OperatorConflict(_) => StatusCode::CONFLICT,
            ApiError::OperatorThrottled(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Business(status, _) | ApiError::Refused(status, _, _) => *status,
            ApiError::NotImplemented(_) => StatusCode::NOT_IMPLEMENTED,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn body(&self) -> Body {
        match self {
            ApiError::MissingSubscriptionKey => Body::Apim(ApimError::MISSING_KEY),
            ApiError::InvalidSubscriptionKey => Body::Apim(ApimError::INVALID_KEY),
            ApiError::RouteNotFound => Body::Apim(ApimError::NOT_FOUND),
            ApiError::BadRequest(message) | ApiError::UnsupportedMediaType(message) => {
                Body::Momo(ErrorCode::ValidationError, message.clone())
            }
            ApiError::PayloadTooLarge(limit) => Body::Momo(
                ErrorCode::PayloadTooLarge,
                format!("The request body is larger than the {limit} bytes this server accepts."),
            ),
            ApiError::ResourceAlreadyExist => Body::Momo(
                ErrorCode::ResourceAlreadyExist,
                "Duplicated reference id. Creation of resource failed.".into(),
            ),
            ApiError::ResourceNotFound => {
                Body::Momo(ErrorCode::ResourceNotFound, "Requested resource was not found.".into())
            }
            ApiError::LoginFailed(_) => Body::Token("login_failed"),
            ApiError::OAuth(error) => Body::Token(error),
            // Spacing as observed on the new platform (docs/configuration.md, `--platform`).
            ApiError::TokenTargetEnvironment => {
                Body::Raw(r#"{"error": "Invalid or missing X-Target-Environment header"}"#)
            }
            ApiError::NotAllowedTargetEnvironment => {
                Body::Momo(ErrorCode::NotAllowedTargetEnvironment, "Access to target environment is forbidden.".into())
            }
            ApiError::InvalidCurrency => Body::Momo(ErrorCode::InvalidCurrency, "Currency not supported.".into()),
            ApiError::Unauthorized => Body::Momo(
                ErrorCode::Unauthorized,
                "Access token is missing, invalid or expired. Request a new one from /{product}/token/.".into(),
            ),
            ApiError::OperatorUnauthorized => Body::Momo(
                ErrorCode::Unauthorized,
                "A valid operator token is required: send it as 'Authorization: Bearer <token>'.".into(),
            ),
            ApiError::OperatorConflict(message) => Body::Momo(ErrorCode::NotAllowed, message.clone()),
            ApiError::OperatorThrottled(wait) => Body::Momo(
                ErrorCode::TooManyRequests,
                format!(
                    "Too many failed operator authentications from this address; try again in {} seconds.",
                    retry_after_secs(*wait)
                ),
            ),
            ApiError::Business(_, code) => Body::Momo(code.clone(), code.default_message().into()),
            ApiError::Refused(_, code, message) => Body::Momo(code.clone(), (*message).into()),
            ApiError::NotImplemented(operation) => Body::Momo(
                ErrorCode::NotImplemented,
                format!("openmomo does not implement {operation} yet; see docs/compatibility.md."),
            ),
            ApiError::Unavailable(_) => {
                Body::Momo(ErrorCode::ServiceUnavailable, ErrorCode::ServiceUnavailable.default_message().into())
            }
            ApiError::Internal(_) => {
                Body::Momo(ErrorCode::InternalProcessingError, "An internal error occurred while processing.".into())
            }
        }
    }
}

const JSON: HeaderValue = HeaderValue::from_static("application/json");
/// The content type MTN sends on token answers and new API keys.
pub(crate) const JSON_UTF8: HeaderValue = HeaderValue::from_static("application/json;charset=utf-8");

/// Why an answer is a 5xx: the error's whole chain, which never goes on the wire. Attached to the
/// answer for [`crate::request_log`] to log once, in one line with the request's id, method and
/// path (the request's span, which would carry them, exists only while the access log is on).
#[derive(Debug, Clone)]
pub(crate) enum FailureCause {
    Internal(String),
    Unavailable(String),
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let cause = match &self {
            ApiError::Internal(e) => Some(FailureCause::Internal(format!("{e:#}"))),
            ApiError::Unavailable(e) => Some(FailureCause::Unavailable(format!("{e:#}"))),
            _ => None,
        };
        let status = self.status();
        let retry_after = match &self {
            ApiError::OperatorThrottled(wait) => Some(HeaderValue::from(retry_after_secs(*wait))),
            _ => None,
        };
        let (content_type, text, no_store) = match self.body() {
            Body::Apim(message) => {
                let body = ApimError { status_code: status.as_u16(), message: message.into(), activity_id: None };
                (JSON, body.to_wire(), false)
            }
            Body::Momo(code, message) => {
                let body = ErrorReason::new(code, message);
                (JSON, serde_json::to_string(&body).unwrap_or_default(), false)
            }
            Body::Token(error) => {
                let body = TokenError { error: error.into() };
                (JSON_UTF8, serde_json::to_string(&body).unwrap_or_default(), true)
            }
            Body::Raw(text) => (JSON, text.to_owned(), false),
        };
        let mut response = (status, text).into_response();
        if let Some(cause) = cause {
            response.extensions_mut().insert(cause);
        }
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, content_type);
        if let Some(seconds) = retry_after {
            headers.insert(header::RETRY_AFTER, seconds);
        }
        if no_store {
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        }
        response
    }
}

/// Whole seconds to wait, rounded up (never 0: "try again in 0 seconds" would be false).
fn retry_after_secs(wait: std::time::Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

/// The result type of handlers.
pub(crate) type ApiResult<T> = Result<T, ApiError>;
