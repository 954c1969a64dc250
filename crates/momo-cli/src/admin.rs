//! `momo admin …`: the operator API from the command line.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use momo_types::admin::{
    CreateSubscriptionKey, CreateUser, CredentialStyle, SubscriptionKey, SubscriptionKeyCreated, User, UserCredentials,
};
use momo_types::{ErrorReason, Product};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::Serialize;

#[derive(Debug, Args)]
pub struct AdminArgs {
    /// Base URL of the running server.
    #[arg(long, global = true, env = "MOMO_ADMIN_URL", default_value = "http://127.0.0.1:8080")]
    server: String,

    /// The operator token the server printed on first start (or was given with --admin-token).
    #[arg(long, global = true, env = "MOMO_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<SecretString>,

    /// Print JSON instead of text.
    #[arg(long, global = true)]
    json: bool,

    #[command(subcommand)]
    command: AdminCommand,
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// API users (what MTN's Partner Portal manages in production).
    #[command(subcommand)]
    Users(UsersCommand),
    /// Subscription keys (what the developer portal shows per product).
    #[command(subcommand, name = "subscription-keys", alias = "keys")]
    SubscriptionKeys(KeysCommand),
}

#[derive(Debug, Subcommand)]
enum UsersCommand {
    /// List API users (never their keys).
    List,
    /// Show one API user.
    Show { api_user: String },
    /// Create an API user in an environment; its key is shown once.
    Create {
        /// X-Target-Environment of the user, e.g. mtnuganda or sandbox.
        #[arg(long)]
        environment: String,
        /// Host callbacks may go to, e.g. shop.example.com.
        #[arg(long)]
        callback_host: String,
        /// The Partner Portal's Payment Server URL (default callback URL).
        #[arg(long)]
        payment_server_url: Option<String>,
        /// Credentials of the new platform (base64 User ID and Credential Token);
        /// needs a server started with --platform momo-africa.
        #[arg(long)]
        momo_africa: bool,
    },
    /// Issue a new key; the old key and its tokens stop working at once.
    RegenerateKey { api_user: String },
    /// Revoke an API user; its tokens stop working at once.
    Revoke { api_user: String },
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// List subscription keys (ids and hints, never the keys).
    List,
    /// Add a subscription key; it is shown once.
    Add {
        /// Products the key is for (repeatable); all three if none.
        #[arg(long = "product")]
        products: Vec<Product>,
        /// Use this value instead of generating one.
        #[arg(long, hide_env_values = true)]
        key: Option<SecretString>,
    },
    /// Give a key a new value; the old one stops working at once.
    Regenerate { id: String },
    /// Revoke a key.
    Revoke { id: String },
}

/// A failed admin call: what to print and the exit code.
struct Failure {
    message: String,
    hint: &'static str,
    code: u8,
}

pub async fn run(args: AdminArgs) -> ExitCode {
    match execute(&args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("error: {}", failure.message);
            eprintln!("hint: {}", failure.hint);
            ExitCode::from(failure.code)
        }
    }
}

async fn execute(args: &AdminArgs) -> Result<(), Failure> {
    let client = Admin::new(args)?;
    match &args.command {
        AdminCommand::Users(UsersCommand::List) => {
            let users: Vec<User> = client.call(reqwest::Method::GET, "/users", None::<&()>).await?;
            client.print(&users, || users_table(&users))
        }
        AdminCommand::Users(UsersCommand::Show { api_user }) => {
            let user: User =
                client.call(reqwest::Method::GET, &format!("/users/{}", enc(api_user)), None::<&()>).await?;
            client.print(&user, || users_table(std::slice::from_ref(&user)))
        }
        AdminCommand::Users(UsersCommand::Create { environment, callback_host, payment_server_url, momo_africa }) => {
            let body = CreateUser {
                environment: environment.clone(),
                provider_callback_host: callback_host.clone(),
                payment_server_url: payment_server_url.clone(),
                credential_style: if *momo_africa { CredentialStyle::MomoAfrica } else { CredentialStyle::ApiKey },
            };
            let created: UserCredentials = client.call(reqwest::Method::POST, "/users", Some(&body)).await?;
            client.print(&created, || credentials_text("Created API user", &created))
        }
        AdminCommand::Users(UsersCommand::RegenerateKey { api_user }) => {
            let created: UserCredentials =
                client.call(reqwest::Method::POST, &format!("/users/{}/key", enc(api_user)), None::<&()>).await?;
            client.print(&created, || credentials_text("New key for API user", &created))
        }
        AdminCommand::Users(UsersCommand::Revoke { api_user }) => {
            let user: User =
                client.call(reqwest::Method::DELETE, &format!("/users/{}", enc(api_user)), None::<&()>).await?;
            client.print(&user, || format!("Revoked API user {}; its tokens no longer work.\n", user.api_user))
        }
        AdminCommand::SubscriptionKeys(KeysCommand::List) => {
            let keys: Vec<SubscriptionKey> =
                client.call(reqwest::Method::GET, "/subscription-keys", None::<&()>).await?;
            client.print(&keys, || keys_table(&keys))
        }
        AdminCommand::SubscriptionKeys(KeysCommand::Add { products, key }) => {
            let body = CreateSubscriptionKey {
                products: products.clone(),
                key: key.as_ref().map(|k| k.expose_secret().to_owned()),
            };
            let created: SubscriptionKeyCreated =
                client.call(reqwest::Method::POST, "/subscription-keys", Some(&body)).await?;
            client.print(&created, || key_created_text("Added subscription key", &created))
        }
        AdminCommand::SubscriptionKeys(KeysCommand::Regenerate { id }) => {
            let created: SubscriptionKeyCreated = client
                .call(reqwest::Method::POST, &format!("/subscription-keys/{}/regenerate", enc(id)), None::<&()>)
                .await?;
            client.print(&created, || key_created_text("New value for subscription key", &created))
        }
        AdminCommand::SubscriptionKeys(KeysCommand::Revoke { id }) => {
            let key: SubscriptionKey =
                client.call(reqwest::Method::DELETE, &format!("/subscription-keys/{}", enc(id)), None::<&()>).await?;
            client.print(&key, || format!("Revoked subscription key {}.\n", key.id))
        }
    }
}

