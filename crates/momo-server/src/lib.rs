//! openmomo's MoMo Open API server: wire-compatible with MTN's, stateful and durable.
//!
//! Layers, each depending only on those below it (docs/architecture.md):
//!
//! 1. Surfaces, HTTP in and out:
//!    - [`api`]: the MoMo operations, built from one table ([`api::surface::OPERATIONS`]).
//!    - [`admin`]: the operator API under `/_momo/admin`.
//!    - [`console`]: the browser console under `/_momo/console`.
//!    - [`gateway`]: the API-gateway layer (subscription keys, APIM's 401/404 bodies).
//!    - [`probes`]: `/_momo/health`, `/_momo/ready` and `/_momo/metrics`.
//!    - [`extract`]: typed extractors whose rejections are MoMo-shaped [`error::ApiError`]s.
//!    - [`error`]: [`error::ApiError`], how every failure is answered.
//! 2. Services, the operations the surfaces share, and the workers:
//!    - [`service`]: credentials, payments, callbacks, faults, overview counts.
//!    - [`settle`]: making due transactions final, with their ledger entry and callback.
//!    - [`callbacks`]: the delivery worker and its signed requests.
//!    - [`changes`]: the change feed the console's live pages follow, across instances.
//!    - [`state`]: [`state::AppState`], what every handler and service can reach.
//! 3. State the services keep, and storage:
//!    - [`cache`]: the invalidated credential and final-status cache.
//!    - [`faults`]: the fault-injection rules in force.
//!    - [`counts`]: the console overview's last counts.
//!    - [`readiness`]: whether the instance is prepared and its database answers.
//!    - [`store`]: the storage contract ([`store::Store`], a trait per area) and its SQLite and
//!      PostgreSQL engines.
//! 4. [`config`]: [`Settings`], filled by the CLI from flags and `MOMO_*` variables.
//! 5. [`domain`]: pure logic (credentials, tokens, clock, money, scenarios, validation,
//!    callback targets); it depends on nothing else in the crate.
//!
//! Beside them, [`metrics`]: what the instance counts, a leaf every layer may record into.
//!
//! Around them, the process: [`startup`] ([`Application::build`] binds and prepares;
//! [`startup::app`] is the router), [`bootstrap`] (first-start set-up), [`data_dir`] (the data
//! directory and database files, private to the server's user), [`net`] (the accept loop:
//! connection timeouts and cap, MoMo bodies on hyper's rejections), [`request_log`] (request ids,
//! the access log and the log line of every failed request).

#![warn(unreachable_pub)]

pub(crate) mod admin;
pub mod api;
pub(crate) mod bootstrap;
pub(crate) mod cache;
pub(crate) mod callbacks;
pub(crate) mod changes;
pub mod config;
pub(crate) mod console;
pub(crate) mod counts;
pub(crate) mod data_dir;
pub mod domain;
pub(crate) mod error;
pub(crate) mod extract;
pub(crate) mod faults;
pub(crate) mod gateway;
pub(crate) mod metrics;
pub(crate) mod net;
pub(crate) mod probes;
pub(crate) mod readiness;
pub(crate) mod request_log;
pub(crate) mod service;
pub(crate) mod settle;
pub mod startup;
pub(crate) mod state;
pub mod store;

pub use config::Settings;
pub use domain::clock::Clock;
pub use startup::Application;
