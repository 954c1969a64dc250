//! The `momo` binary as a person or a script runs it: real processes, real signals.
#![expect(clippy::unwrap_used, reason = "a test fails loudly on the first surprise")]

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::Value;

const KEY: &str = "cli-test-subscription-key-0000001";
const ADMIN: &str = "cli-test-operator-token-00000000000000000000000000000000000001";

/// A `momo serve` process; killed when dropped.
struct Server {
    child: Child,
    base: String,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
}

impl Server {
    fn start(data_dir: &std::path::Path, extra: &[&str], env: &[(&str, &str)]) -> Server {
        Self::spawn(Command::new(env!("CARGO_BIN_EXE_momo")), data_dir, extra, env)
    }

    /// [`Server::start`] from a shell that first runs `setup` (`umask 000`, `ulimit -n 600`) and
    /// then becomes the server.
    fn start_after(setup: &str, data_dir: &std::path::Path, extra: &[&str]) -> Server {
        let mut shell = Command::new("sh");
        shell.args(["-c", &format!("{setup} && exec \"$0\" \"$@\""), env!("CARGO_BIN_EXE_momo")]);
        Self::spawn(shell, data_dir, extra, &[])
    }

    fn spawn(mut command: Command, data_dir: &std::path::Path, extra: &[&str], env: &[(&str, &str)]) -> Server {
        command
            .args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .args(extra)
            .env_remove("MOMO_DATABASE_URL")
            .env_remove("MOMO_ADMIN_TOKEN")
            .env_remove("MOMO_SUBSCRIPTION_KEYS")
            .env_remove("MOMO_ACCESS_LOG")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command.spawn().expect("momo serve starts");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        stdout.read_line(&mut first).expect("banner");
        let base = first
            .split_whitespace()
            .find(|word| word.starts_with("http://"))
            .unwrap_or_else(|| panic!("no address in the banner: {first:?}"))
            .to_owned();
        let stdout_sink = Arc::new(Mutex::new(first));
        pump(stdout, stdout_sink.clone());
        let stderr_sink = Arc::new(Mutex::new(String::new()));
        pump(child.stderr.take().unwrap(), stderr_sink.clone());
        Server { child, base, stdout: stdout_sink, stderr: stderr_sink }
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill").args([signal, &self.child.id().to_string()]).status().unwrap();
        assert!(status.success());
    }

    /// Wait for the process to exit; its exit status.
    fn wait(&mut self, timeout: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "momo serve did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn stdout(&self) -> String {
        self.stdout.lock().unwrap().clone()
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }
}

/// Copy a pipe into `sink` as it arrives.
fn pump(mut pipe: impl std::io::Read + Send + 'static, sink: Arc<Mutex<String>>) {
    std::thread::spawn(move || {
        let mut buffer = [0u8; 4096];
        while let Ok(n) = pipe.read(&mut buffer) {
            if n == 0 {
                break;
            }
            sink.lock().unwrap().push_str(&String::from_utf8_lossy(&buffer[..n]));
        }
    });
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn pinned() -> Vec<&'static str> {
    vec!["--subscription-key", KEY, "--admin-token", ADMIN]
}

/// A small blocking client for the checks (the CLI's async client is reqwest; tests drive it
/// from a runtime per call to stay simple).
struct Http {
    runtime: tokio::runtime::Runtime,
    client: reqwest::Client,
}

impl Http {
    fn new() -> Self {
        Http { runtime: tokio::runtime::Runtime::new().unwrap(), client: reqwest::Client::new() }
    }

