//! Payment requests and their status bodies (Collection, Disbursement, Remittance).
//!
//! Field order in the result structs is the order MTN's sandbox writes (docs/compatibility.md), so a
//! serialised status body matches MTN's byte for byte. Amounts, currencies and MSISDNs are
//! [`Amount`], [`Currency`] and [`Msisdn`]: their text is echoed exactly as sent.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{ErrorCode, ErrorReason};
use crate::money::{Amount, Currency};
use crate::msisdn::Msisdn;

/// How a party is identified. MTN may add a type: one this crate does not know decodes as
/// [`PartyIdType::Unknown`] and is written back as sent.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PartyIdType {
    /// Phone number with country code, digits only (`46733123450`).
    Msisdn,
    Email,
    /// A UUID.
    PartyCode,
    /// A type this crate does not know, kept as sent.
    Unknown(String),
}

impl PartyIdType {
    /// The type as MTN writes it (`MSISDN`, `EMAIL`, `PARTY_CODE`), or an unknown one as received.
    pub fn as_str(&self) -> &str {
        match self {
            PartyIdType::Msisdn => "MSISDN",
            PartyIdType::Email => "EMAIL",
            PartyIdType::PartyCode => "PARTY_CODE",
            PartyIdType::Unknown(s) => s,
        }
    }
}

/// MTN's spelling and the ones real clients send (`msisdn`, `Msisdn`, `email`, `Email`,
/// `party_code`); anything else is [`PartyIdType::Unknown`].
impl From<&str> for PartyIdType {
    fn from(s: &str) -> Self {
        match s {
            "MSISDN" | "msisdn" | "Msisdn" => PartyIdType::Msisdn,
            "EMAIL" | "email" | "Email" => PartyIdType::Email,
            "PARTY_CODE" | "party_code" => PartyIdType::PartyCode,
            other => PartyIdType::Unknown(other.to_owned()),
        }
    }
}

wire_string!(PartyIdType);

/// A payer or payee. The id is text: what it must be depends on the type (an [`Msisdn`] for
/// `MSISDN`), and MTN may add types.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Party {
    pub party_id_type: PartyIdType,
    pub party_id: String,
}

impl Party {
    /// A party identified by its phone number.
    pub fn msisdn(number: Msisdn) -> Self {
        Party { party_id_type: PartyIdType::Msisdn, party_id: number.as_str().to_owned() }
    }
}

/// A transaction's state. MTN may add a status: one this crate does not know decodes as
/// [`TransactionStatus::Unknown`], is written back as sent, and is not final.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransactionStatus {
    Created,
    Pending,
    Successful,
    Failed,
    /// A status this crate does not know, kept as sent.
    Unknown(String),
}

impl TransactionStatus {
    /// The status as it appears on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            TransactionStatus::Created => "CREATED",
            TransactionStatus::Pending => "PENDING",
            TransactionStatus::Successful => "SUCCESSFUL",
            TransactionStatus::Failed => "FAILED",
            TransactionStatus::Unknown(s) => s,
        }
    }

    /// A status this crate knows, or `None` (use `From<&str>` to keep an unknown one instead).
    pub fn parse(s: &str) -> Option<Self> {
        match TransactionStatus::from(s) {
            TransactionStatus::Unknown(_) => None,
            known => Some(known),
        }
    }

    /// Whether no further change will come: `SUCCESSFUL` or `FAILED`. An unknown status is not
    /// final, so a caller waiting for the outcome keeps asking.
    pub fn is_final(&self) -> bool {
        matches!(self, TransactionStatus::Successful | TransactionStatus::Failed)
    }
}

impl From<&str> for TransactionStatus {
    fn from(s: &str) -> Self {
        match s {
            "CREATED" => TransactionStatus::Created,
            "PENDING" => TransactionStatus::Pending,
            "SUCCESSFUL" => TransactionStatus::Successful,
            "FAILED" => TransactionStatus::Failed,
            other => TransactionStatus::Unknown(other.to_owned()),
        }
    }
}

wire_string!(TransactionStatus);

/// Why a transaction failed. MTN sends it in two shapes (docs/compatibility.md): the spec's object
/// `{"code":…,"message":…}` and, in status and callback bodies since 2023, a bare string.
/// Both decode; each serialises back in its own shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    Code(ErrorCode),
    Object(ErrorReason),
}

impl Reason {
    pub fn code(&self) -> &ErrorCode {
        match self {
            Reason::Code(code) => code,
            Reason::Object(reason) => &reason.code,
        }
    }
}

