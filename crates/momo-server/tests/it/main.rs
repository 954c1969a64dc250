//! Black-box tests of the server: the real app on port 0 with a fresh database per test, on
//! SQLite. `main_postgres.rs` (the target `it_postgres`) runs the same HTTP-level modules on
//! PostgreSQL; the modules only this target has are SQLite-specific or choose their engines
//! themselves (it lists them, and a test below holds the two lists together).

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
mod observability;
mod openapi;
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

/// Every module of this target runs on PostgreSQL too, or `main_postgres.rs` lists it as left out
/// (a module added here alone would silently run on SQLite only).
#[test]
fn every_module_runs_on_postgres_too_or_is_listed_as_left_out() {
    let modules = |source: &'static str| -> Vec<&'static str> {
        source.lines().filter_map(|line| line.strip_prefix("mod ")?.strip_suffix(';')).collect()
    };
    let postgres = include_str!("main_postgres.rs");
    let left_out: Vec<&str> =
        postgres.lines().filter_map(|line| line.strip_prefix("//! - `")?.split('`').next()).collect();
    let on_postgres = modules(postgres);
    for module in modules(include_str!("main.rs")) {
        assert!(
            on_postgres.contains(&module) || left_out.contains(&module),
            "`mod {module};` is missing from main_postgres.rs (or from its list of modules left out)"
        );
    }
}
