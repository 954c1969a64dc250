//! The run: openmomo and the baseline as child processes, each scenario loaded by one driver for
//! both, the figures.
//!
//! One invocation starts a baseline server (plain hyper, answering the same status codes and
//! body sizes with no work; see [`crate::baseline`]) and openmomo (the `momo` binary's `serve`,
//! SQLite by default or PostgreSQL with `--database-url`, one or more instances), and loads both
//! with the same driver for the same duration: wrk where it is installed and can express the
//! scenario, momo-bench's own driver otherwise, then checked against wrk on the baseline
//! (docs/performance.md, "Which driver measured what"). Figures are printed, never asserted:
//! these machines are shared and noisy.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use clap::{Args, ValueEnum};
use momo_types::headers::{CALLBACK_URL, REFERENCE_ID, SUBSCRIPTION_KEY, TARGET_ENVIRONMENT};
use serde::Serialize;
use serde_json::json;

use crate::driver::drive;
use crate::figures::{Driver, DriverCheck, Figures, Load};
use crate::output::{print, Failure};
use crate::wrk::{Sequence, Wrk, WrkRequests};
use crate::BASELINE_COMMAND;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Scenario {
    /// GET request-to-pay status with a valid token.
    Read,
    /// POST request to pay with unique reference ids (each durable before its 202).
    Write,
    /// Create, poll to final, and the callback delivered to a local receiver.
    EndToEnd,
    /// Token requests.
    Token,
}

impl Scenario {
    /// Its name on the command line.
    fn name(self) -> &'static str {
        match self {
            Scenario::Read => "read",
            Scenario::Write => "write",
            Scenario::EndToEnd => "end-to-end",
            Scenario::Token => "token",
        }
    }
}

#[derive(Debug, Args)]
pub(crate) struct BenchArgs {
    /// Seconds each scenario runs, for the baseline and for openmomo.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    duration: u64,
    /// Concurrent connections.
    #[arg(long, default_value_t = 64, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    connections: usize,
    /// Run openmomo on this PostgreSQL database instead of SQLite.
    #[arg(long)]
    database_url: Option<String>,
    /// openmomo instances sharing the database (more than one needs --database-url).
    #[arg(long, default_value_t = 1)]
    instances: usize,
    /// Which scenarios to run.
    #[arg(long, value_delimiter = ',', default_value = "read,write,end-to-end,token")]
    scenarios: Vec<Scenario>,
    /// Open loop: send this many requests per second in all, spread evenly over the
    /// connections, and measure each latency from when its request was due (as wrk2 does), so
    /// that a slow answer is not hidden by the next request waiting for it. Without it, each
    /// connection sends its next request as soon as the last is answered (closed loop: the
    /// most throughput, but latency is then connections / throughput). Own driver only.
    #[arg(long)]
    rate: Option<f64>,
    /// Seconds of load before each measured run (not measured): connections are opened and
    /// warm, for the baseline and openmomo alike (wrk's warm-up lasts whole seconds).
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    /// The `momo` binary to measure [default: `momo` beside this program, which is
    /// target/release/momo under `cargo run --release -p momo-bench`].
    #[arg(long, env = "MOMO_BENCH_MOMO")]
    momo: Option<PathBuf>,
    /// The wrk to load with [default: `wrk` on PATH]. wrk drives every scenario it can express
    /// (read, write and token, closed loop, one instance); without it, momo-bench's own driver
    /// drives them all, unchecked.
    #[arg(long, env = "MOMO_BENCH_WRK")]
    wrk: Option<PathBuf>,
    /// Drive every scenario with momo-bench's own driver (still checked against wrk on the
    /// baseline where wrk is installed).
    #[arg(long)]
    own_driver: bool,
}

const KEY: &str = "bench-subscription-key-00000001";
const ADMIN: &str = "bench-operator-token-000000000000000000000000000001";

