//! Pure logic: no HTTP and no SQL. It depends on nothing else in the crate; its failures are
//! [`DomainError`]s, which each surface shows in its own shape.

use momo_types::ErrorCode;

/// Why the domain refused an input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// A field is malformed or out of range; the message says which and why.
    #[error("{0}")]
    Invalid(String),
    /// The currency is not the environment's.
    #[error("the currency is not the environment's")]
    InvalidCurrency,
    /// Refused as MTN refuses it, with its code.
    #[error("refused: {0}")]
    Refused(ErrorCode),
}

pub mod clock;
pub mod credentials;
pub mod hosts;
pub mod money;
pub mod policy;
pub mod scenarios;
pub mod targets;
pub mod throttle;
pub mod tokens;
pub mod transactions;
pub mod validation;