    fn send(&self, request: reqwest::RequestBuilder) -> (u16, String) {
        self.runtime.block_on(async {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.text().await.unwrap())
        })
    }

    /// Provision a sandbox user and key through `base`: `(user, key)`.
    fn sandbox_user(&self, base: &str) -> (String, String) {
        let user = uuid::Uuid::new_v4().to_string();
        let (status, _) = self.send(
            self.client
                .post(format!("{base}/v1_0/apiuser"))
                .header("Ocp-Apim-Subscription-Key", KEY)
                .header("X-Reference-Id", &user)
                .json(&serde_json::json!({"providerCallbackHost": "webhook.site"})),
        );
        assert_eq!(status, 201);
        let (status, body) = self.send(
            self.client.post(format!("{base}/v1_0/apiuser/{user}/apikey")).header("Ocp-Apim-Subscription-Key", KEY),
        );
        assert_eq!(status, 201);
        let key: Value = serde_json::from_str(&body).unwrap();
        (user, key["apiKey"].as_str().unwrap().to_owned())
    }

    fn token(&self, base: &str, user: &str, key: &str) -> (u16, String) {
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{key}"));
        self.send(
            self.client
                .post(format!("{base}/collection/token/?subscription-key={KEY}"))
                .header("Authorization", format!("Basic {basic}")),
        )
    }

    fn access_token(&self, base: &str, user: &str, key: &str) -> String {
        let (status, body) = self.token(base, user, key);
        assert_eq!(status, 200, "{body}");
        let body: Value = serde_json::from_str(&body).unwrap();
        body["access_token"].as_str().unwrap().to_owned()
    }

    fn balance(&self, base: &str, token: &str) -> u16 {
        self.send(
            self.client
                .get(format!("{base}/collection/v1_0/account/balance"))
                .header("Ocp-Apim-Subscription-Key", KEY)
                .header("X-Target-Environment", "sandbox")
                .bearer_auth(token),
        )
        .0
    }
}

#[test]
fn first_start_prints_the_credentials_and_next_steps_and_later_starts_do_not() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path(), &[], &[]);
    let http = Http::new();
    // The banner is out once the server answers.
    let (status, _) = http.send(http.client.get(format!("{}/_momo/health", server.base)));
    assert_eq!(status, 200);
    let banner = server.stdout();
    assert!(banner.contains("First start"), "{banner}");
    for product in ["collection", "disbursement", "remittance"] {
        assert_eq!(
            banner.matches(&format!("    {product} ")).count(),
            2,
            "primary and secondary for {product}:\n{banner}"
        );
    }
    assert!(banner.contains("Operator token"));
    assert!(banner.contains("Next steps"));
    assert!(dir.path().join("momo.db").exists(), "SQLite in the data directory");

    server.signal("-TERM");
    assert!(server.wait(Duration::from_secs(10)).success(), "SIGTERM is a clean stop");
    assert!(server.stderr().contains("shutting down"));

    let server = Server::start(dir.path(), &[], &[]);
    let (status, _) = http.send(http.client.get(format!("{}/_momo/health", server.base)));
    assert_eq!(status, 200);
    assert!(!server.stdout().contains("First start"), "{}", server.stdout());
}

#[test]
fn sigint_stops_the_server_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path(), &pinned(), &[]);
    server.signal("-INT");
    assert!(server.wait(Duration::from_secs(10)).success());
}

/// Acceptance 4 with a real crash: nothing acknowledged is lost.
#[test]
fn users_keys_and_tokens_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let http = Http::new();
    let mut server = Server::start(dir.path(), &pinned(), &[]);
    let (user, key) = http.sandbox_user(&server.base);
    let token = http.access_token(&server.base, &user, &key);
    server.signal("-KILL");
    server.wait(Duration::from_secs(10));

    let server = Server::start(dir.path(), &pinned(), &[]);
    assert_eq!(http.balance(&server.base, &token), 200, "the token survives");
    assert_eq!(http.token(&server.base, &user, &key).0, 200, "the key survives");
}