impl Serialize for Reason {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Reason::Code(code) => code.serialize(serializer),
            Reason::Object(reason) => reason.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for Reason {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Shape {
            Code(ErrorCode),
            Object(ErrorReason),
        }
        Ok(match Shape::deserialize(deserializer)? {
            Shape::Code(code) => Reason::Code(code),
            Shape::Object(reason) => Reason::Object(reason),
        })
    }
}

/// `POST /collection/v1_0/requesttopay` and `…/requesttowithdraw`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct RequestToPay {
    pub amount: Amount,
    pub currency: Currency,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    pub payer: Party,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer_message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payee_note: Option<String>,
}

/// `POST /{disbursement,remittance}/v1_0/transfer` and `…/deposit`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Transfer {
    pub amount: Amount,
    pub currency: Currency,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    pub payee: Party,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer_message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payee_note: Option<String>,
}

/// `POST /disbursement/v1_0/refund`: money back to the payer of a request to pay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Refund {
    pub amount: Amount,
    pub currency: Currency,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer_message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payee_note: Option<String>,
    pub reference_id_to_refund: String,
}

/// The status of a request to pay or to withdraw, in the sandbox's key order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct RequestToPayResult {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub financial_transaction_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    pub amount: Amount,
    pub currency: Currency,
    pub payer: Party,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer_message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payee_note: Option<String>,
    pub status: TransactionStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Reason>,
}

/// The status of a transfer, in the sandbox's key order (amount first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct TransferResult {
    pub amount: Amount,
    pub currency: Currency,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub financial_transaction_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    pub payee: Party,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer_message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payee_note: Option<String>,
    pub status: TransactionStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Reason>,
}

/// The status of a deposit or a refund (`financialTransactionId`, once successful, then
/// `externalId`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct DepositResult {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub financial_transaction_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    pub amount: Amount,
    pub currency: Currency,
    pub payee: Party,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer_message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payee_note: Option<String>,
    pub status: TransactionStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Reason>,
}

/// `GET …/accountholder/{type}/{id}/active`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct BooleanResult {
    pub result: bool,
}

/// `POST …/requesttopay/{id}/deliverynotification`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct DeliveryNotification {
    pub notification_message: String,
}

/// `POST /collection/v2_0/invoice`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct CreateInvoice {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    pub amount: Amount,
    pub currency: Currency,
    /// Seconds the invoice stays payable (a string on the wire).
    pub validity_duration: String,
    pub intended_payer: Party,
    pub payee: Party,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// The status of an invoice, in the sandbox's key order. Its failure field is `errorReason`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct InvoiceResult {
    pub reference_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    pub amount: Amount,
    pub currency: Currency,
    pub status: TransactionStatus,
    pub payment_reference: String,
    pub invoice_id: String,
    pub expiry_date_time: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_reason: Option<Reason>,
    pub intended_payer: Party,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// `DELETE /collection/v2_0/invoice/{referenceId}`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct CancelInvoice {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
}

/// `POST /collection/v2_0/preapproval`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct PreApproval {
    pub payer: Party,
    pub payer_currency: Currency,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer_message: Option<String>,
    /// Seconds the pre-approval is valid.
    pub validity_time: u64,
}

/// The status of a pre-approval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct PreApprovalResult {
    pub payer: Party,
    pub payer_currency: Currency,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer_message: Option<String>,
    pub status: TransactionStatus,
    /// `YYYY-MM-DDTHH:mm:SS` (the spec types it as an integer; the description and the wire say a string).
    pub expiration_date_time: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Reason>,
}

/// One approved pre-approval, as `GET /collection/v1_0/preapprovals/{type}/{id}` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct PreApprovalDetails {
    pub pre_approval_id: String,
    pub to_fri: String,
    pub from_fri: String,
    pub from_currency: Currency,
    pub created_time: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiry_time: Option<String>,
    /// `APPROVED`, `CANCELLED`, `EXPIRED`, `REJECTED` or `PENDING`.
    pub status: String,
    pub message: String,
}

/// An amount with its currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Money {
    pub amount: Amount,
    pub currency: Currency,
}

/// `POST /collection/v2_0/payment`: pay a service provider from the API user's account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct CreatePayments {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_transaction_id: Option<String>,
    pub money: Money,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_reference: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_provider_user_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coupon_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_offering_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receiver_message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender_note: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_number_of_retries: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_sender_charges: Option<bool>,
}