/// Percent-encode a path segment (new-platform user ids contain '/', '+' and '=').
fn enc(segment: &str) -> String {
    form_urlencoded::byte_serialize(segment.as_bytes()).collect()
}

struct Admin {
    http: reqwest::Client,
    base: String,
    token: SecretString,
    json: bool,
}

impl Admin {
    fn new(args: &AdminArgs) -> Result<Self, Failure> {
        let token = args.admin_token.clone().ok_or(Failure {
            message: "no operator token".into(),
            hint: "pass --admin-token or set MOMO_ADMIN_TOKEN to the token `momo serve` printed on first start",
            code: 2,
        })?;
        let http = reqwest::Client::builder().timeout(std::time::Duration::from_secs(30)).build().map_err(|e| {
            Failure { message: format!("cannot build an HTTP client: {e}"), hint: "this is a bug", code: 3 }
        })?;
        let base = format!("{}{}", args.server.trim_end_matches('/'), "/_momo/admin");
        Ok(Self { http, base, token, json: args.json })
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&impl Serialize>,
    ) -> Result<T, Failure> {
        let mut request =
            self.http.request(method, format!("{}{path}", self.base)).bearer_auth(self.token.expose_secret());
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|e| Failure {
            message: format!("cannot reach the server at {}: {e}", self.base),
            hint: "is `momo serve` running? Point --server (MOMO_ADMIN_URL) at it",
            code: 3,
        })?;
        let status = response.status();
        let bytes = response.bytes().await.unwrap_or_default();
        if status.is_success() {
            return serde_json::from_slice(&bytes).map_err(|e| Failure {
                message: format!("the server answered {status} with a body this CLI does not understand: {e}"),
                hint: "is --server pointing at an openmomo server of the same version?",
                code: 3,
            });
        }
        let message = serde_json::from_slice::<ErrorReason>(&bytes)
            .map(|e| format!("{} ({}, HTTP {})", e.message, e.code, status.as_u16()))
            .unwrap_or_else(|_| format!("HTTP {} {}", status.as_u16(), String::from_utf8_lossy(&bytes)));
        let hint = match status.as_u16() {
            401 => "check the operator token (--admin-token or MOMO_ADMIN_TOKEN)",
            404 => "check the id: `momo admin users list` or `momo admin subscription-keys list` shows them",
            _ => "fix the request as the message says",
        };
        Err(Failure { message, hint, code: 1 })
    }

    fn print<T: Serialize>(&self, value: &T, text: impl FnOnce() -> String) -> Result<(), Failure> {
        if self.json {
            println!("{}", serde_json::to_string_pretty(value).unwrap_or_default());
        } else {
            print!("{}", text());
        }
        Ok(())
    }
}

fn users_table(users: &[User]) -> String {
    if users.is_empty() {
        return "No API users.\n".into();
    }
    let mut out = format!(
        "{:<38} {:<17} {:<28} {:<21} {:<4} {}\n",
        "API USER", "ENVIRONMENT", "CALLBACK HOST", "ORIGIN", "KEY", "STATUS"
    );
    for u in users {
        let origin =
            serde_json::to_value(u.origin).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
        let key = if u.has_key { format!("v{}", u.key_version) } else { "-".into() };
        let status = u.revoked_at.as_ref().map_or("active".to_owned(), |at| format!("revoked {at}"));
        out.push_str(&format!(
            "{:<38} {:<17} {:<28} {:<21} {:<4} {}\n",
            u.api_user, u.environment, u.provider_callback_host, origin, key, status
        ));
    }
    out
}

fn credentials_text(what: &str, c: &UserCredentials) -> String {
    format!(
        "{what} in {}.\n  API user: {}\n  API key:  {}\nThe key is shown only now; store it where your application reads it.\n",
        c.environment, c.api_user, c.api_key
    )
}

fn keys_table(keys: &[SubscriptionKey]) -> String {
    if keys.is_empty() {
        return "No subscription keys.\n".into();
    }
    let mut out = format!("{:<38} {:<38} {:<10} {:<7} {}\n", "ID", "PRODUCTS", "LABEL", "HINT", "STATUS");
    for k in keys {
        let products: Vec<_> = k.products.iter().map(|p| p.as_str()).collect();
        let status = k.revoked_at.as_ref().map_or("active".to_owned(), |at| format!("revoked {at}"));
        out.push_str(&format!(
            "{:<38} {:<38} {:<10} {:<7} {}\n",
            k.id,
            products.join(","),
            k.label,
            format!("{}…", k.hint),
            status
        ));
    }
    out
}

fn key_created_text(what: &str, k: &SubscriptionKeyCreated) -> String {
    let products: Vec<_> = k.key_info.products.iter().map(|p| p.as_str()).collect();
    format!(
        "{what} {} for {}.\n  Ocp-Apim-Subscription-Key: {}\nThe key is shown only now.\n",
        k.key_info.id,
        products.join(", "),
        k.key
    )
}
