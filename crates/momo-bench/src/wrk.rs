//! wrk as the load driver: found on PATH or named with `--wrk`, run with one thread and a Lua
//! script momo-bench writes for each run from the pieces in crates/momo-bench/wrk/, its figures
//! read from the line the script's `done()` prints (docs/performance.md, "Which driver measured
//! what").

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::{Deserialize, Serialize};

use crate::figures::{Figures, Load};
use crate::output::Failure;

/// The Lua pieces a script is made of.
const REFERENCE_ID_LUA: &str = include_str!("../wrk/reference-id.lua");
const REQUEST_TO_PAY_LUA: &str = include_str!("../wrk/request-to-pay.lua");
const END_TO_END_LUA: &str = include_str!("../wrk/end-to-end.lua");
const REPORT_LUA: &str = include_str!("../wrk/report.lua");

/// What report.lua prints before its JSON.
const REPORT_MARKER: &str = "momo-bench-wrk ";

/// wrk's threads. The server and wrk share this machine's CPUs: one wrk thread loads the baseline
/// at about twice what the own driver reaches (docs/performance.md), and a second would take CPU
/// from the server it measures.
const THREADS: usize = 1;

/// How long wrk waits for an answer before counting a timeout: as long as the own driver's client
/// waits (wrk's default, 2 s, would leave the slowest answers out of the latencies).
const TIMEOUT: &str = "30s";

pub(crate) const INSTALL_HINT: &str = "install it (apt-get install wrk) or name it with --wrk PATH";

/// A wrk that runs.
#[derive(Debug, Serialize)]
pub(crate) struct Wrk {
    path: PathBuf,
    /// What `wrk -v` says, e.g. "wrk debian/4.1.0-3+b2 [epoll]".
    version: String,
    threads: usize,
}

impl Wrk {
    /// The wrk `named` (refused if it does not run as wrk), else the first `wrk` on PATH; `None`
    /// when there is none.
    pub(crate) fn find(named: Option<&Path>) -> Result<Option<Wrk>, Failure> {
        match named {
            Some(path) => Wrk::at(path)
                .map(Some)
                .ok_or_else(|| Failure::new(2, format!("{} does not run as wrk", path.display()), INSTALL_HINT)),
            None => Ok(std::env::var_os("PATH")
                .iter()
                .flat_map(std::env::split_paths)
                .map(|dir| dir.join("wrk"))
                .filter(|path| path.is_file())
                .find_map(|path| Wrk::at(&path))),
        }
    }

    /// wrk at `path`, if it says it is wrk: `wrk -v` prints "wrk VERSION [ENGINE] Copyright …"
    /// then its usage, and exits with 1.
    fn at(path: &Path) -> Option<Wrk> {
        let output = Command::new(path).arg("-v").output().ok()?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        let version = stdout.lines().next()?.split(" Copyright").next()?.trim();
        version.starts_with("wrk ").then(|| Wrk {
            path: path.to_owned(),
            version: version.to_owned(),
            threads: THREADS,
        })
    }

    pub(crate) fn version(&self) -> &str {
        &self.version
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn threads(&self) -> usize {
        self.threads
    }

    /// Load `base` with `requests`, closed loop (`load.rate` is for the own driver), and measure:
    /// first a warm-up run of `load.warmup` rounded up to whole seconds (wrk takes no less), not
    /// measured, then the measured run.
    pub(crate) async fn measure(&self, base: &str, requests: &WrkRequests, load: &Load) -> Result<WrkReport, Failure> {
        let warmup_seconds = load.warmup.as_secs() + u64::from(load.warmup.subsec_nanos() > 0);
        if warmup_seconds > 0 {
            self.run(base, requests, load.connections, warmup_seconds).await?;
        }
        self.run(base, requests, load.connections, load.duration.as_secs().max(1)).await
    }

    async fn run(
        &self,
        base: &str,
        requests: &WrkRequests,
        connections: usize,
        seconds: u64,
    ) -> Result<WrkReport, Failure> {
        let failed = |e: std::io::Error| Failure::new(3, format!("cannot run wrk: {e}"), "");
        // The script holds the token: a file only this user can read (tempfile's default, 0600),
        // not wrk's command line, which any user can list.
        let mut script = tempfile::Builder::new().prefix("momo-bench-").suffix(".lua").tempfile().map_err(failed)?;
        script.write_all(requests.script(&run_prefix()).as_bytes()).map_err(failed)?;
        let mut command = Command::new(&self.path);
        command
            .args(["--threads", &THREADS.to_string(), "--connections", &connections.to_string()])
            .args(["--duration", &format!("{seconds}s"), "--timeout", TIMEOUT, "--script"])
            .arg(script.path())
            .arg(format!("{base}{}", requests.path));
        let output = tokio::task::spawn_blocking(move || command.output())
            .await
            .map_err(|e| Failure::new(3, format!("cannot run wrk: {e}"), ""))?
            .map_err(failed)?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            return Err(Failure::new(3, format!("wrk failed ({}): {}", output.status, stderr.trim()), ""));
        }
        parse(&String::from_utf8_lossy(&output.stdout)).map_err(|e| Failure::new(3, e, ""))
    }
}

