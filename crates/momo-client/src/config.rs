//! Building a client: [`ClientBuilder`] and [`Client::from_env`](crate::Client::from_env).

use std::collections::HashMap;
use std::time::Duration;

use momo_types::{Currency, Product};
use secrecy::SecretString;

use crate::error::{Error, Result};

/// MTN's sandbox, the default base URL.
pub const SANDBOX_BASE_URL: &str = "https://sandbox.momodeveloper.mtn.com";

/// Which MTN platform the client talks to (docs/configuration.md, `--platform`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Platform {
    /// `proxy.momoapi.mtn.com` and the sandbox.
    #[default]
    Legacy,
    /// `momoapi.momo.africa`: `X-Target-Environment` is sent on token requests too.
    MomoAfrica,
}

/// How failed requests are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all (1: no retry).
    pub max_attempts: u32,
    /// The first backoff; it doubles each time, with jitter.
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// No retries.
    pub fn none() -> Self {
        RetryPolicy { max_attempts: 1, ..RetryPolicy::default() }
    }
}

/// Everything a client needs. Secrets are [`SecretString`]s: never in `Debug`, never logged.
#[derive(Debug, Clone)]
pub struct Config {
    pub base_url: url::Url,
    pub target_environment: String,
    pub subscription_keys: HashMap<Product, SecretString>,
    pub api_user: Option<String>,
    pub api_key: Option<SecretString>,
    pub callback_url: Option<String>,
    pub currency: Option<Currency>,
    pub platform: Platform,
    pub timeout: Duration,
    pub retry: RetryPolicy,
    /// Renew a token this long before it expires (at most half its lifetime).
    pub token_refresh_margin: Duration,
}

/// Builds a [`Client`](crate::Client).
///
/// ```
/// use momo_client::Client;
/// let client = Client::builder()
///     .base_url("http://127.0.0.1:8080")
///     .target_environment("sandbox")
///     .subscription_key("0123456789abcdef0123456789abcdef")
///     .api_user("c72025f5-5cd1-4630-99e4-8ba4722fad56")
///     .api_key("f1db798c98df4bcf83b538175893bbf0")
///     .build()
///     .unwrap();
/// assert_eq!(client.config().target_environment, "sandbox");
/// ```
#[derive(Debug, Default)]
pub struct ClientBuilder {
    base_url: Option<String>,
    target_environment: Option<String>,
    all_products_key: Option<SecretString>,
    keys: HashMap<Product, SecretString>,
    api_user: Option<String>,
    api_key: Option<SecretString>,
    callback_url: Option<String>,
    currency: Option<Currency>,
    platform: Platform,
    timeout: Option<Duration>,
    retry: Option<RetryPolicy>,
    token_refresh_margin: Option<Duration>,
}

impl ClientBuilder {
    /// MTN's sandbox by default; `https://proxy.momoapi.mtn.com`, `https://momoapi.momo.africa` or
    /// an openmomo server otherwise.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// `sandbox` (default) or `mtn<country>`.
    pub fn target_environment(mut self, env: impl Into<String>) -> Self {
        self.target_environment = Some(env.into());
        self
    }

    /// One subscription key for every product.
    pub fn subscription_key(mut self, key: impl Into<String>) -> Self {
        self.all_products_key = Some(SecretString::from(key.into()));
        self
    }

    /// The subscription key of one product (wins over [`ClientBuilder::subscription_key`]).
    pub fn product_subscription_key(mut self, product: Product, key: impl Into<String>) -> Self {
        self.keys.insert(product, SecretString::from(key.into()));
        self
    }

    /// The API user (or the new platform's User ID).
    pub fn api_user(mut self, user: impl Into<String>) -> Self {
        self.api_user = Some(user.into());
        self
    }

