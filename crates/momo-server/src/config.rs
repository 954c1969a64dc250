//! Server settings. The CLI fills them from flags and `MOMO_*` environment variables (clap's
//! `env =`); tests build them directly. Nothing here reads the environment itself.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use momo_types::{Amount, Product};
use secrecy::SecretString;

use crate::domain::policy::setting_enum;
pub use crate::domain::policy::{ReasonFormat, ScenarioProfile};

/// Deliveries in flight at once in one instance.
pub(crate) const CALLBACKS_IN_FLIGHT: usize = 256;

/// Everything the server needs to start.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Where to listen; port 0 picks a free port.
    pub bind: SocketAddr,
    /// Where the embedded SQLite database lives when no `database_url` is given.
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`; `None` means `sqlite://{data_dir}/momo.db`.
    pub database_url: Option<SecretString>,
    /// Subscription keys with known values (`--subscription-key`).
    pub subscription_keys: Vec<PinnedSubscriptionKey>,
    /// An operator token with a known value (`--admin-token`).
    pub admin_token: Option<SecretString>,
    /// A token that reads `GET /_momo/metrics` and nothing else (`--metrics-token`), for a
    /// scraper that should not hold the operator token.
    pub metrics_token: Option<SecretString>,
    /// The file of the key stored secret hashes are keyed with; `None` means
    /// `{data_dir}/credential-hash.key`. Instances sharing a database need the same key.
    pub credential_hash_key_file: Option<PathBuf>,
    /// Which MTN platform to behave like.
    pub platform: Platform,
    /// How a token request with bad credentials is answered.
    pub token_error: TokenErrorStyle,
    /// Whether a token works on every product or only on the one it was issued for.
    pub token_scope: TokenScope,
    /// How long an access token lives (`expires_in`).
    pub token_ttl: Duration,
    /// How often an instance looks for credential changes made by other instances.
    pub cache_refresh_interval: Duration,
    /// The largest request body accepted; larger ones get 413.
    pub max_body_bytes: usize,
    /// Which sandbox test-number table to follow.
    pub scenario_profile: ScenarioProfile,
    /// The shape of `reason` in status and callback bodies.
    pub reason_format: ReasonFormat,
    /// How long a sandbox transaction stays PENDING before its outcome (and a production one
    /// before it settles once approved).
    pub pending_delay: Duration,
    /// Production environments: how long a request to pay waits for the payer's approval before
    /// failing with `COULD_NOT_PERFORM_TRANSACTION`.
    pub approval_window: Duration,
    /// Production environments: approve requests to pay without waiting for the operator.
    pub auto_approve: bool,
    /// Production environments: the balance a payer wallet starts with, in major units.
    pub wallet_opening_balance: Amount,
    /// What the balance endpoints show in the sandbox.
    pub sandbox_balance: SandboxBalance,
    /// How callbacks are retried.
    pub callback_retry: CallbackRetry,
    /// How long a callback receiver has to answer.
    pub callback_timeout: Duration,
    /// Callbacks may go to private addresses (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7).
    pub callback_allow_private: bool,
    /// Hosts and address blocks callbacks may go to even if loopback or private.
    pub callback_allow: Vec<crate::domain::targets::AllowedTarget>,
    /// How often the settlement and delivery workers look for due work.
    pub worker_interval: Duration,
    /// How long a client has to send a whole request head, counted from when the server starts
    /// waiting for it (a new connection, or the end of the previous response).
    pub header_read_timeout: Duration,
    /// How long a request body may go without a byte arriving before the request fails.
    pub body_read_timeout: Duration,
    /// How long a connection with no request in progress and nothing received may stay open.
    pub keep_alive_timeout: Duration,
    /// The most client connections served at once (also bounded by the open-file limit, less a
    /// reserve for the database); more wait in the listen backlog.
    pub max_connections: usize,
    /// Accept `'` and `&` in `payerMessage` and `payeeNote`, which MTN's sandbox refuses with 400.
    pub accept_special_characters: bool,
    /// Whether each answered request is logged, and at which level.
    pub access_log: AccessLog,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from(".momo"),
            database_url: None,
            subscription_keys: Vec::new(),
            admin_token: None,
            metrics_token: None,
            credential_hash_key_file: None,
            platform: Platform::Legacy,
            token_error: TokenErrorStyle::Observed,
            token_scope: TokenScope::Shared,
            token_ttl: Duration::from_secs(3600),
            cache_refresh_interval: Duration::from_millis(250),
            max_body_bytes: 64 * 1024,
            scenario_profile: ScenarioProfile::Observed,
            reason_format: ReasonFormat::Observed,
            pending_delay: Duration::from_secs(3),
            approval_window: Duration::from_secs(300),
            auto_approve: false,
            wallet_opening_balance: Amount::from_minor_units(1_000_000, 0),
            sandbox_balance: SandboxBalance::Ledger,
            callback_retry: CallbackRetry::Mtn,
            callback_timeout: Duration::from_secs(2),
            callback_allow_private: false,
            callback_allow: Vec::new(),
            worker_interval: Duration::from_millis(100),
            header_read_timeout: Duration::from_secs(30),
            body_read_timeout: Duration::from_secs(30),
            keep_alive_timeout: Duration::from_secs(15),
            max_connections: 10_000,
            accept_special_characters: false,
            access_log: AccessLog::Debug,
        }
    }
}

