//! The momo CLI's payment, provisioning, doctor and callback commands against a `momo serve`
//! process (issue 4, acceptance 2), with insta snapshots of what a person sees.

#![expect(clippy::unwrap_used, reason = "a test fails loudly on the first surprise")]

mod common;

use std::time::Duration;

use common::*;
use serde_json::json;

#[test]
fn sandbox_provision_survives_injected_500s_and_writes_an_env_file_the_sdk_uses() {
    let server = Server::start(&[]);
    server.admin("POST", "/faults", json!({"method": "POST", "path": "/v1_0/apiuser", "status": 500, "count": 2}));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(".env"), "# my app\nDATABASE_URL=postgres://localhost/app\nMOMO_API_USER=stale\n")
        .unwrap();
    let out = momo(dir.path())
        .args([
            "sandbox",
            "provision",
            "--base-url",
            &server.base,
            "--subscription-key",
            KEY,
            "--callback-host",
            "webhook.site",
        ])
        .assert()
        .success();
    redactions().bind(|| insta::assert_snapshot!("provision", stdout(&out)));
    let env = std::fs::read_to_string(dir.path().join(".env")).unwrap();
    assert!(env.starts_with("# my app\nDATABASE_URL=postgres://localhost/app\nMOMO_API_USER="), "{env}");
    assert!(!env.contains("stale") && env.contains("MOMO_API_KEY=") && env.contains("MOMO_CALLBACK_HOST=webhook.site"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(std::fs::metadata(dir.path().join(".env")).unwrap().permissions().mode() & 0o777, 0o600);
    }
    // Client::from_env() (behind every payment command) uses the file.
    let balance = momo(dir.path()).args(["balance"]).assert().success();
    assert_eq!(stdout(&balance), "0 EUR (collection)\n");
    // The key is printed only when asked.
    let shown = momo(dir.path())
        .args([
            "--json",
            "sandbox",
            "provision",
            "--base-url",
            &server.base,
            "--subscription-key",
            KEY,
            "--callback-host",
            "webhook.site",
            "--show-key",
        ])
        .assert()
        .success();
    let shown: serde_json::Value = serde_json::from_str(&stdout(&shown)).unwrap();
    assert_eq!(shown["apiKey"].as_str().unwrap().len(), 32);
}

