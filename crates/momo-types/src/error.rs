//! MoMo's error bodies.
//!
//! Three shapes reach a client, and each is reproduced byte for byte:
//! - [`ErrorReason`]: the MoMo backend's `{"code":"…","message":"…"}`;
//! - [`ApimError`]: the Azure API Management gateway's `{ "statusCode": 401, "message": "…" }`,
//!   with its own spacing;
//! - [`TokenError`]: the token endpoint's `{"error":"login_failed"}`.

use serde::{Deserialize, Serialize};

/// The `ErrorCode` enum, its wire strings, `KNOWN` and `parse`, from one line per code. Why a
/// macro: docs/architecture.md.
macro_rules! error_codes {
    ($( $(#[$doc:meta])* $variant:ident = $wire:literal ),* $(,)?) => {
        /// A MoMo `ErrorReason` code. The list is MTN's (specs, common-error page and observed
        /// sandbox traffic); a code MTN adds later decodes as [`ErrorCode::Unknown`].
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum ErrorCode {
            $( $(#[$doc])* $variant, )*
            /// A code this crate does not know, kept as sent.
            Unknown(String),
        }

        impl ErrorCode {
            /// Every known code, for tables and tests.
            pub const KNOWN: &'static [ErrorCode] = &[$(ErrorCode::$variant),*];

            /// The code as it appears on the wire.
            pub fn as_str(&self) -> &str {
                match self {
                    $( ErrorCode::$variant => $wire, )*
                    ErrorCode::Unknown(s) => s,
                }
            }

            /// The code for a wire string (never fails: unknown codes are kept).
            pub fn parse(s: &str) -> ErrorCode {
                match s {
                    $( $wire => ErrorCode::$variant, )*
                    other => ErrorCode::Unknown(other.to_owned()),
                }
            }
        }
    };
}

error_codes! {
    PayeeNotFound = "PAYEE_NOT_FOUND",
    PayerNotFound = "PAYER_NOT_FOUND",
    NotAllowed = "NOT_ALLOWED",
    NotAllowedTargetEnvironment = "NOT_ALLOWED_TARGET_ENVIRONMENT",
    InvalidCallbackUrlHost = "INVALID_CALLBACK_URL_HOST",
    InvalidCurrency = "INVALID_CURRENCY",
    ServiceUnavailable = "SERVICE_UNAVAILABLE",
    InternalProcessingError = "INTERNAL_PROCESSING_ERROR",
    NotEnoughFunds = "NOT_ENOUGH_FUNDS",
    PayerLimitReached = "PAYER_LIMIT_REACHED",
    PayeeNotAllowedToReceive = "PAYEE_NOT_ALLOWED_TO_RECEIVE",
    PaymentNotApproved = "PAYMENT_NOT_APPROVED",
    ResourceNotFound = "RESOURCE_NOT_FOUND",
    ApprovalRejected = "APPROVAL_REJECTED",
    Expired = "EXPIRED",
    TransactionCanceled = "TRANSACTION_CANCELED",
    ResourceAlreadyExist = "RESOURCE_ALREADY_EXIST",
    CouldNotPerformTransaction = "COULD_NOT_PERFORM_TRANSACTION",
    SenderAccountNotActive = "SENDER_ACCOUNT_NOT_ACTIVE",
    PayeeLimitReached = "PAYEE_LIMIT_REACHED",
    ValidationError = "VALIDATION_ERROR",
    TransactionNotFound = "TRANSACTION_NOT_FOUND",
    TransactionNotCompleted = "TRANSACTION_NOT_COMPLETED",
    NotFound = "NOT_FOUND",
    Ongoing = "ONGOING",
    PayerDelayed = "PAYER_DELAYED",
    PayeeDelayed = "PAYEE_DELAYED",
    ConsentMismatch = "CONSENT_MISMATCH",
    UnsupportedScope = "UNSUPPORTED_SCOPE",
    UnsupportedScopeCombination = "UNSUPPORTED_SCOPE_COMBINATION",
    MoreThanOneFinancialScopeNotSupported = "MORE_THAN_ONE_FINANCIAL_SCOPE_NOT_SUPPORTED",
    MissingScopeInstruction = "MISSING_SCOPE_INSTRUCTION",
    InformationalScopeInstruction = "INFORMATIONAL_SCOPE_INSTRUCTION",
    /// openmomo's own: the Bearer token is missing, malformed, forged, expired or revoked.
    /// MTN does not document its body for this case.
    Unauthorized = "UNAUTHORIZED",
    /// openmomo's own: the request body is larger than the server accepts.
    PayloadTooLarge = "PAYLOAD_TOO_LARGE",
    /// openmomo's own: the operation exists at MTN but this server does not implement it yet.
    NotImplemented = "NOT_IMPLEMENTED",
    /// openmomo's own: too many failed operator authentications from the client's address.
    TooManyRequests = "TOO_MANY_REQUESTS",
}

impl ErrorCode {
    /// MTN's message for the code where it is known (docs/compatibility.md), else a plain description.
    pub fn default_message(&self) -> &'static str {
        match self {
            ErrorCode::PayeeNotFound => "Payee does not exist",
            ErrorCode::PayerNotFound => "Payer does not exist",
            ErrorCode::NotAllowed => "Authorization failed. User does not have permission.",
            ErrorCode::NotAllowedTargetEnvironment => "Access to target environment is forbidden.",
            ErrorCode::InvalidCallbackUrlHost => "Callback URL with different host name than configured for API User",
            ErrorCode::InvalidCurrency => "Currency not supported.",
            ErrorCode::ServiceUnavailable => "Service temporary unavailable, try again later",
            ErrorCode::InternalProcessingError => "An internal error occurred while processing.",
            ErrorCode::NotEnoughFunds => "The payer does not have enough funds.",
            ErrorCode::PayerLimitReached => "The payer's limit has been breached.",
            ErrorCode::PayeeNotAllowedToReceive => "Payee cannot receive funds due to e.g. transfer limit.",
            ErrorCode::PaymentNotApproved => "The payment was not approved by the payer.",
            ErrorCode::ResourceNotFound => "Requested resource was not found.",
            ErrorCode::ApprovalRejected => "The payer rejected the request.",
            ErrorCode::Expired => "The request expired before the payer approved it.",
            ErrorCode::TransactionCanceled => "The transaction was canceled.",
            ErrorCode::ResourceAlreadyExist => "Duplicated reference id. Creation of resource failed.",
            ErrorCode::CouldNotPerformTransaction => "Transaction Not Completed",
            ErrorCode::SenderAccountNotActive => "SENDER ACCOUNT NOT ACTIVE",
            ErrorCode::PayeeLimitReached => "The payee's limit has been breached.",
            ErrorCode::ValidationError => "Request failing Validation",
            ErrorCode::TransactionNotFound | ErrorCode::NotFound => "The transaction could not be found",
            ErrorCode::TransactionNotCompleted => "The transaction is not completed.",
            ErrorCode::Ongoing => "The transaction is ongoing.",
            ErrorCode::PayerDelayed => "The payer is delayed.",
            ErrorCode::PayeeDelayed => "The payee is delayed.",
            ErrorCode::ConsentMismatch => "The consent does not match the request.",
            ErrorCode::UnsupportedScope => "The scope is not supported.",
            ErrorCode::UnsupportedScopeCombination => "The combination of scopes is not supported.",
            ErrorCode::MoreThanOneFinancialScopeNotSupported => "More than one financial scope is not supported.",
            ErrorCode::MissingScopeInstruction => "The scope instruction is missing.",
            ErrorCode::InformationalScopeInstruction => "The scope instruction is informational.",
            ErrorCode::Unauthorized => "Access token is missing, invalid or expired.",
            ErrorCode::PayloadTooLarge => "The request body is too large.",
            ErrorCode::NotImplemented => "Not implemented.",
            ErrorCode::TooManyRequests => "Too many requests; try again later.",
            ErrorCode::Unknown(_) => "Unknown error.",
        }
    }
}

impl From<&str> for ErrorCode {
    fn from(s: &str) -> Self {
        ErrorCode::parse(s)
    }
}

wire_string!(ErrorCode);

/// MoMo's error body: `{"code":"RESOURCE_NOT_FOUND","message":"Requested resource was not found."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ErrorReason {
    pub code: ErrorCode,
    pub message: String,
}

impl ErrorReason {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into() }
    }
}