impl CreatePayments {
    /// A payment of `money` with no optional field set.
    pub fn new(money: Money) -> Self {
        CreatePayments {
            external_transaction_id: None,
            money,
            customer_reference: None,
            service_provider_user_name: None,
            coupon_id: None,
            product_id: None,
            product_offering_id: None,
            receiver_message: None,
            sender_note: None,
            max_number_of_retries: None,
            include_sender_charges: None,
        }
    }
}

/// The status of a payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct PaymentResult {
    pub reference_id: String,
    pub status: TransactionStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub financial_transaction_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Reason>,
}

/// `POST /remittance/v2_0/cashtransfer`. Field spellings are the spec's (`orginatingCountry`,
/// `payerSurName`); the other spellings integrators report are read too.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct CashTransfer {
    pub amount: Amount,
    pub currency: Currency,
    pub payee: Party,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", alias = "originatingCountry")]
    pub orginating_country: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_amount: Option<Amount>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_currency: Option<Currency>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer_message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payee_note: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer_identification_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer_identification_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer_identity: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer_first_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", alias = "payerSurname")]
    pub payer_sur_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer_language_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer_email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer_msisdn: Option<Msisdn>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer_gender: Option<String>,
}

impl CashTransfer {
    /// A cash transfer of `amount` `currency` to `payee` with no optional field set.
    pub fn new(amount: Amount, currency: Currency, payee: Party) -> Self {
        CashTransfer {
            amount,
            currency,
            payee,
            external_id: None,
            orginating_country: None,
            original_amount: None,
            original_currency: None,
            payer_message: None,
            payee_note: None,
            payer_identification_type: None,
            payer_identification_number: None,
            payer_identity: None,
            payer_first_name: None,
            payer_sur_name: None,
            payer_language_code: None,
            payer_email: None,
            payer_msisdn: None,
            payer_gender: None,
        }
    }
}