/// A server process; killed when dropped.
struct Process {
    child: Child,
    base: String,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Process {
    fn spawn(exe: &Path, args: &[String]) -> Result<Process, Failure> {
        // The server's own log settings, as a user gets them: issue 12's read target is set at
        // the default log level, where an access line per request used to cost a fifth of a read.
        let mut child = Command::new(exe)
            .args(args)
            .env_remove("RUST_LOG")
            .env_remove("MOMO_ACCESS_LOG")
            .stdout(Stdio::piped())
            .stderr(match std::env::var_os("MOMO_BENCH_SERVER_LOG") {
                Some(path) => std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_or_else(|_| Stdio::null(), Stdio::from),
                None => Stdio::null(),
            })
            .spawn()
            .map_err(|e| Failure::new(3, format!("cannot start a server: {e}"), ""))?;
        let stdout = child.stdout.take().ok_or_else(|| Failure::new(3, "no stdout", ""))?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).map_err(|e| Failure::new(3, e.to_string(), ""))?;
        let base = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .ok_or_else(|| Failure::new(3, format!("the server did not say where it listens: {line:?}"), ""))?
            .to_owned();
        Ok(Process { child, base })
    }

    /// Peak resident memory (VmHWM), in MiB.
    fn peak_rss_mib(&self) -> Option<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let kib: f64 =
            status.lines().find_map(|l| l.strip_prefix("VmHWM:"))?.trim().trim_end_matches("kB").trim().parse().ok()?;
        Some(kib / 1024.0)
    }
}

fn http_client(connections: usize) -> Result<reqwest::Client, Failure> {
    reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| Failure::new(3, e.to_string(), ""))
}

/// The `momo` binary to run: the one named, or the one built beside this program.
fn momo_binary(named: Option<PathBuf>) -> Result<PathBuf, Failure> {
    let path = match named {
        Some(path) => path,
        None => std::env::current_exe()
            .map_err(|e| Failure::new(3, e.to_string(), ""))?
            .with_file_name(format!("momo{}", std::env::consts::EXE_SUFFIX)),
    };
    if path.is_file() {
        Ok(path)
    } else {
        Err(Failure::new(
            2,
            format!("no momo binary at {}", path.display()),
            "build it first (cargo build --release --bin momo) or name one with --momo",
        ))
    }
}

/// A local callback receiver counting what it gets.
async fn receiver() -> Result<Receiver, Failure> {
    let listener =
        tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| Failure::new(3, e.to_string(), ""))?;
    let url = format!("http://{}/cb", listener.local_addr().map_err(|e| Failure::new(3, e.to_string(), ""))?);
    let count = Arc::new(AtomicU64::new(0));
    let window: Arc<Mutex<Option<(Instant, Instant)>>> = Arc::default();
    let (c, w) = (count.clone(), window.clone());
    let app = axum::Router::new().fallback(move || {
        let (c, w) = (c.clone(), w.clone());
        async move {
            c.fetch_add(1, Ordering::Relaxed);
            let now = Instant::now();
            let mut window = w.lock().unwrap_or_else(|e| e.into_inner());
            *window = Some(window.map_or((now, now), |(first, _)| (first, now)));
            axum::http::StatusCode::OK
        }
    });
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(Receiver { url, count, window })
}

/// The paths the scenarios load (the wrk scripts in crates/momo-bench/wrk/ write the first too).
const REQUEST_TO_PAY_PATH: &str = "/collection/v1_0/requesttopay";
const TOKEN_PATH: &str = "/collection/token/";
const CONTENT_TYPE: &str = "content-type";
const JSON: &str = "application/json";

