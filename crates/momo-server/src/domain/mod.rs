//! Pure logic: no HTTP and no SQL.

pub mod clock;
pub mod credentials;
pub mod hosts;
pub mod money;
pub mod scenarios;
pub mod targets;
pub mod throttle;
pub mod tokens;
pub mod transactions;
pub mod validation;
