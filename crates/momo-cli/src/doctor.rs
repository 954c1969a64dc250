//! `momo doctor`: check the configuration against the configured server and say what is wrong,
//! each with what to change.

use base64::Engine as _;
use momo_types::Product;
use secrecy::ExposeSecret;
use serde::Serialize;

use crate::output::{print, Failure};

#[derive(Debug, Serialize)]
struct Check {
    check: &'static str,
    ok: bool,
    detail: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    hint: String,
}

impl Check {
    fn ok(check: &'static str, detail: impl Into<String>) -> Self {
        Check { check, ok: true, detail: detail.into(), hint: String::new() }
    }

    fn bad(check: &'static str, detail: impl Into<String>, hint: impl Into<String>) -> Self {
        Check { check, ok: false, detail: detail.into(), hint: hint.into() }
    }
}

struct Probe {
    http: reqwest::Client,
    base: String,
}

/// An answer: status and body (`None`: no answer at all).
type Answer = Option<(u16, String)>;

impl Probe {
    async fn send(&self, request: reqwest::RequestBuilder) -> Answer {
        let response = request.send().await.ok()?;
        let status = response.status().as_u16();
        Some((status, response.text().await.unwrap_or_default()))
    }

    async fn token(&self, product: Product, key: &str, user: &str, api_key: &str, env: Option<&str>) -> Answer {
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{api_key}"));
        let mut request = self
            .http
            .post(format!("{}/{product}/token/", self.base))
            .header("Ocp-Apim-Subscription-Key", key)
            .header("Authorization", format!("Basic {basic}"));
        if let Some(env) = env {
            request = request.header("X-Target-Environment", env);
        }
        self.send(request).await
    }

    async fn api_user(&self, key: &str, user: &str) -> Answer {
        self.send(self.http.get(format!("{}/v1_0/apiuser/{user}", self.base)).header("Ocp-Apim-Subscription-Key", key))
            .await
    }
}

fn is_gateway(body: &str, word: &str) -> bool {
    body.contains("\"statusCode\"") && body.contains(word)
}