/// The gateway's (Azure API Management's) error body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ApimError {
    pub status_code: u16,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activity_id: Option<String>,
}

impl ApimError {
    /// "Access denied due to missing subscription key…"
    pub const MISSING_KEY: &'static str = "Access denied due to missing subscription key. Make sure to include subscription key when making requests to an API.";
    /// "Access denied due to invalid subscription key…"
    pub const INVALID_KEY: &'static str =
        "Access denied due to invalid subscription key. Make sure to provide a valid key for an active subscription.";
    /// APIM's answer for a path no API operation matches.
    pub const NOT_FOUND: &'static str = "Resource not found";

    /// The body exactly as APIM writes it: a space after `{` and after each `:`, and before `}`.
    pub fn to_wire(&self) -> String {
        let message = serde_json::to_string(&self.message).unwrap_or_else(|_| "\"\"".into());
        match &self.activity_id {
            None => format!("{{ \"statusCode\": {}, \"message\": {} }}", self.status_code, message),
            Some(id) => {
                let id = serde_json::to_string(id).unwrap_or_else(|_| "\"\"".into());
                format!("{{ \"statusCode\": {}, \"message\": {}, \"activityId\": {} }}", self.status_code, message, id)
            }
        }
    }
}

/// The token endpoint's error body, `{"error":"login_failed"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct TokenError {
    pub error: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_reason_serialises_compactly_in_mtns_key_order() {
        let body =
            ErrorReason::new(ErrorCode::ResourceAlreadyExist, "Duplicated reference id. Creation of resource failed.");
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"code":"RESOURCE_ALREADY_EXIST","message":"Duplicated reference id. Creation of resource failed."}"#
        );
    }

    #[test]
    fn unknown_codes_are_kept() {
        let body: ErrorReason = serde_json::from_str(r#"{"code":"SOMETHING_NEW","message":"x"}"#).unwrap();
        assert_eq!(body.code, ErrorCode::Unknown("SOMETHING_NEW".into()));
        assert_eq!(serde_json::to_string(&body).unwrap(), r#"{"code":"SOMETHING_NEW","message":"x"}"#);
    }

    #[test]
    fn every_known_code_roundtrips() {
        for code in ErrorCode::KNOWN {
            assert_eq!(&ErrorCode::parse(code.as_str()), code);
        }
    }

    #[test]
    fn apim_body_has_apims_spacing() {
        let body = ApimError { status_code: 401, message: ApimError::INVALID_KEY.into(), activity_id: None };
        assert_eq!(
            body.to_wire(),
            r#"{ "statusCode": 401, "message": "Access denied due to invalid subscription key. Make sure to provide a valid key for an active subscription." }"#
        );
        let parsed: ApimError = serde_json::from_str(&body.to_wire()).unwrap();
        assert_eq!(parsed, body);
    }
}
