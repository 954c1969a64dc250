//! The command line of `momo-bench`: what it offers, and what it refuses before starting anything.

#![expect(clippy::unwrap_used, reason = "a test fails loudly on the first surprise")]

use assert_cmd::Command;

fn bench() -> Command {
    Command::cargo_bin("momo-bench").unwrap()
}

#[test]
fn help_lists_the_options_and_hides_the_baseline() {
    let output = bench().arg("--help").output().unwrap();
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for option in [
        "--duration",
        "--connections",
        "--database-url",
        "--instances",
        "--scenarios",
        "--rate",
        "--warmup",
        "--momo",
        "--wrk",
        "--own-driver",
        "--json",
    ] {
        assert!(help.contains(option), "{option} missing from:\n{help}");
    }
    assert!(!help.contains("Commands:"), "the baseline is started by the run, not by hand:\n{help}");
}

/// Exit code 2 and `needle` on stderr.
fn refused(args: &[&str], needle: &str) {
    let output = bench().args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(needle), "{needle:?} missing from:\n{stderr}");
}

#[test]
fn several_instances_without_a_database_are_refused() {
    refused(&["--instances", "2"], "several instances need a shared database");
}

#[test]
fn a_named_wrk_that_does_not_run_says_how_to_install_one() {
    refused(&["--wrk", "/nonexistent/wrk"], "apt-get install wrk");
}

#[test]
fn a_missing_momo_binary_says_how_to_build_it() {
    refused(&["--momo", "/nonexistent/momo"], "cargo build --release --bin momo");
}
