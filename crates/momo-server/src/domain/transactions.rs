//! Transactions: the kinds MoMo has, how money moves for each, and their status bodies.

use momo_types::payments::{
    DepositResult, Party, Reason, Refund, RequestToPay, RequestToPayResult, TransactionStatus, Transfer, TransferResult,
};
use momo_types::{ErrorCode, ErrorReason, Product};

use crate::config::{ReasonFormat, ScenarioProfile};
use crate::domain::scenarios::{self, Effect, ScenarioOp};

/// A kind of transaction, as its status path names it. v1 and v2 of an operation share one kind
/// (and so one status endpoint and one reference-id space).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    RequestToPay,
    RequestToWithdraw,
    Transfer,
    Deposit,
    Refund,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::RequestToPay => "requesttopay",
            Kind::RequestToWithdraw => "requesttowithdraw",
            Kind::Transfer => "transfer",
            Kind::Deposit => "deposit",
            Kind::Refund => "refund",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        [Kind::RequestToPay, Kind::RequestToWithdraw, Kind::Transfer, Kind::Deposit, Kind::Refund]
            .into_iter()
            .find(|k| k.as_str() == s)
    }

    /// Which way money moves when it succeeds.
    pub fn flow(self) -> Flow {
        match self {
            Kind::RequestToPay | Kind::RequestToWithdraw => Flow::FromParty,
            Kind::Transfer | Kind::Deposit | Kind::Refund => Flow::ToParty,
        }
    }

    /// The method of its callback (reference §10.4): v1 withdraw, deposit and refund use POST
    /// ("POST Callback URL"); v2 operations PUT; request to pay and transfer v1 PUT (2018 docs).
    pub fn callback_method(self, version: ApiVersion) -> &'static str {
        match (self, version) {
            (Kind::RequestToWithdraw | Kind::Deposit | Kind::Refund, ApiVersion::V1) => "POST",
            _ => "PUT",
        }
    }

    fn scenario_op(self, product: Product) -> ScenarioOp {
        match (self, product) {
            (Kind::RequestToPay, _) => ScenarioOp::RequestToPay,
            (Kind::RequestToWithdraw, _) => ScenarioOp::RequestToWithdraw,
            (Kind::Deposit, _) => ScenarioOp::Deposit,
            (Kind::Refund, _) => ScenarioOp::Refund,
            (Kind::Transfer, Product::Remittance) => ScenarioOp::RemittanceTransfer,
            (Kind::Transfer, _) => ScenarioOp::DisbursementTransfer,
        }
    }
}

/// `v1_0` or `v2_0` in the path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiVersion {
    V1,
    V2,
}

impl ApiVersion {
    pub fn number(self) -> i64 {
        match self {
            ApiVersion::V1 => 1,
            ApiVersion::V2 => 2,
        }
    }

    pub fn from_number(n: i64) -> ApiVersion {
        if n == 2 {
            ApiVersion::V2
        } else {
            ApiVersion::V1
        }
    }
}

/// Direction of a successful transaction's money.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// From the party's wallet to the API user's account (request to pay, withdraw).
    FromParty,
    /// From the API user's account to the party's wallet (transfer, deposit, refund).
    ToParty,
}

/// What a pending transaction will become.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Successful,
    Failed(String),
}

impl Outcome {
    pub fn to_column(&self) -> String {
        match self {
            Outcome::Successful => "SUCCESSFUL".into(),
            Outcome::Failed(code) => format!("FAILED:{code}"),
        }
    }

    pub fn from_column(s: &str) -> Option<Outcome> {
        match s.split_once(':') {
            Some(("FAILED", code)) => Some(Outcome::Failed(code.to_owned())),
            None if s == "SUCCESSFUL" => Some(Outcome::Successful),
            _ => None,
        }
    }
}

/// The plan made when a transaction is accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// `None`: stays PENDING until someone decides.
    pub outcome: Option<Outcome>,
    /// When the outcome applies (ms since the epoch).
    pub due_at: Option<i64>,
    /// A production request waiting for the payer's approval (the operator API answers for the payer).
    pub awaiting_approval: bool,
}

/// The sandbox plan for a request: its test number's effect, or success.
pub fn sandbox_plan(
    profile: ScenarioProfile,
    kind: Kind,
    product: Product,
    party: Option<&Party>,
    external_id: Option<&str>,
    now: i64,
    pending_delay_ms: i64,
) -> Plan {
    let party = party.map(|p| (p.party_id_type, p.party_id.as_str()));
    let effect = scenarios::effect(profile, kind.scenario_op(product), party, external_id);
    let at = |ms: i64| Some(now + ms);
    match effect {
        Effect::Succeed | Effect::Inactive | Effect::SyncError(_) => {
            Plan { outcome: Some(Outcome::Successful), due_at: at(pending_delay_ms), awaiting_approval: false }
        }
        Effect::Fail(code) => {
            Plan { outcome: Some(Outcome::Failed(code.into())), due_at: at(pending_delay_ms), awaiting_approval: false }
        }
        Effect::StayPending => Plan { outcome: None, due_at: None, awaiting_approval: false },
        Effect::SucceedAfter(seconds) => Plan {
            outcome: Some(Outcome::Successful),
            due_at: at(i64::try_from(seconds).unwrap_or(30) * 1000),
            awaiting_approval: false,
        },
    }
}

