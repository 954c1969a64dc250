//! Checks on a payment request, each a pure function returning what the client did wrong.
//! The API layer runs them in the order docs/compatibility.md gives.

use momo_types::payments::{Party, PartyIdType};
use momo_types::{Amount, AmountError, Currency, Environment, Msisdn};

use super::DomainError;
use crate::domain::money::MAX_AMOUNT_MINOR;
use crate::domain::targets::TargetPolicy;

/// The longest `payerMessage` / `payeeNote` MTN accepts (its common-error page).
pub const MAX_MESSAGE_CHARS: usize = 160;
/// The longest `externalId` kept (MTN documents none; this bounds what is stored).
pub const MAX_EXTERNAL_ID_CHARS: usize = 256;

/// The amount a request moves: a positive decimal string (`"50000"`, `"12.5"`) with at most the
/// currency's number of decimals, and at most [`MAX_AMOUNT_MINOR`]. Returns it in minor units.
pub fn amount_minor_units(amount: &Amount, decimals: u8) -> Result<i64, DomainError> {
    let invalid = || {
        DomainError::Invalid(format!(
            "amount must be a positive decimal number as a string, with at most {decimals} decimal places."
        ))
    };
    let too_large = || {
        DomainError::Invalid(format!(
            "amount is too large: at most {}.",
            Amount::from_minor_units(MAX_AMOUNT_MINOR, decimals)
        ))
    };
    // A negative amount is refused as not positive, however large it is.
    if amount.is_negative() {
        return Err(invalid());
    }
    match amount.minor_units(decimals) {
        Ok(minor) if minor > MAX_AMOUNT_MINOR => Err(too_large()),
        Ok(minor) if minor <= 0 => Err(invalid()),
        Ok(minor) => Ok(minor),
        Err(AmountError::TooLarge) => Err(too_large()),
        Err(AmountError::NotADecimal | AmountError::TooManyDecimals { .. }) => Err(invalid()),
    }
}

/// The currency must be the environment's (sandbox: EUR), exactly as MoMo writes it.
pub fn check_currency(currency: &Currency, env: &Environment) -> Result<(), DomainError> {
    if currency.as_str() == env.currency {
        Ok(())
    } else {
        Err(DomainError::InvalidCurrency)
    }
}

/// `payerMessage`, `payeeNote`: at most 160 characters.
pub fn check_message(field: &str, value: Option<&str>) -> Result<(), DomainError> {
    match value {
        Some(v) if v.chars().count() > MAX_MESSAGE_CHARS => {
            Err(DomainError::Invalid(format!("{field} must be at most {MAX_MESSAGE_CHARS} characters.")))
        }
        _ => Ok(()),
    }
}

/// The characters MTN's sandbox refuses in `payerMessage` and `payeeNote` with a 400 (its
/// common-error page names the apostrophe; `&` is refused too).
pub const REFUSED_MESSAGE_CHARS: [char; 2] = ['\'', '&'];

/// `payerMessage`, `payeeNote`: none of [`REFUSED_MESSAGE_CHARS`].
pub fn check_message_characters(field: &str, value: Option<&str>) -> Result<(), DomainError> {
    match value {
        Some(v) if v.contains(REFUSED_MESSAGE_CHARS) => {
            Err(DomainError::Invalid(format!("{field} must not contain the characters ' or &.")))
        }
        _ => Ok(()),
    }
}

/// `externalId`: bounded, and no control characters.
pub fn check_external_id(value: Option<&str>) -> Result<(), DomainError> {
    match value {
        Some(v) if v.chars().count() > MAX_EXTERNAL_ID_CHARS || v.chars().any(char::is_control) => {
            Err(DomainError::Invalid(format!(
                "externalId must be at most {MAX_EXTERNAL_ID_CHARS} characters without control characters."
            )))
        }
        _ => Ok(()),
    }
}

