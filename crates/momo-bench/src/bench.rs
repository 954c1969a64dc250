//! The run: openmomo and the baseline as child processes, one load driver for both, the figures.
//!
//! One invocation starts a baseline server (plain hyper, answering the same status codes and
//! body sizes with no work; see [`crate::baseline`]) and openmomo (the `momo` binary's `serve`,
//! SQLite by default or PostgreSQL with `--database-url`, one or more instances), and drives both
//! with the same load driver (a pool of keep-alive connections, one request at a time each) for
//! the same duration. Figures are printed, never asserted: these machines are shared and noisy.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use clap::{Args, ValueEnum};
use serde::Serialize;
use serde_json::json;

use crate::output::{print, Failure};
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

#[derive(Debug, Args)]
pub(crate) struct BenchArgs {
    /// Seconds each scenario runs, for the baseline and for openmomo.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Concurrent connections.
    #[arg(long, default_value_t = 64)]
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
    /// most throughput, but latency is then connections / throughput).
    #[arg(long)]
    rate: Option<f64>,
    /// Seconds of load before each measured run (not measured): connections are opened and
    /// warm, for the baseline and openmomo alike.
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    /// The `momo` binary to measure [default: `momo` beside this program, which is
    /// target/release/momo under `cargo run --release -p momo-bench`].
    #[arg(long, env = "MOMO_BENCH_MOMO")]
    momo: Option<PathBuf>,
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
        let mut child = Command::new(exe)
            .args(args)
            .env("RUST_LOG", "warn")
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

/// What one run measured.
#[derive(Debug, Clone, Default, Serialize)]
struct Figures {
    /// Measured, after the warm-up.
    requests: u64,
    errors: u64,
    /// Sent in all, the warm-up's too, and how many of those failed.
    #[serde(skip)]
    sent: u64,
    #[serde(skip)]
    sent_errors: u64,
    requests_per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    p999_ms: f64,
}

#[derive(Debug, Serialize)]
struct Report {
    scenario: Scenario,
    baseline: Figures,
    openmomo: Figures,
    ratio: f64,
    target: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    callbacks_per_second: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    verified: Option<String>,
}

/// Drive `bases` round-robin with `connections` workers for `duration`; `request(i)` builds the
/// i-th request of a worker against a base, `ok` says whether a status is the expected one.
/// Run the load for `warmup` (connections opened, buffers and caches warm: not measured, as
/// with wrk2's and oha's warm-up), then for `duration`, measured.
async fn drive<F, Fut>(
    connections: usize,
    warmup: Duration,
    duration: Duration,
    rate: Option<f64>,
    request: F,
) -> Figures
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let request = Arc::new(request);
    let counter = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let measured_from = started + warmup;
    let deadline = measured_from + duration;
    // Open loop: connection c sends at started + (c + k * connections) / rate.
    let interval = rate.filter(|r| *r > 0.0).map(|r| Duration::from_secs_f64(connections as f64 / r));
    let mut workers = tokio::task::JoinSet::new();
    for c in 0..connections {
        let (request, counter) = (request.clone(), counter.clone());
        workers.spawn(async move {
            let mut latencies = Vec::new();
            let (mut errors, mut sent, mut sent_errors) = (0u64, 0u64, 0u64);
            let mut due = interval.map(|every| started + every.mul_f64(c as f64 / connections as f64));
            while Instant::now() < deadline {
                let i = counter.fetch_add(1, Ordering::Relaxed);
                let at = match (due, interval) {
                    (Some(when), Some(every)) => {
                        tokio::time::sleep_until(when.into()).await;
                        due = Some(when + every);
                        when
                    }
                    _ => Instant::now(),
                };
                let ok = request(i).await;
                sent += 1;
                sent_errors += u64::from(!ok);
                if at >= measured_from {
                    latencies.push(u32::try_from(at.elapsed().as_micros()).unwrap_or(u32::MAX));
                    errors += u64::from(!ok);
                }
            }
            (latencies, errors, sent, sent_errors)
        });
    }
    let mut all = Vec::new();
    let (mut errors, mut sent, mut sent_errors) = (0, 0, 0);
    while let Some(Ok((latencies, e, s, se))) = workers.join_next().await {
        all.extend(latencies);
        errors += e;
        sent += s;
        sent_errors += se;
    }
    let elapsed = (Instant::now() - measured_from).as_secs_f64();
    all.sort_unstable();
    let pct = |p: f64| {
        if all.is_empty() {
            return 0.0;
        }
        let index = ((all.len() as f64 * p).ceil() as usize).clamp(1, all.len()) - 1;
        f64::from(all[index]) / 1000.0
    };
    Figures {
        requests: all.len() as u64,
        errors,
        sent,
        sent_errors,
        requests_per_second: all.len() as f64 / elapsed,
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
        p999_ms: pct(0.999),
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
async fn receiver() -> Result<(String, Arc<AtomicU64>, Arc<Mutex<Option<(Instant, Instant)>>>), Failure> {
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
    Ok((url, count, window))
}

pub(crate) async fn run(args: BenchArgs, json: bool) -> Result<(), Failure> {
    if args.instances > 1 && args.database_url.is_none() {
        return Err(Failure::new(2, "several instances need a shared database", "add --database-url postgres://…"));
    }
    let duration = Duration::from_secs(args.duration);
    let warmup = Duration::from_secs_f64(args.warmup.max(0.0));
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
    let bases: Arc<Vec<String>> = Arc::new(servers.iter().map(|s| s.base.clone()).collect());

    // A sandbox user, a token, a finished request to pay to read.
    let client = momo_client::Client::builder().base_url(&bases[0]).subscription_key(KEY).build()?;
    let (callback_url, received, window) = receiver().await?;
    let callback_host =
        url::Url::parse(&callback_url).ok().and_then(|u| u.host_str().map(str::to_owned)).unwrap_or_default();
    let credentials = client.provision_sandbox_user(&callback_host).await?;
    let user = credentials.api_user.to_string();
    let api_key = secrecy::ExposeSecret::expose_secret(&credentials.api_key).to_owned();
    let basic = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{api_key}")));
    let client = momo_client::Client::builder()
        .base_url(&bases[0])
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
    let baseline_base = Arc::new(vec![baseline.base.clone()]);
    let http = http_client(args.connections)?;
    let body_json = Arc::new(serde_json::to_string(&body).unwrap_or_default());

    let mut reports = Vec::new();
    for scenario in &args.scenarios {
        let scenario = *scenario;
        let run = |targets: Arc<Vec<String>>, accepted: Option<Arc<Mutex<Vec<String>>>>| {
            let (http, token, basic, body_json, callback_url) =
                (http.clone(), token.clone(), basic.clone(), body_json.clone(), callback_url.clone());
            let read_ref = read_ref.to_string();
            drive(args.connections, warmup, duration, args.rate, move |i| {
                let (http, token, basic, body_json, callback_url, read_ref, targets, accepted) = (
                    http.clone(),
                    token.clone(),
                    basic.clone(),
                    body_json.clone(),
                    callback_url.clone(),
                    read_ref.clone(),
                    targets.clone(),
                    accepted.clone(),
                );
                async move {
                    let base = &targets[usize::try_from(i).unwrap_or(0) % targets.len()];
                    let common = |r: reqwest::RequestBuilder| {
                        r.header("Ocp-Apim-Subscription-Key", KEY)
                            .bearer_auth(&token)
                            .header("X-Target-Environment", "sandbox")
                    };
                    match scenario {
                        Scenario::Read => common(http.get(format!("{base}/collection/v1_0/requesttopay/{read_ref}")))
                            .send()
                            .await
                            .is_ok_and(|r| r.status() == 200),
                        Scenario::Write => {
                            let id = uuid::Uuid::new_v4().to_string();
                            let ok = common(http.post(format!("{base}/collection/v1_0/requesttopay")))
                                .header("X-Reference-Id", &id)
                                .header("Content-Type", "application/json")
                                .body((*body_json).clone())
                                .send()
                                .await
                                .is_ok_and(|r| r.status() == 202);
                            if let (true, Some(accepted)) = (ok, &accepted) {
                                accepted.lock().unwrap_or_else(|e| e.into_inner()).push(id);
                            }
                            ok
                        }
                        Scenario::EndToEnd => {
                            let id = uuid::Uuid::new_v4().to_string();
                            let created = common(http.post(format!("{base}/collection/v1_0/requesttopay")))
                                .header("X-Reference-Id", &id)
                                .header("X-Callback-Url", &callback_url)
                                .header("Content-Type", "application/json")
                                .body((*body_json).clone())
                                .send()
                                .await
                                .is_ok_and(|r| r.status() == 202);
                            let polled =
                                common(http.get(format!("{base}/collection/v1_0/requesttopay/{id}"))).send().await;
                            match polled {
                                Ok(r) if r.status() == 200 => {
                                    created && r.text().await.is_ok_and(|t| t.contains("SUCCESSFUL"))
                                }
                                _ => false,
                            }
                        }
                        Scenario::Token => http
                            .post(format!("{base}/collection/token/"))
                            .header("Ocp-Apim-Subscription-Key", KEY)
                            .header("Authorization", &basic)
                            .send()
                            .await
                            .is_ok_and(|r| r.status() == 200),
                    }
                }
            })
        };
        if !json {
            eprintln!(
                "running {scenario:?}: baseline, then openmomo ({} s each, {} connections)",
                args.duration, args.connections
            );
        }
        let base_figures = run(baseline_base.clone(), None).await;
        let before = received.load(Ordering::Relaxed);
        let accepted = (args.instances > 1 && scenario == Scenario::Write).then(|| Arc::new(Mutex::new(Vec::new())));
        let ours = run(bases.clone(), accepted.clone()).await;
        let mut callbacks_per_second = None;
        if scenario == Scenario::EndToEnd {
            let expected = before + ours.sent - ours.sent_errors;
            let wait_until = Instant::now() + Duration::from_secs(60);
            while received.load(Ordering::Relaxed) < expected && Instant::now() < wait_until {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            let got = received.load(Ordering::Relaxed) - before;
            let span = window.lock().unwrap_or_else(|e| e.into_inner()).map_or(0.0, |(a, b)| (b - a).as_secs_f64());
            callbacks_per_second = Some(if span > 0.0 { got as f64 / span } else { 0.0 });
        }
        let verified = match accepted {
            Some(accepted) => {
                let ids = std::mem::take(&mut *accepted.lock().unwrap_or_else(|e| e.into_inner()));
                Some(verify(&http, &bases, &token, &ids).await)
            }
            None => None,
        };
        let target = match scenario {
            Scenario::Read => "≥ 70% of baseline; p99 < 10 ms",
            Scenario::Write => "≥ 40% of baseline, every 202 durable",
            Scenario::EndToEnd => "callbacks ≥ 5,000/s",
            Scenario::Token => "-",
        };
        let ratio = if base_figures.requests_per_second > 0.0 {
            ours.requests_per_second / base_figures.requests_per_second
        } else {
            0.0
        };
        reports.push(Report {
            scenario,
            baseline: base_figures,
            openmomo: ours,
            ratio,
            target,
            callbacks_per_second,
            verified,
        });
    }

    let rss: Vec<f64> = servers.iter().filter_map(Process::peak_rss_mib).collect();
    let summary = json!({
        "machine": {"cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)},
        "database": if args.database_url.is_some() { "postgres" } else { "sqlite" },
        "instances": args.instances,
        "connections": args.connections,
        "duration_s": args.duration,
        "rate": args.rate,
        "warmup_s": args.warmup,
        "startup_ms": startup_ms,
        "peak_rss_mib": rss,
        "baseline_peak_rss_mib": baseline.peak_rss_mib(),
        "scenarios": reports,
    });
    print(json, &summary, || {
        let load = match args.rate {
            Some(rate) => format!("open loop at {rate:.0} requests/s"),
            None => "closed loop".to_owned(),
        };
        let mut out = format!(
            "openmomo on {} ({} instance(s)), {} connections, {load}, {} s per run, {} CPUs\n\n",
            summary["database"].as_str().unwrap_or("?"),
            args.instances,
            args.connections,
            args.duration,
            summary["machine"]["cpus"]
        );
        out.push_str(&format!(
            "{:<11} {:>10} {:>10} {:>6} {:>8} {:>8} {:>11} {:>9} {:>7}  target\n",
            "scenario", "base rps", "rps", "ratio", "p50 ms", "p99 ms", "base p99 ms", "p99.9 ms", "errors"
        ));
        for r in &reports {
            out.push_str(&format!(
                "{:<11} {:>10.0} {:>10.0} {:>5.0}% {:>8.2} {:>8.2} {:>11.2} {:>9.2} {:>7}  {}\n",
                format!("{:?}", r.scenario).to_lowercase(),
                r.baseline.requests_per_second,
                r.openmomo.requests_per_second,
                r.ratio * 100.0,
                r.openmomo.p50_ms,
                r.openmomo.p99_ms,
                r.baseline.p99_ms,
                r.openmomo.p999_ms,
                r.openmomo.errors,
                r.target
            ));
            if let Some(cps) = r.callbacks_per_second {
                out.push_str(&format!("{:<11} callbacks delivered: {cps:.0}/s\n", ""));
            }
            if let Some(v) = &r.verified {
                out.push_str(&format!("{:<11} {v}\n", ""));
            }
        }
        out.push_str(&format!(
            "\nstart to first served request: {} ms; peak RSS: {} MiB (baseline {:.1} MiB)\n",
            startup_ms.iter().map(|m| format!("{m:.0}")).collect::<Vec<_>>().join(", "),
            rss.iter().map(|m| format!("{m:.1}")).collect::<Vec<_>>().join(", "),
            baseline.peak_rss_mib().unwrap_or(0.0)
        ));
        out
    });
    Ok(())
}

/// Every acknowledged reference id exists (read through the instances in turn).
async fn verify(http: &reqwest::Client, bases: &[String], token: &str, accepted: &[String]) -> String {
    let missing = Arc::new(AtomicU64::new(0));
    let mut checks = tokio::task::JoinSet::new();
    for (i, chunk) in accepted.chunks(accepted.len().div_ceil(16).max(1)).enumerate() {
        let (http, token, missing, chunk) = (http.clone(), token.to_owned(), missing.clone(), chunk.to_vec());
        let base = bases[i % bases.len()].clone();
        checks.spawn(async move {
            for id in chunk {
                let answer = http
                    .get(format!("{base}/collection/v1_0/requesttopay/{id}"))
                    .header("Ocp-Apim-Subscription-Key", KEY)
                    .bearer_auth(&token)
                    .header("X-Target-Environment", "sandbox")
                    .send()
                    .await;
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::drive;

    #[tokio::test]
    async fn the_driver_counts_only_what_follows_the_warmup() {
        let url = format!("{}/collection/v1_0/requesttopay/x", crate::baseline::spawn(10, 10).await);
        let http = reqwest::Client::new();
        let figures = drive(2, Duration::from_millis(100), Duration::from_millis(200), None, move |_| {
            let (http, url) = (http.clone(), url.clone());
            async move { http.get(url).send().await.is_ok_and(|r| r.status() == 200) }
        })
        .await;
        assert!(figures.requests > 0);
        assert!(figures.sent > figures.requests, "the warm-up's requests are sent but not measured");
        assert_eq!((figures.errors, figures.sent_errors), (0, 0));
        assert!(figures.p50_ms <= figures.p99_ms && figures.p99_ms <= figures.p999_ms);
    }
}