/// 8 hex digits new for each run of wrk: the start of every reference id it sends
/// (reference-id.lua), so that no two runs against one server send the same id.
fn run_prefix() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..8].to_owned()
}

/// What wrk sends in a run.
#[derive(Debug)]
pub(crate) struct WrkRequests {
    pub(crate) method: hyper::Method,
    /// The path on wrk's command line: every request's, except where `sequence` makes its own.
    pub(crate) path: String,
    pub(crate) headers: Vec<(&'static str, String)>,
    pub(crate) body: Option<String>,
    pub(crate) sequence: Sequence,
}

/// Which requests follow each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sequence {
    /// The same request each time.
    Same,
    /// Requests to pay, each with a fresh X-Reference-Id (request-to-pay.lua).
    FreshReferenceIds,
    /// A request to pay with a fresh X-Reference-Id, then a read of its status, in turn
    /// (end-to-end.lua): two requests for each operation.
    CreateThenRead,
}

impl WrkRequests {
    /// Requests wrk sends for one of the scenario's operations.
    pub(crate) fn requests_per_operation(&self) -> u64 {
        match self.sequence {
            Sequence::Same | Sequence::FreshReferenceIds => 1,
            Sequence::CreateThenRead => 2,
        }
    }

    /// The Lua script of a run: the request's method, body and headers, the sequence's script, and
    /// report.lua's `done()`.
    fn script(&self, run_prefix: &str) -> String {
        let mut script =
            format!("run_prefix = {}\nwrk.method = {}\n", lua_string(run_prefix), lua_string(self.method.as_str()));
        if let Some(body) = &self.body {
            script.push_str(&format!("wrk.body = {}\n", lua_string(body)));
        }
        for (name, value) in &self.headers {
            script.push_str(&format!("wrk.headers[{}] = {}\n", lua_string(name), lua_string(value)));
        }
        let sequence: &[&str] = match self.sequence {
            Sequence::Same => &[],
            Sequence::FreshReferenceIds => &[REFERENCE_ID_LUA, REQUEST_TO_PAY_LUA],
            Sequence::CreateThenRead => &[REFERENCE_ID_LUA, END_TO_END_LUA],
        };
        for piece in sequence.iter().chain([&REPORT_LUA]) {
            script.push_str(piece);
        }
        script
    }
}

/// `value` as a Lua string literal: printable ASCII as it is, every other byte as a decimal
/// escape (Lua strings are bytes; three digits, so a digit after one is never read into it).
fn lua_string(value: &str) -> String {
    let mut literal = String::with_capacity(value.len() + 2);
    literal.push('"');
    for byte in value.bytes() {
        match byte {
            b'"' | b'\\' => {
                literal.push('\\');
                literal.push(char::from(byte));
            }
            b' '..=b'~' => literal.push(char::from(byte)),
            _ => literal.push_str(&format!("\\{byte:03}")),
        }
    }
    literal.push('"');
    literal
}

/// What report.lua's `done()` prints: wrk's summary and latency percentiles (microseconds).
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub(crate) struct WrkReport {
    duration_us: u64,
    requests: u64,
    connect_errors: u64,
    read_errors: u64,
    write_errors: u64,
    /// Answers with a status above 399.
    status_errors: u64,
    timeouts: u64,
    p50_us: f64,
    p99_us: f64,
    p999_us: f64,
}

impl WrkReport {
    /// Requests answered per second of the measured run (wrk's "Requests/sec").
    pub(crate) fn requests_per_second(&self) -> f64 {
        if self.duration_us == 0 {
            return 0.0;
        }
        self.requests as f64 * 1e6 / self.duration_us as f64
    }

    /// Error answers, and socket errors (a connection that failed, a request that got no answer).
    pub(crate) fn errors(&self) -> u64 {
        self.status_errors + self.connect_errors + self.read_errors + self.write_errors + self.timeouts
    }

