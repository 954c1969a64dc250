//! Short real runs of the benchmark (a second of load per measurement, a few connections): which
//! driver measured what, as the output says. Figures are not asserted, only that there are some.
//!
//! openmomo is the `momo` built beside `momo-bench` (target/debug/momo, which `cargo test
//! --workspace` builds for momo-cli's tests; `cargo build --bin momo` otherwise). wrk is Debian's
//! `wrk` on PATH: where it is missing the wrk test is skipped, except under `CI=true`, where it
//! fails (`.ci/run` installs it).

#![expect(clippy::unwrap_used, reason = "a test fails loudly on the first surprise")]

use std::path::PathBuf;
use std::process::Output;

use assert_cmd::Command;
use serde_json::Value;

/// A short run: one second a measurement, no warm-up, four connections.
fn short_run(scenarios: &str) -> Command {
    let momo = PathBuf::from(env!("CARGO_BIN_EXE_momo-bench")).with_file_name("momo");
    assert!(momo.is_file(), "no {}: build it (cargo build --bin momo)", momo.display());
    let mut bench = Command::cargo_bin("momo-bench").unwrap();
    bench
        .args(["--duration", "1", "--warmup", "0", "--connections", "4", "--scenarios", scenarios])
        .arg("--momo")
        .arg(momo);
    bench
}

fn succeeded(output: &Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    stdout
}

/// Whether wrk is on PATH; under CI it must be.
fn wrk_installed() -> bool {
    let installed =
        std::env::var_os("PATH").iter().flat_map(std::env::split_paths).any(|dir| dir.join("wrk").is_file());
    if !installed {
        assert!(std::env::var("CI").is_err(), "wrk must be installed in CI: apt-get install wrk (.ci/run does)");
        eprintln!("skipped: wrk is not installed (apt-get install wrk)");
    }
    installed
}

#[test]
fn wrk_drives_what_it_can_express_and_checks_the_own_driver_on_the_rest() {
    if !wrk_installed() {
        return;
    }
    let output = short_run("write,end-to-end").arg("--json").output().unwrap();
    let summary: Value = serde_json::from_str(&succeeded(&output)).unwrap();
    assert!(summary["wrk"]["version"].as_str().unwrap().starts_with("wrk "), "{summary:#}");

    // Writes with a fresh reference id each, through wrk, against both servers: every one a 202.
    let write = &summary["scenarios"][0];
    assert_eq!((write["scenario"].as_str(), write["driver"].as_str()), (Some("write"), Some("wrk")), "{write:#}");
    for server in ["baseline", "openmomo"] {
        assert!(write[server]["requests_per_second"].as_f64().unwrap() > 0.0, "{write:#}");
        assert_eq!(write[server]["errors"], 0, "{server}: {write:#}");
    }
    assert_eq!(write["driver_bound"], false, "{write:#}");
    assert!(write.get("driver_check").is_none(), "{write:#}");

    // End to end is the own driver's, and wrk measured the baseline beside it.
    let end_to_end = &summary["scenarios"][1];
    assert_eq!(end_to_end["driver"], "momo-bench", "{end_to_end:#}");
    assert_eq!(end_to_end["own_driver_because"], "end-to-end", "{end_to_end:#}");
    assert!(end_to_end["baseline"]["requests_per_second"].as_f64().unwrap() > 0.0, "{end_to_end:#}");
    assert_eq!(end_to_end["baseline"]["errors"], 0, "every poll of the baseline says SUCCESSFUL: {end_to_end:#}");
    let check = &end_to_end["driver_check"];
    assert_eq!(check["wrk"], "measured", "{end_to_end:#}");
    assert!(check["wrk_baseline_requests_per_second"].as_f64().unwrap() > 0.0, "{end_to_end:#}");
    assert!(end_to_end["driver_bound"].is_boolean(), "{end_to_end:#}");
}

#[test]
fn without_wrk_the_own_driver_drives_and_says_its_baseline_is_unchecked() {
    // No PATH to find wrk on (momo and the baseline are started by their paths).
    let output = short_run("token").env("PATH", "/nonexistent").output().unwrap();
    let stdout = succeeded(&output);
    assert!(stdout.contains("wrk is not installed"), "{stdout}");
    assert!(stdout.contains("apt-get install wrk"), "{stdout}");
    let row = stdout.lines().find(|line| line.starts_with("token ")).unwrap();
    let columns: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(columns[1], "momo-bench", "the driver is named: {row}");
    assert!(columns[2].parse::<f64>().unwrap() > 0.0, "a baseline figure: {row}");
    assert!(stdout.contains(&format!("the own driver's baseline figure ({}/s) is unchecked", columns[2])), "{stdout}");
}