/// A subscription key given on the command line: `KEY` (all products) or `collection=KEY`.
#[derive(Debug, Clone)]
pub struct PinnedSubscriptionKey {
    /// `None`: valid for all three products.
    pub product: Option<Product>,
    pub key: SecretString,
}

impl FromStr for PinnedSubscriptionKey {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let (product, key) = match s.split_once('=') {
            Some((product, key)) => (Some(product.parse::<Product>().map_err(|e| e.to_string())?), key),
            None => (None, s),
        };
        crate::domain::credentials::check_subscription_key_value(key)?;
        Ok(Self { product, key: SecretString::from(key.to_owned()) })
    }
}

setting_enum! {
    /// The MTN platform generation (docs/configuration.md, `--platform`).
    Platform {
        /// `proxy.momoapi.mtn.com` and the sandbox: `X-Target-Environment` optional on `/token/`.
        Legacy = "legacy",
        /// `momoapi.momo.africa`: `X-Target-Environment` mandatory on `/token/`, and operator-created
        /// users may have base64 User IDs and Credential Tokens.
        MomoAfrica = "momo-africa",
    }
}

setting_enum! {
    /// The answer to a token request with wrong, missing or malformed Basic credentials.
    TokenErrorStyle {
        /// What the sandbox really sends: 500 `{"error":"login_failed"}`.
        Observed = "observed",
        /// What MTN's spec lists: 401 `{"error":"login_failed"}`.
        Spec = "spec",
    }
}

setting_enum! {
    /// Whether access tokens are tied to the product whose `/token/` issued them.
    TokenScope {
        /// As observed in the sandbox: a token from `/collection/token/` also works on
        /// `/disbursement/…` (MTN's own notebook does this).
        Shared = "shared",
        /// Each token works only on its own product.
        Product = "product",
    }
}

setting_enum! {
    /// What `GET …/account/balance` shows in the sandbox.
    SandboxBalance {
        /// The ledger's balance of the API user's account: requests to pay add to it, payouts
        /// take from it, and a payout it cannot cover is funded from issuance first (visibly in
        /// the ledger), so it is never negative.
        Ledger = "ledger",
        /// MTN's sandbox's constants: `1000` on Collection, `0` on Disbursement and Remittance,
        /// whatever happens (the ledger still records everything).
        Fixed = "fixed",
    }
}

setting_enum! {
    /// How undelivered callbacks are retried.
    CallbackRetry {
        /// MTN's documented schedule: 20 retries 1 s apart, then every 2 minutes 30 times, then
        /// hourly for a day.
        Mtn = "mtn",
        /// One attempt, as MTN's older documentation says.
        Once = "once",
    }
}

setting_enum! {
    /// Whether each answered request is logged (a line with its status and latency, and a span
    /// with its id, method and path around everything logged while it is served), and at which
    /// level (docs/configuration.md, `--access-log`). A 5xx answer is logged whatever this says.
    AccessLog {
        /// No line and no span, even when the log filter lets debug lines through.
        Off = "off",
        /// At debug level: logged when the log filter lets debug lines through (`RUST_LOG=debug`),
        /// costing nothing otherwise.
        Debug = "debug",
        /// At info level, which the default log filter lets through.
        Info = "info",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn pinned_keys_parse_with_and_without_product() {
        let all: PinnedSubscriptionKey = "0123456789abcdef0123456789abcdef".parse().unwrap();
        assert_eq!(all.product, None);
        let one: PinnedSubscriptionKey = "collection=ci-collection-key".parse().unwrap();
        assert_eq!(one.product, Some(Product::Collection));
        assert_eq!(one.key.expose_secret(), "ci-collection-key");
        assert!("wallet=abc".parse::<PinnedSubscriptionKey>().is_err());
        assert!("collection=".parse::<PinnedSubscriptionKey>().is_err());
    }

    #[test]
    fn pinned_key_debug_does_not_show_the_key() {
        let key: PinnedSubscriptionKey = "collection=very-secret-value".parse().unwrap();
        assert!(!format!("{key:?}").contains("very-secret-value"));
    }
}