/// Acceptance 6: no secret in the logs, even at debug level and with the key in the query string.
#[test]
fn secrets_never_appear_in_the_logs() {
    let dir = tempfile::tempdir().unwrap();
    let http = Http::new();
    let server = Server::start(dir.path(), &pinned(), &[("RUST_LOG", "debug")]);
    let (user, key) = http.sandbox_user(&server.base);
    let token = http.access_token(&server.base, &user, &key);
    assert_eq!(http.balance(&server.base, &token), 200);
    assert_eq!(http.token(&server.base, &user, "wrong").0, 500);
    std::thread::sleep(Duration::from_millis(200));
    let logs = server.stderr();
    assert!(logs.contains(&user), "sanity: the logs mention the user:\n{logs}");
    assert!(logs.contains("DEBUG"), "sanity: debug logging is on");
    for secret in [key.as_str(), token.as_str(), KEY, ADMIN] {
        assert!(!logs.contains(secret), "a secret is in the logs: {secret}");
    }
}

/// The access log is a setting (`--access-log`, docs/configuration.md): a line for every answered
/// request at the level asked for, in a span with the request's id, method and path; neither line
/// nor span when it is off or below the log filter (the default: debug, under `RUST_LOG=info`); and
/// a 5xx answer logged with its request's id, method and path whatever the setting.
#[test]
fn the_access_log_logs_each_request_only_when_on_and_a_5xx_always() {
    for (setting, rust_log, access_lines) in [
        (Some("info"), "info", true),
        (None, "info", false),
        (Some("debug"), "debug", true),
        (Some("off"), "debug", false),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let http = Http::new();
        let mut flags = pinned();
        flags.extend(["--log-format", "json"]);
        flags.extend(setting.map(|level| ["--access-log", level]).into_iter().flatten());
        let server = Server::start(dir.path(), &flags, &[("RUST_LOG", rust_log)]);
        let base = server.base.as_str();
        assert_eq!(http.send(http.client.get(format!("{base}/_momo/health"))).0, 200);
        momo_admin(base, ADMIN, &["faults", "add", "--path", "/v1_0/apiuser", "--method", "POST", "--status", "500"])
            .success();
        let failed = http.runtime.block_on(
            http.client
                .post(format!("{base}/v1_0/apiuser"))
                .header("Ocp-Apim-Subscription-Key", KEY)
                .header("X-Reference-Id", uuid::Uuid::new_v4().to_string())
                .json(&serde_json::json!({"providerCallbackHost": "webhook.site"}))
                .send(),
        );
        let failed = failed.unwrap();
        assert_eq!(failed.status(), 500);
        let id = failed.headers()["x-request-id"].to_str().unwrap().to_owned();
        std::thread::sleep(Duration::from_millis(200));
        let logs = server.stderr();
        let lines: Vec<Value> = logs.lines().filter_map(|line| serde_json::from_str(line).ok()).collect();
        let case = format!("--access-log {setting:?}, RUST_LOG={rust_log}:\n{logs}");

        let answered = |line: &&Value| line["fields"]["message"] == "finished processing request";
        let health = lines.iter().filter(answered).find(|line| line["span"]["path"] == "/_momo/health");
        let spans = lines.iter().filter(|line| line["span"]["name"] == "request").count();
        if access_lines {
            let health = health.unwrap_or_else(|| panic!("no access line for the health check; {case}"));
            assert_eq!(
                (&health["fields"]["status"], &health["span"]["method"]),
                (&200.into(), &"GET".into()),
                "{case}"
            );
        } else {
            assert_eq!((lines.iter().filter(answered).count(), spans), (0, 0), "no access line, no span; {case}");
        }
        let failure = lines.iter().find(|line| line["fields"]["message"] == "response failed");
        let failure = failure.unwrap_or_else(|| panic!("the 500 is not logged; {case}"));
        assert_eq!(failure["level"], "WARN", "{case}");
        let fields = &failure["fields"];
        assert_eq!(
            (&fields["status"], &fields["method"], &fields["path"], &fields["id"]),
            (&500.into(), &"POST".into(), &"/v1_0/apiuser".into(), &id.as_str().into()),
            "{case}"
        );
    }
}