/// What a real client sends in each scenario, the same whichever driver sends it. No `Debug`: it
/// holds the token and the API key.
struct Workload {
    /// The subscription key, the bearer token and the target environment.
    api_headers: Vec<(&'static str, String)>,
    /// The subscription key and `Basic base64(user:key)`, for token requests.
    token_headers: Vec<(&'static str, String)>,
    /// A request to pay's JSON body.
    body: String,
    /// The status path of a finished request to pay (the read scenario's).
    read_path: String,
    /// The local receiver the end-to-end scenario's callbacks go to.
    callback_url: String,
}

impl Workload {
    /// The scenario's requests as wrk sends them (end to end: against the baseline only, see
    /// crates/momo-bench/wrk/end-to-end.lua).
    fn wrk_requests(&self, scenario: Scenario) -> WrkRequests {
        let create = |sequence, callback_url: Option<&str>| WrkRequests {
            method: hyper::Method::POST,
            path: REQUEST_TO_PAY_PATH.to_owned(),
            headers: self
                .api_headers
                .iter()
                .cloned()
                .chain([(CONTENT_TYPE, JSON.to_owned())])
                .chain(callback_url.map(|url| (CALLBACK_URL, url.to_owned())))
                .collect(),
            body: Some(self.body.clone()),
            sequence,
        };
        match scenario {
            Scenario::Read => WrkRequests {
                method: hyper::Method::GET,
                path: self.read_path.clone(),
                headers: self.api_headers.clone(),
                body: None,
                sequence: Sequence::Same,
            },
            Scenario::Write => create(Sequence::FreshReferenceIds, None),
            Scenario::EndToEnd => create(Sequence::CreateThenRead, Some(&self.callback_url)),
            Scenario::Token => WrkRequests {
                method: hyper::Method::POST,
                path: TOKEN_PATH.to_owned(),
                headers: self.token_headers.clone(),
                body: None,
                sequence: Sequence::Same,
            },
        }
    }

    /// `request` with the API headers (the token's among them).
    fn with_api_headers(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        self.api_headers.iter().fold(request, |request, (name, value)| request.header(*name, value))
    }

    /// A request to pay with a fresh reference id, for the own driver.
    fn create(&self, http: &reqwest::Client, base: &str, id: &str) -> reqwest::RequestBuilder {
        self.with_api_headers(http.post(format!("{base}{REQUEST_TO_PAY_PATH}")))
            .header(REFERENCE_ID, id)
            .header(CONTENT_TYPE, JSON)
            .body(self.body.clone())
    }
}

/// One operation of `scenario` by the own driver (end to end: a create and its poll), and whether
/// its answers were the expected ones; `accepted` keeps the reference ids acknowledged.
async fn send(
    http: &reqwest::Client,
    base: &str,
    scenario: Scenario,
    workload: &Workload,
    accepted: Option<&Mutex<Vec<String>>>,
) -> bool {
    match scenario {
        Scenario::Read => workload
            .with_api_headers(http.get(format!("{base}{}", workload.read_path)))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200),
        Scenario::Write => {
            let id = uuid::Uuid::new_v4().to_string();
            let ok = workload.create(http, base, &id).send().await.is_ok_and(|r| r.status() == 202);
            if let (true, Some(accepted)) = (ok, accepted) {
                accepted.lock().unwrap_or_else(|e| e.into_inner()).push(id);
            }
            ok
        }
        Scenario::EndToEnd => {
            let id = uuid::Uuid::new_v4().to_string();
            let created = workload
                .create(http, base, &id)
                .header(CALLBACK_URL, &workload.callback_url)
                .send()
                .await
                .is_ok_and(|r| r.status() == 202);
            let polled = workload.with_api_headers(http.get(format!("{base}{REQUEST_TO_PAY_PATH}/{id}"))).send().await;
            match polled {
                Ok(r) if r.status() == 200 => created && r.text().await.is_ok_and(|t| t.contains("SUCCESSFUL")),
                _ => false,
            }
        }
        Scenario::Token => workload
            .token_headers
            .iter()
            .fold(http.post(format!("{base}{TOKEN_PATH}")), |request, (name, value)| request.header(*name, value))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200),
    }
}

/// Why momo-bench's own driver, not wrk, drove a scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
enum OwnDriverReason {
    /// `--own-driver`.
    Asked,
    /// No wrk on PATH and none named.
    WrkNotInstalled,
    /// `--rate`: wrk has no open loop.
    OpenLoop,
    /// Several instances: wrk loads one address.
    SeveralInstances,
    /// End to end: each poll must follow its own create, and the callbacks are counted.
    EndToEnd,
}