#[test]
fn every_payment_command_works_and_reads_well() {
    let server = Server::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    server.provision(dir.path(), "127.0.0.1");
    let run = |args: &[&str]| momo(dir.path()).args(args).assert().success();
    let snapshot = |name: &str, args: &[&str]| {
        let out = run(args);
        redactions().bind(|| insta::assert_snapshot!(name.to_owned(), stdout(&out)));
        stdout(&out)
    };

    let token = run(&["token"]);
    assert_eq!(stdout(&token).trim().split('.').count(), 3, "a JWT");
    snapshot("balance", &["balance", "--product", "disbursement"]);
    snapshot(
        "request-to-pay-wait",
        &[
            "collect",
            "request-to-pay",
            "--amount",
            "50",
            "--msisdn",
            "56733123453",
            "--external-id",
            "order-1",
            "--wait",
        ],
    );
    let accepted =
        snapshot("request-to-pay", &["collect", "request-to-pay", "--amount", "5", "--msisdn", "56733123453"]);
    let reference = first_uuid(&accepted);
    std::thread::sleep(Duration::from_millis(400));
    snapshot("status", &["status", "collection", "request-to-pay", &reference]);
    snapshot("notify", &["collect", "notify", &reference, "--message", "On its way"]);
    snapshot("withdraw", &["collect", "withdraw", "--amount", "5", "--msisdn", "56733123453", "--wait"]);
    snapshot("invoice", &["collect", "invoice", "--amount", "7", "--msisdn", "56733123453", "--wait"]);
    let invoice = stdout(&run(&["collect", "invoice", "--amount", "7", "--msisdn", "56733123453"]));
    let invoice = first_uuid(&invoice);
    snapshot("cancel-invoice", &["collect", "cancel-invoice", &invoice]);
    let pre =
        stdout(&run(&["collect", "pre-approval", "--msisdn", "46733123499", "--message", "Subscription", "--wait"]));
    let pre_id = first_uuid(&pre);
    let listed = stdout(&run(&["collect", "pre-approvals", "--msisdn", "46733123499"]));
    assert!(listed.contains(&pre_id) && listed.contains("APPROVED"), "{listed}");
    snapshot("cancel-pre-approval", &["collect", "cancel-pre-approval", &pre_id]);
    snapshot("pre-approvals-empty", &["collect", "pre-approvals", "--msisdn", "46733123499"]);
    snapshot("payment", &["collect", "payment", "--amount", "3", "--provider", "Power Co", "--wait"]);
    snapshot("transfer", &["disburse", "transfer", "--amount", "20", "--msisdn", "56733123453", "--wait"]);
    snapshot("deposit", &["disburse", "deposit", "--amount", "20", "--msisdn", "56733123453", "--v1", "--wait"]);
    snapshot("refund", &["disburse", "refund", "--of", &reference, "--amount", "1", "--wait"]);
    snapshot("remit-transfer", &["remit", "transfer", "--amount", "20", "--msisdn", "56733123453", "--wait"]);
    snapshot(
        "cash-transfer",
        &[
            "remit",
            "cash-transfer",
            "--amount",
            "20",
            "--msisdn",
            "56733123453",
            "--originating-country",
            "SE",
            "--wait",
        ],
    );
    snapshot("active", &["account-holder", "active", "--msisdn", "46733123451"]);
    snapshot("info", &["account-holder", "info", "--msisdn", "56733123453", "--product", "remittance"]);
    let asked = stdout(&run(&["--json", "consent", "ask", "--msisdn", "56733123453"]));
    let auth_req_id =
        serde_json::from_str::<serde_json::Value>(&asked).unwrap()["auth_req_id"].as_str().unwrap().to_owned();
    std::thread::sleep(Duration::from_millis(400));
    let info = stdout(&run(&["--json", "consent", "userinfo", &auth_req_id]));
    assert!(info.contains("\"phone_number\": \"56733123453\""), "{info}");

    // A FAILED transaction: its reason, and exit code 4.
    let failed = momo(dir.path())
        .args(["collect", "request-to-pay", "--amount", "5", "--msisdn", "46733123451", "--wait"])
        .assert()
        .code(4);
    redactions().bind(|| {
        insta::assert_snapshot!("request-to-pay-failed", format!("{}---\n{}", stdout(&failed), stderr(&failed)))
    });
    // A business error: the MoMo code and a hint, exit code 1.
    let refused = momo(dir.path())
        .args(["collect", "request-to-pay", "--amount", "5", "--msisdn", "56733123453", "--currency", "UGX"])
        .assert()
        .code(1);
    redactions().bind(|| insta::assert_snapshot!("invalid-currency", stderr(&refused)));
}

/// A malformed amount, currency or MSISDN is a usage error (exit code 2) naming what is wrong,
/// and nothing is sent.
#[test]
fn malformed_wire_values_are_refused_before_anything_is_sent() {
    let server = Server::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    server.provision(dir.path(), "127.0.0.1");
    for (flag, value, why) in [
        ("--amount", "1e3", "an amount is a decimal number"),
        ("--currency", "eur", "a currency is an ISO 4217 code"),
        ("--msisdn", "+46733123450", "an MSISDN is digits only"),
    ] {
        let mut args = vec!["collect", "request-to-pay", "--amount", "5", "--msisdn", "56733123453"];
        match args.iter().position(|arg| *arg == flag) {
            Some(at) => args[at + 1] = value,
            None => args.extend([flag, value]),
        }
        let refused = momo(dir.path()).args(&args).assert().code(2);
        let stderr = stderr(&refused);
        assert!(stderr.contains(&format!("invalid value '{value}' for '{flag}")) && stderr.contains(why), "{stderr}");
    }
    assert_eq!(server.admin("GET", "/transactions", json!(null)), json!([]));
}

/// The first reference id in a command's output.
fn first_uuid(text: &str) -> String {
    text.split(|c: char| c.is_whitespace() || c == '.' || c == ':')
        .find(|word| word.parse::<momo_types::ReferenceId>().is_ok())
        .unwrap_or_else(|| panic!("no reference id in {text:?}"))
        .to_owned()
}