    /// The API key (or the new platform's Credential Token).
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(SecretString::from(key.into()));
        self
    }

    /// The default `X-Callback-Url` of create requests.
    pub fn callback_url(mut self, url: impl Into<String>) -> Self {
        self.callback_url = Some(url.into());
        self
    }

    /// The currency to use when a request leaves it out (sandbox: EUR).
    pub fn currency(mut self, currency: Currency) -> Self {
        self.currency = Some(currency);
        self
    }

    pub fn platform(mut self, platform: Platform) -> Self {
        self.platform = platform;
        self
    }

    /// Per-request timeout (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    pub fn retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.retry = Some(retry);
        self
    }

    /// Renew tokens this long before expiry (default 60 s, at most half the token's lifetime).
    pub fn token_refresh_margin(mut self, margin: Duration) -> Self {
        self.token_refresh_margin = Some(margin);
        self
    }

    /// Check the settings and build the client.
    pub fn build(self) -> Result<crate::Client> {
        let base = self.base_url.unwrap_or_else(|| SANDBOX_BASE_URL.to_owned());
        let base_url = url::Url::parse(&base)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
            .ok_or_else(|| Error::Config(format!("base URL {base:?} is not an absolute http(s) URL")))?;
        let mut subscription_keys = HashMap::new();
        for product in Product::ALL {
            if let Some(key) = self.keys.get(&product).or(self.all_products_key.as_ref()) {
                subscription_keys.insert(product, key.clone());
            }
        }
        let config = Config {
            base_url,
            target_environment: self.target_environment.unwrap_or_else(|| "sandbox".into()),
            subscription_keys,
            api_user: self.api_user,
            api_key: self.api_key,
            callback_url: self.callback_url,
            currency: self.currency,
            platform: self.platform,
            timeout: self.timeout.unwrap_or(Duration::from_secs(30)),
            retry: self.retry.unwrap_or_default(),
            token_refresh_margin: self.token_refresh_margin.unwrap_or(Duration::from_secs(60)),
        };
        crate::Client::from_config(config)
    }
}

/// Read the client's settings from `MOMO_*` variables, after loading `.env` if there is one
/// (without overriding variables that are set).
pub(crate) fn from_env() -> Result<ClientBuilder> {
    let _ = dotenvy::dotenv();
    let var = |name: &str| std::env::var(name).ok().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    let mut builder = ClientBuilder::default();
    if let Some(url) = var("MOMO_BASE_URL") {
        if url::Url::parse(&url).is_err() {
            return Err(Error::Config(format!("MOMO_BASE_URL is not a URL: {url:?}")));
        }
        builder = builder.base_url(url);
    }
    if let Some(env) = var("MOMO_TARGET_ENVIRONMENT") {
        builder = builder.target_environment(env);
    }
    if let Some(key) = var("MOMO_SUBSCRIPTION_KEY") {
        builder = builder.subscription_key(key);
    }
    for (product, name) in [
        (Product::Collection, "MOMO_COLLECTION_SUBSCRIPTION_KEY"),
        (Product::Disbursement, "MOMO_DISBURSEMENT_SUBSCRIPTION_KEY"),
        (Product::Remittance, "MOMO_REMITTANCE_SUBSCRIPTION_KEY"),
    ] {
        if let Some(key) = var(name) {
            builder = builder.product_subscription_key(product, key);
        }
    }
    if let Some(user) = var("MOMO_API_USER") {
        builder = builder.api_user(user);
    }
    if let Some(key) = var("MOMO_API_KEY") {
        builder = builder.api_key(key);
    }
    match (var("MOMO_CALLBACK_URL"), var("MOMO_CALLBACK_HOST")) {
        (Some(url), _) => {
            let parsed =
                url::Url::parse(&url).map_err(|_| Error::Config(format!("MOMO_CALLBACK_URL is not a URL: {url:?}")))?;
            if !matches!(parsed.scheme(), "http" | "https") {
                return Err(Error::Config("MOMO_CALLBACK_URL must be an http(s) URL".into()));
            }
            builder = builder.callback_url(url);
        }
        (None, Some(host)) => {
            if host.contains('/') || host.contains(' ') {
                return Err(Error::Config(format!("MOMO_CALLBACK_HOST must be a host name, not {host:?}")));
            }
        }
        (None, None) => {}
    }
    if let Some(currency) = var("MOMO_CURRENCY") {
        let currency = Currency::parse(&currency)
            .map_err(|_| Error::Config(format!("MOMO_CURRENCY must be an ISO 4217 code like EUR, not {currency:?}")))?;
        builder = builder.currency(currency);
    }
    if let Some(platform) = var("MOMO_PLATFORM") {
        builder = builder.platform(match platform.as_str() {
            "legacy" => Platform::Legacy,
            "momo-africa" => Platform::MomoAfrica,
            other => return Err(Error::Config(format!("MOMO_PLATFORM must be legacy or momo-africa, not {other:?}"))),
        });
    }
    Ok(builder)
}
