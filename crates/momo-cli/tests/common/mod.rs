//! Helpers shared by the CLI tests: a `momo serve` process and `momo` commands run against it.

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

pub const KEY: &str = "cli-subscription-key-000000000001";
pub const ADMIN: &str = "cli-operator-token-0000000000000000000000000000000000000001";

/// A `momo serve` process with a pinned key and operator token; killed when dropped.
pub struct Server {
    child: Child,
    pub base: String,
    _dir: Option<tempfile::TempDir>,
}

impl Server {
    /// A server in a fresh data directory, with a short pending delay.
    pub fn start(extra: &[&str]) -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut args = vec!["--pending-delay", "0.3"];
        args.extend_from_slice(extra);
        let mut server = Server::start_in(dir.path(), &args);
        server._dir = Some(dir);
        server
    }

    /// A server on the data directory `dir` (kept by the caller, so a restart finds its data).
    pub fn start_in(dir: &Path, extra: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_momo"))
            .args(["serve", "--bind", "127.0.0.1:0", "--subscription-key", KEY, "--admin-token", ADMIN, "--data-dir"])
            .arg(dir)
            .args(extra)
            .env_remove("MOMO_DATABASE_URL")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("momo serve starts");
        let mut first = String::new();
        BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut first).expect("banner");
        let base = first.split_whitespace().find(|w| w.starts_with("http://")).expect("address").to_owned();
        Server { child, base, _dir: None }
    }

    /// SIGKILL, and wait until the process is gone.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// A call to the operator API.
    pub fn admin(&self, method: &str, path: &str, body: serde_json::Value) -> serde_json::Value {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        runtime.block_on(async {
            let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
            let response = reqwest::Client::new()
                .request(method, format!("{}/_momo/admin{path}", self.base))
                .bearer_auth(ADMIN)
                .json(&body)
                .send()
                .await
                .expect("admin call");
            response.json().await.unwrap_or(serde_json::Value::Null)
        })
    }

    /// Provision a sandbox user into `dir/.env` with `momo sandbox provision`.
    pub fn provision(&self, dir: &Path, callback_host: &str) {
        momo(dir)
            .args([
                "sandbox",
                "provision",
                "--base-url",
                &self.base,
                "--subscription-key",
                KEY,
                "--callback-host",
                callback_host,
            ])
            .assert()
            .success();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `momo` run in `dir`, with no MOMO_* variables from the test's environment.
pub fn momo(dir: &Path) -> assert_cmd::Command {
    let mut command = assert_cmd::Command::cargo_bin("momo").expect("the momo binary");
    command.current_dir(dir);
    for (name, _) in std::env::vars() {
        if name.starts_with("MOMO_") && name != "MOMO_TEST_POSTGRES_URL" {
            command.env_remove(name);
        }
    }
    command.env("NO_COLOR", "1");
    command
}

/// stdout of a finished command.
pub fn stdout(assert: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&assert.get_output().stdout).into_owned()
}

/// stderr of a finished command.
pub fn stderr(assert: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&assert.get_output().stderr).into_owned()
}

/// Snapshot settings that hide what changes from run to run.
pub fn redactions() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "[uuid]");
    settings.add_filter(r"http://127\.0\.0\.1:\d+", "http://[server]");
    settings.add_filter(r"\b\d{10}\b", "[number]");
    settings.add_filter(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?", "[time]");
    settings.add_filter(r"eyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+", "[jwt]");
    settings.add_filter(r#""updated_at": \d+"#, r#""updated_at": [time]"#);
    settings
}
