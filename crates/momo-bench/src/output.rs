//! How a run ends: figures on stdout (text or `--json`), an error and a hint on stderr.
//!
//! Exit codes: 0 done; 1 a server refused a request of the set-up; 2 bad usage (several instances
//! without a database, no `momo` binary); 3 a server could not be started or reached.

use std::process::ExitCode;

/// Why a run stopped: what to print and how to exit.
#[derive(Debug)]
pub(crate) struct Failure {
    code: u8,
    message: String,
    hint: String,
}

impl Failure {
    pub(crate) fn new(code: u8, message: impl Into<String>, hint: impl Into<String>) -> Self {
        Failure { code, message: message.into(), hint: hint.into() }
    }

    pub(crate) fn exit(self) -> ExitCode {
        eprintln!("error: {}", self.message);
        if !self.hint.is_empty() {
            eprintln!("hint: {}", self.hint);
        }
        ExitCode::from(self.code)
    }
}

/// The set-up (a sandbox user, a token, a request to pay to read) goes through the SDK.
impl From<momo_client::Error> for Failure {
    fn from(error: momo_client::Error) -> Self {
        let code = match &error {
            momo_client::Error::Config(_) => 2,
            momo_client::Error::Transport(_) => 3,
            _ => 1,
        };
        Failure::new(code, error.to_string(), "")
    }
}

/// Print `value` as JSON, or `text` for people.
pub(crate) fn print(json: bool, value: &impl serde::Serialize, text: impl FnOnce() -> String) {
    if json {
        println!("{}", serde_json::to_string_pretty(value).unwrap_or_default());
    } else {
        print!("{}", text());
    }
}
