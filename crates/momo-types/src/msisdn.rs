//! Phone numbers as MoMo writes them (docs/architecture.md, "Wire values").

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// An MSISDN: a phone number with its country code, digits only (`46733123450`), kept exactly
/// as written.
///
/// Well-formed: 4 to 15 ASCII digits (15 is E.164's longest number; no `+`, spaces or dashes,
/// as MTN requires). [`Msisdn::parse`] (`FromStr`) refuses anything else; decoding keeps
/// whatever string arrived, so that the server answers a malformed number with MoMo's error in
/// its place among the checks and the SDK reads whatever MTN sends (see
/// [`Amount`](crate::Amount)).
///
/// A [`Party`](crate::payments::Party)'s `partyId` is an MSISDN only when its type says so, so it
/// stays text on the wire; [`Party::msisdn`](crate::payments::Party::msisdn) takes an `Msisdn`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Msisdn(String);

/// Why a string is not an [`Msisdn`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MsisdnError {
    #[error("an MSISDN is digits only: the number with its country code, without '+' (e.g. 46733123450)")]
    NotDigits,
    #[error("an MSISDN has 4 to 15 digits, not {digits}")]
    Length { digits: usize },
}

/// The shortest and longest number MoMo takes.
const DIGITS: std::ops::RangeInclusive<usize> = 4..=15;

impl Msisdn {
    /// A well-formed MSISDN, kept exactly as written.
    pub fn parse(number: &str) -> Result<Msisdn, MsisdnError> {
        number.parse()
    }

    /// The number exactly as written or received (a decoded one may not be well-formed:
    /// `Msisdn::parse(number.as_str())` checks it).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A number the program itself names (a test number, `Msisdn::from_static("46733123450")`).
    ///
    /// # Panics
    ///
    /// If `number` is not 4 to 15 digits: a mistake in the program, not in its input.
    pub fn from_static(number: &'static str) -> Msisdn {
        crate::money::from_literal(number, Msisdn::parse(number))
    }
}

/// The one check of an MSISDN.
impl FromStr for Msisdn {
    type Err = MsisdnError;

    fn from_str(number: &str) -> Result<Self, Self::Err> {
        if !number.bytes().all(|b| b.is_ascii_digit()) {
            return Err(MsisdnError::NotDigits);
        }
        if !DIGITS.contains(&number.len()) {
            return Err(MsisdnError::Length { digits: number.len() });
        }
        Ok(Msisdn(number.to_owned()))
    }
}

impl fmt::Display for Msisdn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn msisdns_are_4_to_15_digits() {
        for good in ["46733123450", "0771", "123456789012345", "256771234567"] {
            assert_eq!(Msisdn::parse(good).map(|m| m.to_string()), Ok(good.to_owned()), "{good:?}");
        }
        for (bad, why) in [
            ("+46733123450", MsisdnError::NotDigits),
            ("0771 234 567", MsisdnError::NotDigits),
            ("0771-234567", MsisdnError::NotDigits),
            ("٤٦٧٣٣١٢٣٤٥٠", MsisdnError::NotDigits),
            ("", MsisdnError::Length { digits: 0 }),
            ("467", MsisdnError::Length { digits: 3 }),
            ("1234567890123456", MsisdnError::Length { digits: 16 }),
        ] {
            assert_eq!(Msisdn::parse(bad), Err(why), "{bad:?}");
        }
    }

    #[test]
    fn a_decoded_msisdn_is_kept_as_sent() {
        let decoded: Msisdn = serde_json::from_str(r#""+46 733""#).unwrap();
        assert_eq!(decoded.as_str(), "+46 733");
        assert_eq!(Msisdn::parse(decoded.as_str()), Err(MsisdnError::NotDigits));
        assert_eq!(serde_json::to_string(&decoded).unwrap(), r#""+46 733""#);
    }
}
