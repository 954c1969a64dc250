//! How commands end: data on stdout, errors on stderr with a hint, documented exit codes.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success (with `--wait`: SUCCESSFUL) |
//! | 1 | the server refused the request (a MoMo, gateway or authentication error) |
//! | 2 | bad usage or configuration |
//! | 3 | the server could not be reached |
//! | 4 | `--wait`: the transaction FAILED |
//! | 5 | `--wait`: still not final when the wait ended |
//! | 6 | `doctor` found problems |

use std::process::ExitCode;

use momo_client::Error;

/// A command's failure: what to print and how to exit.
#[derive(Debug)]
pub struct Failure {
    pub message: String,
    pub hint: String,
    pub code: u8,
}

impl Failure {
    pub fn new(code: u8, message: impl Into<String>, hint: impl Into<String>) -> Self {
        Failure { message: message.into(), hint: hint.into(), code }
    }

    pub fn exit(self) -> ExitCode {
        eprintln!("error: {}", self.message);
        if !self.hint.is_empty() {
            eprintln!("hint: {}", self.hint);
        }
        ExitCode::from(self.code)
    }
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        let hint = hint_for(&error);
        let code = match &error {
            Error::Config(_) => 2,
            Error::Transport(_) => 3,
            Error::Timeout { .. } => 5,
            _ => 1,
        };
        Failure { message: error.to_string(), hint, code }
    }
}

/// What to do about an SDK error.
pub fn hint_for(error: &Error) -> String {
    use momo_types::ErrorCode;
    match error {
        Error::Config(_) => "set the variable it names (in the environment or .env); `momo sandbox provision` writes them".into(),
        Error::Gateway { status: 401, message } if message.contains("missing") => {
            "set MOMO_SUBSCRIPTION_KEY (or MOMO_<PRODUCT>_SUBSCRIPTION_KEY)".into()
        }
        Error::Gateway { status: 401, .. } => {
            "the subscription key is unknown or for another product: use the key of this product (Collection ≠ Disbursement ≠ Remittance); `momo doctor` checks them".into()
        }
        Error::Gateway { status: 429, .. } => "slow down: the gateway's rate limit was hit".into(),
        Error::Gateway { .. } => "the gateway failed; MTN's sandbox does this now and then: try again".into(),
        Error::Authentication { .. } => {
            "MOMO_API_USER and MOMO_API_KEY are wrong, swapped, or the key was replaced; `momo doctor` tells which".into()
        }
        Error::Momo { code: ErrorCode::NotAllowedTargetEnvironment, .. } => {
            "MOMO_TARGET_ENVIRONMENT must be the API user's environment (sandbox in the sandbox)".into()
        }
        Error::Momo { code: ErrorCode::InvalidCurrency, .. } => {
            "use the environment's currency (EUR in the sandbox): --currency or MOMO_CURRENCY".into()
        }
        Error::Momo { code: ErrorCode::InvalidCallbackUrlHost, .. } => {
            "the callback URL's host must be the API user's providerCallbackHost".into()
        }
        Error::Momo { code: ErrorCode::ResourceAlreadyExist, .. } => {
            "that reference id was used already: `momo status` shows the existing transaction".into()
        }
        Error::Momo { code: ErrorCode::ResourceNotFound, .. } => "check the reference id and the product".into(),
        Error::Momo { .. } | Error::OAuth { .. } | Error::Http { .. } => "fix the request as the message says".into(),
        Error::Transport(_) => "is the server reachable? Check MOMO_BASE_URL; `momo doctor` checks the connection".into(),
        Error::Decode { .. } => "is MOMO_BASE_URL a MoMo Open API server?".into(),
        Error::Timeout { .. } => "it is still going: `momo status` shows it later".into(),
        _ => String::new(),
    }
}

/// Print `value` as JSON, or `text` for people.
pub fn print(json: bool, value: &impl serde::Serialize, text: impl FnOnce() -> String) {
    if json {
        println!("{}", serde_json::to_string_pretty(value).unwrap_or_default());
    } else {
        print!("{}", text());
    }
}
