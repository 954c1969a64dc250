//! Operations that more than one surface presents: the operator API (`admin`) and the browser
//! console (`console`) call these, so each operation has one implementation. They take the
//! server's state and typed inputs, and answer with records or an [`ApiError`](crate::error::ApiError)
//! that each surface shows in its own way.

pub(crate) mod callbacks;
pub(crate) mod credentials;
pub(crate) mod faults;
pub(crate) mod overview;
pub(crate) mod payments;
