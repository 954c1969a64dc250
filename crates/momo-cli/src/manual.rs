//! `momo completions` and `momo man`: shell completions and man pages generated from the same
//! clap definitions that parse the command line, so they cannot fall behind it.

use std::io::Write as _;
use std::path::PathBuf;

use clap::CommandFactory as _;

use crate::output::Failure;
use crate::Cli;

/// Prints the completion script for `shell` to stdout.
pub fn completions(shell: clap_complete::Shell) -> Result<(), Failure> {
    let mut command = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "momo", &mut script);
    write_stdout(&script)
}

/// Prints momo(1) to stdout, or with `out` writes one page per command and subcommand
/// (`momo.1`, `momo-serve.1`, `momo-admin-transactions.1`, …) into that directory.
pub fn man(out: Option<PathBuf>) -> Result<(), Failure> {
    match out {
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(Cli::command())
                .render(&mut page)
                .map_err(|e| Failure::new(2, format!("cannot render the man page: {e}"), "report this as a bug"))?;
            write_stdout(&page)
        }
        Some(dir) => {
            let cannot_write = |e: std::io::Error| {
                Failure::new(2, format!("cannot write man pages to {}: {e}", dir.display()), "check the directory")
            };
            std::fs::create_dir_all(&dir).map_err(cannot_write)?;
            // `generate_to` turns clap's own `help` subcommand off before it walks the tree, so no
            // `momo-help.1` page is written.
            clap_mangen::generate_to(Cli::command(), &dir).map_err(cannot_write)
        }
    }
}

fn write_stdout(bytes: &[u8]) -> Result<(), Failure> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(bytes)
        .and_then(|()| stdout.flush())
        .map_err(|e| Failure::new(2, format!("cannot write to stdout: {e}"), "check where stdout goes"))
}
