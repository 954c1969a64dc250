//! The sandbox's test numbers, as one data table with two profiles (docs/scenarios.md):
//! `documented` follows MTN's published Sandbox Use Cases, `observed` what the sandbox really
//! does. `docs/scenarios.md` is generated from [`rows`] and a test keeps the two equal.
//!
//! Payments fail asynchronously (POST answers 202, the status becomes FAILED with a reason);
//! account-holder checks fail synchronously. Every party not in the table succeeds.

use momo_types::payments::PartyIdType;
use momo_types::ErrorCode;

use crate::domain::policy::ScenarioProfile;

/// Which operation a trigger applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScenarioOp {
    RequestToPay,
    RequestToWithdraw,
    Deposit,
    DisbursementTransfer,
    RemittanceTransfer,
    Refund,
    PreApproval,
    CashTransfer,
    AccountHolderActive,
    Consent,
}

impl ScenarioOp {
    pub fn title(self) -> &'static str {
        match self {
            ScenarioOp::RequestToPay => "Request to pay (payer)",
            ScenarioOp::RequestToWithdraw => "Request to withdraw (payer)",
            ScenarioOp::Deposit => "Deposit (payee)",
            ScenarioOp::DisbursementTransfer => "Disbursement transfer (payee)",
            ScenarioOp::RemittanceTransfer => "Remittance transfer (payee)",
            ScenarioOp::Refund => "Refund (externalId)",
            ScenarioOp::PreApproval => "Pre-approval (payer)",
            ScenarioOp::CashTransfer => "Cash transfer (externalId)",
            ScenarioOp::AccountHolderActive => "Account holder active (path id)",
            ScenarioOp::Consent => "OAuth2 consent (login_hint MSISDN)",
        }
    }

    /// The request field that carries the trigger.
    fn trigger_field(self) -> Trigger {
        match self {
            ScenarioOp::Refund | ScenarioOp::CashTransfer => Trigger::ExternalId,
            _ => Trigger::Party,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trigger {
    Party,
    ExternalId,
}

/// What a trigger does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// SUCCESSFUL after the pending delay.
    Succeed,
    /// FAILED with this reason after the pending delay.
    Fail(ErrorCode),
    /// Stays PENDING.
    StayPending,
    /// PENDING for this many seconds, then SUCCESSFUL (the 2018 doc's "ongoing" number).
    SucceedAfter(u64),
    /// Account holder: 200 `{"result":false}`.
    Inactive,
    /// Account holder: a synchronous error with this code (503 for SERVICE_UNAVAILABLE, else 500).
    SyncError(ErrorCode),
    /// Consent flow: the OAuth2 error the account holder's answer leads to (`unknown_user_id` at
    /// bc-authorize; `refresh_expired`: the refresh token is refused with `invalid_grant`).
    Consent(&'static str),
}

impl Effect {
    /// What it does, as `docs/scenarios.md` writes it (Markdown: codes and bodies in backticks).
    pub fn describe(&self) -> String {
        match self {
            Effect::Succeed => "SUCCESSFUL".to_owned(),
            Effect::Fail(code) => format!("FAILED, reason `{code}`"),
            Effect::StayPending => "stays PENDING".to_owned(),
            Effect::SucceedAfter(s) => format!("PENDING for {s} s, then SUCCESSFUL"),
            Effect::Inactive => "200 `{\"result\":false}`".to_owned(),
            Effect::SyncError(code) => {
                let status = if *code == ErrorCode::ServiceUnavailable { 503 } else { 500 };
                format!("{status} `{code}`")
            }
            Effect::Consent("unknown_user_id") => "bc-authorize: 400 `{\"error\":\"unknown_user_id\"}`".to_owned(),
            Effect::Consent("refresh_expired") => {
                "token granted; the refresh token is refused: 400 `{\"error\":\"invalid_grant\"}`".to_owned()
            }
            Effect::Consent(error) => format!("oauth2/token: 400 `{{\"error\":\"{error}\"}}`"),
        }
    }
}

/// One row of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub op: ScenarioOp,
    /// `None`: both profiles.
    pub profile: Option<ScenarioProfile>,
    pub party_type: Option<PartyIdType>,
    pub trigger: &'static str,
    /// MTN's name for the use case.
    pub use_case: &'static str,
    pub effect: Effect,
}

const MSISDNS: [&str; 15] = [
    "46733123450",
    "46733123451",
    "46733123452",
    "46733123453",
    "46733123454",
    "46733123455",
    "46733123456",
    "46733123457",
    "46733123458",
    "46733123459",
    "46733123460",
    "46733123461",
    "46733123462",
    "46733123463",
    "46733123464",
];

const SEQ: [&str; 13] = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13"];

use Effect::{Consent, Fail, Inactive, StayPending, SucceedAfter, SyncError};

/// Documented request to pay / withdraw / deposit: the 14 RequestToPayPayer cases from …450.
const RTP_DOCUMENTED: [(&str, Effect); 14] = [
    ("Failed", Fail(ErrorCode::InternalProcessingError)),
    ("Rejected", Fail(ErrorCode::ApprovalRejected)),
    ("Expired", Fail(ErrorCode::Expired)),
    ("Ongoing", SucceedAfter(30)),
    ("Delayed", StayPending),
    ("NotFound", Fail(ErrorCode::PayerNotFound)),
    ("PayeeNotAllowedToReceive", Fail(ErrorCode::PayeeNotAllowedToReceive)),
    ("NotAllowed", Fail(ErrorCode::NotAllowed)),
    ("NotAllowedTargetEnvironment", Fail(ErrorCode::NotAllowedTargetEnvironment)),
    ("InvalidCallbackUrlHost", Fail(ErrorCode::InvalidCallbackUrlHost)),
    ("InvalidCurrency", Fail(ErrorCode::InvalidCurrency)),
    ("InternalProcessingError", Fail(ErrorCode::InternalProcessingError)),
    ("ServiceUnavailable", Fail(ErrorCode::ServiceUnavailable)),
    ("CouldNotPerformTransaction", Fail(ErrorCode::CouldNotPerformTransaction)),
];

/// Documented transfer (TransferPayee cases from …450).
const TRANSFER_DOCUMENTED: [(&str, Effect); 14] = [
    ("Failed", Fail(ErrorCode::InternalProcessingError)),
    ("Rejected", Fail(ErrorCode::ApprovalRejected)),
    ("Expired", Fail(ErrorCode::Expired)),
    ("Ongoing", SucceedAfter(30)),
    ("Delayed", StayPending),
    ("NotEnoughFunds", Fail(ErrorCode::NotEnoughFunds)),
    ("PayerLimitReached", Fail(ErrorCode::PayerLimitReached)),
    ("NotFound", Fail(ErrorCode::PayeeNotFound)),
    ("NotAllowed", Fail(ErrorCode::NotAllowed)),
    ("NotAllowedTargetEnvironment", Fail(ErrorCode::NotAllowedTargetEnvironment)),
    ("InvalidCallbackUrlHost", Fail(ErrorCode::InvalidCallbackUrlHost)),
    ("InvalidCurrency", Fail(ErrorCode::InvalidCurrency)),
    ("InternalProcessingError", Fail(ErrorCode::InternalProcessingError)),
    ("ServiceUnavailable", Fail(ErrorCode::ServiceUnavailable)),
];

const PREAPPROVAL: [(&str, Effect); 12] = [
    ("Failed", Fail(ErrorCode::InternalProcessingError)),
    ("Rejected", Fail(ErrorCode::ApprovalRejected)),
    ("Expired", Fail(ErrorCode::Expired)),
    ("Ongoing", SucceedAfter(30)),
    ("Delayed", StayPending),
    ("NotFound", Fail(ErrorCode::PayerNotFound)),
    ("NotAllowed", Fail(ErrorCode::NotAllowed)),
    ("NotAllowedTargetEnvironment", Fail(ErrorCode::NotAllowedTargetEnvironment)),
    ("InvalidCallbackUrlHost", Fail(ErrorCode::InvalidCallbackUrlHost)),
    ("InvalidCurrency", Fail(ErrorCode::InvalidCurrency)),
    ("InternalProcessingError", Fail(ErrorCode::InternalProcessingError)),
    ("ServiceUnavailable", Fail(ErrorCode::ServiceUnavailable)),
];

const REFUND: [(&str, Effect); 13] = [
    ("NotFound", Fail(ErrorCode::ResourceNotFound)),
    ("Failed", Fail(ErrorCode::InternalProcessingError)),
    ("Rejected", Fail(ErrorCode::ApprovalRejected)),
    ("Expired", Fail(ErrorCode::Expired)),
    ("Ongoing", SucceedAfter(30)),
    ("Delayed", StayPending),
    ("NotAllowed", Fail(ErrorCode::NotAllowed)),
    ("NotAllowedTargetEnvironment", Fail(ErrorCode::NotAllowedTargetEnvironment)),
    ("InvalidCallbackUrlHost", Fail(ErrorCode::InvalidCallbackUrlHost)),
    ("InvalidCurrency", Fail(ErrorCode::InvalidCurrency)),
    ("InternalProcessingError", Fail(ErrorCode::InternalProcessingError)),
    ("ServiceUnavailable", Fail(ErrorCode::ServiceUnavailable)),
    ("CouldNotPerformTransaction", Fail(ErrorCode::CouldNotPerformTransaction)),
];

const CASH_TRANSFER: [(&str, Effect); 13] = [
    ("NotFound", Fail(ErrorCode::ResourceNotFound)),
    ("Failed", Fail(ErrorCode::InternalProcessingError)),
    ("Rejected", Fail(ErrorCode::ApprovalRejected)),
    ("Expired", Fail(ErrorCode::Expired)),
    ("PayeeNotFound", Fail(ErrorCode::PayeeNotFound)),
    ("PayeeNotAllowedToReceive", Fail(ErrorCode::PayeeNotAllowedToReceive)),
    ("NotAllowed", Fail(ErrorCode::NotAllowed)),
    ("NotAllowedTargetEnvironment", Fail(ErrorCode::NotAllowedTargetEnvironment)),
    ("InvalidCallbackUrlHost", Fail(ErrorCode::InvalidCallbackUrlHost)),
    ("InvalidCurrency", Fail(ErrorCode::InvalidCurrency)),
    ("InternalProcessingError", Fail(ErrorCode::InternalProcessingError)),
    ("ServiceUnavailable", Fail(ErrorCode::ServiceUnavailable)),
    ("CouldNotPerformTransaction", Fail(ErrorCode::CouldNotPerformTransaction)),
];

const HOLDER: [(&str, Effect); 6] = [
    ("NotFound", Inactive),
    ("NotActive", Inactive),
    ("NotAllowed", SyncError(ErrorCode::NotAllowed)),
    ("NotAllowedTargetEnvironment", SyncError(ErrorCode::NotAllowedTargetEnvironment)),
    ("InternalProcessingError", SyncError(ErrorCode::InternalProcessingError)),
    ("ServiceUnavailable", SyncError(ErrorCode::ServiceUnavailable)),
];

/// The first five Oauth2 cases; the financial and scope ones (…455 to …462) concern operations
/// with consent that openmomo does not emulate, and succeed.
const CONSENT: [(&str, Effect); 5] = [
    ("AccountHolderNotFound", Consent("unknown_user_id")),
    ("ConsentRejected", Consent("access_denied")),
    ("ConsentPending", Consent("authorization_pending")),
    ("ConsentExpired", Consent("expired_token")),
    ("ConsentExpiredRefreshToken", Consent("refresh_expired")),
];

const HOLDER_EMAILS: [&str; 6] = [
    "notfound@email.com",
    "notactive@email.com",
    "notallowed@email.com",
    "notallowedtargetenvironment@email.com",
    "internalprocessingerror@email.com",
    "serviceunavailable@email.com",
];

const HOLDER_PARTY_CODES: [&str; 6] = [
    "5cecb5a7-8bd0-4f49-87b1-8eb9ecc7b7bc",
    "b0040b3c-b426-4a90-af6e-673e65861cd7",
    "4d5f500f-c385-4901-9be5-25b6d36ad220",
    "d2265f9b-0c22-496d-908f-79a65ad66266",
    "8f548a78-ceb8-4d12-a243-5640b91e91a4",
    "585c07a4-2c80-42f7-9e73-e586b36dee68",
];

/// Every row, in the order of `docs/scenarios.md`.
pub fn rows() -> &'static [Row] {
    static ROWS: std::sync::LazyLock<Vec<Row>> = std::sync::LazyLock::new(build_rows);
    &ROWS
}