impl OwnDriverReason {
    fn describe(self) -> &'static str {
        match self {
            OwnDriverReason::Asked => "--own-driver",
            OwnDriverReason::WrkNotInstalled => "wrk is not installed",
            OwnDriverReason::OpenLoop => "--rate (wrk has no open loop)",
            OwnDriverReason::SeveralInstances => "several instances (wrk loads one address)",
            OwnDriverReason::EndToEnd => "each poll must follow its own create, and callbacks are counted",
        }
    }
}

/// A scenario's figures for the baseline and openmomo, from one driver.
#[derive(Debug, Serialize)]
struct Measured {
    /// The driver of both figures.
    driver: Driver,
    #[serde(skip_serializing_if = "Option::is_none")]
    own_driver_because: Option<OwnDriverReason>,
    baseline: Figures,
    openmomo: Figures,
    /// The own driver's baseline figure beside wrk's (none when wrk drove).
    #[serde(skip_serializing_if = "Option::is_none")]
    driver_check: Option<DriverCheck>,
}

impl Measured {
    /// Whether the driver, not the baseline, set the baseline figure: never for wrk (the
    /// reference), unknown (`None`) for the own driver without wrk to check it.
    fn driver_bound(&self) -> Option<bool> {
        self.driver_check.as_ref().map_or(Some(false), DriverCheck::driver_bound)
    }
}

#[derive(Debug, Serialize)]
struct Report {
    scenario: Scenario,
    #[serde(flatten)]
    measured: Measured,
    ratio: f64,
    /// The figures are the own driver's limit rather than the baseline's (null: unchecked).
    driver_bound: Option<bool>,
    target: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    callbacks_per_second: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    verified: Option<String>,
}

/// A local callback receiver: where it listens, how many callbacks it got, and when the first
/// and the last came.
struct Receiver {
    url: String,
    count: Arc<AtomicU64>,
    window: Arc<Mutex<Option<(Instant, Instant)>>>,
}

/// What every scenario's measurement uses, set up once.
struct Bench {
    load: Load,
    wrk: Option<Wrk>,
    own_driver: bool,
    http: reqwest::Client,
    workload: Arc<Workload>,
    baseline: Arc<Vec<String>>,
    openmomo: Arc<Vec<String>>,
    callbacks: Receiver,
}

impl Bench {
    /// The wrk to drive `scenario` with, or why the own driver drives it.
    fn wrk_for(&self, scenario: Scenario) -> Result<&Wrk, OwnDriverReason> {
        if self.own_driver {
            return Err(OwnDriverReason::Asked);
        }
        let wrk = self.wrk.as_ref().ok_or(OwnDriverReason::WrkNotInstalled)?;
        if self.load.rate.is_some() {
            Err(OwnDriverReason::OpenLoop)
        } else if self.openmomo.len() > 1 {
            Err(OwnDriverReason::SeveralInstances)
        } else if scenario == Scenario::EndToEnd {
            Err(OwnDriverReason::EndToEnd)
        } else {
            Ok(wrk)
        }
    }

    /// The baseline, then openmomo, with one driver; for the own driver, wrk on the baseline too.
    async fn measure(
        &self,
        scenario: Scenario,
        accepted: Option<Arc<Mutex<Vec<String>>>>,
    ) -> Result<Measured, Failure> {
        match self.wrk_for(scenario) {
            Ok(wrk) => {
                let requests = self.workload.wrk_requests(scenario);
                let baseline = wrk.measure(&self.baseline[0], &requests, &self.load).await?.figures();
                let openmomo = wrk.measure(&self.openmomo[0], &requests, &self.load).await?.figures();
                Ok(Measured { driver: Driver::Wrk, own_driver_because: None, baseline, openmomo, driver_check: None })
            }
            Err(reason) => {
                let baseline = self.drive_own(scenario, self.baseline.clone(), None).await;
                let driver_check = self.check(scenario, &baseline).await?;
                let openmomo = self.drive_own(scenario, self.openmomo.clone(), accepted).await;
                Ok(Measured {
                    driver: Driver::Own,
                    own_driver_because: Some(reason),
                    baseline,
                    openmomo,
                    driver_check: Some(driver_check),
                })
            }
        }
    }