/// Logs written to a pipe or a file (not a terminal) carry no colour escape codes.
#[test]
fn logs_to_a_pipe_carry_no_colour_codes() {
    let dir = tempfile::tempdir().unwrap();
    let http = Http::new();
    let mut flags = pinned();
    flags.extend(["--access-log", "info"]);
    let server = Server::start(dir.path(), &flags, &[("RUST_LOG", "info")]);
    assert_eq!(http.send(http.client.get(format!("{}/_momo/health", server.base))).0, 200);
    std::thread::sleep(Duration::from_millis(200));
    let logs = server.stderr();
    assert!(logs.contains("finished processing request"), "sanity: a request was logged:\n{logs}");
    assert!(!logs.contains('\u{1b}'), "an escape code in the logs:\n{logs:?}");
}

fn momo_admin(base: &str, token: &str, args: &[&str]) -> assert_cmd::assert::Assert {
    assert_cmd::Command::cargo_bin("momo")
        .unwrap()
        .env_remove("MOMO_ADMIN_TOKEN")
        .args(["admin", "--server", base, "--admin-token", token])
        .args(args)
        .assert()
}

fn stdout_of(assert: &assert_cmd::assert::Assert) -> String {
    String::from_utf8(assert.get_output().stdout.clone()).unwrap()
}

#[test]
fn momo_admin_manages_users_and_subscription_keys() {
    let dir = tempfile::tempdir().unwrap();
    let http = Http::new();
    let server = Server::start(dir.path(), &pinned(), &[]);
    let base = server.base.as_str();

    let created = momo_admin(
        base,
        ADMIN,
        &["--json", "users", "create", "--environment", "mtnuganda", "--callback-host", "shop.example"],
    )
    .success();
    let created: Value = serde_json::from_str(&stdout_of(&created)).unwrap();
    let (user, key) = (created["apiUser"].as_str().unwrap().to_owned(), created["apiKey"].as_str().unwrap().to_owned());
    let token = {
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{key}"));
        let (status, body) = http.send(
            http.client
                .post(format!("{base}/disbursement/token/"))
                .header("Ocp-Apim-Subscription-Key", KEY)
                .header("Authorization", format!("Basic {basic}")),
        );
        assert_eq!(status, 200);
        serde_json::from_str::<Value>(&body).unwrap()["access_token"].as_str().unwrap().to_owned()
    };

    let listed = stdout_of(&momo_admin(base, ADMIN, &["users", "list"]).success());
    assert!(listed.contains(&user) && listed.contains("mtnuganda") && listed.contains("active"), "{listed}");
    assert!(!listed.contains(&key));

    let text = stdout_of(&momo_admin(base, ADMIN, &["users", "regenerate-key", &user]).success());
    assert!(text.contains("API key:") && !text.contains(&key), "{text}");

    let revoked = stdout_of(&momo_admin(base, ADMIN, &["users", "revoke", &user]).success());
    assert!(revoked.contains("Revoked API user"), "{revoked}");
    let (status, _) = http.send(
        http.client
            .get(format!("{base}/disbursement/v1_0/account/balance"))
            .header("Ocp-Apim-Subscription-Key", KEY)
            .header("X-Target-Environment", "mtnuganda")
            .bearer_auth(&token),
    );
    assert_eq!(status, 401);

    let keys = stdout_of(&momo_admin(base, ADMIN, &["subscription-keys", "list"]).success());
    assert!(keys.contains("pinned") && !keys.contains(KEY), "{keys}");
    let added = momo_admin(base, ADMIN, &["--json", "subscription-keys", "add", "--product", "collection"]).success();
    let added: Value = serde_json::from_str(&stdout_of(&added)).unwrap();
    let id = added["id"].as_str().unwrap();
    let regenerated = stdout_of(&momo_admin(base, ADMIN, &["subscription-keys", "regenerate", id]).success());
    assert!(regenerated.contains("Ocp-Apim-Subscription-Key:"), "{regenerated}");
    momo_admin(base, ADMIN, &["subscription-keys", "revoke", id]).success();
}

