//! Black-box tests of the server: the real app on port 0 with a fresh database per test.

#![expect(clippy::unwrap_used, reason = "a test fails loudly on the first surprise")]

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
