//! `momo sandbox provision`: an API user and key in MTN's sandbox (or openmomo), written to a
//! `.env` that `Client::from_env()` reads.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use momo_client::{Client, RetryPolicy};
use secrecy::ExposeSecret;

use crate::output::{print, Failure};

#[derive(Debug, Subcommand)]
pub enum SandboxCommand {
    /// Create and verify a sandbox API user, create its key, and write the MOMO_* lines of an env file.
    Provision(ProvisionArgs),
}

#[derive(Debug, Args)]
pub struct ProvisionArgs {
    /// A subscription key of any product (the developer portal's primary key).
    #[arg(long, env = "MOMO_SUBSCRIPTION_KEY", hide_env_values = true)]
    subscription_key: String,
    /// The host callbacks will go to, e.g. webhook.site (a host, not a URL).
    #[arg(long)]
    callback_host: String,
    /// The sandbox (MTN's by default) or an openmomo server.
    #[arg(long, env = "MOMO_BASE_URL", default_value = momo_client::SANDBOX_BASE_URL)]
    base_url: String,
    /// The env file to write (other lines are kept).
    #[arg(long, env = "MOMO_ENV_FILE", default_value = ".env")]
    env_file: PathBuf,
    /// Also print the API key.
    #[arg(long)]
    show_key: bool,
}

pub async fn run(command: SandboxCommand, json: bool) -> Result<(), Failure> {
    let SandboxCommand::Provision(args) = command;
    if args.callback_host.contains("://") || args.callback_host.contains('/') {
        return Err(Failure::new(2, "--callback-host must be a host, not a URL", "e.g. --callback-host webhook.site"));
    }
    // MTN's sandbox answers 500 to user creation now and then: retry patiently (the same
    // reference id, so no second user is made).
    let client = Client::builder()
        .base_url(&args.base_url)
        .subscription_key(&args.subscription_key)
        .retry_policy(RetryPolicy { max_attempts: 6, ..RetryPolicy::default() })
        .build()?;
    let credentials = client.provision_sandbox_user(&args.callback_host).await?;
    let api_user = credentials.api_user.to_string();
    let lines = [
        ("MOMO_BASE_URL", args.base_url.clone()),
        ("MOMO_TARGET_ENVIRONMENT", "sandbox".to_owned()),
        ("MOMO_SUBSCRIPTION_KEY", args.subscription_key.clone()),
        ("MOMO_API_USER", api_user.clone()),
        ("MOMO_API_KEY", credentials.api_key.expose_secret().to_owned()),
        ("MOMO_CALLBACK_HOST", args.callback_host.clone()),
        ("MOMO_CURRENCY", "EUR".to_owned()),
    ];
    let (updated, added) = write_env_file(&args.env_file, &lines).map_err(|e| {
        Failure::new(2, format!("cannot write {}: {e}", args.env_file.display()), "check the path and its permissions")
    })?;
    let mut value = serde_json::json!({
        "apiUser": api_user,
        "callbackHost": args.callback_host,
        "baseUrl": args.base_url,
        "envFile": args.env_file.display().to_string(),
    });
    if args.show_key {
        value["apiKey"] = serde_json::Value::String(credentials.api_key.expose_secret().to_owned());
    }
    print(json, &value, || {
        let mut out = format!(
            "Provisioned sandbox API user {api_user} (callback host {}) on {}.\n",
            args.callback_host, args.base_url
        );
        out.push_str(&format!(
            "Wrote {} to {} (mode 0600): {} updated, {} added, other lines kept.\n",
            lines.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(", "),
            args.env_file.display(),
            updated,
            added
        ));
        if args.show_key {
            out.push_str(&format!("API key: {}\n", credentials.api_key.expose_secret()));
        } else {
            out.push_str("The API key is in the env file only (--show-key prints it).\n");
        }
        out
    });
    Ok(())
}

/// Set `lines` in an env file: existing `NAME=` (or `export NAME=`) lines are replaced in place,
/// missing ones appended, everything else kept. The file is made readable by its owner only.
/// Returns how many lines were updated and added.
pub fn write_env_file(path: &Path, lines: &[(&str, String)]) -> std::io::Result<(usize, usize)> {
    let existing = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e),
    };
    let mut written = vec![false; lines.len()];
    let mut out = Vec::new();
    for line in existing.lines() {
        let name = line.trim_start().trim_start_matches("export ").split('=').next().unwrap_or("").trim();
        match lines.iter().position(|(key, _)| *key == name) {
            Some(i) if !written[i] => {
                out.push(format!("{}={}", lines[i].0, lines[i].1));
                written[i] = true;
            }
            Some(_) => {}
            None => out.push(line.to_owned()),
        }
    }
    let updated = written.iter().filter(|w| **w).count();
    for (i, (key, value)) in lines.iter().enumerate() {
        if !written[i] {
            out.push(format!("{key}={value}"));
        }
    }
    let mut text = out.join("\n");
    text.push('\n');
    write_private(path, &text)?;
    Ok((updated, lines.len() - updated))
}

#[cfg(unix)]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
    let mut file = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)?;
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    file.write_all(text.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)
}

#[cfg(test)]
mod tests {
    use super::write_env_file;

    #[test]
    fn env_files_keep_other_lines_and_replace_ours() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".env");
        std::fs::write(&path, "# mine\nDATABASE_URL=postgres://x\nexport MOMO_API_USER=old\nMOMO_API_USER=dup\n")
            .unwrap();
        let (updated, added) =
            write_env_file(&path, &[("MOMO_API_USER", "new".into()), ("MOMO_API_KEY", "k".into())]).unwrap();
        assert_eq!((updated, added), (1, 1));
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, "# mine\nDATABASE_URL=postgres://x\nMOMO_API_USER=new\nMOMO_API_KEY=k\n");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
    }
}