    /// The figures of a run in which each request is one of the scenario's operations.
    pub(crate) fn figures(&self) -> Figures {
        Figures {
            requests: self.requests,
            errors: self.errors(),
            sent: self.requests,
            sent_errors: self.errors(),
            requests_per_second: self.requests_per_second(),
            p50_ms: self.p50_us / 1000.0,
            p99_ms: self.p99_us / 1000.0,
            p999_ms: self.p999_us / 1000.0,
        }
    }
}

/// Read wrk's standard output: the line report.lua printed.
pub(crate) fn parse(stdout: &str) -> Result<WrkReport, String> {
    let line = stdout.lines().find_map(|line| line.strip_prefix(REPORT_MARKER)).ok_or_else(|| {
        format!("wrk printed no {:?} line (its script's done() did not run):\n{stdout}", REPORT_MARKER.trim())
    })?;
    serde_json::from_str(line).map_err(|e| format!("cannot read wrk's report {line:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::{lua_string, parse, Sequence, WrkRequests};

    /// wrk's own "Requests/sec:" line, to check the report against.
    fn wrk_requests_per_second(output: &str) -> f64 {
        let line = output.lines().find_map(|l| l.strip_prefix("Requests/sec:")).expect("a Requests/sec line");
        line.trim().parse().expect("a number")
    }

    #[test]
    fn reads_the_figures_of_real_wrk_runs() {
        for output in
            [include_str!("../testdata/wrk-read-baseline.txt"), include_str!("../testdata/wrk-write-baseline.txt")]
        {
            let report = parse(output).unwrap();
            let figures = report.figures();
            let wrk_says = wrk_requests_per_second(output);
            assert!((figures.requests_per_second - wrk_says).abs() < wrk_says * 0.001, "{figures:?} vs {wrk_says}");
            assert_eq!(figures.errors, 0);
            assert!(0.0 < figures.p50_ms && figures.p50_ms <= figures.p99_ms && figures.p99_ms <= figures.p999_ms);
        }
        let read = parse(include_str!("../testdata/wrk-read-baseline.txt")).unwrap().figures();
        assert_eq!(read.requests, 48_143);
        assert_eq!((read.p50_ms, read.p99_ms, read.p999_ms), (0.098, 4.98, 7.806));
    }

    #[test]
    fn counts_error_statuses_and_socket_errors_as_errors() {
        // Every answer a 401 (a token the server never issued): "Non-2xx or 3xx responses: 25853".
        let unauthorized = parse(include_str!("../testdata/wrk-read-unauthorized.txt")).unwrap().figures();
        assert_eq!((unauthorized.requests, unauthorized.errors), (25_853, 25_853));
        // The server killed half way: "Socket errors: connect 0, read 8, write 77501, timeout 0".
        let killed = parse(include_str!("../testdata/wrk-read-server-killed.txt")).unwrap().figures();
        assert_eq!((killed.requests, killed.errors), (11_599, 11_599 + 8 + 77_501));
    }

    #[test]
    fn output_without_the_report_line_is_an_error_that_says_so() {
        let output = include_str!("../testdata/wrk-read-baseline.txt");
        let without: String = output.lines().filter(|l| !l.starts_with("momo-bench-wrk")).collect();
        let error = parse(&without).unwrap_err();
        assert!(error.contains("done() did not run"), "{error}");
        assert!(parse("momo-bench-wrk {\"requests\": 1}").unwrap_err().contains("cannot read wrk's report"));
    }

    #[test]
    fn scripts_quote_what_they_send_as_lua_strings() {
        assert_eq!(lua_string(r#"{"amount":"10"}"#), r#""{\"amount\":\"10\"}""#);
        assert_eq!(lua_string("a\\b\nc\u{e9}"), r#""a\\b\010c\195\169""#);
        let requests = WrkRequests {
            method: hyper::Method::POST,
            path: "/collection/v1_0/requesttopay".into(),
            headers: vec![("Authorization", "Bearer abc".into())],
            body: Some(r#"{"amount":"10"}"#.into()),
            sequence: Sequence::FreshReferenceIds,
        };
        let script = requests.script("0123abcd");
        assert!(script.starts_with(
            "run_prefix = \"0123abcd\"\nwrk.method = \"POST\"\nwrk.body = \"{\\\"amount\\\":\\\"10\\\"}\"\n\
             wrk.headers[\"Authorization\"] = \"Bearer abc\"\n"
        ));
        assert!(script.contains("function next_reference_id()") && script.contains("function request()"));
        assert!(script.contains("function done("));
        assert_eq!(requests.requests_per_operation(), 1);
    }
}
