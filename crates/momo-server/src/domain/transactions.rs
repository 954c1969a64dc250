//! Transactions: the kinds MoMo has, how money moves for each, and their status bodies.

use momo_types::payments::{
    CashTransfer, CashTransferResult, CreateInvoice, CreatePayments, DepositResult, InvoiceResult, Party, PartyIdType,
    PaymentResult, PreApproval, PreApprovalResult, Reason, Refund, RequestToPay, RequestToPayResult, TransactionStatus,
    Transfer, TransferResult,
};
use momo_types::{ErrorCode, ErrorReason, Product};

use crate::domain::policy::{ReasonFormat, ScenarioProfile};
use crate::domain::scenarios::{self, Effect, ScenarioOp};

/// `v1_0` or `v2_0` in the path of the operation that created a transaction.
pub use momo_types::ApiVersion;
/// A kind of transaction: MoMo's, shared with the SDK and the CLI. What the server alone knows
/// about a kind is in [`KindRules`]; the method of its callbacks is in the operation table
/// ([`Kind::callback_method`]).
pub use momo_types::TransactionKind as Kind;

/// The server's rules for each kind of transaction.
pub trait KindRules: Copy {
    /// Which way money moves when it succeeds (`None`: no money moves, as for a pre-approval).
    fn flow(self) -> Option<Flow>;
}

impl KindRules for Kind {
    fn flow(self) -> Option<Flow> {
        match self {
            Kind::RequestToPay | Kind::RequestToWithdraw | Kind::Invoice => Some(Flow::FromParty),
            Kind::Transfer | Kind::Deposit | Kind::Refund | Kind::CashTransfer => Some(Flow::ToParty),
            Kind::Payment => Some(Flow::ToProvider),
            Kind::PreApproval | Kind::InvoiceCancellation => None,
        }
    }
}

/// Whether MTN's sandbox writes this kind's `reason` as an object (docs/compatibility.md).
fn object_reason_when_observed(kind: Kind) -> bool {
    matches!(kind, Kind::Invoice | Kind::PreApproval | Kind::Payment | Kind::InvoiceCancellation)
}

/// The scenario table that applies to a kind (`None`: MTN documents no test values for it).
fn scenario_op(kind: Kind, product: Product) -> Option<ScenarioOp> {
    Some(match (kind, product) {
        (Kind::RequestToPay, _) => ScenarioOp::RequestToPay,
        (Kind::RequestToWithdraw, _) => ScenarioOp::RequestToWithdraw,
        (Kind::Deposit, _) => ScenarioOp::Deposit,
        (Kind::Refund, _) => ScenarioOp::Refund,
        (Kind::Transfer, Product::Remittance) => ScenarioOp::RemittanceTransfer,
        (Kind::Transfer, _) => ScenarioOp::DisbursementTransfer,
        (Kind::PreApproval, _) => ScenarioOp::PreApproval,
        (Kind::CashTransfer, _) => ScenarioOp::CashTransfer,
        (Kind::Invoice | Kind::Payment | Kind::InvoiceCancellation, _) => return None,
    })
}

/// Direction of a successful transaction's money.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// From the party's wallet to the API user's account (request to pay, withdraw).
    FromParty,
    /// From the API user's account to the party's wallet (transfer, deposit, refund, cash transfer).
    ToParty,
    /// From the API user's collection account to a service provider (payments).
    ToProvider,
}

/// What a pending transaction will become.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Successful,
    Failed(ErrorCode),
}

