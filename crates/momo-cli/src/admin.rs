//! `momo admin …`: the operator API from the command line.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use momo_types::admin::{
    CreateSubscriptionKey, CreateUser, CredentialStyle, SubscriptionKey, SubscriptionKeyCreated, User, UserCredentials,
};
use momo_types::{ErrorReason, Product};
use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};

#[derive(Debug, Args)]
pub struct AdminArgs {
    /// Base URL of the running server.
    #[arg(long, global = true, env = "MOMO_ADMIN_URL", default_value = "http://127.0.0.1:8080")]
    server: String,

    /// The operator token the server printed on first start (or was given with --admin-token).
    #[arg(long, global = true, env = "MOMO_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<SecretString>,

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
    /// Transactions: inspect them, and answer for the payer.
    #[command(subcommand, alias = "tx")]
    Transactions(TransactionsCommand),
    /// Callback deliveries and their attempts.
    #[command(subcommand)]
    Deliveries(DeliveriesCommand),
    /// Ledger accounts and balances.
    #[command(subcommand)]
    Accounts(AccountsCommand),
    /// Fault injection: make operations fail, slow down, or fail sometimes.
    #[command(subcommand)]
    Faults(FaultsCommand),
    /// Forget all transactions, ledger entries, deliveries and fault rules (users and keys stay).
    Reset,
}