    /// Load `targets` (in turn) with the own driver.
    async fn drive_own(
        &self,
        scenario: Scenario,
        targets: Arc<Vec<String>>,
        accepted: Option<Arc<Mutex<Vec<String>>>>,
    ) -> Figures {
        let (http, workload) = (self.http.clone(), self.workload.clone());
        drive(self.load, move |i| {
            let (http, workload, targets, accepted) =
                (http.clone(), workload.clone(), targets.clone(), accepted.clone());
            async move {
                let base = &targets[usize::try_from(i).unwrap_or(0) % targets.len()];
                send(&http, base, scenario, &workload, accepted.as_deref()).await
            }
        })
        .await
    }

    /// wrk's figure on the baseline beside the own driver's, where wrk is installed.
    async fn check(&self, scenario: Scenario, own_baseline: &Figures) -> Result<DriverCheck, Failure> {
        let Some(wrk) = &self.wrk else { return Ok(DriverCheck::NotInstalled) };
        let requests = self.workload.wrk_requests(scenario);
        let report = wrk.measure(&self.baseline[0], &requests, &self.load).await?;
        let wrk_baseline = report.requests_per_second() / requests.requests_per_operation() as f64;
        Ok(DriverCheck::measured(own_baseline.requests_per_second, wrk_baseline, self.load.rate))
    }