#[test]
fn momo_admin_failures_say_what_to_do_and_exit_with_documented_codes() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &pinned(), &[]);

    let wrong = momo_admin(&server.base, "wrong-token", &["users", "list"]).code(1);
    let stderr = String::from_utf8(wrong.get_output().stderr.clone()).unwrap();
    assert!(stderr.contains("UNAUTHORIZED") && stderr.contains("hint:"), "{stderr}");

    let missing = momo_admin(&server.base, ADMIN, &["users", "show", "nobody"]).code(1);
    let stderr = String::from_utf8(missing.get_output().stderr.clone()).unwrap();
    assert!(stderr.contains("RESOURCE_NOT_FOUND"), "{stderr}");

    let no_token = assert_cmd::Command::cargo_bin("momo")
        .unwrap()
        .env_remove("MOMO_ADMIN_TOKEN")
        .args(["admin", "--server", &server.base, "users", "list"])
        .assert()
        .code(2);
    assert!(String::from_utf8_lossy(&no_token.get_output().stderr).contains("MOMO_ADMIN_TOKEN"));

    let unreachable = momo_admin("http://127.0.0.1:9", ADMIN, &["users", "list"]).code(3);
    assert!(String::from_utf8_lossy(&unreachable.get_output().stderr).contains("is `momo serve` running?"));
}

#[test]
fn a_port_in_use_is_a_clear_startup_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_momo"))
        .args(["serve", "--bind", &format!("127.0.0.1:{port}"), "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cannot listen") && stderr.contains("hint:"), "{stderr}");
}

/// Settings that would quietly mean something else are refused before the server starts: a
/// wallet opening balance some currency cannot hold, a scrape token short enough to guess (and
/// the refusal never shows the token).
#[test]
fn settings_that_would_be_quietly_wrong_stop_the_server_at_startup() {
    let dir = tempfile::tempdir().unwrap();
    for (flag, value, expected) in [
        ("--wallet-opening-balance", "-5", "cannot open a wallet"),
        ("--wallet-opening-balance", "1000.5", "cannot open a wallet"),
        ("--wallet-opening-balance", "ten", "decimal number"),
        ("--metrics-token", "short-secret", "at least 16 characters"),
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_momo"))
            .args(["serve", "--bind", "127.0.0.1:0", &format!("{flag}={value}"), "--data-dir"])
            .arg(dir.path())
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{flag} {value}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(expected), "{flag} {value}: {stderr}");
        if flag == "--metrics-token" {
            assert!(!stderr.contains(value), "the token is shown: {stderr}");
        }
    }
}

/// Private files whatever the umask: under `umask 000` a server that left modes to the umask
/// would create a world-writable data directory and world-readable database and key files.
#[test]
fn data_files_are_private_even_under_an_open_umask() {
    use std::os::unix::fs::PermissionsExt as _;
    let root = tempfile::tempdir().unwrap();
    let (data, elsewhere) = (root.path().join("data"), root.path().join("db"));
    std::fs::create_dir(&elsewhere).unwrap();
    let named = format!("sqlite://{}", elsewhere.join("named.db").display());
    let mode = |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    for (args, db) in
        [(vec![], data.join("momo.db")), (vec!["--database-url", named.as_str()], elsewhere.join("named.db"))]
    {
        let mut full = pinned();
        full.extend(args);
        let server = Server::start_after("umask 000", &data, &full);
        Http::new().sandbox_user(&server.base);
        assert_eq!(mode(&data), 0o700, "data directory");
        assert_eq!(mode(&data.join("credential-hash.key")), 0o600, "credential hash key");
        for file in [db.clone(), db.with_extension("db-wal"), db.with_extension("db-shm")] {
            assert_eq!(mode(&file), 0o600, "{}", file.display());
        }
    }
}

