//! The client: configuration, the token cache and the one path every request takes (gateway
//! key, authentication, retries).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use momo_types::{Product, ReferenceId};
use rand::Rng as _;
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::config::{ClientBuilder, Config, Platform};
use crate::error::{Error, Result};

/// A MoMo Open API client. Cheap to clone; clones share the token cache.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    config: Config,
    http: reqwest::Client,
    tokens: HashMap<Product, Mutex<Option<CachedToken>>>,
    token_requests: AtomicU64,
}

struct CachedToken {
    token: SecretString,
    renew_at: Instant,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("config", &self.inner.config).finish_non_exhaustive()
    }
}

/// How a request authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Auth {
    None,
    Basic,
    Bearer,
}

/// A request body.
#[derive(Debug, Clone)]
pub(crate) enum Body {
    Json(String),
    Form(String),
}

/// One MoMo call.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub method: reqwest::Method,
    /// `None` for provisioning (any product's key is used).
    pub product: Option<Product>,
    /// The path below the product prefix.
    pub path: String,
    pub auth: Auth,
    pub body: Option<Body>,
    pub reference: Option<ReferenceId>,
    pub callback_url: Option<String>,
    pub target_environment: bool,
    pub headers: Vec<(&'static str, String)>,
    /// A create: a 409 after a retry means the first attempt went through.
    pub create: bool,
    /// A Bearer token to send instead of the cached access token (a consent token).
    pub explicit_bearer: Option<SecretString>,
}

impl Call {
    pub(crate) fn new(method: reqwest::Method, product: Option<Product>, path: impl Into<String>) -> Self {
        Call {
            method,
            product,
            path: path.into(),
            auth: if product.is_some() { Auth::Bearer } else { Auth::None },
            body: None,
            reference: None,
            callback_url: None,
            target_environment: product.is_some(),
            headers: Vec::new(),
            create: false,
            explicit_bearer: None,
        }
    }
}

/// An answer that was not an error.
#[derive(Debug, Clone)]
pub(crate) struct Answer {
    pub status: u16,
    pub body: String,
}

impl Answer {
    pub(crate) fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_str(&self.body).map_err(|e| Error::Decode {
            status: self.status,
            body: self.body.chars().take(2000).collect(),
            error: e.to_string(),
        })
    }
}

impl Client {
    /// Start building a client.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client from `MOMO_*` variables (and `.env`, which never overrides the environment):
    /// `MOMO_BASE_URL`, `MOMO_TARGET_ENVIRONMENT`, `MOMO_SUBSCRIPTION_KEY` or
    /// `MOMO_{COLLECTION,DISBURSEMENT,REMITTANCE}_SUBSCRIPTION_KEY`, `MOMO_API_USER`,
    /// `MOMO_API_KEY`, `MOMO_CALLBACK_HOST`, `MOMO_CALLBACK_URL`, `MOMO_CURRENCY`, `MOMO_PLATFORM`.
    /// A malformed value is an error naming its variable.
    ///
    /// ```no_run
    /// let client = momo_client::Client::from_env()?;
    /// # Ok::<(), momo_client::Error>(())
    /// ```
    pub fn from_env() -> Result<Client> {
        crate::config::from_env()?.build()
    }

    pub(crate) fn from_config(config: Config) -> Result<Client> {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .user_agent(concat!("momo-client/", env!("CARGO_PKG_VERSION"), " (openmomo)"))
            .build()
            .map_err(|e| Error::Config(format!("cannot build the HTTP client: {e}")))?;
        let tokens = Product::ALL.into_iter().map(|p| (p, Mutex::new(None))).collect();
        Ok(Client { inner: Arc::new(Inner { config, http, tokens, token_requests: AtomicU64::new(0) }) })
    }