/// A party: MSISDN digits with country code (no `+`), an e-mail address, or a UUID party code.
pub fn check_party(field: &str, party: &Party) -> Result<(), DomainError> {
    let id = party.party_id.as_str();
    let (ok, what) = match party.party_id_type {
        PartyIdType::Msisdn => {
            (Msisdn::parse(id).is_ok(), "an MSISDN: the number with its country code, digits only (e.g. 46733123450)")
        }
        PartyIdType::Email => (is_email(id), "an e-mail address"),
        PartyIdType::PartyCode => (uuid::Uuid::parse_str(id).is_ok() && id.len() == 36, "a party code (a UUID)"),
        // A type MoMo's types keep for the SDK's sake (`PartyIdType::Unknown`); MTN knows these three.
        _ => return Err(DomainError::Invalid(format!("{field}.partyIdType must be MSISDN, EMAIL or PARTY_CODE."))),
    };
    if ok {
        return Ok(());
    }
    Err(DomainError::Invalid(format!("{field}.partyId must be {what}.")))
}

fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else { return false };
    s.len() <= 254
        && !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
        && !domain.contains('@')
}

/// The host (lowercase) and, if one is given, the port of a `providerCallbackHost` (a host
/// name, `host:port`, or a URL) or of a Payment Server URL.
pub fn registered_target(provider_callback_host: &str) -> (String, Option<u16>) {
    let value = provider_callback_host.trim();
    if value.contains("://") {
        if let Ok(url) = url::Url::parse(value) {
            return (url.host_str().unwrap_or_default().to_ascii_lowercase(), url.port());
        }
    }
    match value.rsplit_once(':') {
        Some((host, port)) => match port.parse::<u16>() {
            Ok(port) => (host.to_ascii_lowercase(), Some(port)),
            Err(_) => (value.to_ascii_lowercase(), None),
        },
        None => (value.to_ascii_lowercase(), None),
    }
}

/// Whether `url` is on a registered target: the same host and, if the registration names a
/// port, that port (a user registered with `127.0.0.1:19001` gets callbacks on 19001 only).
pub fn on_registered_target(url: &url::Url, registered: &str) -> bool {
    let (host, port) = registered_target(registered);
    let url_host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    !url_host.is_empty() && url_host == host && port.is_none_or(|port| url.port_or_known_default() == Some(port))
}

/// Whether a URL carries user-info (`http://user:pass@host/`): refused, so that no password is
/// stored or sent on.
pub fn has_user_info(url: &url::Url) -> bool {
    !url.username().is_empty() || url.password().is_some()
}

