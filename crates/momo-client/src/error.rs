//! What can go wrong, kept apart so a caller can act on each.

use momo_types::ErrorCode;

/// An SDK error. A FAILED transaction is not an error: it is a status with a reason.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The client is configured wrongly (a missing or malformed setting, naming it).
    #[error("configuration: {0}")]
    Config(String),
    /// The API gateway refused the request: missing or invalid subscription key (401), rate limit
    /// (429), or its own failure (`{ "statusCode": 500, … }`).
    #[error("gateway answered {status}: {message}")]
    Gateway { status: u16, message: String },
    /// The token endpoint refused the credentials (`{"error":"login_failed"}`, 500 at the sandbox,
    /// 401 per the spec), or the access token was refused twice.
    #[error("authentication failed ({status}): {error}")]
    Authentication { status: u16, error: String },
    /// MoMo answered with its `{"code","message"}` body (400, 404, 409, 500 business errors, 503).
    #[error("MoMo answered {status} {code}: {message}")]
    Momo { status: u16, code: ErrorCode, message: String },
    /// An OAuth2 error of the consent flow (`authorization_pending`, `access_denied`, …).
    #[error("OAuth2 error ({status}): {error}")]
    OAuth { status: u16, error: String },
    /// Any other HTTP answer.
    #[error("HTTP {status}: {body}")]
    Http { status: u16, body: String },
    /// The request did not get an answer (connection refused, reset, timed out).
    #[error("transport: {0}")]
    Transport(#[source] reqwest::Error),
    /// An answer that could not be decoded; the body is kept for diagnosis.
    #[error("could not decode the answer ({status}): {error}; body: {body}")]
    Decode { status: u16, body: String, error: String },
    /// `wait_for_final_status` ran out of time; the last status seen is kept.
    #[error("no final status after waiting (last status: {last_status})")]
    Timeout { last_status: String },
}

impl Error {
    /// The MoMo reason code, if MoMo answered with one.
    pub fn code(&self) -> Option<&ErrorCode> {
        match self {
            Error::Momo { code, .. } => Some(code),
            _ => None,
        }
    }

    /// The HTTP status, if there was an answer.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Gateway { status, .. }
            | Error::Authentication { status, .. }
            | Error::Momo { status, .. }
            | Error::OAuth { status, .. }
            | Error::Http { status, .. }
            | Error::Decode { status, .. } => Some(*status),
            Error::Config(_) | Error::Transport(_) | Error::Timeout { .. } => None,
        }
    }

    /// Classify an error answer by its body shape.
    pub(crate) fn from_answer(status: u16, body: &str) -> Error {
        #[derive(serde::Deserialize)]
        struct Apim {
            #[serde(rename = "statusCode")]
            _status_code: u16,
            message: String,
        }
        #[derive(serde::Deserialize)]
        struct OAuthBody {
            error: String,
        }
        if let Ok(apim) = serde_json::from_str::<Apim>(body) {
            return Error::Gateway { status, message: apim.message };
        }
        if let Ok(reason) = serde_json::from_str::<momo_types::ErrorReason>(body) {
            return Error::Momo { status, code: reason.code, message: reason.message };
        }
        if let Ok(oauth) = serde_json::from_str::<OAuthBody>(body) {
            if oauth.error == "login_failed" {
                return Error::Authentication { status, error: oauth.error };
            }
            return Error::OAuth { status, error: oauth.error };
        }
        Error::Http { status, body: body.chars().take(2000).collect() }
    }
}

/// The SDK's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_classified_by_their_body() {
        let gateway = Error::from_answer(
            401,
            r#"{ "statusCode": 401, "message": "Access denied due to invalid subscription key." }"#,
        );
        assert!(matches!(gateway, Error::Gateway { status: 401, .. }));
        let momo = Error::from_answer(500, r#"{"code":"INVALID_CURRENCY","message":"Currency not supported."}"#);
        assert_eq!(momo.code(), Some(&ErrorCode::InvalidCurrency));
        let future = Error::from_answer(500, r#"{"code":"SOMETHING_NEW","message":"x"}"#);
        assert_eq!(future.code(), Some(&ErrorCode::Unknown("SOMETHING_NEW".into())));
        assert!(matches!(Error::from_answer(500, r#"{"error":"login_failed"}"#), Error::Authentication { .. }));
        assert!(matches!(Error::from_answer(400, r#"{"error":"authorization_pending"}"#), Error::OAuth { .. }));
        assert!(matches!(Error::from_answer(502, "<html>bad gateway</html>"), Error::Http { status: 502, .. }));
    }
}
