//! Checks on a payment request, each a pure function returning what the client did wrong.
//! The API layer runs them in the order of reference §12.1.

use momo_types::payments::{Party, PartyIdType};
use momo_types::Environment;

use crate::error::ApiError;

/// The longest `payerMessage` / `payeeNote` MTN accepts (its common-error page).
pub const MAX_MESSAGE_CHARS: usize = 160;
/// The longest `externalId` kept (MTN documents none; this bounds what is stored).
pub const MAX_EXTERNAL_ID_CHARS: usize = 256;

/// An amount: a positive decimal string (`"50000"`, `"12.5"`) with at most the currency's
/// number of decimals. Returns it in minor units.
pub fn parse_amount(amount: &str, decimals: u8) -> Result<i64, ApiError> {
    let invalid = || {
        ApiError::BadRequest(format!(
            "amount must be a positive decimal number as a string, with at most {decimals} decimal places."
        ))
    };
    let (whole, fraction) = match amount.split_once('.') {
        Some((whole, fraction)) => (whole, fraction),
        None => (amount, ""),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || (amount.contains('.') && !digits(fraction)) {
        return Err(invalid());
    }
    if fraction.len() > usize::from(decimals) {
        return Err(invalid());
    }
    let scale = 10i64.pow(u32::from(decimals));
    let whole: i64 = whole.trim_start_matches('0').parse().or_else(|_| {
        if whole.bytes().all(|b| b == b'0') {
            Ok(0)
        } else {
            Err(ApiError::BadRequest("amount is too large.".into()))
        }
    })?;
    let fraction: i64 = if fraction.is_empty() {
        0
    } else {
        let padded = format!("{fraction:0<width$}", width = usize::from(decimals));
        padded.parse().map_err(|_| invalid())?
    };
    let minor = whole
        .checked_mul(scale)
        .and_then(|w| w.checked_add(fraction))
        .filter(|m| *m < i64::MAX / 4)
        .ok_or_else(|| ApiError::BadRequest("amount is too large.".into()))?;
    if minor == 0 {
        return Err(invalid());
    }
    Ok(minor)
}

/// The currency must be the environment's (sandbox: EUR).
pub fn check_currency(currency: &str, env: &Environment) -> Result<(), ApiError> {
    if currency == env.currency {
        Ok(())
    } else {
        Err(ApiError::InvalidCurrency)
    }
}

/// `payerMessage`, `payeeNote`: at most 160 characters.
pub fn check_message(field: &str, value: Option<&str>) -> Result<(), ApiError> {
    match value {
        Some(v) if v.chars().count() > MAX_MESSAGE_CHARS => {
            Err(ApiError::BadRequest(format!("{field} must be at most {MAX_MESSAGE_CHARS} characters.")))
        }
        _ => Ok(()),
    }
}

/// The characters MTN's sandbox refuses in `payerMessage` and `payeeNote` with a 400 (its
/// common-error page names the apostrophe; `&` is refused too).
pub const REFUSED_MESSAGE_CHARS: [char; 2] = ['\'', '&'];

/// `payerMessage`, `payeeNote`: none of [`REFUSED_MESSAGE_CHARS`].
pub fn check_message_characters(field: &str, value: Option<&str>) -> Result<(), ApiError> {
    match value {
        Some(v) if v.contains(REFUSED_MESSAGE_CHARS) => {
            Err(ApiError::BadRequest(format!("{field} must not contain the characters ' or &.")))
        }
        _ => Ok(()),
    }
}

/// `externalId`: bounded, and no control characters.
pub fn check_external_id(value: Option<&str>) -> Result<(), ApiError> {
    match value {
        Some(v) if v.chars().count() > MAX_EXTERNAL_ID_CHARS || v.chars().any(char::is_control) => {
            Err(ApiError::BadRequest(format!(
                "externalId must be at most {MAX_EXTERNAL_ID_CHARS} characters without control characters."
            )))
        }
        _ => Ok(()),
    }
}

/// A party: MSISDN digits with country code (no `+`), an e-mail address, or a UUID party code.
pub fn check_party(field: &str, party: &Party) -> Result<(), ApiError> {
    let id = party.party_id.as_str();
    let ok = match party.party_id_type {
        PartyIdType::Msisdn => (4..=15).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_digit()),
        PartyIdType::Email => is_email(id),
        PartyIdType::PartyCode => uuid::Uuid::parse_str(id).is_ok() && id.len() == 36,
    };
    if ok {
        return Ok(());
    }
    let what = match party.party_id_type {
        PartyIdType::Msisdn => "an MSISDN: the number with its country code, digits only (e.g. 46733123450)",
        PartyIdType::Email => "an e-mail address",
        PartyIdType::PartyCode => "a party code (a UUID)",
    };
    Err(ApiError::BadRequest(format!("{field}.partyId must be {what}.")))
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

/// The host part of a `providerCallbackHost` (which may be a URL or carry a port).
pub fn registered_host(provider_callback_host: &str) -> String {
    let value = provider_callback_host.trim();
    if value.contains("://") {
        if let Ok(url) = url::Url::parse(value) {
            return url.host_str().unwrap_or_default().to_ascii_lowercase();
        }
    }
    let host = match value.rsplit_once(':') {
        Some((host, port)) if port.parse::<u16>().is_ok() => host,
        _ => value,
    };
    host.to_ascii_lowercase()
}

/// `X-Callback-Url`: absolute, on the API user's registered host, http or https in the sandbox
/// and https only in production environments. `None`: no header. A header that is present but
/// empty is a 400 (MTN answers so, landscape §C.8).
pub fn check_callback_url(
    value: Option<&str>,
    provider_callback_host: &str,
    env: &Environment,
) -> Result<Option<url::Url>, ApiError> {
    let Some(value) = value else { return Ok(None) };
    if value.trim().is_empty() {
        return Err(ApiError::BadRequest("X-Callback-Url must not be empty; leave the header out instead.".into()));
    }
    let url = url::Url::parse(value.trim())
        .map_err(|_| ApiError::BadRequest("X-Callback-Url must be an absolute URL.".into()))?;
    let scheme_ok = match url.scheme() {
        "https" => true,
        "http" => env.is_sandbox(),
        _ => false,
    };
    if !scheme_ok {
        let allowed = if env.is_sandbox() { "http or https" } else { "https (production environments)" };
        return Err(ApiError::BadRequest(format!("X-Callback-Url must use {allowed}.")));
    }
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    if host.is_empty() || host != registered_host(provider_callback_host) {
        return Err(ApiError::momo500(momo_types::ErrorCode::InvalidCallbackUrlHost));
    }
    Ok(Some(url))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eur() -> &'static Environment {
        Environment::lookup("sandbox").unwrap()
    }

    #[test]
    fn amounts_are_positive_decimals_within_the_currencys_precision() {
        assert_eq!(parse_amount("50000", 2).unwrap(), 5_000_000);
        assert_eq!(parse_amount("12.5", 2).unwrap(), 1_250);
        assert_eq!(parse_amount("0.01", 2).unwrap(), 1);
        assert_eq!(parse_amount("007", 0).unwrap(), 7);
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
            assert!(parse_amount(bad, 2).is_err(), "{bad:?}");
        }
        assert!(parse_amount("1.5", 0).is_err(), "UGX has no decimals");
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
            Party::msisdn("46733123450"),
            Party { party_id_type: PartyIdType::Email, party_id: "notfound@email.com".into() },
            Party { party_id_type: PartyIdType::PartyCode, party_id: "5cecb5a7-8bd0-4f49-87b1-8eb9ecc7b7bc".into() },
        ];
        for party in ok {
            assert!(check_party("payer", &party).is_ok(), "{party:?}");
        }
        let bad = [
            Party::msisdn("+46733123450"),
            Party::msisdn("0771 234 567"),
            Party::msisdn(""),
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
        assert!(check_callback_url(None, "webhook.site", sandbox).unwrap().is_none());
        assert!(check_callback_url(Some("http://webhook.site/x"), "webhook.site", sandbox).unwrap().is_some());
        assert!(check_callback_url(Some("http://WEBHOOK.site:8080/x"), "webhook.site", sandbox).is_ok());
        assert!(check_callback_url(Some("https://webhook.site/x"), "https://webhook.site/base", sandbox).is_ok());
        assert!(matches!(
            check_callback_url(Some("http://evil.example/x"), "webhook.site", sandbox),
            Err(ApiError::Business(_, momo_types::ErrorCode::InvalidCallbackUrlHost))
        ));
        assert!(matches!(check_callback_url(Some(""), "webhook.site", sandbox), Err(ApiError::BadRequest(_))));
        assert!(matches!(check_callback_url(Some("/relative"), "webhook.site", sandbox), Err(ApiError::BadRequest(_))));
        assert!(matches!(
            check_callback_url(Some("http://shop.example/x"), "shop.example", uganda),
            Err(ApiError::BadRequest(_))
        ));
        assert!(check_callback_url(Some("https://shop.example/x"), "shop.example", uganda).is_ok());
    }
}
