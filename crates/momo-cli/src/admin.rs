//! `momo admin …`: the operator API from the command line.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use momo_client::AdminClient;
use momo_types::admin::{
    Account, CreateSubscriptionKey, CreateUser, CredentialStyle, FaultSpec, ForceOutcome, ListQuery, SetBalance,
    SubscriptionKey, SubscriptionKeyCreated, User, UserCredentials,
};
use momo_types::payments::{Party, TransactionStatus};
use momo_types::{Amount, Msisdn, Product};
use secrecy::{ExposeSecret, SecretString};
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
        msisdn: Msisdn,
        /// Major units, e.g. 2500.50.
        #[arg(long)]
        amount: Amount,
    },
    /// Set an API user's account balance for a product (e.g. to fund transfers).
    SetUser {
        api_user: String,
        #[arg(long)]
        product: Product,
        #[arg(long)]
        amount: Amount,
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

/// A failed admin call.
enum Failure {
    /// Found before asking the server: what to print and the exit code.
    Local { message: String, hint: &'static str, code: u8 },
    /// The server's answer, or no answer.
    Server(momo_client::Error),
}

impl From<momo_client::Error> for Failure {
    fn from(error: momo_client::Error) -> Self {
        Failure::Server(error)
    }
}

impl Failure {
    /// The message, the hint and the exit code (1: the server refused; 2: usage; 3: no usable
    /// answer). `base` is the operator API's URL, to say which server could not be reached.
    fn explain(self, base: &str) -> (String, &'static str, u8) {
        use momo_client::Error;
        let error = match self {
            Failure::Local { message, hint, code } => return (message, hint, code),
            Failure::Server(error) => error,
        };
        let refused = |message: String, status: u16| {
            let hint = match status {
                401 => "check the operator token (--admin-token or MOMO_ADMIN_TOKEN)",
                404 => "check the id: `momo admin users list` or `momo admin subscription-keys list` shows them",
                _ => "fix the request as the message says",
            };
            (message, hint, 1)
        };
        match error {
            Error::Transport(e) => (
                format!("cannot reach the server at {base}: {e}"),
                "is `momo serve` running? Point --server (MOMO_ADMIN_URL) at it",
                3,
            ),
            Error::Decode { status, error, .. } => (
                format!(
                    "the server answered {} with a body this CLI does not understand: {error}",
                    reqwest::StatusCode::from_u16(status).map_or_else(|_| status.to_string(), |s| s.to_string())
                ),
                "is --server pointing at an openmomo server of the same version?",
                3,
            ),
            Error::Momo { status, code, message } => refused(format!("{message} ({code}, HTTP {status})"), status),
            Error::Http { status, body } => refused(format!("HTTP {status} {body}"), status),
            Error::Config(message) => (message, "this is a bug", 3),
            other => match other.status() {
                Some(status) => refused(format!("HTTP {status} {other}"), status),
                None => (other.to_string(), "this is a bug", 3),
            },
        }
    }
}

pub async fn run(args: AdminArgs, json: bool) -> ExitCode {
    match execute(&args, json).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            let base = format!("{}{}", args.server.trim_end_matches('/'), momo_types::admin::PREFIX);
            let (message, hint, code) = failure.explain(&base);
            eprintln!("error: {message}");
            eprintln!("hint: {hint}");
            ExitCode::from(code)
        }
    }
}

