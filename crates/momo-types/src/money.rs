//! Amounts and currencies as MoMo writes them: strings, echoed exactly as sent
//! (docs/architecture.md, "Wire values").

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// An amount of money in major units, as MoMo writes it: a decimal string (`"100"`, `"100.50"`,
/// `"0100"`), kept exactly as written so that a status body echoes the request byte for byte.
///
/// Well-formed: ASCII digits with an optional fraction (`.` and digits), and an optional leading
/// `-` (a ledger balance may be below zero; a payment's amount must be positive, which the
/// server checks along with the currency's precision). No `+`, exponent, spaces or separators.
///
/// [`Amount::parse`] (`FromStr`) refuses anything else. Decoding does not: it keeps whatever JSON
/// string arrived (a JSON number is refused, as MoMo's amounts are strings), because the server
/// answers a malformed amount with MoMo's own error body after the checks that come before it,
/// and the SDK must read whatever MTN sends. A decoded amount is checked where its value is
/// needed ([`Amount::minor_units`]). Equality is of the text: `"100"` and `"100.0"` differ, as
/// their echoes do.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Amount(String);

/// Why a string is not an [`Amount`], or has no value in a currency's minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("an amount is a decimal number of major units: digits with an optional fraction (e.g. 100 or 100.50)")]
    NotADecimal,
    #[error("the currency has at most {allowed} decimal places")]
    TooManyDecimals { allowed: u8 },
    #[error("the amount is too large to count in minor units")]
    TooLarge,
}

/// The parts of a well-formed amount.
struct Decimal<'a> {
    negative: bool,
    whole: &'a str,
    fraction: &'a str,
}

impl<'a> Decimal<'a> {
    /// The one check of an amount's syntax.
    fn split(text: &'a str) -> Result<Decimal<'a>, AmountError> {
        let (negative, unsigned) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (whole, fraction) = match unsigned.split_once('.') {
            Some((whole, fraction)) => (whole, Some(fraction)),
            None => (unsigned, None),
        };
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(whole) || fraction.is_some_and(|f| !digits(f)) {
            return Err(AmountError::NotADecimal);
        }
        Ok(Decimal { negative, whole, fraction: fraction.unwrap_or("") })
    }
}

impl Amount {
    /// A well-formed amount, kept exactly as written.
    pub fn parse(text: &str) -> Result<Amount, AmountError> {
        text.parse()
    }

    /// The amount exactly as written or received (a decoded one may not be well-formed:
    /// `Amount::parse(amount.as_str())` checks it, and so does [`Amount::minor_units`]).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether it is written with a leading `-`.
    pub fn is_negative(&self) -> bool {
        self.0.starts_with('-')
    }

    /// The amount in minor units of a currency with `decimals` decimal places (cents for EUR's
    /// 2): exact, or an error if it is malformed, has more decimal places than the currency
    /// (`"1.500"` in EUR too: the places written count, not the value), or does not fit in an
    /// `i64`.
    pub fn minor_units(&self, decimals: u8) -> Result<i64, AmountError> {
        let Decimal { negative, whole, fraction } = Decimal::split(&self.0)?;
        let padding = usize::from(decimals)
            .checked_sub(fraction.len())
            .ok_or(AmountError::TooManyDecimals { allowed: decimals })?;
        // In minor units the amount is its digits, with the fraction padded to the currency's
        // places: decimal text throughout, so no step can round or overflow unnoticed.
        let digits = format!("{whole}{fraction}{}", "0".repeat(padding));
        match digits.trim_start_matches('0') {
            "" => Ok(0),
            significant => {
                let sign = if negative { "-" } else { "" };
                format!("{sign}{significant}").parse().map_err(|_| AmountError::TooLarge)
            }
        }
    }

    /// An amount the program itself names (`Amount::from_static("50")`).
    ///
    /// # Panics
    ///
    /// If `text` is not a well-formed amount: a mistake in the program, not in its input.
    pub fn from_static(text: &'static str) -> Amount {
        from_literal(text, Amount::parse(text))
    }