/// The review's descriptor exhaustion: under a 600-descriptor limit, 700 connections that send
/// nothing made storage fail ("unable to open database file"). Now the server serves at most
/// the limit less its reserve at once, the rest wait unaccepted until idle ones time out, and
/// the health check (which asks the database) and a payment both succeed meanwhile.
#[test]
fn idle_connections_past_the_descriptor_limit_never_make_storage_fail() {
    let dir = tempfile::tempdir().unwrap();
    let mut args = pinned();
    args.extend(["--keep-alive-timeout", "1", "--header-read-timeout", "1"]);
    let server = Server::start_after("ulimit -n 600", dir.path(), &args);
    let address = server.base.trim_start_matches("http://").to_owned();
    let idle: Vec<std::net::TcpStream> = (0..700)
        .map(|_| std::net::TcpStream::connect(&address).expect("connect (accepted or in the backlog)"))
        .collect();
    let http = Http::new();
    // Bounded, so that a server which never frees a slot fails the test instead of hanging it.
    let health = http.client.get(format!("{}/_momo/health", server.base)).timeout(Duration::from_secs(30));
    let (status, body) = http.send(health);
    assert_eq!(status, 200, "{body}");
    let (user, key) = http.sandbox_user(&server.base);
    assert_eq!(http.token(&server.base, &user, &key).0, 200);
    drop(idle);
    let stderr = server.stderr.lock().unwrap().clone();
    assert!(!stderr.contains("unable to open database file"), "{stderr}");
    assert!(stderr.contains("serving fewer connections at once"), "the cap was lowered to fit the limit: {stderr}");
}

/// Acceptance 4: two server processes on one PostgreSQL database.
#[test]
fn two_processes_share_one_postgres_database() {
    let Some(url) = fresh_postgres_database() else { return };
    let dirs = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    // Instances sharing a database share the key its secret hashes are made with.
    let key_file = dirs.0.path().join("credential-hash.key");
    let key_file = key_file.to_str().unwrap();
    let args = |_: ()| {
        let mut args = pinned();
        args.extend(["--database-url", url.as_str(), "--credential-hash-key-file", key_file]);
        args
    };
    let first = Server::start(dirs.0.path(), &args(()), &[]);
    let second = Server::start(dirs.1.path(), &args(()), &[]);
    let http = Http::new();
    let (user, key) = http.sandbox_user(&first.base);
    let token = http.access_token(&second.base, &user, &key);
    assert_eq!(http.balance(&first.base, &token), 200, "a token of one instance works on the other");

    momo_admin(&first.base, ADMIN, &["users", "revoke", &user]).success();
    assert_eq!(http.balance(&first.base, &token), 401);
    let deadline = Instant::now() + Duration::from_secs(5);
    while http.balance(&second.base, &token) != 401 {
        assert!(Instant::now() < deadline, "the other process still accepts the revoked user's token");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!first.stdout().contains("postgres:postgres"), "the banner hides the database password");
}

fn fresh_postgres_database() -> Option<String> {
    let admin = match std::env::var("MOMO_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => {
            assert!(std::env::var("CI").is_err(), "MOMO_TEST_POSTGRES_URL must be set in CI");
            eprintln!("skipped: set MOMO_TEST_POSTGRES_URL to run the PostgreSQL tests");
            return None;
        }
    };
    let name = format!("momo_cli_test_{}", uuid::Uuid::new_v4().simple());
    let status = Command::new("psql").args([admin.as_str(), "-q", "-c", &format!("CREATE DATABASE {name}")]).status();
    assert!(status.map(|s| s.success()).unwrap_or(false), "psql could create a database");
    let (prefix, _) = admin.rsplit_once('/').unwrap();
    Some(format!("{prefix}/{name}"))
}