async fn execute(args: &AdminArgs, json: bool) -> Result<(), Failure> {
    let token = args.admin_token.clone().ok_or(Failure::Local {
        message: "no operator token".into(),
        hint: "pass --admin-token or set MOMO_ADMIN_TOKEN to the token `momo serve` printed on first start",
        code: 2,
    })?;
    let client = AdminClient::new(&args.server, token)?;
    let out = Output { json };
    match &args.command {
        AdminCommand::Users(UsersCommand::List) => {
            let users = client.users().await?;
            out.print(&users, || users_table(&users))
        }
        AdminCommand::Users(UsersCommand::Show { api_user }) => {
            let user = client.user(api_user).await?;
            out.print(&user, || users_table(std::slice::from_ref(&user)))
        }
        AdminCommand::Users(UsersCommand::Create { environment, callback_host, payment_server_url, momo_africa }) => {
            let body = CreateUser {
                environment: environment.clone(),
                provider_callback_host: callback_host.clone(),
                payment_server_url: payment_server_url.clone(),
                credential_style: if *momo_africa { CredentialStyle::MomoAfrica } else { CredentialStyle::ApiKey },
            };
            let created = client.create_user(&body).await?;
            out.print(&created, || credentials_text("Created API user", &created))
        }
        AdminCommand::Users(UsersCommand::RegenerateKey { api_user }) => {
            let created = client.regenerate_user_key(api_user).await?;
            out.print(&created, || credentials_text("New key for API user", &created))
        }
        AdminCommand::Users(UsersCommand::Revoke { api_user }) => {
            let user = client.revoke_user(api_user).await?;
            out.print(&user, || format!("Revoked API user {}; its tokens no longer work.\n", user.api_user))
        }
        AdminCommand::Users(UsersCommand::CallbackSecret { api_user }) => {
            let secret = client.callback_secret(api_user).await?;
            out.print(&secret, || format!("{}\n", secret.callback_signing_secret))
        }
        AdminCommand::Transactions(command) => transactions(&client, out, command).await,
        AdminCommand::Deliveries(DeliveriesCommand::List { reference, limit }) => {
            let query =
                ListQuery { reference_id: reference.clone(), limit: Some((*limit).into()), ..ListQuery::default() };
            let list = sorted(&client.deliveries(&query).await?);
            out.print(&list, || {
                rows(
                    &list,
                    &["id", "referenceId", "kind", "method", "state", "attempts", "url"],
                    "No callback deliveries.",
                )
            })
        }
        AdminCommand::Deliveries(DeliveriesCommand::Show { id }) => {
            let detail = sorted(&client.delivery(id).await?);
            out.print(&detail, || pretty(&detail))
        }
        AdminCommand::Accounts(AccountsCommand::List) => {
            let list = sorted(&client.accounts().await?);
            out.print(&list, || rows(&list, &["account", "currency", "balance", "floor"], "No ledger accounts yet."))
        }
        AdminCommand::Accounts(AccountsCommand::SetWallet { environment, msisdn, amount }) => {
            let balance = SetBalance { amount: amount.clone() };
            let account = client.set_wallet_balance(environment, &Party::msisdn(msisdn.clone()), &balance).await?;
            out.print(&sorted(&account), || balance_text(&account))
        }
        AdminCommand::Accounts(AccountsCommand::SetUser { api_user, product, amount }) => {
            let balance = SetBalance { amount: amount.clone() };
            let account = client.set_user_balance(api_user, *product, &balance).await?;
            out.print(&sorted(&account), || balance_text(&account))
        }
        AdminCommand::Faults(command) => faults(&client, out, command).await,
        AdminCommand::Reset => {
            client.reset().await?;
            out.print(&json!({"reset": true}), || {
                "All transactions, ledger entries, deliveries and fault rules are gone.\n".into()
            })
        }
        AdminCommand::SubscriptionKeys(KeysCommand::List) => {
            let keys = client.subscription_keys().await?;
            out.print(&keys, || keys_table(&keys))
        }
        AdminCommand::SubscriptionKeys(KeysCommand::Add { products, key }) => {
            let body = CreateSubscriptionKey {
                products: products.clone(),
                key: key.as_ref().map(|k| k.expose_secret().to_owned()),
            };
            let created = client.create_subscription_key(&body).await?;
            out.print(&created, || key_created_text("Added subscription key", &created))
        }
        AdminCommand::SubscriptionKeys(KeysCommand::Regenerate { id }) => {
            let created = client.regenerate_subscription_key(id).await?;
            out.print(&created, || key_created_text("New value for subscription key", &created))
        }
        AdminCommand::SubscriptionKeys(KeysCommand::Revoke { id }) => {
            let key = client.revoke_subscription_key(id).await?;
            out.print(&key, || format!("Revoked subscription key {}.\n", key.id))
        }
    }
}