    /// Callbacks delivered per second, from the first to the last, once every flow's has come
    /// (or a minute has passed).
    async fn callbacks_per_second(&self, before: u64, openmomo: &Figures) -> f64 {
        let expected = before + openmomo.sent - openmomo.sent_errors;
        let wait_until = Instant::now() + Duration::from_secs(60);
        while self.callbacks.count.load(Ordering::Relaxed) < expected && Instant::now() < wait_until {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let got = self.callbacks.count.load(Ordering::Relaxed) - before;
        let window = *self.callbacks.window.lock().unwrap_or_else(|e| e.into_inner());
        let span = window.map_or(0.0, |(first, last)| (last - first).as_secs_f64());
        if span > 0.0 {
            got as f64 / span
        } else {
            0.0
        }
    }

    async fn report(&self, scenario: Scenario) -> Result<Report, Failure> {
        let before = self.callbacks.count.load(Ordering::Relaxed);
        let accepted =
            (self.openmomo.len() > 1 && scenario == Scenario::Write).then(|| Arc::new(Mutex::new(Vec::new())));
        let measured = self.measure(scenario, accepted.clone()).await?;
        let callbacks_per_second = match scenario {
            Scenario::EndToEnd => Some(self.callbacks_per_second(before, &measured.openmomo).await),
            _ => None,
        };
        let verified = match accepted {
            Some(accepted) => {
                let ids = std::mem::take(&mut *accepted.lock().unwrap_or_else(|e| e.into_inner()));
                Some(verify(&self.http, &self.openmomo, &self.workload, &ids).await)
            }
            None => None,
        };
        let target = match scenario {
            Scenario::Read => "≥ 70% of baseline; p99 < 10 ms",
            // docs/performance.md, "Issue 12's targets".
            Scenario::Write => "≥ 25% of baseline, every 202 durable",
            Scenario::EndToEnd => "callbacks ≥ 8,000/s (SQLite), ≥ 2,000/s (PostgreSQL, 2 instances)",
            Scenario::Token => "-",
        };
        let ratio = if measured.baseline.requests_per_second > 0.0 {
            measured.openmomo.requests_per_second / measured.baseline.requests_per_second
        } else {
            0.0
        };
        let driver_bound = measured.driver_bound();
        Ok(Report { scenario, measured, ratio, driver_bound, target, callbacks_per_second, verified })
    }
}

pub(crate) async fn run(args: BenchArgs, json: bool) -> Result<(), Failure> {
    if args.instances > 1 && args.database_url.is_none() {
        return Err(Failure::new(2, "several instances need a shared database", "add --database-url postgres://…"));
    }
    let wrk = Wrk::find(args.wrk.as_deref())?;
    let load = Load {
        connections: args.connections,
        warmup: Duration::from_secs_f64(args.warmup.max(0.0)),
        duration: Duration::from_secs(args.duration),
        rate: args.rate,
    };
    let momo = momo_binary(args.momo.clone())?;
    let data = tempfile::tempdir().map_err(|e| Failure::new(3, e.to_string(), ""))?;

    // openmomo, as separate processes (for their memory), timed to their first served request.
    let mut servers = Vec::new();
    let mut startup_ms = Vec::new();
    for n in 0..args.instances {
        let mut serve = vec![
            "serve".to_owned(),
            "--bind".into(),
            "127.0.0.1:0".into(),
            "--data-dir".into(),
            data.path().join(format!("i{n}")).display().to_string(),
            // Instances sharing a database need the same key; the first creates it.
            "--credential-hash-key-file".into(),
            data.path().join("credential-hash.key").display().to_string(),
            "--subscription-key".into(),
            KEY.into(),
            "--admin-token".into(),
            ADMIN.into(),
            "--pending-delay".into(),
            "0".into(),
            "--callback-retry".into(),
            "once".into(),
            "--token-ttl".into(),
            "86400".into(),
        ];
        if let Some(url) = &args.database_url {
            serve.extend(["--database-url".into(), url.clone()]);
        }
        let started = Instant::now();
        let process = Process::spawn(&momo, &serve)?;
        let probe = reqwest::Client::new();
        while probe.get(format!("{}/_momo/health", process.base)).send().await.map(|r| r.status().is_success()).ok()
            != Some(true)
        {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        startup_ms.push(started.elapsed().as_secs_f64() * 1000.0);
        servers.push(process);
    }
    let openmomo: Arc<Vec<String>> = Arc::new(servers.iter().map(|s| s.base.clone()).collect());

    // A sandbox user, a token, a finished request to pay to read.
    let client = momo_client::Client::builder().base_url(&openmomo[0]).subscription_key(KEY).build()?;
    let callbacks = receiver().await?;
    let callback_host =
        url::Url::parse(&callbacks.url).ok().and_then(|u| u.host_str().map(str::to_owned)).unwrap_or_default();
    let credentials = client.provision_sandbox_user(&callback_host).await?;
    let user = credentials.api_user.to_string();
    let api_key = secrecy::ExposeSecret::expose_secret(&credentials.api_key).to_owned();
    let basic = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{api_key}")));
    let client = momo_client::Client::builder()
        .base_url(&openmomo[0])
        .subscription_key(KEY)
        .api_user(&user)
        .api_key(&api_key)
        .build()?;
    let token =
        secrecy::ExposeSecret::expose_secret(&client.access_token(momo_types::Product::Collection).await?).to_owned();
    let body = momo_types::payments::RequestToPay {
        amount: momo_types::Amount::from_static("10"),
        currency: momo_types::Currency::from_static("EUR"),
        external_id: Some("bench".into()),
        payer: momo_types::payments::Party::msisdn(momo_types::Msisdn::from_static("56733123453")),
        payer_message: Some("Benchmark".into()),
        payee_note: Some("Benchmark".into()),
    };
    let read_ref = client.collection().request_to_pay(body.clone()).send().await?;
    let status_body = client.collection().request_to_pay_status(&read_ref).await?;
    let status_bytes = serde_json::to_string(&status_body).map(|s| s.len()).unwrap_or(200);
    let token_bytes =
        json!({"access_token": token, "token_type": "access_token", "expires_in": 86400}).to_string().len();

    let this = std::env::current_exe().map_err(|e| Failure::new(3, e.to_string(), ""))?;
    let baseline = Process::spawn(
        &this,
        &[
            BASELINE_COMMAND.into(),
            "--status-bytes".into(),
            status_bytes.to_string(),
            "--token-bytes".into(),
            token_bytes.to_string(),
        ],
    )?;
    let workload = Workload {
        api_headers: vec![
            (SUBSCRIPTION_KEY, KEY.to_owned()),
            ("authorization", format!("Bearer {token}")),
            (TARGET_ENVIRONMENT, "sandbox".to_owned()),
        ],
        token_headers: vec![(SUBSCRIPTION_KEY, KEY.to_owned()), ("authorization", basic)],
        body: serde_json::to_string(&body).unwrap_or_default(),
        read_path: format!("{REQUEST_TO_PAY_PATH}/{read_ref}"),
        callback_url: callbacks.url.clone(),
    };
    let bench = Bench {
        load,
        wrk,
        own_driver: args.own_driver,
        http: http_client(args.connections)?,
        workload: Arc::new(workload),
        baseline: Arc::new(vec![baseline.base.clone()]),
        openmomo,
        callbacks,
    };

    let mut reports = Vec::new();
    for &scenario in &args.scenarios {
        if !json {
            let driver = bench.wrk_for(scenario).map_or(Driver::Own, |_| Driver::Wrk);
            eprintln!(
                "running {}: baseline, then openmomo ({} s each, {} connections, driven by {})",
                scenario.name(),
                args.duration,
                args.connections,
                driver.name()
            );
        }
        reports.push(bench.report(scenario).await?);
    }

    let summary = Summary {
        machine: Machine { cpus: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1) },
        database: if args.database_url.is_some() { "postgres" } else { "sqlite" },
        instances: args.instances,
        connections: args.connections,
        duration_s: args.duration,
        rate: args.rate,
        warmup_s: args.warmup,
        wrk: bench.wrk.as_ref(),
        startup_ms,
        peak_rss_mib: servers.iter().filter_map(Process::peak_rss_mib).collect(),
        baseline_peak_rss_mib: baseline.peak_rss_mib(),
        scenarios: reports,
    };
    print(json, &summary, || summary.text());
    Ok(())
}

#[derive(Debug, Serialize)]
struct Machine {
    cpus: usize,
}

/// What a run prints (`--json`, or `text` for people).
#[derive(Debug, Serialize)]
struct Summary<'a> {
    machine: Machine,
    database: &'static str,
    instances: usize,
    connections: usize,
    duration_s: u64,
    rate: Option<f64>,
    warmup_s: f64,
    /// The wrk found; null: none, so every figure is the own driver's, unchecked.
    wrk: Option<&'a Wrk>,
    startup_ms: Vec<f64>,
    peak_rss_mib: Vec<f64>,
    baseline_peak_rss_mib: Option<f64>,
    scenarios: Vec<Report>,
}

