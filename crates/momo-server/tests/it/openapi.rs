//! The OpenAPI documents (docs/openapi.md): served without credentials, listing exactly the
//! routes the server serves, accepted by a standard validator, and true to the server's answers
//! as a tool that generates requests from them finds.
//!
//! The tools are PyPI's `openapi-spec-validator` and `schemathesis`, in the virtual environment
//! `scripts/openapi-tools.sh` makes (`.ci/run` runs it): its `bin` directory is
//! `$MOMO_OPENAPI_TOOLS`, or `~/.cache/openmomo/openapi-tools/bin`. Without them the tool tests
//! are skipped, loudly; in CI (`CI` set) they fail.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use momo_types::admin::AdminOperation;
use momo_types::OPERATIONS;
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::*;

const INSTALL_HINT: &str =
    "run scripts/openapi-tools.sh (.ci/run does) or set MOMO_OPENAPI_TOOLS to the bin directory \
                            of a virtual environment with the packages of .ci/openapi-tools.txt";

/// A key valid for every product, so that one header serves the whole document.
const ALL_PRODUCTS_KEY: &str = "test-all-products-key-00000000005";

async fn document(app: &TestApp, path: &str) -> Value {
    let response = app.client.get(app.url(path)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    assert_eq!(response.headers()["content-type"], "application/json", "{path}");
    response.json().await.unwrap()
}

#[tokio::test]
async fn both_documents_are_served_without_credentials_and_are_those_of_the_tables() {
    let app = spawn_app().await;
    assert_eq!(document(&app, "/_momo/openapi.json").await, momo_types::openapi::momo_api());
    assert_eq!(document(&app, "/_momo/admin/openapi.json").await, momo_types::openapi::operator_api());
}

/// Every `(method, route)` of a document's paths.
fn routes(document: &Value) -> BTreeSet<(String, String)> {
    let paths = document["paths"].as_object().unwrap();
    paths
        .iter()
        .flat_map(|(route, item)| item.as_object().unwrap().keys().map(|method| (method.to_uppercase(), route.clone())))
        .collect()
}

/// A route with a plausible value in each parameter (no credentials are sent, so any will do).
fn fill(route: &str) -> String {
    route
        .split('/')
        .map(|segment| match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some("referenceId" | "preapprovalid") => uuid::Uuid::new_v4().to_string(),
            Some("accountHolderIdType") => "msisdn".into(),
            Some("partyIdType") => "MSISDN".into(),
            Some("product") => "collection".into(),
            Some("environment") => "sandbox".into(),
            Some("currency") => "EUR".into(),
            Some(_) => "46733123450".into(),
            None => segment.into(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Whether the server routes `method route` (anything but the gateway's "Resource not found").
async fn is_routed(app: &TestApp, method: &str, route: &str) -> bool {
    let method = Method::from_bytes(method.as_bytes()).unwrap();
    let response = app.client.request(method, app.url(&fill(route))).send().await.unwrap();
    let (status, body) = status_and_body(response).await;
    !(status == StatusCode::NOT_FOUND && body == NOT_FOUND_ROUTE_BODY)
}

#[tokio::test]
async fn every_route_the_server_serves_is_in_a_document_with_its_method_and_nothing_else_is() {
    let app = spawn_app().await;
    let momo = routes(&document(&app, "/_momo/openapi.json").await);
    let operator = routes(&document(&app, "/_momo/admin/openapi.json").await);
    // What the routers are built from: the two tables.
    let tables: BTreeSet<(String, String)> = OPERATIONS
        .iter()
        .map(|op| (op.method.to_owned(), op.full_route()))
        .chain(AdminOperation::ALL.iter().map(|op| (op.method().to_owned(), op.full_route())))
        .collect();
    let documented: BTreeSet<_> = momo.union(&operator).cloned().collect();
    assert_eq!(documented, tables);
    assert!(momo.is_disjoint(&operator));
    // The router serves each of them, and no other method on their paths. MTN's token paths are
    // served without their trailing slash too: the one alias, which the documents say in words.
    let paths: BTreeSet<&String> = documented.iter().map(|(_, route)| route).collect();
    for path in paths {
        let aliases = [Some(path.as_str()), path.strip_suffix('/')];
        for route in aliases.into_iter().flatten() {
            for method in ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"] {
                let listed = documented.contains(&(method.to_owned(), path.clone()));
                assert_eq!(is_routed(&app, method, route).await, listed, "{method} {route}");
            }
        }
    }
    let info = document(&app, "/_momo/openapi.json").await["info"]["description"].as_str().unwrap().to_owned();
    assert!(info.contains("without their trailing slash"), "{info}");
}

/// The directory with the OpenAPI tools, or `None` (the test is skipped) outside CI.
fn tools() -> Option<PathBuf> {
    let bin = match std::env::var_os("MOMO_OPENAPI_TOOLS") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/openmomo/openapi-tools/bin"),
    };
    let missing = ["openapi-spec-validator", "schemathesis"].into_iter().find(|tool| !bin.join(tool).exists());
    match missing {
        None => Some(bin),
        Some(tool) => {
            assert!(std::env::var("CI").is_err(), "{tool} is missing from {} in CI: {INSTALL_HINT}", bin.display());
            eprintln!("skipped: {tool} is missing from {}; {INSTALL_HINT}", bin.display());
            None
        }
    }
}

/// Run a tool without blocking the runtime the test server answers on.
async fn run(tool: PathBuf, args: Vec<String>, dir: &Path) -> Output {
    let dir = dir.to_owned();
    let shown = format!("{} {}", tool.display(), args.join(" "));
    tokio::task::spawn_blocking(move || Command::new(&tool).args(&args).current_dir(dir).output())
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("cannot run {shown}: {e}"))
}

fn assert_success(output: &Output, what: &str) {
    assert!(
        output.status.success(),
        "{what} failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test]
async fn a_standard_validator_accepts_both_documents() {
    let Some(bin) = tools() else { return };
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (name, path) in [("momo.json", "/_momo/openapi.json"), ("operator.json", "/_momo/admin/openapi.json")] {
        std::fs::write(dir.path().join(name), document(&app, path).await.to_string()).unwrap();
        files.push(name.to_owned());
    }
    let output = run(bin.join("openapi-spec-validator"), files, dir.path()).await;
    assert_success(&output, "openapi-spec-validator");
    let said = String::from_utf8_lossy(&output.stdout);
    assert_eq!(said.matches(": OK").count(), 2, "{said}");
}

/// schemathesis, a tool that generates requests from an OpenAPI document, against the live
/// server: every answer must have a documented status, content type, headers and body schema.
async fn schemathesis(bin: &Path, app: &TestApp, document: &str, headers: &[String]) {
    let dir = tempfile::tempdir().unwrap();
    let mut args = vec![
        "run".to_owned(),
        app.url(document),
        "--checks".into(),
        "status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance"
            .into(),
        "--phases".into(),
        "examples,fuzzing,stateful".into(),
        "--max-examples".into(),
        "5".into(),
        // The same cases on every run; no example database left behind.
        "--seed".into(),
        "1".into(),
        "--generation-database".into(),
        "none".into(),
        "--no-color".into(),
    ];
    for header in headers {
        args.extend(["-H".to_owned(), header.clone()]);
    }
    let output = run(bin.join("schemathesis"), args, dir.path()).await;
    assert_success(&output, &format!("schemathesis on {document}"));
    // The summary: "273 generated, 273 passed" (failures would be counted on the same line).
    let said = String::from_utf8_lossy(&output.stdout);
    let summary = said.lines().find(|line| line.contains(" generated, ")).unwrap_or_default();
    assert!(summary.contains(" passed") && !summary.contains("fail") && !summary.contains("error"), "{said}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tool_generating_requests_from_the_documents_finds_the_server_answering_as_they_say() {
    let Some(bin) = tools() else { return };
    let app = spawn_with(|settings| {
        settings.subscription_keys.push(ALL_PRODUCTS_KEY.parse().unwrap());
    })
    .await;
    let (_, token) = payer_ready(&app).await;
    let momo_headers = [
        format!("Ocp-Apim-Subscription-Key: {ALL_PRODUCTS_KEY}"),
        format!("Authorization: Bearer {token}"),
        "X-Target-Environment: sandbox".to_owned(),
    ];
    schemathesis(&bin, &app, "/_momo/openapi.json", &momo_headers).await;
    schemathesis(&bin, &app, "/_momo/admin/openapi.json", &[format!("Authorization: Bearer {ADMIN_TOKEN}")]).await;
}