/// A new financial transaction id: a numeric string like MTN's (`"1195582132"`).
pub fn financial_transaction_id() -> String {
    use rand::Rng as _;
    rand::rng().random_range(1_000_000_000u64..=9_999_999_999).to_string()
}

/// The `reason` of a failed transaction in the configured shape.
pub fn reason(code: &str, kind: Kind, format: ReasonFormat) -> Reason {
    let code = ErrorCode::parse(code);
    // All kinds here are bare strings when observed; invoices, payments and pre-approvals
    // (objects when observed) are not transactions of this module.
    let object = match format {
        ReasonFormat::Object => true,
        ReasonFormat::String | ReasonFormat::Observed => false,
    };
    let _ = kind;
    if object {
        let message = code.default_message().to_owned();
        Reason::Object(ErrorReason { code, message })
    } else {
        Reason::Code(code)
    }
}

/// The fields a status body is built from.
#[derive(Debug, Clone)]
pub struct StatusFields<'a> {
    pub kind: Kind,
    pub request: &'a str,
    pub status: TransactionStatus,
    pub reason: Option<&'a str>,
    pub financial_transaction_id: Option<&'a str>,
    /// For a refund: the payer of the refunded request to pay, who receives the money.
    pub refund_payee: Option<Party>,
}

/// The status body (also the callback body) of a transaction, in MTN's key order for its kind.
pub fn status_body(fields: &StatusFields<'_>, format: ReasonFormat) -> anyhow::Result<String> {
    let reason = fields.reason.map(|code| reason(code, fields.kind, format));
    let fti = fields.financial_transaction_id.map(str::to_owned);
    let status = fields.status;
    let body = match fields.kind {
        Kind::RequestToPay | Kind::RequestToWithdraw => {
            let r: RequestToPay = serde_json::from_str(fields.request)?;
            serde_json::to_string(&RequestToPayResult {
                financial_transaction_id: fti,
                external_id: r.external_id,
                amount: r.amount,
                currency: r.currency,
                payer: r.payer,
                payer_message: r.payer_message,
                payee_note: r.payee_note,
                status,
                reason,
            })?
        }
        Kind::Transfer => {
            let r: Transfer = serde_json::from_str(fields.request)?;
            serde_json::to_string(&TransferResult {
                amount: r.amount,
                currency: r.currency,
                financial_transaction_id: fti,
                external_id: r.external_id,
                payee: r.payee,
                payer_message: r.payer_message,
                payee_note: r.payee_note,
                status,
                reason,
            })?
        }
        Kind::Deposit => {
            let r: Transfer = serde_json::from_str(fields.request)?;
            // The sandbox's deposit status carries no financialTransactionId (reference §6).
            serde_json::to_string(&DepositResult {
                financial_transaction_id: None,
                external_id: r.external_id,
                amount: r.amount,
                currency: r.currency,
                payee: r.payee,
                payer_message: r.payer_message,
                payee_note: r.payee_note,
                status,
                reason,
            })?
        }
        Kind::Refund => {
            let r: Refund = serde_json::from_str(fields.request)?;
            let payee = fields.refund_payee.clone().unwrap_or_else(|| Party::msisdn(""));
            serde_json::to_string(&DepositResult {
                financial_transaction_id: fti,
                external_id: r.external_id,
                amount: r.amount,
                currency: r.currency,
                payee,
                payer_message: r.payer_message,
                payee_note: r.payee_note,
                status,
                reason,
            })?
        }
    };
    Ok(body)
}

/// Ledger account names.
pub mod accounts {
    use momo_types::payments::Party;
    use momo_types::Product;

    /// The API user's account for a product.
    pub fn api_user(api_user: &str, product: Product) -> String {
        format!("api-user:{api_user}:{product}")
    }

    /// A customer's wallet in an environment.
    pub fn wallet(environment: &str, party: &Party) -> String {
        format!("wallet:{environment}:{}:{}", party.party_id_type.as_str(), party.party_id.to_ascii_lowercase())
    }

    /// Where opening balances and operator adjustments come from (no floor).
    pub fn issuance(environment: &str) -> String {
        format!("system:{environment}:issuance")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_roundtrip_through_their_column() {
        for outcome in [Outcome::Successful, Outcome::Failed("NOT_ENOUGH_FUNDS".into())] {
            assert_eq!(Outcome::from_column(&outcome.to_column()), Some(outcome));
        }
        assert_eq!(Outcome::from_column("garbage"), None);
    }

    #[test]
    fn callback_methods_follow_mtns_table() {
        assert_eq!(Kind::RequestToPay.callback_method(ApiVersion::V1), "PUT");
        assert_eq!(Kind::Deposit.callback_method(ApiVersion::V1), "POST");
        assert_eq!(Kind::Deposit.callback_method(ApiVersion::V2), "PUT");
        assert_eq!(Kind::Refund.callback_method(ApiVersion::V1), "POST");
        assert_eq!(Kind::RequestToWithdraw.callback_method(ApiVersion::V2), "PUT");
    }

    #[test]
    fn financial_transaction_ids_are_ten_digits() {
        let id = financial_transaction_id();
        assert_eq!(id.len(), 10);
        assert!(id.bytes().all(|b| b.is_ascii_digit()));
    }
}
