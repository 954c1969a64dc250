//! `momo-bench`: how close openmomo comes to what this machine allows. A tool for the people who
//! work on openmomo, not part of the `momo` binary users install:
//!
//! ```sh
//! cargo build --release --bin momo
//! cargo run --release -p momo-bench -- --duration 5 --connections 32
//! ```
//!
//! - `bench`: the run (openmomo and the baseline as child processes, a driver for each scenario,
//!   the figures).
//! - `wrk`, `driver`: the load drivers, wrk (where installed) and momo-bench's own.
//! - `figures`: what a driver is asked for and gives, and the own driver's check against wrk.
//! - `baseline`: the bare-hyper server the run compares with (`momo-bench baseline`, hidden).
//! - `output`: exit codes, errors with a hint, text or JSON.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod baseline;
mod bench;
mod driver;
mod figures;
mod output;
mod wrk;

/// The subcommand under which the run starts the baseline (this same program).
const BASELINE_COMMAND: &str = "baseline";

/// Measure openmomo against a bare-hyper baseline on this machine (figures, not a test).
///
/// Runs the `momo` binary built beside this one (`cargo build --release --bin momo` first) or
/// the one --momo names.
#[derive(Debug, Parser)]
#[command(name = "momo-bench", version, args_conflicts_with_subcommands = true, disable_help_subcommand = true)]
struct Cli {
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,

    #[command(flatten)]
    bench: bench::BenchArgs,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The benchmark's baseline server (started by the run).
    #[command(hide = true, name = BASELINE_COMMAND)]
    Baseline(baseline::BaselineArgs),
}

/// The same allocator as the `momo` binary, so that the baseline and the load driver do not
/// differ from openmomo in that.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(3);
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Some(Command::Baseline(args)) => baseline::run(args).await,
            None => bench::run(cli.bench, cli.json).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.exit(),
    }
}