    /// An amount held in minor units, written as MoMo writes amounts: no trailing zeros and no
    /// decimal point for whole amounts (`"1000"`, `"12.5"`), a leading `-` if negative.
    pub fn from_minor_units(minor: i64, decimals: u8) -> Amount {
        let places = usize::from(decimals);
        let digits = format!("{:0>width$}", minor.unsigned_abs(), width = places + 1);
        let (whole, fraction) = digits.split_at(digits.len() - places);
        let fraction = fraction.trim_end_matches('0');
        let sign = if minor < 0 { "-" } else { "" };
        if fraction.is_empty() {
            Amount(format!("{sign}{whole}"))
        } else {
            Amount(format!("{sign}{whole}.{fraction}"))
        }
    }
}

impl FromStr for Amount {
    type Err = AmountError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Decimal::split(text)?;
        Ok(Amount(text.to_owned()))
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An ISO 4217 currency code as MoMo writes it (`EUR`, `UGX`), kept exactly as written.
///
/// Well-formed: three capital ASCII letters. [`Currency::parse`] (`FromStr`) refuses anything
/// else; decoding keeps whatever string arrived, for the reasons given at [`Amount`]: the server
/// answers a currency that is not the environment's (`"eur"` included) with MoMo's
/// `INVALID_CURRENCY`, in its place among the checks.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Currency(String);

/// Why a string is not a [`Currency`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a currency is an ISO 4217 code: three capital letters (e.g. EUR)")]
pub struct CurrencyError;

impl Currency {
    /// A well-formed currency code.
    pub fn parse(code: &str) -> Result<Currency, CurrencyError> {
        code.parse()
    }

    /// The code exactly as written or received (a decoded one may not be well-formed:
    /// `Currency::parse(currency.as_str())` checks it).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A currency code the program itself names (a literal, an environment's currency).
    ///
    /// # Panics
    ///
    /// If `code` is not three capital letters: a mistake in the program, not in its input.
    pub fn from_static(code: &'static str) -> Currency {
        from_literal(code, Currency::parse(code))
    }
}

/// The one check of a currency code.
impl FromStr for Currency {
    type Err = CurrencyError;