#[test]
fn callbacks_listen_receives_checks_and_forwards() {
    let server = Server::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    server.provision(dir.path(), "127.0.0.1");
    let env = std::fs::read_to_string(dir.path().join(".env")).unwrap();
    let user = env.lines().find_map(|l| l.strip_prefix("MOMO_API_USER=")).unwrap().to_owned();
    let secret = server.admin("GET", &format!("/users/{user}/callback-secret"), json!(null))["callbackSigningSecret"]
        .as_str()
        .unwrap()
        .to_owned();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let forward_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();

    let listener_dir = dir.path().to_owned();
    let (port_s, forward_s) = (port.to_string(), format!("http://127.0.0.1:{forward_port}/next"));
    let listener = std::thread::spawn(move || {
        momo(&listener_dir)
            .args([
                "callbacks",
                "listen",
                "--port",
                &port_s,
                "--secret",
                &secret,
                "--count",
                "2",
                "--forward-to",
                &forward_s,
            ])
            .timeout(Duration::from_secs(30))
            .assert()
            .success()
    });
    std::thread::sleep(Duration::from_millis(500));
    let callback = format!("http://127.0.0.1:{port}/momo");
    for msisdn in ["56733123453", "46733123451"] {
        momo(dir.path())
            .args(["collect", "request-to-pay", "--amount", "5", "--msisdn", msisdn, "--callback-url", &callback])
            .assert()
            .success();
    }
    let out = listener.join().unwrap();
    let printed = stdout(&out);
    assert!(printed.contains("SUCCESSFUL  signature: valid"), "{printed}");
    assert!(printed.contains("FAILED (APPROVAL_REJECTED)  signature: valid"), "{printed}");
    assert!(printed.contains("forwarded: failed (could not connect)"), "{printed}");
    assert!(printed.starts_with("PUT /momo  reference "), "{printed}");
}

/// The doctor's verdict on a configuration: exit code and what it printed.
fn doctor(dir: &std::path::Path, overrides: &[(&str, &str)]) -> (i32, String) {
    let mut command = momo(dir);
    for (name, value) in overrides {
        command.env(name, value);
    }
    let output = command.arg("doctor").output().unwrap();
    (output.status.code().unwrap_or(-1), String::from_utf8_lossy(&output.stdout).into_owned())
}

fn configured() -> (Server, tempfile::TempDir, String, String) {
    let server = Server::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    server.provision(dir.path(), "127.0.0.1");
    let env = std::fs::read_to_string(dir.path().join(".env")).unwrap();
    let get = |name: &str| env.lines().find_map(|l| l.strip_prefix(&format!("{name}=")).map(str::to_owned)).unwrap();
    (server, dir, get("MOMO_API_USER"), get("MOMO_API_KEY"))
}

#[test]
fn doctor_passes_a_good_configuration() {
    let (_server, dir, _, _) = configured();
    let (code, out) = doctor(dir.path(), &[]);
    assert_eq!(code, 0, "{out}");
    redactions().bind(|| insta::assert_snapshot!("doctor-ok", out));
}

#[test]
fn doctor_finds_a_missing_subscription_key() {
    let (_server, dir, _, _) = configured();
    let (code, out) = doctor(dir.path(), &[("MOMO_SUBSCRIPTION_KEY", ""), ("MOMO_COLLECTION_SUBSCRIPTION_KEY", "")]);
    assert_eq!(code, 6);
    assert!(out.contains("no subscription key is set"), "{out}");
}

#[test]
fn doctor_finds_an_unknown_subscription_key() {
    let (_server, dir, _, _) = configured();
    let (code, out) = doctor(dir.path(), &[("MOMO_SUBSCRIPTION_KEY", "unknown-key-00000000")]);
    assert_eq!(code, 6);
    assert!(out.contains("the subscription key is unknown or revoked"), "{out}");
}

#[test]
fn doctor_finds_a_key_for_the_wrong_product() {
    let (server, dir, _, _) = configured();
    let added =
        server.admin("POST", "/subscription-keys", json!({"products": ["remittance"], "key": "remittance-only-key-1"}));
    assert_eq!(added["key"], "remittance-only-key-1");
    let (code, out) = doctor(dir.path(), &[("MOMO_COLLECTION_SUBSCRIPTION_KEY", "remittance-only-key-1")]);
    assert_eq!(code, 6);
    assert!(out.contains("[FAIL] collection: the subscription key is valid, but not for collection"), "{out}");
    assert!(out.contains("[ok ] disbursement"), "{out}");
}