/// The status of a cash transfer: the result fields first, as the spec's `CashTransferResult`
/// lists them (`financialTransactionId`, `status`, `reason`, a string), then its request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct CashTransferResult {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub financial_transaction_id: Option<String>,
    pub status: TransactionStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Reason>,
    #[serde(flatten)]
    pub request: CashTransfer,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_reason_shapes_decode_and_keep_their_shape() {
        let bare: Reason = serde_json::from_str(r#""NOT_ENOUGH_FUNDS""#).unwrap();
        assert_eq!(bare.code(), &ErrorCode::NotEnoughFunds);
        assert_eq!(serde_json::to_string(&bare).unwrap(), r#""NOT_ENOUGH_FUNDS""#);
        let object: Reason =
            serde_json::from_str(r#"{"code":"PAYER_NOT_FOUND","message":"Payer does not exist"}"#).unwrap();
        assert_eq!(object.code(), &ErrorCode::PayerNotFound);
        assert_eq!(
            serde_json::to_string(&object).unwrap(),
            r#"{"code":"PAYER_NOT_FOUND","message":"Payer does not exist"}"#
        );
    }

    #[test]
    fn a_request_to_pay_status_has_the_sandboxs_key_order() {
        let result = RequestToPayResult {
            financial_transaction_id: Some("1195582132".into()),
            external_id: Some("79853abc".into()),
            amount: Amount::parse("50000").unwrap(),
            currency: Currency::parse("EUR").unwrap(),
            payer: Party::msisdn(Msisdn::parse("56733123452").unwrap()),
            payer_message: Some("MoMo Debit API".into()),
            payee_note: Some("MoMo Debit API".into()),
            status: TransactionStatus::Successful,
            reason: None,
        };
        assert_eq!(
            serde_json::to_string(&result).unwrap(),
            r#"{"financialTransactionId":"1195582132","externalId":"79853abc","amount":"50000","currency":"EUR","payer":{"partyIdType":"MSISDN","partyId":"56733123452"},"payerMessage":"MoMo Debit API","payeeNote":"MoMo Debit API","status":"SUCCESSFUL"}"#
        );
    }

    #[test]
    fn a_cash_transfer_status_starts_with_its_result_fields() {
        let mut request = CashTransfer::new(
            Amount::parse("100").unwrap(),
            Currency::parse("EUR").unwrap(),
            Party::msisdn(Msisdn::parse("46733123450").unwrap()),
        );
        request.external_id = Some("83453".into());
        request.payer_message = Some("Hello".into());
        let result = CashTransferResult {
            financial_transaction_id: Some("363440463".into()),
            status: TransactionStatus::Successful,
            reason: None,
            request,
        };
        assert_eq!(
            serde_json::to_string(&result).unwrap(),
            r#"{"financialTransactionId":"363440463","status":"SUCCESSFUL","amount":"100","currency":"EUR","payee":{"partyIdType":"MSISDN","partyId":"46733123450"},"externalId":"83453","payerMessage":"Hello"}"#
        );
    }

    #[test]
    fn known_and_unknown_statuses_round_trip() {
        for (wire, status) in [
            ("\"SUCCESSFUL\"", TransactionStatus::Successful),
            ("\"SOMETHING_NEW\"", TransactionStatus::Unknown("SOMETHING_NEW".into())),
        ] {
            let decoded: TransactionStatus = serde_json::from_str(wire).unwrap();
            assert_eq!(decoded, status);
            assert_eq!(serde_json::to_string(&decoded).unwrap(), wire);
        }
        assert_eq!(TransactionStatus::parse("SOMETHING_NEW"), None);
        assert!(!TransactionStatus::Unknown("SOMETHING_NEW".into()).is_final());
    }

    #[test]
    fn known_and_unknown_party_types_round_trip() {
        for (wire, party_id_type) in
            [("\"PARTY_CODE\"", PartyIdType::PartyCode), ("\"ALIAS\"", PartyIdType::Unknown("ALIAS".into()))]
        {
            let decoded: PartyIdType = serde_json::from_str(wire).unwrap();
            assert_eq!(decoded, party_id_type);
            assert_eq!(serde_json::to_string(&decoded).unwrap(), wire);
        }
    }

    #[test]
    fn a_status_body_with_unknown_values_decodes_and_is_written_back_unchanged() {
        let wire = r#"{"financialTransactionId":"1","externalId":"e","amount":"5","currency":"EUR","payer":{"partyIdType":"ALIAS","partyId":"shop"},"status":"ON_HOLD","reason":"SOMETHING_NEW"}"#;
        let result: RequestToPayResult = serde_json::from_str(wire).unwrap();
        assert_eq!(result.status, TransactionStatus::Unknown("ON_HOLD".into()));
        assert_eq!(result.payer.party_id_type, PartyIdType::Unknown("ALIAS".into()));
        assert_eq!(serde_json::to_string(&result).unwrap(), wire);
        let cash =
            r#"{"status":"ON_HOLD","amount":"1","currency":"EUR","payee":{"partyIdType":"ALIAS","partyId":"x"}}"#;
        let result: CashTransferResult = serde_json::from_str(cash).unwrap();
        assert_eq!(serde_json::to_string(&result).unwrap(), cash);
    }

    #[test]
    fn odd_amounts_currencies_and_numbers_decode_and_are_written_back_unchanged() {
        // Strings MTN might send that are not well-formed: a client reading them must not fail.
        let wire = r#"{"amount":"1,000.00","currency":"eur","payee":{"partyIdType":"MSISDN","partyId":"+256 77"},"originalAmount":"1e3","originalCurrency":"","payerMsisdn":"+256-77"}"#;
        let request: CashTransfer = serde_json::from_str(wire).unwrap();
        assert_eq!((request.amount.as_str(), request.currency.as_str()), ("1,000.00", "eur"));
        assert!(Amount::parse(request.amount.as_str()).is_err() && Currency::parse(request.currency.as_str()).is_err());
        let payer_msisdn = request.payer_msisdn.as_ref().map(|number| Msisdn::parse(number.as_str()));
        assert_eq!(payer_msisdn, Some(Err(crate::MsisdnError::NotDigits)));
        assert_eq!(serde_json::to_string(&request).unwrap(), wire);
    }

    #[test]
    fn a_request_echoes_its_amount_as_written() {
        for amount in ["100", "100.50", "0100"] {
            let wire = format!(
                r#"{{"amount":"{amount}","currency":"EUR","payer":{{"partyIdType":"MSISDN","partyId":"46733123450"}}}}"#
            );
            let request: RequestToPay = serde_json::from_str(&wire).unwrap();
            assert_eq!(request.amount, Amount::parse(amount).unwrap());
            assert_eq!(serde_json::to_string(&request).unwrap(), wire);
        }
    }

    #[test]
    fn party_types_are_read_liberally() {
        for spelling in ["msisdn", "Msisdn", "MSISDN"] {
            let party: Party =
                serde_json::from_str(&format!(r#"{{"partyIdType":"{spelling}","partyId":"1"}}"#)).unwrap();
            assert_eq!(party.party_id_type, PartyIdType::Msisdn);
            assert_eq!(serde_json::to_string(&party).unwrap(), r#"{"partyIdType":"MSISDN","partyId":"1"}"#);
        }
    }
}
