//! Every operation of MTN's MoMo Open API, in one table: momo-types' [`OPERATIONS`], which the SDK
//! builds its paths from too. [`super::router`] maps each operation to its handler.

pub use momo_types::operations::{Operation, OperationName, OPERATIONS};
