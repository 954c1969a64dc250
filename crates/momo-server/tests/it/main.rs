//! Black-box tests of the server: the real app on port 0 with a fresh database per test, on
//! SQLite. `main_postgres.rs` (the target `it_postgres`) runs the same HTTP-level modules on
//! PostgreSQL; the modules only this target has are SQLite-specific or choose their engines
//! themselves (it lists them).

#![expect(clippy::unwrap_used, reason = "a test fails loudly on the first surprise")]

/// The engine of the servers `spawn_app` starts.
const ENGINE: helpers::Engine = helpers::Engine::Sqlite;

mod bad_input;
mod browser;
mod callbacks;
mod connections;
mod consent;
mod console;
mod console_flow;
mod console_handset;
mod console_transactions;
mod durability;
mod gateway;
mod helpers;
mod ledger;
mod live;
mod operator;
mod payments;
mod persistence;
mod production;
mod provisioning;
mod scenarios;
mod security;
mod store_conformance;
mod surface;
mod tokens;