    /// The operator API of the openmomo server at this client's base URL, with the operator
    /// token `momo serve` printed on first start (MTN's servers have no such API).
    pub fn admin(&self, token: SecretString) -> crate::AdminClient {
        crate::AdminClient::with_http(self.inner.http.clone(), self.inner.config.base_url.as_str(), token)
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// How many token requests this client has made (for diagnosis and tests).
    pub fn token_requests(&self) -> u64 {
        self.inner.token_requests.load(Ordering::SeqCst)
    }

    /// A valid access token for `product`: cached, renewed before it expires, one renewal at a
    /// time however many calls wait for it.
    ///
    /// ```no_run
    /// # use momo_client::TransactionKind; use momo_types::{Product, ReferenceId};
    /// # async fn example(client: momo_client::Client, reference: ReferenceId) -> momo_client::Result<()> {
    /// let token = client.access_token(Product::Collection).await?;
    /// # Ok(()) }
    /// ```
    pub async fn access_token(&self, product: Product) -> Result<SecretString> {
        let slot = self.slot(product);
        let mut cached = slot.lock().await;
        if let Some(token) = cached.as_ref().filter(|t| Instant::now() < t.renew_at) {
            return Ok(token.token.clone());
        }
        // Boxed: fetching a token sends a request, and sending may fetch a token.
        let fresh = Box::pin(self.fetch_token(product)).await?;
        let token = fresh.token.clone();
        *cached = Some(fresh);
        Ok(token)
    }

    fn slot(&self, product: Product) -> &Mutex<Option<CachedToken>> {
        // Every product has a slot (built in from_config).
        &self.inner.tokens[&product]
    }

    /// Forget `stale` if it is still the cached token (after a 401).
    async fn invalidate(&self, product: Product, stale: &SecretString) {
        let mut cached = self.slot(product).lock().await;
        if cached.as_ref().is_some_and(|t| t.token.expose_secret() == stale.expose_secret()) {
            *cached = None;
        }
    }

    async fn fetch_token(&self, product: Product) -> Result<CachedToken> {
        let mut call =
            Call::new(reqwest::Method::POST, Some(product), momo_types::OperationName::CreateAccessToken.route());
        call.auth = Auth::Basic;
        call.target_environment = self.inner.config.platform == Platform::MomoAfrica;
        self.inner.token_requests.fetch_add(1, Ordering::SeqCst);
        let answer = self.send(&call).await?;
        let token: momo_types::token::AccessToken = answer.json()?;
        let lifetime = Duration::from_secs(token.expires_in);
        let margin = self.inner.config.token_refresh_margin.min(lifetime / 2);
        tracing::debug!(product = %product, expires_in = token.expires_in, "access token obtained");
        Ok(CachedToken { token: SecretString::from(token.access_token), renew_at: Instant::now() + lifetime - margin })
    }

    fn subscription_key(&self, product: Option<Product>) -> Result<&SecretString> {
        let keys = &self.inner.config.subscription_keys;
        let key = match product {
            Some(p) => keys.get(&p),
            None => Product::ALL.iter().find_map(|p| keys.get(p)),
        };
        key.ok_or_else(|| {
            let name = match product {
                Some(Product::Collection) => "MOMO_COLLECTION_SUBSCRIPTION_KEY",
                Some(Product::Disbursement) => "MOMO_DISBURSEMENT_SUBSCRIPTION_KEY",
                Some(Product::Remittance) => "MOMO_REMITTANCE_SUBSCRIPTION_KEY",
                None => "MOMO_SUBSCRIPTION_KEY",
            };
            Error::Config(format!("no subscription key for this product: set {name} or MOMO_SUBSCRIPTION_KEY"))
        })
    }

    fn basic(&self) -> Result<String> {
        let config = &self.inner.config;
        let user = config.api_user.as_deref().ok_or_else(|| Error::Config("no API user: set MOMO_API_USER".into()))?;
        let key = config.api_key.as_ref().ok_or_else(|| Error::Config("no API key: set MOMO_API_KEY".into()))?;
        // Raw, never URL-encoded: the new platform's credentials contain punctuation (docs/configuration.md, `--platform`).
        let pair = format!("{user}:{}", key.expose_secret());
        Ok(format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(pair)))
    }

    fn url(&self, call: &Call) -> Result<url::Url> {
        let prefix = call.product.map(|p| format!("/{p}")).unwrap_or_default();
        let base = self.inner.config.base_url.as_str().trim_end_matches('/');
        url::Url::parse(&format!("{base}{prefix}{}", call.path))
            .map_err(|e| Error::Config(format!("cannot build a URL for {}: {e}", call.path)))
    }