impl Summary<'_> {
    fn text(&self) -> String {
        let load = match self.rate {
            Some(rate) => format!("open loop at {rate:.0} requests/s"),
            None => "closed loop".to_owned(),
        };
        let mut out = format!(
            "openmomo on {} ({} instance(s)), {} connections, {load}, {} s per run, {} CPUs\n",
            self.database, self.instances, self.connections, self.duration_s, self.machine.cpus
        );
        out.push_str(&match self.wrk {
            Some(wrk) => format!(
                "drivers: wrk ({}, {}, {} thread(s)) wherever it can express the scenario, momo-bench's \
                 own otherwise\n\n",
                wrk.version(),
                wrk.path().display(),
                wrk.threads()
            ),
            None => format!(
                "driver: momo-bench's own only; wrk is not installed, so nothing checks that the baseline's \
                 figures are the baseline's and not the driver's: {}\n\n",
                crate::wrk::INSTALL_HINT
            ),
        });
        out.push_str(&format!(
            "{:<11} {:<10} {:>10} {:>10} {:>6} {:>8} {:>8} {:>11} {:>9} {:>7}  target\n",
            "scenario", "driver", "base rps", "rps", "ratio", "p50 ms", "p99 ms", "base p99 ms", "p99.9 ms", "errors"
        ));
        for r in &self.scenarios {
            let (baseline, openmomo) = (&r.measured.baseline, &r.measured.openmomo);
            out.push_str(&format!(
                "{:<11} {:<10} {:>10.0} {:>10.0} {:>5.0}% {:>8.2} {:>8.2} {:>11.2} {:>9.2} {:>7}  {}{}\n",
                r.scenario.name(),
                r.measured.driver.name(),
                baseline.requests_per_second,
                openmomo.requests_per_second,
                r.ratio * 100.0,
                openmomo.p50_ms,
                openmomo.p99_ms,
                baseline.p99_ms,
                openmomo.p999_ms,
                openmomo.errors,
                r.target,
                if r.driver_bound == Some(true) { "  DRIVER-BOUND" } else { "" }
            ));
            if let Some(reason) = r.measured.own_driver_because {
                out.push_str(&format!("{:<11} own driver: {}\n", "", reason.describe()));
            }
            match r.measured.driver_check {
                Some(DriverCheck::Measured {
                    wrk_baseline_requests_per_second,
                    expected_requests_per_second,
                    reached,
                }) => {
                    out.push_str(&format!(
                        "{:<11} driver check: wrk loads the baseline to {wrk_baseline_requests_per_second:.0}/s, \
                         momo-bench's driver to {:.0}/s, {:.0}% of the {expected_requests_per_second:.0}/s expected: {}\n",
                        "",
                        baseline.requests_per_second,
                        reached * 100.0,
                        if r.driver_bound == Some(true) {
                            "driver-bound (the driver, not the baseline, set the baseline's figure: the ratio flatters openmomo)"
                        } else {
                            "not driver-bound"
                        }
                    ));
                }
                Some(DriverCheck::NotInstalled) => out.push_str(&format!(
                    "{:<11} driver check: none; the own driver's baseline figure ({:.0}/s) is unchecked, as wrk is \
                     not installed: {}\n",
                    "",
                    baseline.requests_per_second,
                    crate::wrk::INSTALL_HINT
                )),
                None => {}
            }
            if let Some(cps) = r.callbacks_per_second {
                out.push_str(&format!("{:<11} callbacks delivered: {cps:.0}/s\n", ""));
            }
            if let Some(v) = &r.verified {
                out.push_str(&format!("{:<11} {v}\n", ""));
            }
        }
        out.push_str(&format!(
            "\nstart to first served request: {} ms; peak RSS: {} MiB (baseline {:.1} MiB)\n",
            self.startup_ms.iter().map(|m| format!("{m:.0}")).collect::<Vec<_>>().join(", "),
            self.peak_rss_mib.iter().map(|m| format!("{m:.1}")).collect::<Vec<_>>().join(", "),
            self.baseline_peak_rss_mib.unwrap_or(0.0)
        ));
        out
    }
}

