//! `momo`: run the openmomo server, administer it, and talk MoMo (to MTN's sandbox, MTN's
//! production or openmomo) from the command line.
//!
//! `main` only parses arguments, sets up logging and calls the command's module. Data goes to
//! stdout, logs and progress to stderr; `--json` prints JSON for scripts. Exit codes are listed in
//! [`output`].

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use momo_types::{Currency, Product, ReferenceId};

mod admin;
mod doctor;
mod listen;
mod manual;
mod output;
mod pay;
mod sandbox;
mod serve;

/// openmomo: a MoMo Open API server and tools. Not affiliated with MTN.
///
/// The payment commands read MOMO_BASE_URL, MOMO_TARGET_ENVIRONMENT, MOMO_SUBSCRIPTION_KEY (or
/// MOMO_<PRODUCT>_SUBSCRIPTION_KEY), MOMO_API_USER, MOMO_API_KEY, MOMO_CALLBACK_URL,
/// MOMO_CURRENCY and MOMO_PLATFORM from the environment, from ./.env and from the file
/// MOMO_ENV_FILE names.
#[derive(Debug, Parser)]
#[command(name = "momo", version, propagate_version = true)]
struct Cli {
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    json: bool,

    /// Log format on stderr.
    #[arg(long, global = true, env = "MOMO_LOG_FORMAT", default_value = "text", value_parser = ["text", "json"])]
    log_format: String,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the MoMo Open API server.
    Serve(Box<serve::ServeArgs>),
    /// Administer a running server through its operator API.
    Admin(admin::AdminArgs),
    /// Sandbox credentials.
    #[command(subcommand)]
    Sandbox(sandbox::SandboxCommand),
    /// Print an access token.
    Token {
        #[arg(long, default_value = "collection")]
        product: Product,
    },
    /// The API user's balance.
    Balance {
        #[arg(long, default_value = "collection")]
        product: Product,
        /// A currency to ask for (must be the environment's).
        #[arg(long)]
        currency: Option<Currency>,
    },
    /// Collection: get paid.
    #[command(subcommand)]
    Collect(pay::CollectCommand),
    /// Disbursement: pay out.
    #[command(subcommand)]
    Disburse(pay::DisburseCommand),
    /// Remittance: cross-border payments.
    #[command(subcommand)]
    Remit(pay::RemitCommand),
    /// The status of a transaction.
    Status {
        product: Product,
        kind: pay::KindArg,
        reference: ReferenceId,
        /// Wait up to this many seconds for a final status.
        #[arg(long)]
        wait: Option<u64>,
    },
    /// Account holders: active, basic info.
    #[command(subcommand, name = "account-holder")]
    AccountHolder(pay::AccountHolderCommand),
    /// The OAuth2 consent flow.
    #[command(subcommand)]
    Consent(pay::ConsentCommand),
    /// Check the configuration against the server and say what is wrong.
    Doctor,
    /// Callbacks.
    #[command(subcommand)]
    Callbacks(CallbacksCommand),
    /// Print a shell completion script (e.g. `momo completions bash > ~/.local/share/bash-completion/completions/momo`).
    Completions { shell: clap_complete::Shell },
    /// Print the man page, or write one page per command into a directory.
    Man {
        /// Write momo.1, momo-serve.1, … into this directory instead of printing momo.1.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Print the OpenAPI 3.1 document of the MoMo API that `momo serve` serves (also at
    /// /_momo/openapi.json).
    Openapi {
        /// The operator API's document instead (also at /_momo/admin/openapi.json).
        #[arg(long)]
        admin: bool,
    },
}

#[derive(Debug, Subcommand)]
enum CallbacksCommand {
    /// Receive callbacks locally, check their signatures, print and forward them.
    Listen(listen::ListenArgs),
}

/// mimalloc: the server allocates many small, short-lived buffers on several threads (requests,
/// SQLite rows); glibc's allocator spent a tenth of the write path's CPU (docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(&cli.log_format);
    // MOMO_ENV_FILE names a settings file to read besides ./.env (the environment wins over both).
    if let Some(path) = std::env::var_os("MOMO_ENV_FILE").map(PathBuf::from) {
        if path.exists() {
            if let Err(e) = dotenvy::from_path(&path) {
                return output::Failure::new(2, format!("cannot read {}: {e}", path.display()), "check MOMO_ENV_FILE")
                    .exit();
            }
        }
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(3);
        }
    };
    let json = cli.json;
    runtime.block_on(async {
        let result = match cli.command {
            Command::Serve(args) => return serve::run(*args).await,
            Command::Admin(args) => return admin::run(args, json).await,
            Command::Sandbox(command) => sandbox::run(command, json).await,
            Command::Token { product } => pay::token(product, json).await,
            Command::Balance { product, currency } => pay::balance(product, currency, json).await,
            Command::Collect(command) => pay::collect(command, json).await,
            Command::Disburse(command) => pay::disburse(command, json).await,
            Command::Remit(command) => pay::remit(command, json).await,
            Command::Status { product, kind, reference, wait } => {
                pay::status(product, kind, reference, wait, json).await
            }
            Command::AccountHolder(command) => pay::account_holder(command, json).await,
            Command::Consent(command) => pay::consent(command, json).await,
            Command::Doctor => doctor::run(json).await,
            Command::Callbacks(CallbacksCommand::Listen(args)) => listen::run(args, json).await,
            Command::Completions { shell } => manual::completions(shell),
            Command::Man { out } => manual::man(out),
            Command::Openapi { admin } => print_openapi(admin),
        };
        match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(failure) => failure.exit(),
        }
    })
}

/// `momo openapi`: the document the server would serve, without a server.
fn print_openapi(admin: bool) -> Result<(), output::Failure> {
    let document = if admin { momo_types::openapi::operator_api() } else { momo_types::openapi::momo_api() };
    let text = serde_json::to_string_pretty(&document)
        .map_err(|e| output::Failure::new(3, format!("cannot write the document: {e}"), ""))?;
    println!("{text}");
    Ok(())
}

fn init_logging(format: &str) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    // Colours only for a person at a terminal: in a file or a log collector the escape codes are
    // noise, and writing them cost a tenth of a logged request (docs/performance.md).
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_ansi(colour).with_writer(std::io::stderr);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}
