//! openmomo's MoMo Open API server: wire-compatible with MTN's, stateful and durable.
//!
//! Layout (see `STYLE.md` at the workspace root for the why):
//! - [`startup`]: [`Application::build`] binds and prepares; [`startup::app`] is the router.
//! - [`config`]: [`Settings`], filled by the CLI from flags and `MOMO_*` variables.
//! - [`gateway`]: the API-gateway layer (subscription keys, APIM's 401/404 bodies).
//! - [`api`]: the MoMo operations, built from one table ([`api::surface::OPERATIONS`]).
//! - [`admin`]: the operator API under `/_momo/admin`.
//! - [`console`]: the browser console under `/_momo/console`.
//! - [`service`]: operations the operator API and the console share (one implementation each).
//! - [`extract`]: typed extractors whose rejections are MoMo-shaped [`error::ApiError`]s.
//! - [`domain`]: pure logic (credentials, tokens, clock, money, callback targets).
//! - [`data_dir`]: the data directory and database files, private to the server's user.
//! - [`store`]: the [`store::Store`] trait and its SQLite and PostgreSQL engines.
//! - [`cache`]: the invalidated credential cache that keeps the database off the hot path.
//! - [`changes`]: the change feed the console's live pages follow, across instances.
//! - [`net`]: the accept loop: connection timeouts and cap, MoMo bodies on hyper's rejections.

pub mod admin;
pub mod api;
pub mod bootstrap;
pub mod cache;
pub mod callbacks;
pub mod changes;
pub mod config;
pub mod console;
pub mod data_dir;
pub mod domain;
pub mod error;
pub mod extract;
pub mod faults;
pub mod gateway;
pub mod net;
pub mod service;
pub mod settle;
pub mod startup;
pub mod state;
pub mod store;

pub use config::Settings;
pub use domain::clock::Clock;
pub use startup::Application;