    /// Send a call: retries on transport errors, 429, 502/503/504 and the gateway's own 500
    /// (never on MoMo's business answers), reusing the same `X-Reference-Id`; one
    /// re-authentication after a 401.
    pub(crate) async fn send(&self, call: &Call) -> Result<Answer> {
        let retry = self.inner.config.retry;
        let url = self.url(call)?;
        let mut attempt = 0u32;
        let mut retried = false;
        let mut reauthenticated = false;
        loop {
            attempt += 1;
            let bearer = match (&call.explicit_bearer, call.auth, call.product) {
                (Some(token), _, _) => Some(token.clone()),
                (None, Auth::Bearer, Some(product)) => Some(self.access_token(product).await?),
                _ => None,
            };
            let result = self.send_once(call, url.clone(), bearer.as_ref()).await;
            let retry_after = match result {
                Err(error) => {
                    if attempt >= retry.max_attempts {
                        return Err(Error::Transport(error));
                    }
                    tracing::debug!(attempt, error = %error, "transport error; retrying");
                    None
                }
                Ok((status, retry_after, body)) => {
                    if (200..300).contains(&status) {
                        return Ok(Answer { status, body });
                    }
                    if status == 409 && call.create && retried {
                        // Our earlier attempt was recorded: the transaction exists under our id.
                        tracing::debug!("409 after a retry: the first attempt went through");
                        return Ok(Answer { status: 202, body: String::new() });
                    }
                    if status == 401 && bearer.is_some() && call.explicit_bearer.is_none() && !reauthenticated {
                        if let (Some(token), Some(product)) = (&bearer, call.product) {
                            self.invalidate(product, token).await;
                        }
                        reauthenticated = true;
                        attempt -= 1;
                        continue;
                    }
                    let error = Error::from_answer(status, &body);
                    if !retryable(status, &error) || attempt >= retry.max_attempts {
                        return Err(error);
                    }
                    tracing::debug!(attempt, status, "retryable answer; retrying");
                    retry_after
                }
            };
            retried = true;
            let backoff = backoff(retry, attempt, retry_after);
            tokio::time::sleep(backoff).await;
        }
    }

    async fn send_once(
        &self,
        call: &Call,
        url: url::Url,
        bearer: Option<&SecretString>,
    ) -> std::result::Result<(u16, Option<Duration>, String), reqwest::Error> {
        let mut request = self.inner.http.request(call.method.clone(), url);
        if let Ok(key) = self.subscription_key(call.product) {
            request = request.header("Ocp-Apim-Subscription-Key", key.expose_secret());
        }
        match call.auth {
            Auth::Bearer => {
                if let Some(token) = bearer {
                    request = request.header("Authorization", format!("Bearer {}", token.expose_secret()));
                }
            }
            Auth::Basic => {
                if let Ok(basic) = self.basic() {
                    request = request.header("Authorization", basic);
                }
            }
            Auth::None => {}
        }
        if call.target_environment {
            request = request.header("X-Target-Environment", &self.inner.config.target_environment);
        }
        if let Some(reference) = call.reference {
            request = request.header("X-Reference-Id", reference.to_string());
        }
        if let Some(url) = &call.callback_url {
            request = request.header("X-Callback-Url", url);
        }
        for (name, value) in &call.headers {
            request = request.header(*name, value);
        }
        request = match &call.body {
            Some(Body::Json(json)) => request.header("Content-Type", "application/json").body(json.clone()),
            Some(Body::Form(form)) => {
                request.header("Content-Type", "application/x-www-form-urlencoded").body(form.clone())
            }
            None => request,
        };
        let response = request.send().await?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body = response.text().await?;
        Ok((status, retry_after, body))
    }

    /// Check configuration problems that would make every call fail, before sending anything.
    pub(crate) fn check_call(&self, call: &Call) -> Result<()> {
        self.url(call)?;
        self.subscription_key(call.product)?;
        if call.auth != Auth::None && call.explicit_bearer.is_none() {
            self.basic()?;
        }
        Ok(())
    }
}

/// Whether an error answer is worth retrying: the gateway's failures and overload, never MoMo's
/// business answers (`NOT_ALLOWED`, `INVALID_CURRENCY`, …) which would only repeat.
fn retryable(status: u16, error: &Error) -> bool {
    match status {
        429 | 502 | 503 | 504 => true,
        500 => matches!(error, Error::Gateway { .. }),
        _ => false,
    }
}

/// Exponential backoff with full jitter, or the server's `Retry-After` (bounded).
fn backoff(policy: crate::config::RetryPolicy, attempt: u32, retry_after: Option<Duration>) -> Duration {
    if let Some(after) = retry_after {
        return after.min(Duration::from_secs(60));
    }
    let exp = policy.initial_backoff.saturating_mul(1u32 << (attempt - 1).min(16));
    let cap = exp.min(policy.max_backoff);
    let jitter = rand::rng().random_range(0.5..=1.0);
    cap.mul_f64(jitter)
}