#[derive(Debug, Subcommand)]
enum TransactionsCommand {
    /// The most recent transactions.
    List {
        /// Only this API user's.
        #[arg(long)]
        api_user: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// One transaction, with its status body and callbacks.
    Show { reference: String },
    /// Approve a request waiting for the payer (what the payer's handset does).
    Approve { reference: String },
    /// Reject a request waiting for the payer.
    Reject { reference: String },
    /// Make a pending transaction SUCCESSFUL or FAILED now.
    Force {
        reference: String,
        /// SUCCESSFUL or FAILED.
        #[arg(long)]
        status: String,
        /// The reason when FAILED, e.g. NOT_ENOUGH_FUNDS.
        #[arg(long)]
        reason: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum DeliveriesCommand {
    /// The most recent callback deliveries.
    List {
        /// Only those of this reference id.
        #[arg(long)]
        reference: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// One delivery with its body and every attempt.
    Show { id: String },
}

#[derive(Debug, Subcommand)]
enum AccountsCommand {
    /// Every ledger account with its balance.
    List,
    /// Set a payer's wallet balance.
    SetWallet {
        #[arg(long)]
        environment: String,
        #[arg(long)]
        msisdn: String,
        /// Major units, e.g. 2500.50.
        #[arg(long)]
        amount: String,
    },
    /// Set an API user's account balance for a product (e.g. to fund transfers).
    SetUser {
        api_user: String,
        #[arg(long)]
        product: Product,
        #[arg(long)]
        amount: String,
    },
}

#[derive(Debug, Subcommand)]
enum FaultsCommand {
    /// The rules in force.
    List,
    /// Add a rule, e.g. `--path /v1_0/apiuser --method POST --status 500 --count 2`.
    Add {
        /// Path pattern; `*` matches anything.
        #[arg(long)]
        path: String,
        #[arg(long)]
        method: Option<String>,
        /// Only this API user's requests.
        #[arg(long)]
        api_user: Option<String>,
        /// Answer with this status (absent: only add latency).
        #[arg(long)]
        status: Option<u16>,
        /// Body to answer with (a MoMo-style default otherwise).
        #[arg(long)]
        body: Option<String>,
        #[arg(long, default_value_t = 0)]
        latency_ms: u64,
        #[arg(long, default_value_t = 1.0)]
        probability: f64,
        /// How many requests it affects (until removed if absent).
        #[arg(long)]
        count: Option<i64>,
    },
    /// Remove a rule.
    Remove { id: String },
    /// Remove every rule.
    Clear,
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
    /// Show the secret the user's callbacks are signed with (X-Momo-Signature).
    CallbackSecret { api_user: String },
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

pub async fn run(args: AdminArgs, json: bool) -> ExitCode {
    match execute(&args, json).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("error: {}", failure.message);
            eprintln!("hint: {}", failure.hint);
            ExitCode::from(failure.code)
        }
    }
}

async fn execute(args: &AdminArgs, json: bool) -> Result<(), Failure> {
    let client = Admin::new(args, json)?;
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
        AdminCommand::Users(UsersCommand::CallbackSecret { api_user }) => {
            let secret: Value =
                client.call(Method::GET, &format!("/users/{}/callback-secret", enc(api_user)), None::<&()>).await?;
            client.print(&secret, || format!("{}\n", secret["callbackSigningSecret"].as_str().unwrap_or_default()))
        }
        AdminCommand::Transactions(command) => transactions(&client, command).await,
        AdminCommand::Deliveries(DeliveriesCommand::List { reference, limit }) => {
            let mut path = format!("/deliveries?limit={limit}");
            if let Some(reference) = reference {
                path.push_str(&format!("&referenceId={}", enc(reference)));
            }
            let list: Vec<Value> = client.call(Method::GET, &path, None::<&()>).await?;
            client.print(&list, || {
                rows(
                    &list,
                    &["id", "referenceId", "kind", "method", "state", "attempts", "url"],
                    "No callback deliveries.",
                )
            })
        }
        AdminCommand::Deliveries(DeliveriesCommand::Show { id }) => {
            let detail: Value = client.call(Method::GET, &format!("/deliveries/{}", enc(id)), None::<&()>).await?;
            client.print(&detail, || pretty(&detail))
        }
        AdminCommand::Accounts(AccountsCommand::List) => {
            let list: Vec<Value> = client.call(Method::GET, "/accounts", None::<&()>).await?;
            client.print(&list, || rows(&list, &["account", "currency", "balance", "floor"], "No ledger accounts yet."))
        }
        AdminCommand::Accounts(AccountsCommand::SetWallet { environment, msisdn, amount }) => {
            let path = format!("/wallets/{}/MSISDN/{}/balance", enc(environment), enc(msisdn));
            let account: Value = client.call(Method::PUT, &path, Some(&json!({ "amount": amount }))).await?;
            client.print(&account, || balance_text(&account))
        }
        AdminCommand::Accounts(AccountsCommand::SetUser { api_user, product, amount }) => {
            let path = format!("/users/{}/accounts/{product}/balance", enc(api_user));
            let account: Value = client.call(Method::PUT, &path, Some(&json!({ "amount": amount }))).await?;
            client.print(&account, || balance_text(&account))
        }
        AdminCommand::Faults(command) => faults(&client, command).await,
        AdminCommand::Reset => {
            client.call_empty(Method::POST, "/reset").await?;
            client.print(&json!({"reset": true}), || {
                "All transactions, ledger entries, deliveries and fault rules are gone.\n".into()
            })
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

async fn transactions(client: &Admin, command: &TransactionsCommand) -> Result<(), Failure> {
    let (method, path, body) = match command {
        TransactionsCommand::List { api_user, limit } => {
            let mut path = format!("/transactions?limit={limit}");
            if let Some(user) = api_user {
                path.push_str(&format!("&apiUser={}", enc(user)));
            }
            let list: Vec<Value> = client.call(Method::GET, &path, None::<&()>).await?;
            return client.print(&list, || {
                rows(
                    &list,
                    &["referenceId", "product", "kind", "amount", "currency", "status", "reason", "awaitingApproval"],
                    "No transactions.",
                )
            });
        }
        TransactionsCommand::Show { reference } => {
            let detail: Value =
                client.call(Method::GET, &format!("/transactions/{}", enc(reference)), None::<&()>).await?;
            return client.print(&detail, || pretty(&detail));
        }
        TransactionsCommand::Approve { reference } => {
            (Method::POST, format!("/transactions/{}/approve", enc(reference)), None)
        }
        TransactionsCommand::Reject { reference } => {
            (Method::POST, format!("/transactions/{}/reject", enc(reference)), None)
        }
        TransactionsCommand::Force { reference, status, reason } => (
            Method::POST,
            format!("/transactions/{}/force", enc(reference)),
            Some(json!({ "status": status.to_ascii_uppercase(), "reason": reason })),
        ),
    };
    let tx: Value = client.call(method, &path, body.as_ref()).await?;
    client.print(&tx, || {
        let reason = tx["reason"].as_str().map(|r| format!(" ({r})")).unwrap_or_default();
        format!(
            "{} is now {}{reason}.\n",
            tx["referenceId"].as_str().unwrap_or_default(),
            tx["status"].as_str().unwrap_or_default()
        )
    })
}

async fn faults(client: &Admin, command: &FaultsCommand) -> Result<(), Failure> {
    match command {
        FaultsCommand::List => {
            let list: Vec<Value> = client.call(Method::GET, "/faults", None::<&()>).await?;
            client.print(&list, || {
                rows(
                    &list,
                    &["id", "method", "path", "apiUser", "status", "latencyMs", "probability", "remaining"],
                    "No fault rules.",
                )
            })
        }
        FaultsCommand::Add { path, method, api_user, status, body, latency_ms, probability, count } => {
            let spec = json!({
                "path": path, "method": method, "apiUser": api_user, "status": status, "body": body,
                "latencyMs": latency_ms, "probability": probability, "count": count,
            });
            let spec: serde_json::Map<String, Value> = spec
                .as_object()
                .into_iter()
                .flatten()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let rule: Value = client.call(Method::POST, "/faults", Some(&spec)).await?;
            client.print(&rule, || format!("Added fault rule {}.\n", rule["id"].as_str().unwrap_or_default()))
        }
        FaultsCommand::Remove { id } => {
            client.call_empty(Method::DELETE, &format!("/faults/{}", enc(id))).await?;
            client.print(&json!({"removed": id}), || format!("Removed fault rule {id}.\n"))
        }
        FaultsCommand::Clear => {
            client.call_empty(Method::DELETE, "/faults").await?;
            client.print(&json!({"cleared": true}), || "Removed every fault rule.\n".into())
        }
    }
}

/// A table of the given fields of JSON objects.
fn rows(items: &[Value], fields: &[&str], empty: &str) -> String {
    if items.is_empty() {
        return format!("{empty}\n");
    }
    let cell = |item: &Value, field: &str| match &item[field] {
        Value::Null => "-".to_owned(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let widths: Vec<usize> = fields
        .iter()
        .map(|f| items.iter().map(|i| cell(i, f).chars().count()).chain([f.len()]).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    let line = |cells: Vec<String>| {
        cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect::<Vec<_>>().join("  ").trim_end().to_owned()
            + "\n"
    };
    out.push_str(&line(fields.iter().map(|f| f.to_ascii_uppercase()).collect()));
    for item in items {
        out.push_str(&line(fields.iter().map(|f| cell(item, f)).collect()));
    }
    out
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default() + "\n"
}

fn balance_text(account: &Value) -> String {
    format!(
        "{} now holds {} {}.\n",
        account["account"].as_str().unwrap_or_default(),
        account["balance"].as_str().unwrap_or_default(),
        account["currency"].as_str().unwrap_or_default()
    )
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
    fn new(args: &AdminArgs, json: bool) -> Result<Self, Failure> {
        let token = args.admin_token.clone().ok_or(Failure {
            message: "no operator token".into(),
            hint: "pass --admin-token or set MOMO_ADMIN_TOKEN to the token `momo serve` printed on first start",
            code: 2,
        })?;
        let http = reqwest::Client::builder().timeout(std::time::Duration::from_secs(30)).build().map_err(|e| {
            Failure { message: format!("cannot build an HTTP client: {e}"), hint: "this is a bug", code: 3 }
        })?;
        let base = format!("{}{}", args.server.trim_end_matches('/'), "/_momo/admin");
        Ok(Self { http, base, token, json })
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&impl Serialize>,
    ) -> Result<T, Failure> {
        self.call_raw(method, path, body, false).await
    }

    async fn call_raw<T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&impl Serialize>,
        empty_ok: bool,
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
            let text: &[u8] = if empty_ok && bytes.is_empty() { b"null" } else { &bytes };
            return serde_json::from_slice(text).map_err(|e| Failure {
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

    /// A call whose success has no body (204).
    async fn call_empty(&self, method: Method, path: &str) -> Result<(), Failure> {
        let _: Value = self.call_raw(method, path, None::<&()>, true).await?;
        Ok(())
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