async fn transactions(client: &AdminClient, out: Output, command: &TransactionsCommand) -> Result<(), Failure> {
    let tx = match command {
        TransactionsCommand::List { api_user, limit } => {
            let query = ListQuery { api_user: api_user.clone(), limit: Some((*limit).into()), ..ListQuery::default() };
            let list = sorted(&client.transactions(&query).await?);
            return out.print(&list, || {
                rows(
                    &list,
                    &["referenceId", "product", "kind", "amount", "currency", "status", "reason", "awaitingApproval"],
                    "No transactions.",
                )
            });
        }
        TransactionsCommand::Show { reference } => {
            let detail = sorted(&client.transaction(reference).await?);
            return out.print(&detail, || pretty(&detail));
        }
        TransactionsCommand::Approve { reference } => client.approve(reference).await?,
        TransactionsCommand::Reject { reference } => client.reject(reference).await?,
        TransactionsCommand::Force { reference, status, reason } => {
            // A word that is no status at all; the server judges the others.
            let status = TransactionStatus::parse(&status.to_ascii_uppercase()).ok_or_else(|| Failure::Local {
                message: "status must be SUCCESSFUL or FAILED.".into(),
                hint: "fix the request as the message says",
                code: 1,
            })?;
            client.force(reference, &ForceOutcome { status, reason: reason.clone() }).await?
        }
    };
    out.print(&sorted(&tx), || {
        let reason = tx.reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default();
        format!("{} is now {}{reason}.\n", tx.reference_id, tx.status)
    })
}

async fn faults(client: &AdminClient, out: Output, command: &FaultsCommand) -> Result<(), Failure> {
    match command {
        FaultsCommand::List => {
            let list = sorted(&client.faults().await?);
            out.print(&list, || {
                rows(
                    &list,
                    &["id", "method", "path", "apiUser", "status", "latencyMs", "probability", "remaining"],
                    "No fault rules.",
                )
            })
        }
        FaultsCommand::Add { path, method, api_user, status, body, latency_ms, probability, count } => {
            let spec = FaultSpec {
                method: method.clone(),
                path: path.clone(),
                api_user: api_user.clone(),
                status: *status,
                body: body.clone(),
                latency_ms: *latency_ms,
                probability: *probability,
                count: *count,
            };
            let rule = client.add_fault(&spec).await?;
            out.print(&sorted(&rule), || format!("Added fault rule {}.\n", rule.id))
        }
        FaultsCommand::Remove { id } => {
            client.remove_fault(id).await?;
            out.print(&json!({"removed": id}), || format!("Removed fault rule {id}.\n"))
        }
        FaultsCommand::Clear => {
            client.clear_faults().await?;
            out.print(&json!({"cleared": true}), || "Removed every fault rule.\n".into())
        }
    }
}

/// A body as a JSON value, its keys in alphabetical order: how `--json` has always printed the
/// operator API's payment, delivery, account and fault bodies, and what [`rows`] reads.
fn sorted<T: Serialize>(body: &T) -> Value {
    serde_json::to_value(body).unwrap_or_default()
}

/// A table of the given fields of JSON objects.
fn rows(items: &Value, fields: &[&str], empty: &str) -> String {
    let items = items.as_array().map(Vec::as_slice).unwrap_or_default();
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

fn balance_text(account: &Account) -> String {
    format!("{} now holds {} {}.\n", account.account, account.balance, account.currency)
}

/// How results are shown: `--json` or text.
#[derive(Clone, Copy)]
struct Output {
    json: bool,
}

impl Output {
    fn print<T: Serialize>(self, value: &T, text: impl FnOnce() -> String) -> Result<(), Failure> {
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