/// Every acknowledged reference id exists (read through the instances in turn).
async fn verify(http: &reqwest::Client, bases: &[String], workload: &Arc<Workload>, accepted: &[String]) -> String {
    let missing = Arc::new(AtomicU64::new(0));
    let mut checks = tokio::task::JoinSet::new();
    for (i, chunk) in accepted.chunks(accepted.len().div_ceil(16).max(1)).enumerate() {
        let (http, workload, missing, chunk) = (http.clone(), workload.clone(), missing.clone(), chunk.to_vec());
        let base = bases[i % bases.len()].clone();
        checks.spawn(async move {
            for id in chunk {
                let answer =
                    workload.with_api_headers(http.get(format!("{base}{REQUEST_TO_PAY_PATH}/{id}"))).send().await;
                match answer {
                    Ok(r) if r.status() == 200 => {}
                    Ok(r) => {
                        let status = r.status().as_u16();
                        let body = r.text().await.unwrap_or_default();
                        eprintln!("verify {id}: {status} {body}");
                        missing.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => {
                        eprintln!("verify {id}: {e}");
                        missing.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        });
    }
    while checks.join_next().await.is_some() {}
    format!(
        "verified: {} acknowledged, {} missing (reference ids are a primary key, so none can be duplicated)",
        accepted.len(),
        missing.load(Ordering::Relaxed)
    )
}