fn build_rows() -> Vec<Row> {
    use ScenarioOp as Op;
    use ScenarioProfile::{Documented, Observed};
    let msisdn = Some(&PartyIdType::Msisdn);
    let mut rows = Vec::new();
    let mut add = |op,
                   profile,
                   party_type: Option<&PartyIdType>,
                   triggers: &[&'static str],
                   cases: &[(&'static str, Effect)]| {
        for (trigger, (use_case, effect)) in triggers.iter().zip(cases) {
            rows.push(Row { op, profile, party_type: party_type.cloned(), trigger, use_case, effect: effect.clone() });
        }
    };
    // Observed (docs/scenarios.md): every number fails, the "ongoing" and "delayed" ones too.
    let mut rtp_observed = RTP_DOCUMENTED;
    rtp_observed[3].1 = Fail(ErrorCode::Ongoing);
    rtp_observed[4].1 = Fail(ErrorCode::PayerDelayed);
    for op in [Op::RequestToPay, Op::RequestToWithdraw, Op::Deposit] {
        add(op, Some(Documented), msisdn, &MSISDNS, &RTP_DOCUMENTED);
        add(op, Some(Observed), msisdn, &MSISDNS, &rtp_observed);
    }
    for op in [Op::DisbursementTransfer, Op::RemittanceTransfer] {
        add(op, Some(Documented), msisdn, &MSISDNS, &TRANSFER_DOCUMENTED);
        let delayed = if op == Op::RemittanceTransfer { ErrorCode::PayeeDelayed } else { ErrorCode::PayerDelayed };
        let mut observed = TRANSFER_DOCUMENTED;
        observed[3].1 = Fail(ErrorCode::Ongoing);
        observed[4].1 = Fail(delayed);
        add(op, Some(Observed), msisdn, &MSISDNS, &observed);
    }
    add(Op::Refund, None, None, &SEQ, &REFUND);
    add(Op::PreApproval, None, msisdn, &MSISDNS, &PREAPPROVAL);
    add(Op::CashTransfer, None, None, &SEQ, &CASH_TRANSFER);
    add(Op::AccountHolderActive, None, msisdn, &MSISDNS, &HOLDER);
    add(Op::AccountHolderActive, None, Some(&PartyIdType::Email), &HOLDER_EMAILS, &HOLDER);
    add(Op::AccountHolderActive, None, Some(&PartyIdType::PartyCode), &HOLDER_PARTY_CODES, &HOLDER);
    add(Op::Consent, None, msisdn, &MSISDNS, &CONSENT);
    rows
}

/// The effect for a request. `party` is the payer or payee (type and id); `external_id` is
/// used by the operations whose triggers MTN numbers 1 to 13.
pub fn effect(
    profile: ScenarioProfile,
    op: ScenarioOp,
    party: Option<(PartyIdType, &str)>,
    external_id: Option<&str>,
) -> Effect {
    let found = rows().iter().find(|row| {
        row.op == op
            && row.profile.is_none_or(|p| p == profile)
            && match op.trigger_field() {
                Trigger::ExternalId => external_id == Some(row.trigger),
                Trigger::Party => party.as_ref().is_some_and(|(kind, id)| {
                    row.party_type.as_ref() == Some(kind) && id.eq_ignore_ascii_case(row.trigger)
                }),
            }
    });
    found.map_or(Effect::Succeed, |row| row.effect.clone())
}

/// The table as Markdown, for `docs/scenarios.md`.
pub fn markdown_tables() -> String {
    let mut out = String::new();
    let mut current: Option<(ScenarioOp, Option<ScenarioProfile>)> = None;
    for row in rows() {
        if current != Some((row.op, row.profile)) {
            let profile = row.profile.map_or("both profiles".to_owned(), |p| format!("profile `{p}`"));
            out.push_str(&format!(
                "\n### {} — {profile}\n\n| Trigger | MTN use case | Effect |\n|---|---|---|\n",
                row.op.title()
            ));
            current = Some((row.op, row.profile));
        }
        let effect = row.effect.describe();
        out.push_str(&format!("| `{}` | {} | {effect} |\n", row.trigger, row.use_case));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ScenarioProfile::{Documented, Observed};

    fn msisdn(n: &str) -> Option<(PartyIdType, &str)> {
        Some((PartyIdType::Msisdn, n))
    }

    #[test]
    fn unknown_parties_succeed_and_profiles_differ_where_mtn_does() {
        assert_eq!(effect(Observed, ScenarioOp::RequestToPay, msisdn("56733123453"), None), Effect::Succeed);
        assert_eq!(effect(Observed, ScenarioOp::RequestToPay, msisdn("46733123453"), None), Fail(ErrorCode::Ongoing));
        assert_eq!(effect(Documented, ScenarioOp::RequestToPay, msisdn("46733123453"), None), SucceedAfter(30));
        assert_eq!(effect(Documented, ScenarioOp::RequestToPay, msisdn("46733123454"), None), StayPending);
        assert_eq!(
            effect(Observed, ScenarioOp::DisbursementTransfer, msisdn("46733123455"), None),
            Fail(ErrorCode::NotEnoughFunds)
        );
        assert_eq!(
            effect(Observed, ScenarioOp::RemittanceTransfer, msisdn("46733123454"), None),
            Fail(ErrorCode::PayeeDelayed)
        );
        assert_eq!(effect(Observed, ScenarioOp::Refund, None, Some("1")), Fail(ErrorCode::ResourceNotFound));
        assert_eq!(
            effect(Observed, ScenarioOp::AccountHolderActive, Some((PartyIdType::Email, "NotActive@email.com")), None),
            Inactive
        );
    }

    #[test]
    fn the_scenarios_page_is_generated_from_this_table() {
        let page = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/scenarios.md")).unwrap();
        let tables = markdown_tables();
        assert!(
            page.contains(&tables),
            "docs/scenarios.md is out of date; its tables section must be exactly:\n{tables}"
        );
    }
}
