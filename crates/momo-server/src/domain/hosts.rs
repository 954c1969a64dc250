//! Provider callback hosts.

use crate::domain::targets::TargetPolicy;
use crate::domain::validation::{has_user_info, registered_target};

/// Check a `providerCallbackHost`: a host name such as `webhook.site` (optionally with a port).
/// A full URL is accepted as the sandbox accepts it (some SDKs send one), but it must have a host
/// and no user-info. A host the callback target policy refuses on sight (an IP literal it
/// refuses, a cloud-metadata name) is refused here already. Returns a message for a 400.
pub fn check_callback_host(value: &str, targets: &TargetPolicy) -> Result<(), String> {
    check_host_syntax(value)?;
    let (host, _) = registered_target(value);
    let host = url::Host::parse(&host).map_err(|_| "providerCallbackHost has no usable host.".to_owned())?;
    targets.check_host(&host).map_err(|why| format!("providerCallbackHost: {why}."))
}

fn check_host_syntax(value: &str) -> Result<(), String> {
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
        if has_user_info(&url) {
            return Err("providerCallbackHost must not carry a user name or password.".into());
        }
        return match url.host_str() {
            Some(host) if !host.is_empty() => Ok(()),
            _ => Err("providerCallbackHost is a URL without a host.".into()),
        };
    }
    let host = match value.rsplit_once(':') {
        Some((host, port)) if port.parse::<u16>().is_ok() => host,
        _ => value,
    };
    if is_host_name(host) {
        Ok(())
    } else {
        Err("providerCallbackHost must be a host name such as 'webhook.site' (ASCII letters, digits, '-' and '.'; punycode for international names).".into())
    }
}

/// An ASCII host name: dot-separated labels of letters, digits and inner hyphens.
pub fn is_host_name(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_callback_host(value: &str) -> Result<(), String> {
        super::check_callback_host(value, &TargetPolicy { allow_loopback: true, ..TargetPolicy::default() })
    }

    #[test]
    fn accepts_hosts_and_urls_with_hosts() {
        for ok in [
            "webhook.site",
            "localhost",
            "localhost:9000",
            "127.0.0.1:19001",
            "my-shop.example.com",
            "https://webhook.site/abc",
        ] {
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
            "http://user:secret@webhook.site/",
            "169.254.169.254",
            "169.254.169.254:80",
            "http://[fe80::1]:8080/",
            "metadata.google.internal",
            "http://metadata.google.internal/",
            "10.0.0.1",
            "0.0.0.0",
        ] {
            assert!(check_callback_host(bad).is_err(), "{bad:?}");
        }
    }
}

#[cfg(test)]
mod policy_tests {
    use super::*;

    #[test]
    fn private_hosts_need_the_policy_to_allow_them() {
        let default = TargetPolicy::default();
        assert!(check_callback_host("10.0.0.1", &default).unwrap_err().contains("private"));
        assert!(check_callback_host("127.0.0.1", &default).unwrap_err().contains("loopback"));
        let private = TargetPolicy { allow_private: true, ..TargetPolicy::default() };
        assert!(check_callback_host("10.0.0.1", &private).is_ok());
        assert!(check_callback_host("169.254.169.254", &private).is_err());
    }
}
