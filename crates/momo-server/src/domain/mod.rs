//! Pure logic: no HTTP and no SQL.

pub mod clock;
pub mod credentials;
pub mod hosts;
pub mod money;
pub mod tokens;