pub async fn run(json: bool) -> Result<(), Failure> {
    let mut checks = Vec::new();
    let client = match momo_client::Client::from_env() {
        Ok(client) => client,
        Err(e) => {
            checks.push(Check::bad(
                "configuration",
                e.to_string(),
                "set the variable it names; `momo sandbox provision` writes them all",
            ));
            return finish(checks, json);
        }
    };
    let config = client.config().clone();
    let base = config.base_url.as_str().trim_end_matches('/').to_owned();
    let probe = Probe {
        http: reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(15))
            .build()
            .map_err(|e| Failure::new(3, e.to_string(), ""))?,
        base: base.clone(),
    };
    let (Some(user), Some(api_key)) = (config.api_user.clone(), config.api_key.clone()) else {
        checks.push(Check::bad(
            "credentials",
            "MOMO_API_USER or MOMO_API_KEY is not set",
            "run `momo sandbox provision`, or set them from the Partner Portal",
        ));
        return finish(checks, json);
    };
    let api_key = api_key.expose_secret().to_owned();
    if config.subscription_keys.is_empty() {
        checks.push(Check::bad(
            "subscription key",
            "no subscription key is set",
            "set MOMO_SUBSCRIPTION_KEY (or MOMO_COLLECTION_SUBSCRIPTION_KEY, …) from the developer portal",
        ));
        return finish(checks, json);
    }
    let env = config.target_environment.clone();
    let token_env = (config.platform == momo_client::Platform::MomoAfrica).then_some(env.as_str());

    let mut token = None;
    for product in Product::ALL {
        let Some(key) = config.subscription_keys.get(&product).map(|k| k.expose_secret().to_owned()) else { continue };
        let answer = probe.token(product, &key, &user, &api_key, token_env).await;
        let check: &'static str = match product {
            Product::Collection => "collection",
            Product::Disbursement => "disbursement",
            Product::Remittance => "remittance",
        };
        match answer {
            None => {
                checks.push(Check::bad(
                    "server",
                    format!("{base} does not answer"),
                    "check MOMO_BASE_URL and your network; start `momo serve` for a local server",
                ));
                return finish(checks, json);
            }
            Some((200, body)) => {
                checks.push(Check::ok(check, format!("subscription key and API user work for {product}")));
                if token.is_none() {
                    token = serde_json::from_str::<serde_json::Value>(&body)
                        .ok()
                        .and_then(|v| v["access_token"].as_str().map(str::to_owned))
                        .map(|t| (product, key.clone(), t));
                }
            }
            Some((401, body)) if is_gateway(&body, "missing") => {
                checks.push(Check::bad(
                    check,
                    "the subscription key is missing",
                    format!("set MOMO_{}_SUBSCRIPTION_KEY or MOMO_SUBSCRIPTION_KEY", product.as_str().to_uppercase()),
                ));
            }
            Some((401, body)) if is_gateway(&body, "invalid") => {
                // Provisioning takes a key of any product: if it passes there, it is another product's.
                let other_product = matches!(probe.api_user(&key, &user).await, Some((200 | 404, _)));
                if other_product {
                    checks.push(Check::bad(check, format!("the subscription key is valid, but not for {product}"), format!("use the {product} subscription key (Collection, Disbursement and Remittance keys differ): MOMO_{}_SUBSCRIPTION_KEY", product.as_str().to_uppercase())));
                } else {
                    checks.push(Check::bad(check, "the subscription key is unknown or revoked", "copy the primary key of this product from the developer portal (or the banner of `momo serve`)"));
                }
            }
            Some((status, body)) if body.contains("login_failed") => {
                let swapped = matches!(probe.token(product, &key, &api_key, &user, token_env).await, Some((200, _)));
                let known = probe.api_user(&key, &user).await;
                let (detail, hint) = if swapped {
                    (
                        "MOMO_API_USER and MOMO_API_KEY are swapped".to_owned(),
                        "exchange the two values: the API user is the UUID, the key the 32 hex digits".to_owned(),
                    )
                } else if matches!(known, Some((200, _))) {
                    (format!("the API user exists but the key is wrong ({status} login_failed)"), "the key was probably replaced by a newer one: create a new key (`momo sandbox provision` makes a fresh user) and update MOMO_API_KEY".to_owned())
                } else {
                    (
                        format!("the API user is unknown ({status} login_failed)"),
                        "check MOMO_API_USER; in the sandbox create one with `momo sandbox provision`".to_owned(),
                    )
                };
                checks.push(Check::bad(check, detail, hint));
            }
            Some((400, body)) if body.contains("X-Target-Environment") => {
                checks.push(Check::bad(
                    check,
                    "the token endpoint wants a valid X-Target-Environment",
                    "set MOMO_TARGET_ENVIRONMENT to the user's environment",
                ));
            }
            Some((status, body)) if status >= 500 => {
                checks.push(Check::bad(
                    check,
                    format!("the server answered {status}: {}", body.chars().take(200).collect::<String>()),
                    "MTN's sandbox fails like this now and then: retry in a minute, or develop against `momo serve`",
                ));
            }
            Some((status, body)) => {
                checks.push(Check::bad(
                    check,
                    format!("unexpected answer {status}: {}", body.chars().take(200).collect::<String>()),
                    "is MOMO_BASE_URL a MoMo Open API server?",
                ));
            }
        }
    }

    if let Some((product, key, access_token)) = token {
        let balance = probe
            .send(
                probe
                    .http
                    .get(format!("{base}/{product}/v1_0/account/balance"))
                    .header("Ocp-Apim-Subscription-Key", &key)
                    .bearer_auth(&access_token)
                    .header("X-Target-Environment", &env),
            )
            .await;
        let user_info = probe
            .api_user(&key, &user)
            .await
            .filter(|(s, _)| *s == 200)
            .and_then(|(_, b)| serde_json::from_str::<serde_json::Value>(&b).ok());
        match balance {
            Some((200, body)) => {
                checks.push(Check::ok("target environment", format!("{env} is the API user's environment")));
                let actual = serde_json::from_str::<serde_json::Value>(&body)
                    .ok()
                    .and_then(|v| v["currency"].as_str().map(str::to_owned));
                match (&config.currency, actual) {
                    (Some(configured), Some(actual)) if configured.as_str() != actual => checks.push(Check::bad(
                        "currency",
                        format!("MOMO_CURRENCY is {configured} but {env} uses {actual}"),
                        format!("set MOMO_CURRENCY={actual} (the sandbox only takes EUR)"),
                    )),
                    (_, Some(actual)) => checks.push(Check::ok("currency", format!("{env} uses {actual}"))),
                    _ => {}
                }
            }
            Some((500, body)) if body.contains("NOT_ALLOWED_TARGET_ENVIRONMENT") => {
                let real = user_info.as_ref().and_then(|u| u["targetEnvironment"].as_str().map(str::to_owned));
                let hint = match real {
                    Some(real) => format!("set MOMO_TARGET_ENVIRONMENT={real}"),
                    None => "set MOMO_TARGET_ENVIRONMENT to the environment the API user was created in (sandbox, mtnuganda, …)".to_owned(),
                };
                checks.push(Check::bad("target environment", format!("{env} is not the API user's environment"), hint));
            }
            Some((status, _)) if status >= 500 => checks.push(Check::bad(
                "target environment",
                format!("the balance call answered {status}"),
                "retry later; MTN's sandbox is flaky",
            )),
            _ => checks.push(Check::bad("target environment", "the balance call failed", "check the server")),
        }
        let configured_host = config
            .callback_url
            .as_deref()
            .and_then(|u| url::Url::parse(u).ok())
            .and_then(|u| u.host_str().map(str::to_owned))
            .or_else(|| std::env::var("MOMO_CALLBACK_HOST").ok().filter(|h| !h.is_empty()));
        if let (Some(configured), Some(info)) = (configured_host, &user_info) {
            let registered = info["providerCallbackHost"].as_str().unwrap_or_default().to_owned();
            if registered.eq_ignore_ascii_case(&configured) {
                checks.push(Check::ok("callback host", format!("{configured} is the API user's callback host")));
            } else {
                checks.push(Check::bad(
                    "callback host",
                    format!("callbacks would go to {configured}, but the API user's callback host is {registered}"),
                    format!(
                        "use a callback URL on {registered} (MOMO_CALLBACK_URL), or provision a user for {configured}"
                    ),
                ));
            }
        }
    }
    finish(checks, json)
}

fn finish(checks: Vec<Check>, json: bool) -> Result<(), Failure> {
    print(json, &checks, || {
        checks
            .iter()
            .map(|c| {
                let mark = if c.ok { "ok " } else { "FAIL" };
                let hint = if c.hint.is_empty() { String::new() } else { format!("\n       fix: {}", c.hint) };
                format!("[{mark}] {}: {}{hint}\n", c.check, c.detail)
            })
            .collect()
    });
    let problems = checks.iter().filter(|c| !c.ok).count();
    if problems == 0 {
        Ok(())
    } else {
        Err(Failure::new(
            6,
            format!("{problems} problem(s) found"),
            "apply the fixes above, then run `momo doctor` again",
        ))
    }
}
