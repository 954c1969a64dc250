//! `momo-client`: a Rust SDK for the MoMo Open API that works unchanged against MTN's sandbox,
//! MTN's production (legacy and `momoapi.momo.africa` platforms) and an openmomo server.
//!
//! It makes the safe thing the easy thing:
//! - tokens are cached per product, renewed before they expire, one renewal at a time however
//!   many calls wait, and a 401 gets one re-authentication;
//! - transport errors, timeouts, 429, 502/503/504 and the gateway's own 500 are retried with
//!   backoff and jitter (honouring `Retry-After`), never MoMo's business answers; a retried create
//!   reuses its `X-Reference-Id`, and a 409 after a retry means the first attempt went through;
//! - errors keep apart the gateway, authentication, MoMo's reason codes, OAuth2, other HTTP
//!   answers, transport and decoding ([`Error`]); a FAILED transaction is a status, not an error;
//! - TLS is always verified (rustls) and secrets never appear in `Debug` or logs.
//!
//! [`AdminClient`] (or [`Client::admin`]) speaks an openmomo server's operator API, typed with
//! [`momo_types::admin`].
//!
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use momo_client::{Client, TransactionKind};
//! use momo_types::payments::{Party, RequestToPay};
//! use momo_types::Product;
//! let client = Client::from_env()?; // MOMO_* variables and .env
//! let reference = client
//!     .collection()
//!     .request_to_pay(RequestToPay {
//!         amount: "50".parse()?,
//!         currency: "EUR".parse()?,
//!         external_id: None,
//!         payer: Party::msisdn("46733123450".parse()?),
//!         payer_message: None,
//!         payee_note: None,
//!     })
//!     .send()
//!     .await?;
//! let done = client
//!     .wait_for_final_status(Product::Collection, TransactionKind::RequestToPay, &reference, std::time::Duration::from_secs(60))
//!     .await?;
//! println!("{} {:?}", done.status, done.reason);
//! # Ok(()) }
//! ```

mod admin;
pub mod callbacks;
mod client;
mod config;
mod error;
mod ops;
mod sandbox;
mod wait;

pub use admin::AdminClient;
pub use client::Client;
pub use config::{ClientBuilder, Config, Platform, RetryPolicy, SANDBOX_BASE_URL};
pub use error::{Error, Result};
pub use ops::{
    BcAuthorizeResponse, Collection, CollectionProduct, ConsentToken, Create, Disbursement, DisbursementProduct,
    OffersTransfers, ProductOperations, ProductType, Remittance, RemittanceProduct,
};
pub use sandbox::Credentials;
pub use wait::{TransactionKind, TransactionState};

pub use momo_types as types;