    fn from_str(code: &str) -> Result<Self, Self::Err> {
        if code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase()) {
            Ok(Currency(code.to_owned()))
        } else {
            Err(CurrencyError)
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A value of the program's own text: a mistake there is the program's, never its input's, so
/// it panics, as `http::HeaderValue::from_static` does. Input goes through `parse`.
pub(crate) fn from_literal<T, E: fmt::Display>(text: &'static str, parsed: Result<T, E>) -> T {
    parsed.unwrap_or_else(|e| panic!("{text:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn amounts_are_decimal_strings() {
        for good in ["100", "100.50", "0100", "0012.50", "0", "0.00", "-12.05", "99999999999999999999"] {
            assert_eq!(Amount::parse(good).map(|a| a.to_string()), Ok(good.to_owned()), "{good:?}");
        }
        for bad in ["", "-", "+5", "1e3", "1.", ".5", "1.2.3", " 5", "5 ", "1,000", "NaN", "١٢", "--5", "0x10"] {
            assert_eq!(Amount::parse(bad), Err(AmountError::NotADecimal), "{bad:?}");
        }
    }

    #[test]
    fn minor_units_are_exact_and_count_the_places_written() {
        let minor = |text: &str, decimals| Amount::parse(text).unwrap().minor_units(decimals);
        assert_eq!(minor("50000", 2), Ok(5_000_000));
        assert_eq!(minor("12.5", 2), Ok(1_250));
        assert_eq!(minor("0.01", 2), Ok(1));
        assert_eq!(minor("007", 0), Ok(7));
        assert_eq!(minor("-12.05", 2), Ok(-1_205));
        assert_eq!(minor("0.00", 2), Ok(0));
        assert_eq!(minor("1.500", 2), Err(AmountError::TooManyDecimals { allowed: 2 }));
        assert_eq!(minor("1.5", 0), Err(AmountError::TooManyDecimals { allowed: 0 }));
        assert_eq!(minor("92233720368547758.07", 2), Ok(i64::MAX));
        assert_eq!(minor("92233720368547758.08", 2), Err(AmountError::TooLarge));
        assert_eq!(minor("-92233720368547758.08", 2), Ok(i64::MIN));
        assert_eq!(minor("1", 255), Err(AmountError::TooLarge));
        assert_eq!(minor("0", 255), Ok(0));
    }

    #[test]
    fn minor_units_are_written_as_momo_writes_amounts() {
        assert_eq!(Amount::from_minor_units(0, 2).as_str(), "0");
        assert_eq!(Amount::from_minor_units(100_000, 2).as_str(), "1000");
        assert_eq!(Amount::from_minor_units(1_250, 2).as_str(), "12.5");
        assert_eq!(Amount::from_minor_units(1_205, 2).as_str(), "12.05");
        assert_eq!(Amount::from_minor_units(-1_205, 2).as_str(), "-12.05");
        assert_eq!(Amount::from_minor_units(5000, 0).as_str(), "5000");
        assert_eq!(Amount::from_minor_units(i64::MIN, 2).as_str(), "-92233720368547758.08");
    }

    #[test]
    fn a_decoded_amount_is_kept_as_sent_whatever_it_is() {
        for odd in ["1e3", "", " 5", "1,000"] {
            let decoded: Amount = serde_json::from_value(serde_json::json!(odd)).unwrap();
            assert_eq!(decoded.as_str(), odd);
            assert_eq!(Amount::parse(decoded.as_str()), Err(AmountError::NotADecimal));
            assert_eq!(decoded.minor_units(2), Err(AmountError::NotADecimal));
            assert_eq!(serde_json::to_value(&decoded).unwrap(), serde_json::json!(odd));
        }
        assert!(serde_json::from_str::<Amount>("100").is_err(), "MoMo's amounts are strings");
    }

    #[test]
    fn currencies_are_three_capital_letters() {
        for good in ["EUR", "UGX", "XOF"] {
            assert_eq!(Currency::parse(good).map(|c| c.to_string()), Ok(good.to_owned()));
        }
        for bad in ["", "eur", "Eur", "EURO", "EU", "E1R", " EUR", "ÉUR"] {
            assert_eq!(Currency::parse(bad), Err(CurrencyError), "{bad:?}");
        }
        let decoded: Currency = serde_json::from_str(r#""euro""#).unwrap();
        assert_eq!((decoded.as_str(), Currency::parse(decoded.as_str())), ("euro", Err(CurrencyError)));
        assert_eq!(serde_json::to_string(&decoded).unwrap(), r#""euro""#);
    }

    #[test]
    fn every_environments_currency_is_a_currency() {
        for env in crate::ENVIRONMENTS {
            assert_eq!(Currency::from_static(env.currency).as_str(), env.currency);
        }
    }

    #[test]
    #[should_panic(expected = "three capital letters")]
    fn a_static_currency_must_be_a_code() {
        let _ = Currency::from_static("euro");
    }

    proptest! {
        #[test]
        fn every_accepted_amount_round_trips_byte_exactly(text in "-?[0-9]{1,24}(\\.[0-9]{1,12})?") {
            let amount = Amount::parse(&text).unwrap();
            let json = serde_json::to_string(&amount).unwrap();
            prop_assert_eq!(&json, &format!("\"{text}\""));
            let back: Amount = serde_json::from_str(&json).unwrap();
            prop_assert_eq!(back.as_str(), text.as_str());
            prop_assert_eq!(back, amount);
        }

        #[test]
        fn any_string_parse_accepts_round_trips_byte_exactly(text in "\\PC{0,12}") {
            if let Ok(amount) = Amount::parse(&text) {
                let back: Amount = serde_json::from_str(&serde_json::to_string(&amount).unwrap()).unwrap();
                prop_assert_eq!(back.as_str(), text.as_str());
            }
        }

        #[test]
        fn minor_units_round_trip(minor in any::<i64>(), decimals in 0u8..=6) {
            let amount = Amount::from_minor_units(minor, decimals);
            prop_assert_eq!(Amount::parse(amount.as_str()), Ok(amount.clone()));
            prop_assert_eq!(amount.minor_units(decimals), Ok(minor));
        }
    }
}
