//! The HTTP-level tests of `main.rs` again, with every server on PostgreSQL: a database of its
//! own for each test, on the server `MOMO_TEST_POSTGRES_URL` names (without it, outside CI, this
//! target is skipped; in CI that is a failure).
//!
//! Left out, and run by `it` only:
//! - `security`: the SQLite database's files and the data directory (permissions, layout).
//! - `persistence`: restarts on one data directory, what SQLite's files hold, and instances
//!   sharing a database, which choose their engine (a SQLite file or PostgreSQL) themselves.
//! - `store_conformance`: the `Store` contract, run on both engines by itself.
//! - `durability`: each engine's durability settings, read back by itself.
//! - `openapi`: the documents come from the operation tables and the routes are the same on
//!   either engine; the external tools' run against a live server is engine-independent.

#![expect(clippy::unwrap_used, reason = "a test fails loudly on the first surprise")]

/// The engine of the servers `spawn_app` starts.
const ENGINE: helpers::Engine = helpers::Engine::Postgres;

mod bad_input;
mod browser;
mod callbacks;
mod connections;
mod consent;
mod console;
mod console_flow;
mod console_handset;
mod console_transactions;
mod gateway;
#[expect(dead_code, reason = "some helpers serve only the modules this target leaves out")]
mod helpers;
mod ledger;
mod live;
mod observability;
mod operator;
mod payments;
mod production;
mod provisioning;
mod scenarios;
mod surface;
mod tokens;
