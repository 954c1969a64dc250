//! `momo serve`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use momo_server::config::{
    AccessLog, CallbackRetry, PinnedSubscriptionKey, Platform, ReasonFormat, SandboxBalance, ScenarioProfile,
    TokenErrorStyle, TokenScope,
};
use momo_server::domain::targets::AllowedTarget;
use momo_server::{Application, Settings};
use momo_types::Amount;
use secrecy::{ExposeSecret, SecretString};

/// Every setting is a flag and a `MOMO_*` environment variable (flags win).
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "MOMO_BIND", default_value = "127.0.0.1:8080")]
    bind: SocketAddr,

    /// Directory of the embedded SQLite database (used when no --database-url is given).
    #[arg(long, env = "MOMO_DATA_DIR", default_value = ".momo")]
    data_dir: PathBuf,

    /// Database URL: sqlite://PATH or postgres://USER:PASSWORD@HOST/DB.
    #[arg(long, env = "MOMO_DATABASE_URL", hide_env_values = true)]
    database_url: Option<SecretString>,

    /// A subscription key with a known value: KEY (all products) or PRODUCT=KEY. Repeatable;
    /// the variable takes a comma-separated list.
    #[arg(long = "subscription-key", env = "MOMO_SUBSCRIPTION_KEYS", value_delimiter = ',', hide_env_values = true)]
    subscription_keys: Vec<PinnedSubscriptionKey>,

    /// An operator token with a known value, for the operator API and `momo admin`.
    #[arg(long, env = "MOMO_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<SecretString>,

    /// A token that reads GET /_momo/metrics and nothing else (the operator token also does),
    /// for a Prometheus scraper.
    #[arg(long, env = "MOMO_METRICS_TOKEN", hide_env_values = true)]
    metrics_token: Option<SecretString>,

    /// File of the key stored secret hashes are keyed with (created 0600 on first start).
    /// Default: DATA_DIR/credential-hash.key. Instances sharing a database need the same file.
    #[arg(long, env = "MOMO_CREDENTIAL_HASH_KEY_FILE")]
    credential_hash_key_file: Option<PathBuf>,

    /// MTN platform to behave like: legacy, or momo-africa (X-Target-Environment required on /token/).
    #[arg(long, env = "MOMO_PLATFORM", default_value = "legacy")]
    platform: Platform,

    /// Answer to bad token credentials: observed (500 login_failed, as the sandbox) or spec (401).
    #[arg(long, env = "MOMO_TOKEN_ERROR", default_value = "observed")]
    token_error: TokenErrorStyle,

    /// Whether a token works on every product (shared, as the sandbox) or only its own (product).
    #[arg(long, env = "MOMO_TOKEN_SCOPE", default_value = "shared")]
    token_scope: TokenScope,

    /// Access-token lifetime in seconds.
    #[arg(long, env = "MOMO_TOKEN_TTL", default_value_t = 3600, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    token_ttl: u64,

    /// Largest request body in bytes; larger bodies get 413.
    #[arg(long, env = "MOMO_MAX_BODY_BYTES", default_value_t = 65_536)]
    max_body_bytes: usize,

    /// Sandbox test numbers: observed (what MTN's sandbox does) or documented (MTN's table).
    #[arg(long, env = "MOMO_SCENARIO_PROFILE", default_value = "observed")]
    scenario_profile: ScenarioProfile,

    /// Shape of `reason`: observed (per operation, as MTN), object ({code,message}) or string.
    #[arg(long, env = "MOMO_REASON_FORMAT", default_value = "observed")]
    reason_format: ReasonFormat,

    /// Seconds a transaction stays PENDING before its outcome (decimals allowed).
    #[arg(long, env = "MOMO_PENDING_DELAY", default_value = "3", value_parser = seconds)]
    pending_delay: Duration,

    /// Production environments: seconds a request to pay waits for the payer's approval.
    #[arg(long, env = "MOMO_APPROVAL_WINDOW", default_value = "300", value_parser = seconds)]
    approval_window: Duration,

    /// Production environments: approve requests to pay at once instead of waiting for
    /// `momo admin transactions approve`.
    #[arg(long, env = "MOMO_AUTO_APPROVE")]
    auto_approve: bool,

    /// Production environments: the balance a payer wallet starts with (major units).
    #[arg(long, env = "MOMO_WALLET_OPENING_BALANCE", default_value = "1000000", value_parser = opening_balance)]
    wallet_opening_balance: Amount,

    /// Sandbox balances: ledger (what happened, never negative: the sandbox funds payouts) or
    /// fixed (MTN's sandbox constants: 1000 on Collection, 0 elsewhere).
    #[arg(long, env = "MOMO_SANDBOX_BALANCE", default_value = "ledger")]
    sandbox_balance: SandboxBalance,

    /// Callback retries: mtn (20 × 1 s, 30 × 2 min, then hourly for a day) or once.
    #[arg(long, env = "MOMO_CALLBACK_RETRY", default_value = "mtn")]
    callback_retry: CallbackRetry,

    /// Seconds a callback receiver has to answer.
    #[arg(long, env = "MOMO_CALLBACK_TIMEOUT", default_value = "2", value_parser = seconds)]
    callback_timeout: Duration,

    /// Seconds a client has to send a whole request head once the server waits for one.
    #[arg(long, env = "MOMO_HEADER_READ_TIMEOUT", default_value = "30", value_parser = positive_seconds)]
    header_read_timeout: Duration,

    /// Seconds a request body may stall (no byte arriving) before the request fails.
    #[arg(long, env = "MOMO_BODY_READ_TIMEOUT", default_value = "30", value_parser = positive_seconds)]
    body_read_timeout: Duration,

    /// Seconds an idle connection (no request in progress, nothing received) stays open.
    #[arg(long, env = "MOMO_KEEP_ALIVE_TIMEOUT", default_value = "15", value_parser = positive_seconds)]
    keep_alive_timeout: Duration,

    /// Most client connections served at once (lowered to fit the open-file limit); more wait
    /// in the listen backlog.
    #[arg(long, env = "MOMO_MAX_CONNECTIONS", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    max_connections: u64,

    /// Let callbacks go to private addresses (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7).
    /// Link-local and cloud-metadata addresses stay refused.
    #[arg(long, env = "MOMO_CALLBACK_ALLOW_PRIVATE")]
    callback_allow_private: bool,

    /// Hosts, addresses or CIDR blocks callbacks may go to even if loopback or private
    /// (comma-separated, e.g. receiver.internal,10.1.0.0/16).
    #[arg(long = "callback-allow", env = "MOMO_CALLBACK_ALLOW", value_delimiter = ',')]
    callback_allow: Vec<AllowedTarget>,

    /// Accept ' and & in payerMessage and payeeNote (MTN's sandbox answers 400 for them).
    #[arg(long, env = "MOMO_ACCEPT_SPECIAL_CHARACTERS")]
    accept_special_characters: bool,

    /// A log line for every answered request: off, debug (shown when RUST_LOG lets debug lines
    /// through) or info. A 5xx answer is logged whatever this says.
    #[arg(long, env = "MOMO_ACCESS_LOG", default_value = "debug")]
    access_log: AccessLog,
}