#[test]
fn momo_admin_controls_payments_faults_and_balances() {
    let dir = tempfile::tempdir().unwrap();
    let http = Http::new();
    let server = Server::start(dir.path(), &pinned(), &[]);
    let base = server.base.as_str();
    let (user, key) = http.sandbox_user(base);
    let token = http.access_token(base, &user, &key);
    let reference = uuid::Uuid::new_v4().to_string();
    let (status, _) = http.send(
        http.client
            .post(format!("{base}/collection/v1_0/requesttopay"))
            .header("Ocp-Apim-Subscription-Key", KEY)
            .header("X-Target-Environment", "sandbox")
            .header("X-Reference-Id", &reference)
            .bearer_auth(&token)
            .json(&serde_json::json!({"amount": "12", "currency": "EUR", "payer": {"partyIdType": "MSISDN", "partyId": "56733123453"}})),
    );
    assert_eq!(status, 202);

    let listed = stdout_of(&momo_admin(base, ADMIN, &["transactions", "list"]).success());
    assert!(listed.contains(&reference) && listed.contains("PENDING"), "{listed}");
    let forced = stdout_of(
        &momo_admin(
            base,
            ADMIN,
            &["transactions", "force", &reference, "--status", "failed", "--reason", "NOT_ENOUGH_FUNDS"],
        )
        .success(),
    );
    assert_eq!(forced, format!("{reference} is now FAILED (NOT_ENOUGH_FUNDS).\n"));
    let shown: Value = serde_json::from_str(&stdout_of(
        &momo_admin(base, ADMIN, &["--json", "transactions", "show", &reference]).success(),
    ))
    .unwrap();
    assert_eq!(shown["statusBody"]["reason"], "NOT_ENOUGH_FUNDS");
    momo_admin(base, ADMIN, &["transactions", "approve", &reference]).code(1);

    let wallet = stdout_of(
        &momo_admin(
            base,
            ADMIN,
            &["accounts", "set-wallet", "--environment", "mtnuganda", "--msisdn", "256771234567", "--amount", "5000"],
        )
        .success(),
    );
    assert_eq!(wallet, "wallet:mtnuganda:MSISDN:256771234567 now holds 5000 UGX.\n");
    let funded = stdout_of(
        &momo_admin(base, ADMIN, &["accounts", "set-user", &user, "--product", "disbursement", "--amount", "99.5"])
            .success(),
    );
    assert!(funded.contains("99.5 EUR"), "{funded}");
    let accounts = stdout_of(&momo_admin(base, ADMIN, &["accounts", "list"]).success());
    assert!(accounts.contains("wallet:mtnuganda:MSISDN:256771234567") && accounts.contains("5000"), "{accounts}");

    let added = stdout_of(
        &momo_admin(
            base,
            ADMIN,
            &["faults", "add", "--path", "/v1_0/apiuser", "--method", "POST", "--status", "500", "--count", "1"],
        )
        .success(),
    );
    assert!(added.starts_with("Added fault rule"), "{added}");
    let user_attempt = http.send(
        http.client
            .post(format!("{base}/v1_0/apiuser"))
            .header("Ocp-Apim-Subscription-Key", KEY)
            .header("X-Reference-Id", uuid::Uuid::new_v4().to_string())
            .json(&serde_json::json!({"providerCallbackHost": "webhook.site"})),
    );
    assert_eq!(user_attempt.0, 500);
    let rules = stdout_of(&momo_admin(base, ADMIN, &["faults", "list"]).success());
    assert!(rules.contains("/v1_0/apiuser"), "{rules}");
    momo_admin(base, ADMIN, &["faults", "clear"]).success();

    let secret = stdout_of(&momo_admin(base, ADMIN, &["users", "callback-secret", &user]).success());
    assert_eq!(secret.trim().len(), 64);
    let deliveries = stdout_of(&momo_admin(base, ADMIN, &["deliveries", "list"]).success());
    assert_eq!(deliveries, "No callback deliveries.\n");
    momo_admin(base, ADMIN, &["reset"]).success();
    let after = stdout_of(&momo_admin(base, ADMIN, &["transactions", "list"]).success());
    assert_eq!(after, "No transactions.\n");
}