/// As the operator API's `plannedOutcome` (docs/operator-api.md) and the console show it:
/// `SUCCESSFUL`, or `FAILED:` and the reason code. A display only: the store keeps the code in
/// a column of its own.
impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Successful => write!(f, "{}", TransactionStatus::Successful),
            Outcome::Failed(code) => write!(f, "{}:{code}", TransactionStatus::Failed),
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
    let party = party.map(|p| (p.party_id_type.clone(), p.party_id.as_str()));
    let effect = match scenario_op(kind, product) {
        Some(op) => scenarios::effect(profile, op, party, external_id),
        None => Effect::Succeed,
    };
    let at = |ms: i64| Some(now + ms);
    match effect {
        Effect::Succeed | Effect::Inactive | Effect::SyncError(_) | Effect::Consent(_) => {
            Plan { outcome: Some(Outcome::Successful), due_at: at(pending_delay_ms), awaiting_approval: false }
        }
        Effect::Fail(code) => {
            Plan { outcome: Some(Outcome::Failed(code)), due_at: at(pending_delay_ms), awaiting_approval: false }
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
pub fn reason(code: &ErrorCode, kind: Kind, format: ReasonFormat) -> Reason {
    let code = code.clone();
    let object = match format {
        ReasonFormat::Object => true,
        ReasonFormat::String => false,
        ReasonFormat::Observed => object_reason_when_observed(kind),
    };
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
    pub reason: Option<&'a ErrorCode>,
    pub financial_transaction_id: Option<&'a str>,
    /// For a refund: the payer of the refunded request to pay, who receives the money.
    pub refund_payee: Option<Party>,
    pub reference_id: &'a str,
    pub created_at: i64,
}

/// The status body (also the callback body) of a transaction, in MTN's key order for its kind.
pub fn status_body(fields: &StatusFields<'_>, format: ReasonFormat) -> anyhow::Result<String> {
    let reason = fields.reason.map(|code| reason(code, fields.kind, format));
    let fti = fields.financial_transaction_id.map(str::to_owned);
    let status = fields.status.clone();
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
            // MTN's sandbox sends a financialTransactionId in the deposit callback; its recorded
            // status body lacked one (docs/compatibility.md). Both carry it here once successful,
            // as the spec allows, so the callback body stays the status body.
            serde_json::to_string(&DepositResult {
                financial_transaction_id: fti,
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
            let payee = fields
                .refund_payee
                .clone()
                .unwrap_or_else(|| Party { party_id_type: PartyIdType::Msisdn, party_id: String::new() });
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
        Kind::Invoice => {
            let r: CreateInvoice = serde_json::from_str(fields.request)?;
            let validity = r.validity_duration.parse::<i64>().unwrap_or(0);
            serde_json::to_string(&InvoiceResult {
                reference_id: fields.reference_id.to_owned(),
                external_id: r.external_id,
                amount: r.amount,
                currency: r.currency,
                status,
                payment_reference: derived_number(fields.reference_id, "payment-reference"),
                invoice_id: derived_number(fields.reference_id, "invoice-id"),
                expiry_date_time: mtn_time(fields.created_at + validity * 1000, true),
                error_reason: reason,
                intended_payer: r.intended_payer,
                description: r.description,
            })?
        }
        Kind::PreApproval => {
            let r: PreApproval = serde_json::from_str(fields.request)?;
            let validity = i64::try_from(r.validity_time).unwrap_or(i64::MAX / 4_000);
            serde_json::to_string(&PreApprovalResult {
                payer: r.payer,
                payer_currency: r.payer_currency,
                payer_message: r.payer_message,
                status,
                expiration_date_time: mtn_time(fields.created_at.saturating_add(validity.saturating_mul(1000)), false),
                reason,
            })?
        }
        Kind::Payment => {
            let _: CreatePayments = serde_json::from_str(fields.request)?;
            serde_json::to_string(&PaymentResult {
                reference_id: fields.reference_id.to_owned(),
                status,
                financial_transaction_id: fti,
                reason,
            })?
        }
        Kind::CashTransfer => {
            let r: CashTransfer = serde_json::from_str(fields.request)?;
            serde_json::to_string(&CashTransferResult { request: r, financial_transaction_id: fti, status, reason })?
        }
        // The cancelled invoice's status body, as it was made final by the cancellation.
        Kind::InvoiceCancellation => fields.request.to_owned(),
    };
    Ok(body)
}

/// A stable 10-digit number derived from a reference id (an invoice's id and payment reference).
fn derived_number(reference_id: &str, purpose: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("{purpose}:{reference_id}").as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    (1_000_000_000 + u64::from_be_bytes(bytes) % 9_000_000_000).to_string()
}

/// MTN's timestamps: `2024-11-10T17:36:25.698` (with milliseconds) or `2024-11-10T17:36:25`.
pub fn mtn_time(ms: i64, millis: bool) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let result = if millis {
        t.format(time::macros::format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]"
        ))
    } else {
        t.format(time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]"))
    };
    result.unwrap_or_default()
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
        format!("{WALLET}{environment}:{}:{}", party.party_id_type.as_str(), party.party_id.to_ascii_lowercase())
    }

    const WALLET: &str = "wallet:";

    /// Whether an account is a customer's wallet ([`wallet`]).
    pub fn is_wallet(account: &str) -> bool {
        account.starts_with(WALLET)
    }

    /// Where an API user's sandbox payouts are funded from when its account cannot cover them
    /// (no floor; bounded by the ledger's limit like every account, per user).
    pub fn sandbox_funding(api_user: &str) -> String {
        format!("system:sandbox:funding:{api_user}")
    }

    /// Where opening balances and operator adjustments come from (no floor).
    pub fn issuance(environment: &str) -> String {
        format!("system:{environment}:issuance")
    }

    /// A service provider paid through `CreatePayments`.
    pub fn provider(environment: &str, name: &str) -> String {
        format!("provider:{environment}:{}", name.to_ascii_lowercase())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn financial_transaction_ids_are_ten_digits() {
        let id = financial_transaction_id();
        assert_eq!(id.len(), 10);
        assert!(id.bytes().all(|b| b.is_ascii_digit()));
    }
}
