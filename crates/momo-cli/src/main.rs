//! `momo`: run the openmomo server (`momo serve`) and administer it (`momo admin …`).
//!
//! `main` only parses arguments, sets up logging and calls into [`serve`] or [`admin`].
//! Data goes to stdout, logs to stderr. Exit codes: 0 success, 1 the server refused the request,
//! 2 bad usage, 3 the server could not be reached or failed to start.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod admin;
mod serve;

/// openmomo: a MoMo Open API server and tools. Not affiliated with MTN.
#[derive(Debug, Parser)]
#[command(name = "momo", version, propagate_version = true)]
struct Cli {
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(&cli.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(3);
        }
    };
    runtime.block_on(async {
        match cli.command {
            Command::Serve(args) => serve::run(*args).await,
            Command::Admin(args) => admin::run(args).await,
        }
    })
}

fn init_logging(format: &str) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}
