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
// values"); each pattern states the same rule.

impl JsonSchema for Amount {
    fn schema_name() -> Cow<'static, str> {
        "Amount".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": "^-?[0-9]+(\\.[0-9]+)?$",
            "description": "A decimal amount as a string, echoed exactly as written (\"100\", \"100.50\"). In a \
                            request it must be positive with no more decimal places than the currency has; only a \
                            balance can be negative.",
            "examples": ["50", "100.50"],
        })
    }
}

impl JsonSchema for Currency {
    fn schema_name() -> Cow<'static, str> {
        "Currency".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": "^[A-Z]{3}$",
            "description": "An ISO 4217 code; a request must name its environment's currency (EUR in the sandbox).",
            "examples": ["EUR"],
        })
    }
}

impl JsonSchema for Msisdn {
    fn schema_name() -> Cow<'static, str> {
        "Msisdn".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": "^[0-9]{4,15}$",
            "description": "A phone number with its country code, digits only, without '+'.",
            "examples": ["46733123450"],
        })
    }
}