/// The shortest scrape token accepted: long enough that guessing it is hopeless even from many
/// addresses (the lock-out after failed attempts counts per address).
const SHORTEST_SCRAPE_TOKEN: usize = 16;

/// A wallet's opening balance: zero, or an amount every environment's currency can hold (a
/// payment's own rules: at most the currency's decimal places and the largest amount), so that it
/// never silently means 0 in one of them.
fn opening_balance(value: &str) -> Result<Amount, String> {
    let amount = Amount::parse(value).map_err(|e| format!("{value:?}: {e}"))?;
    if amount.minor_units(0) == Ok(0) {
        return Ok(amount);
    }
    for env in momo_types::ENVIRONMENTS {
        momo_server::domain::validation::amount_minor_units(&amount, env.currency_decimals)
            .map_err(|e| format!("{value:?} cannot open a wallet in {} ({}): {e}", env.name, env.currency))?;
    }
    Ok(amount)
}

/// A duration in seconds, decimals allowed ("0.5").
fn seconds(value: &str) -> Result<Duration, String> {
    let secs: f64 = value.parse().map_err(|_| format!("{value:?} is not a number of seconds"))?;
    if !(0.0..=31_536_000.0).contains(&secs) {
        return Err(format!("{value} seconds is out of range"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// A duration in seconds that is not zero (a zero timeout would close every connection).
fn positive_seconds(value: &str) -> Result<Duration, String> {
    let duration = seconds(value)?;
    if duration.is_zero() {
        return Err("must be more than 0 seconds".into());
    }
    Ok(duration)
}

impl From<ServeArgs> for Settings {
    fn from(args: ServeArgs) -> Self {
        Settings {
            bind: args.bind,
            data_dir: args.data_dir,
            database_url: args.database_url,
            subscription_keys: args.subscription_keys,
            admin_token: args.admin_token,
            metrics_token: args.metrics_token,
            credential_hash_key_file: args.credential_hash_key_file,
            platform: args.platform,
            token_error: args.token_error,
            token_scope: args.token_scope,
            token_ttl: Duration::from_secs(args.token_ttl),
            max_body_bytes: args.max_body_bytes,
            scenario_profile: args.scenario_profile,
            reason_format: args.reason_format,
            pending_delay: args.pending_delay,
            approval_window: args.approval_window,
            auto_approve: args.auto_approve,
            wallet_opening_balance: args.wallet_opening_balance,
            sandbox_balance: args.sandbox_balance,
            callback_retry: args.callback_retry,
            callback_timeout: args.callback_timeout,
            header_read_timeout: args.header_read_timeout,
            body_read_timeout: args.body_read_timeout,
            keep_alive_timeout: args.keep_alive_timeout,
            max_connections: usize::try_from(args.max_connections).unwrap_or(usize::MAX),
            callback_allow_private: args.callback_allow_private,
            callback_allow: args.callback_allow,
            accept_special_characters: args.accept_special_characters,
            access_log: args.access_log,
            ..Settings::default()
        }
    }
}

pub async fn run(args: ServeArgs) -> ExitCode {
    // Checked here rather than by a clap value parser, whose error would echo the value.
    if args.metrics_token.as_ref().is_some_and(|t| t.expose_secret().chars().count() < SHORTEST_SCRAPE_TOKEN) {
        eprintln!("error: --metrics-token (MOMO_METRICS_TOKEN) must be at least {SHORTEST_SCRAPE_TOKEN} characters");
        eprintln!("hint: make one with `openssl rand -hex 32`");
        return ExitCode::from(2);
    }
    let settings = Settings::from(args);
    let app = match Application::build(settings).await {
        Ok(app) => app,
        Err(e) => {
            eprintln!("error: the server could not start: {e:#}");
            eprintln!(
                "hint: check --bind, --data-dir and --database-url (or MOMO_BIND, MOMO_DATA_DIR, MOMO_DATABASE_URL)."
            );
            return ExitCode::from(3);
        }
    };
    let shutdown = shutdown_signal();
    print_banner(&app);
    tracing::info!(address = %app.local_addr(), database = app.database(), "listening");
    match app.run_until_stopped(shutdown).await {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: the server stopped: {e:#}");
            ExitCode::from(3)
        }
    }
}

/// What a person needs after starting the server: where it is and, on first start, the
/// credentials it created (shown this once) and what to do next.
fn print_banner(app: &Application) {
    let base = format!("http://{}", app.local_addr());
    let mut out = String::new();
    out.push_str(&format!("openmomo MoMo Open API server on {base}  ({})\n", app.database()));
    let created = app.created();
    if !created.is_empty() {
        out.push_str("\nFirst start: these credentials were created. They are stored hashed and shown only now.\n");
        if !created.subscription_keys.is_empty() {
            out.push_str("\n  Subscription keys (header Ocp-Apim-Subscription-Key)\n");
            for key in &created.subscription_keys {
                out.push_str(&format!(
                    "    {:<13} {:<10} {}\n",
                    key.product.as_str(),
                    key.label,
                    key.key.expose_secret()
                ));
            }
        }
        if let Some(token) = &created.operator_token {
            out.push_str("\n  Operator token (momo admin --admin-token, or MOMO_ADMIN_TOKEN)\n");
            out.push_str(&format!("    {}\n", token.expose_secret()));
        }
        let collection_key = created
            .subscription_keys
            .iter()
            .find(|k| k.product == momo_types::Product::Collection)
            .map_or("<your collection key>".to_owned(), |k| k.key.expose_secret().to_owned());
        out.push_str(&format!(
            "\nNext steps (the README's quickstart walks through them):\n\
             \x20 1. Create a sandbox API user:\n\
             \x20    curl -i -X POST {base}/v1_0/apiuser -H 'Ocp-Apim-Subscription-Key: {collection_key}' \\\n\
             \x20      -H 'X-Reference-Id: c72025f5-5cd1-4630-99e4-8ba4722fad56' -H 'Content-Type: application/json' \\\n\
             \x20      -d '{{\"providerCallbackHost\": \"webhook.site\"}}'\n\
             \x20 2. Create its API key:\n\
             \x20    curl -i -X POST {base}/v1_0/apiuser/c72025f5-5cd1-4630-99e4-8ba4722fad56/apikey -H 'Ocp-Apim-Subscription-Key: {collection_key}'\n\
             \x20 3. Exchange user and key for a token: POST {base}/collection/token/ with Basic auth.\n\
             \x20 Production-like users: momo admin users create --environment mtnuganda --callback-host shop.example\n"
        ));
    }
    print!("{out}");
    use std::io::Write as _;
    let _ = std::io::stdout().flush();
}

/// Install the SIGINT/SIGTERM handlers now (so a signal that arrives right after start-up is
/// already handled gracefully) and return a future that completes on the first of them.
fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let interrupt = signal(SignalKind::interrupt());
        let terminate = signal(SignalKind::terminate());
        async move {
            match (interrupt, terminate) {
                (Ok(mut interrupt), Ok(mut terminate)) => {
                    tokio::select! {
                        _ = interrupt.recv() => {},
                        _ = terminate.recv() => {},
                    }
                }
                _ => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
            tracing::info!("shutting down: finishing requests in flight");
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down: finishing requests in flight");
    }
}
