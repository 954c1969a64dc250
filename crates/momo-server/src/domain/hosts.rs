//! Provider callback hosts.

/// Check a `providerCallbackHost`: a host name such as `webhook.site` (optionally with a port).
/// A full URL is accepted as the sandbox accepts it (some SDKs send one), but it must have a host.
/// Returns a message for a 400 if it is unusable.
pub fn check_callback_host(value: &str) -> Result<(), String> {
    let value = value.trim();
    if value.is_empty() {
        return Err("providerCallbackHost must not be empty.".into());
    }
    if value.len() > 253 {
        return Err("providerCallbackHost must be at most 253 characters.".into());
    }
    if value.contains("://") {
        let url =
            url::Url::parse(value).map_err(|_| "providerCallbackHost is neither a host name nor a URL.".to_owned())?;
        return match url.host_str() {
            Some(host) if !host.is_empty() => Ok(()),
            _ => Err("providerCallbackHost is a URL without a host.".into()),
        };
    }
    let host = match value.rsplit_once(':') {
        Some((host, port)) if port.parse::<u16>().is_ok() => host,
        _ => value,
    };
    let valid = !host.is_empty()
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        });
    if valid {
        Ok(())
    } else {
        Err("providerCallbackHost must be a host name such as 'webhook.site' (ASCII letters, digits, '-' and '.'; punycode for international names).".into())
    }
}

#[cfg(test)]
mod tests {
    use super::check_callback_host;

    #[test]
    fn accepts_hosts_and_urls_with_hosts() {
        for ok in ["webhook.site", "localhost", "localhost:9000", "my-shop.example.com", "https://webhook.site/abc"] {
            assert!(check_callback_host(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn rejects_the_unusable() {
        for bad in [
            "",
            "  ",
            "web hook.site",
            "webhook.site/path",
            "exämple.com",
            "-bad.com",
            "a..b",
            "http://",
            "'; DROP TABLE api_users; --",
        ] {
            assert!(check_callback_host(bad).is_err(), "{bad:?}");
        }
    }
}