#[test]
fn doctor_finds_user_and_key_swapped() {
    let (_server, dir, user, key) = configured();
    let (code, out) = doctor(dir.path(), &[("MOMO_API_USER", &key), ("MOMO_API_KEY", &user)]);
    assert_eq!(code, 6);
    assert!(out.contains("MOMO_API_USER and MOMO_API_KEY are swapped"), "{out}");
}

#[test]
fn doctor_finds_an_unknown_api_user() {
    let (_server, dir, _, key) = configured();
    let (code, out) =
        doctor(dir.path(), &[("MOMO_API_USER", "c72025f5-5cd1-4630-99e4-8ba4722fad56"), ("MOMO_API_KEY", &key)]);
    assert_eq!(code, 6);
    assert!(out.contains("the API user is unknown"), "{out}");
}

#[test]
fn doctor_finds_a_replaced_key() {
    let (server, dir, user, _) = configured();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let r = reqwest::Client::new()
            .post(format!("{}/v1_0/apiuser/{user}/apikey", server.base))
            .header("Ocp-Apim-Subscription-Key", KEY)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
    });
    let (code, out) = doctor(dir.path(), &[]);
    assert_eq!(code, 6);
    assert!(out.contains("the key is wrong") && out.contains("replaced"), "{out}");
}

#[test]
fn doctor_finds_the_wrong_target_environment() {
    let (_server, dir, _, _) = configured();
    let (code, out) = doctor(dir.path(), &[("MOMO_TARGET_ENVIRONMENT", "mtnuganda")]);
    assert_eq!(code, 6);
    assert!(
        out.contains("mtnuganda is not the API user's environment") && out.contains("MOMO_TARGET_ENVIRONMENT=sandbox"),
        "{out}"
    );
}

#[test]
fn doctor_finds_a_currency_that_is_not_the_environments() {
    let (_server, dir, _, _) = configured();
    let (code, out) = doctor(dir.path(), &[("MOMO_CURRENCY", "UGX")]);
    assert_eq!(code, 6);
    assert!(out.contains("MOMO_CURRENCY is UGX but sandbox uses EUR"), "{out}");
}

#[test]
fn doctor_finds_a_callback_host_that_is_not_the_users() {
    let (_server, dir, _, _) = configured();
    let (code, out) = doctor(dir.path(), &[("MOMO_CALLBACK_URL", "https://elsewhere.example/cb")]);
    assert_eq!(code, 6);
    assert!(
        out.contains("callbacks would go to elsewhere.example, but the API user's callback host is 127.0.0.1"),
        "{out}"
    );
}

#[test]
fn doctor_finds_an_unreachable_server() {
    let (_server, dir, _, _) = configured();
    let (code, out) = doctor(dir.path(), &[("MOMO_BASE_URL", "http://127.0.0.1:9")]);
    assert_eq!(code, 6);
    assert!(out.contains("does not answer"), "{out}");
}

#[test]
fn doctor_finds_a_server_answering_5xx_and_advises_on_the_flaky_sandbox() {
    let (server, dir, _, _) = configured();
    server.admin("POST", "/faults", json!({"path": "/*/token/", "status": 500}));
    let (code, out) = doctor(dir.path(), &[]);
    assert_eq!(code, 6);
    assert!(
        out.contains("the server answered 500") && out.contains("MTN's sandbox fails like this now and then"),
        "{out}"
    );
}

#[test]
fn momo_openapi_prints_the_documents_the_server_serves() {
    let server = Server::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    for (args, path) in
        [(&["openapi"][..], "/_momo/openapi.json"), (&["openapi", "--admin"][..], "/_momo/admin/openapi.json")]
    {
        let out = momo(dir.path()).args(args).assert().success();
        let printed: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let served: serde_json::Value = runtime
            .block_on(async { reqwest::get(format!("{}{path}", server.base)).await.unwrap().json().await })
            .unwrap();
        assert_eq!(printed, served, "{args:?}");
        assert_eq!(printed["openapi"], "3.1.0");
    }
}
