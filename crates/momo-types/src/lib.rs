//! The MoMo Open API wire, shared by the openmomo server, SDK and CLI.
//!
//! Layout:
//! - [`ids`]: identifiers that are parsed once at the edge ([`ReferenceId`], a UUID version 4).
//! - [`money`], [`msisdn`]: the values MoMo writes as strings ([`Amount`], [`Currency`],
//!   [`Msisdn`]), checked by their `parse` and echoed exactly as sent.
//! - [`product`]: the three MoMo products and their path prefixes.
//! - [`environment`]: the target environments (`sandbox`, `mtnuganda`, …) and their currencies.
//! - [`headers`]: the header names MoMo uses.
//! - [`operations`]: every MoMo operation in one table ([`OPERATIONS`]) and the kinds of
//!   transaction ([`TransactionKind`]).
//! - [`error`]: MoMo's `ErrorReason` codes and the exact error bodies of MoMo and of the gateway.
//! - [`provisioning`], [`token`], [`account`]: request and response bodies.
//! - [`kyc`]: account-holder data (`basicuserinfo`, the consent flow's `userinfo`).
//! - [`admin`]: the bodies of openmomo's own operator API (not part of MTN's API).
//!
//! - [`payments`]: payment requests and their status bodies.
//! - [`openapi`] (feature `schema`): the OpenAPI 3.1 documents of the MoMo API and the operator
//!   API, built from the tables and the bodies' JSON Schemas.
//!
//! Enums whose values MTN may extend (`ErrorCode`, `TransactionStatus`, `PartyIdType`) are
//! `#[non_exhaustive]` and keep a value they do not know in an `Unknown(String)` variant, written
//! back as sent.
//!
//! This crate is serde only: no HTTP, no runtime. The `schema` feature adds the bodies' JSON
//! Schemas (schemars) and the OpenAPI documents, for the server and the CLI.

#[macro_use]
mod wire;

pub mod account;
pub mod admin;
pub mod environment;
pub mod error;
pub mod headers;
pub mod ids;
pub mod kyc;
pub mod money;
pub mod msisdn;
pub mod operations;
pub mod payments;
pub mod product;
pub mod provisioning;
pub mod token;

#[cfg(feature = "schema")]
pub mod openapi;
#[cfg(feature = "schema")]
mod schema;

pub use environment::{Environment, ENVIRONMENTS};
pub use error::{ApimError, ErrorCode, ErrorReason, TokenError};
pub use ids::{ReferenceId, ReferenceIdError};
pub use money::{Amount, AmountError, Currency, CurrencyError};
pub use msisdn::{Msisdn, MsisdnError};
pub use operations::{ApiVersion, CallbackMethod, Operation, OperationName, TransactionKind, OPERATIONS};
pub use product::Product;