/// `X-Callback-Url`: absolute, without user-info, on the API user's registered host (and port,
/// if one was registered), http or https in the sandbox and https only in production
/// environments, and not a target the callback policy refuses on sight. `None`: no header. A
/// header that is present but empty is a 400 (MTN answers so, docs/compatibility.md).
pub fn check_callback_url(
    value: Option<&str>,
    provider_callback_host: &str,
    env: &Environment,
    targets: &TargetPolicy,
) -> Result<Option<url::Url>, DomainError> {
    let Some(value) = value else { return Ok(None) };
    if value.trim().is_empty() {
        return Err(DomainError::Invalid("X-Callback-Url must not be empty; leave the header out instead.".into()));
    }
    let url = url::Url::parse(value.trim())
        .map_err(|_| DomainError::Invalid("X-Callback-Url must be an absolute URL.".into()))?;
    if has_user_info(&url) {
        return Err(DomainError::Invalid("X-Callback-Url must not carry a user name or password.".into()));
    }
    let scheme_ok = match url.scheme() {
        "https" => true,
        "http" => env.is_sandbox(),
        _ => false,
    };
    if !scheme_ok {
        let allowed = if env.is_sandbox() { "http or https" } else { "https (production environments)" };
        return Err(DomainError::Invalid(format!("X-Callback-Url must use {allowed}.")));
    }
    if !on_registered_target(&url, provider_callback_host) {
        return Err(DomainError::Refused(momo_types::ErrorCode::InvalidCallbackUrlHost));
    }
    if let Some(host) = url.host() {
        targets.check_host(&host).map_err(|why| DomainError::Invalid(format!("X-Callback-Url: {why}.")))?;
    }
    Ok(Some(url))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eur() -> &'static Environment {
        Environment::lookup("sandbox").unwrap()
    }

    /// An amount as a request body carries it (decoded as sent, however malformed), in minor units.
    fn minor_units(amount: &str, decimals: u8) -> Result<i64, DomainError> {
        let decoded: Amount = serde_json::from_value(serde_json::json!(amount)).unwrap();
        amount_minor_units(&decoded, decimals)
    }

    fn msisdn_party(id: &str) -> Party {
        Party { party_id_type: PartyIdType::Msisdn, party_id: id.into() }
    }

    #[test]
    fn amounts_are_positive_decimals_within_the_currencys_precision() {
        assert_eq!(minor_units("50000", 2).unwrap(), 5_000_000);
        assert_eq!(minor_units("12.5", 2).unwrap(), 1_250);
        assert_eq!(minor_units("0.01", 2).unwrap(), 1);
        assert_eq!(minor_units("007", 0).unwrap(), 7);
        for bad in [
            "",
            "0",
            "0.00",
            "-5",
            "+5",
            "1e3",
            "1.",
            ".5",
            "12.345",
            " 5",
            "5 ",
            "1,000",
            "NaN",
            "99999999999999999999",
        ] {
            assert!(minor_units(bad, 2).is_err(), "{bad:?}");
        }
        assert!(minor_units("1.5", 0).is_err(), "UGX has no decimals");
    }

    #[test]
    fn amounts_are_bounded_by_the_documented_maximum() {
        use crate::domain::money::MAX_AMOUNT_MINOR;
        assert_eq!(minor_units("10000000000000", 2).unwrap(), MAX_AMOUNT_MINOR);
        assert_eq!(minor_units("1000000000000000", 0).unwrap(), MAX_AMOUNT_MINOR);
        // One minor unit more, and what the review found accepted (about 2.3e16 minor units).
        for over in ["10000000000000.01", "230000000000000", "2305843009213693951"] {
            let e = minor_units(over, 2).unwrap_err();
            assert!(format!("{e:?}").contains("at most 10000000000000"), "{over}: {e:?}");
        }
        // Not positive comes first, however large.
        let e = minor_units("-99999999999999999999", 2).unwrap_err();
        assert!(format!("{e:?}").contains("must be a positive decimal number"), "{e:?}");
    }

    #[test]
    fn messages_are_at_most_160_characters() {
        assert!(check_message("payerMessage", Some(&"é".repeat(160))).is_ok());
        assert!(check_message("payerMessage", Some(&"a".repeat(161))).is_err());
        assert!(check_message("payerMessage", None).is_ok());
    }

    #[test]
    fn messages_refuse_apostrophes_and_ampersands() {
        for bad in ["Tom's order", "fish & chips", "'", "&amp;"] {
            assert!(check_message_characters("payerMessage", Some(bad)).is_err(), "{bad:?}");
        }
        for good in ["Order 1", "Paiement reçu", "100% \"quoted\" <ok>; a-b/c", ""] {
            assert!(check_message_characters("payerMessage", Some(good)).is_ok(), "{good:?}");
        }
        assert!(check_message_characters("payerMessage", None).is_ok());
    }

    #[test]
    fn parties_are_checked_by_type() {
        let ok = [
            msisdn_party("46733123450"),
            Party { party_id_type: PartyIdType::Email, party_id: "notfound@email.com".into() },
            Party { party_id_type: PartyIdType::PartyCode, party_id: "5cecb5a7-8bd0-4f49-87b1-8eb9ecc7b7bc".into() },
        ];
        for party in ok {
            assert!(check_party("payer", &party).is_ok(), "{party:?}");
        }
        let bad = [
            msisdn_party("+46733123450"),
            msisdn_party("0771 234 567"),
            msisdn_party(""),
            Party { party_id_type: PartyIdType::Email, party_id: "no-at-sign".into() },
            Party { party_id_type: PartyIdType::PartyCode, party_id: "x".into() },
        ];
        for party in bad {
            assert!(check_party("payer", &party).is_err(), "{party:?}");
        }
    }

    #[test]
    fn callback_urls_must_be_on_the_registered_host() {
        let sandbox = eur();
        let uganda = Environment::lookup("mtnuganda").unwrap();
        let open = TargetPolicy { allow_loopback: true, ..TargetPolicy::default() };
        let check = |url, host, env| check_callback_url(url, host, env, &open);
        assert!(check(None, "webhook.site", sandbox).unwrap().is_none());
        assert!(check(Some("http://webhook.site/x"), "webhook.site", sandbox).unwrap().is_some());
        assert!(check(Some("http://WEBHOOK.site:8080/x"), "webhook.site", sandbox).is_ok());
        assert!(check(Some("https://webhook.site/x"), "https://webhook.site/base", sandbox).is_ok());
        assert!(matches!(
            check(Some("http://evil.example/x"), "webhook.site", sandbox),
            Err(DomainError::Refused(momo_types::ErrorCode::InvalidCallbackUrlHost))
        ));
        assert!(matches!(check(Some(""), "webhook.site", sandbox), Err(DomainError::Invalid(_))));
        assert!(matches!(check(Some("/relative"), "webhook.site", sandbox), Err(DomainError::Invalid(_))));
        assert!(matches!(check(Some("http://shop.example/x"), "shop.example", uganda), Err(DomainError::Invalid(_))));
        assert!(check(Some("https://shop.example/x"), "shop.example", uganda).is_ok());
    }

    #[test]
    fn a_registered_port_is_the_only_port_callbacks_go_to() {
        let sandbox = eur();
        let open = TargetPolicy { allow_loopback: true, ..TargetPolicy::default() };
        let check = |url| check_callback_url(Some(url), "127.0.0.1:19001", sandbox, &open);
        assert!(check("http://127.0.0.1:19001/cb").is_ok());
        for other in ["http://127.0.0.1:19002/cb", "http://127.0.0.1/cb", "https://127.0.0.1/cb"] {
            assert!(
                matches!(check(other), Err(DomainError::Refused(momo_types::ErrorCode::InvalidCallbackUrlHost))),
                "{other}"
            );
        }
        let url = |u: &str| url::Url::parse(u).unwrap();
        assert!(on_registered_target(&url("https://shop.example/cb"), "https://shop.example:443/base"));
        assert!(on_registered_target(&url("http://shop.example:8080/cb"), "https://shop.example/base"));
        assert!(!on_registered_target(&url("http://shop.example:8080/cb"), "shop.example:80"));
        assert!(on_registered_target(&url("http://shop.example/cb"), "shop.example:80"));
    }

    #[test]
    fn callback_urls_with_user_info_are_a_400() {
        let open = TargetPolicy { allow_loopback: true, ..TargetPolicy::default() };
        for url in ["http://user:pass@webhook.site/cb", "http://user@webhook.site/cb", "http://:pass@webhook.site/cb"] {
            assert!(
                matches!(check_callback_url(Some(url), "webhook.site", eur(), &open), Err(DomainError::Invalid(_))),
                "{url}"
            );
        }
    }

    #[test]
    fn callback_urls_the_policy_refuses_on_sight_are_a_400() {
        let policy = TargetPolicy::default();
        for (url, host) in [
            ("http://169.254.169.254/latest", "169.254.169.254"),
            ("http://10.0.0.1/cb", "10.0.0.1"),
            ("http://127.0.0.1/cb", "127.0.0.1"),
            ("http://metadata.google.internal/cb", "metadata.google.internal"),
        ] {
            assert!(
                matches!(check_callback_url(Some(url), host, eur(), &policy), Err(DomainError::Invalid(_))),
                "{url}"
            );
        }
        assert!(check_callback_url(Some("http://localhost/cb"), "localhost", eur(), &policy).is_ok(), "names wait");
    }
}
