//! JSON Schemas (`schemars::JsonSchema`) of the types whose serde is written by hand; the others
//! derive theirs beside their serde derives. Only with the `schema` feature.
//!
//! The open enums (`ErrorCode`, `TransactionStatus`, `PartyIdType`) list the values openmomo
//! writes. A client reading MTN's answers should still expect others (this crate keeps them as
//! `Unknown`); docs/openapi.md says so.

use std::borrow::Cow;

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};

use crate::payments::{PartyIdType, Reason, TransactionStatus};
use crate::{Amount, Currency, ErrorCode, ErrorReason, Msisdn, ReferenceId};

/// A string schema with the known values of an open enum.
fn known_values<'a>(values: impl IntoIterator<Item = &'a str>, description: &str) -> Schema {
    let values: Vec<&str> = values.into_iter().collect();
    json_schema!({ "type": "string", "enum": values, "description": description })
}

impl JsonSchema for ErrorCode {
    fn schema_name() -> Cow<'static, str> {
        "ErrorCode".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        known_values(
            ErrorCode::KNOWN.iter().map(ErrorCode::as_str),
            "A MoMo error code: MTN's (specs, common-error page, observed sandbox traffic) and openmomo's own \
             (UNAUTHORIZED, PAYLOAD_TOO_LARGE, NOT_IMPLEMENTED, TOO_MANY_REQUESTS).",
        )
    }
}

impl JsonSchema for TransactionStatus {
    fn schema_name() -> Cow<'static, str> {
        "TransactionStatus".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let known = [
            TransactionStatus::Created,
            TransactionStatus::Pending,
            TransactionStatus::Successful,
            TransactionStatus::Failed,
        ];
        known_values(
            known.iter().map(TransactionStatus::as_str),
            "SUCCESSFUL and FAILED are final; a transaction starts PENDING.",
        )
    }
}

impl JsonSchema for PartyIdType {
    fn schema_name() -> Cow<'static, str> {
        "PartyIdType".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let known = [PartyIdType::Msisdn, PartyIdType::Email, PartyIdType::PartyCode];
        known_values(
            known.iter().map(PartyIdType::as_str),
            "How the party is identified: MSISDN (digits with the country code), EMAIL or PARTY_CODE (a UUID). \
             The spellings msisdn, Msisdn, email, Email and party_code are read too.",
        )
    }
}

impl JsonSchema for Reason {
    fn schema_name() -> Cow<'static, str> {
        "Reason".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let code = generator.subschema_for::<ErrorCode>();
        let object = generator.subschema_for::<ErrorReason>();
        json_schema!({
            "description": "Why the transaction failed: a bare code (status and callback bodies of requests to pay, \
                            withdrawals, transfers, deposits and refunds) or an ErrorReason object (invoices, \
                            payments, pre-approvals); --reason-format chooses (docs/compatibility.md).",
            "oneOf": [code, object],
        })
    }
}

impl JsonSchema for ReferenceId {
    fn schema_name() -> Cow<'static, str> {
        "ReferenceId".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "format": "uuid",
            // Version 4, hyphenated, either case (`ReferenceId::from_str`).
            "pattern": "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-4[0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}$",
            "description": "A UUID version 4 in its 36-character hyphenated form, either case.",
        })
    }
}

// The three wire values are strings whose syntax `FromStr` checks (docs/architecture.md, "Wire
// values"); each pattern states the same rule, which the tests below check against `parse`.

/// A string schema with the pattern its type's `parse` accepts.
fn checked_string(pattern: &str, description: &str, examples: &[&str]) -> Schema {
    json_schema!({ "type": "string", "pattern": pattern, "description": description, "examples": examples })
}

impl JsonSchema for Amount {
    fn schema_name() -> Cow<'static, str> {
        "Amount".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        checked_string(
            "^-?[0-9]+(\\.[0-9]+)?$",
            "A decimal amount as a string, echoed exactly as written (\"100\", \"100.50\"). In a request it must be \
             positive with no more decimal places than the currency has; only a balance can be negative.",
            &["50", "100.50"],
        )
    }
}

impl JsonSchema for Currency {
    fn schema_name() -> Cow<'static, str> {
        "Currency".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        checked_string(
            "^[A-Z]{3}$",
            "An ISO 4217 code; a request must name its environment's currency (EUR in the sandbox).",
            &["EUR"],
        )
    }
}

impl JsonSchema for Msisdn {
    fn schema_name() -> Cow<'static, str> {
        "Msisdn".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        checked_string(
            "^[0-9]{4,15}$",
            "A phone number with its country code, digits only, without '+'.",
            &["46733123450"],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pattern a type publishes.
    fn pattern<T: JsonSchema>() -> regex::Regex {
        let schema = T::json_schema(&mut SchemaGenerator::default());
        regex::Regex::new(schema.get("pattern").and_then(|p| p.as_str()).expect("a pattern")).expect("a valid pattern")
    }

    /// Every string, accepted or not, is judged the same by the published pattern and by `parse`.
    fn agree<T: JsonSchema, E>(parse: impl Fn(&str) -> Result<T, E>, samples: &[&str]) {
        let pattern = pattern::<T>();
        for sample in samples {
            assert_eq!(
                pattern.is_match(sample),
                parse(sample).is_ok(),
                "{} and parse disagree on {sample:?}",
                T::schema_name()
            );
        }
    }

    #[test]
    fn published_patterns_accept_exactly_what_parse_accepts() {
        let odd = ["", " ", "-", ".", "1.", ".5", "1.2.3", "1e3", "+1", "1 ", "١٢", "--1", "0x10"];
        agree(Amount::parse, &[&["0", "50", "0100", "100.50", "-5", "-0.01", "0012.50"][..], &odd].concat());
        agree(Currency::parse, &[&["EUR", "UGX", "eur", "EURO", "EU", "E1R", "ÉUR"][..], &odd].concat());
        agree(
            Msisdn::parse,
            &[&["4673", "46733123450", "123456789012345", "1234567890123456", "467", "+46733"][..], &odd].concat(),
        );
    }

    proptest::proptest! {
        #[test]
        fn patterns_and_parse_agree_on_any_short_string(s in "[-+.0-9A-Za-z ]{0,17}") {
            agree(Amount::parse, &[&s]);
            agree(Currency::parse, &[&s]);
            agree(Msisdn::parse, &[&s]);
        }
    }
}
