//! Every operation of MTN's MoMo Open API, in one table, and the kinds of transaction.
//!
//! The server builds its router from [`OPERATIONS`] (implemented operations get their handler, the
//! others answer 501 `NOT_IMPLEMENTED` in MoMo's error shape) and the SDK builds its paths from
//! [`OperationName::path`]. `docs/compatibility.md` lists the same operations; a test of the server
//! checks both agree.
//!
//! Routes use one parameter name per position (`{referenceId}` where MTN's exports vary between
//! `{x-referenceId}` and `{referenceId}`), and Remittance's
//! `/v1_0/accountholder/msisdn/{accountHolderMSISDN}/basicuserinfo` is routed through the
//! general `{accountHolderIdType}/{accountHolderId}` pattern. The two "clone" operations of the
//! Remittance export are portal debris and are left out.
//!
//! Besides its route, the table says for each operation the method of the callback it sends
//! ([`OperationName::callback`]) and, for an operation that creates something, the operation
//! that reads it back ([`OperationName::status`]): the server's callbacks, the SDK's status
//! polling and the OpenAPI documents all read them from here.

use std::fmt;
use std::str::FromStr;

use crate::Product;

/// One MoMo operation, as offered by one product.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operation {
    /// Which operation it is (the same for each product that offers it).
    pub name: OperationName,
    /// `None` for sandbox provisioning, which has no product prefix.
    pub product: Option<Product>,
    pub method: &'static str,
    /// The route below the product prefix.
    pub route: &'static str,
    /// MTN's `operationId`.
    pub operation_id: &'static str,
    pub implemented: bool,
    /// The method of the callback it sends to `X-Callback-Url` (`None`: it sends none).
    pub callback: Option<CallbackMethod>,
    /// The operation that reads what it creates, in the same product (`None`: nothing to read).
    pub status: Option<OperationName>,
}

impl Operation {
    /// The full route, product prefix included.
    pub fn full_route(&self) -> String {
        match self.product {
            Some(product) => format!("/{product}{}", self.route),
            None => self.route.to_owned(),
        }
    }

    /// The kind of transaction it creates or reads, if any.
    pub fn kind(&self) -> Option<TransactionKind> {
        self.name.kind()
    }
}

/// The status operation of a `kind` of transaction in `product` (`None`: it has none there): the
/// [`Operation::status`] of the operations of `product` that create that kind.
pub fn status_operation(product: Product, kind: TransactionKind) -> Option<&'static Operation> {
    let status = OPERATIONS
        .iter()
        .filter(|op| op.product == Some(product) && op.kind() == Some(kind))
        .find_map(|op| op.status)?;
    OPERATIONS.iter().find(|op| op.product == Some(product) && op.name == status)
}

/// The version in an operation's route: `v1_0` or `v2_0`. v1 and v2 of an operation may differ in
/// their callback method (docs/mtn-behaviour.md, "Callbacks").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ApiVersion {
    V1,
    V2,
}

impl ApiVersion {
    /// The major version: 1 for `v1_0`, 2 for `v2_0`.
    pub fn number(self) -> i64 {
        match self {
            ApiVersion::V1 => 1,
            ApiVersion::V2 => 2,
        }
    }

    /// The version whose [`ApiVersion::number`] is `n`.
    pub fn from_number(n: i64) -> Option<ApiVersion> {
        [ApiVersion::V1, ApiVersion::V2].into_iter().find(|v| v.number() == n)
    }
}

/// The HTTP method of a callback. MTN's receivers must accept both (docs/mtn-behaviour.md,
/// "Callbacks"); which one an operation uses is in [`OperationName::callback`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallbackMethod {
    Put,
    Post,
}

impl CallbackMethod {
    /// The method as HTTP writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            CallbackMethod::Put => "PUT",
            CallbackMethod::Post => "POST",
        }
    }
}

impl fmt::Display for CallbackMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The name of each MoMo operation, whichever products offer it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OperationName {
    CreateApiUser,
    GetApiUser,
    CreateApiKey,
    CreateAccessToken,
    GetAccountBalance,
    GetAccountBalanceInSpecificCurrency,
    ValidateAccountHolderStatus,
    GetBasicUserinfo,
    RequestToPay,
    RequestToPayStatus,
    RequestToPayDeliveryNotification,
    RequestToWithdrawV1,
    RequestToWithdrawV2,
    RequestToWithdrawStatus,
    CreateInvoice,
    GetInvoiceStatus,
    CancelInvoice,
    PreApproval,
    GetPreApprovalStatus,
    GetApprovedPreApprovals,
    CancelPreApproval,
    CreatePayments,
    GetPaymentStatus,
    Transfer,
    GetTransferStatus,
    DepositV1,
    DepositV2,
    GetDepositStatus,
    RefundV1,
    RefundV2,
    GetRefundStatus,
    CashTransfer,
    GetCashTransferStatus,
    BcAuthorize,
    CreateOauth2Token,
    GetUserInfoWithConsent,
}

impl OperationName {
    /// What the table says about it: method, route (below the product prefix), MTN's
    /// `operationId`, then, where it has them, the operation that reads back what it creates
    /// ([`OperationName::status`]) and the method of its callback ([`OperationName::callback`]).
    ///
    /// Callback methods are MTN's definitions': POST for v1 withdrawals, deposits and refunds, PUT
    /// for their v2 and for invoices, pre-approvals and payments; MTN's 2018 pages: PUT for
    /// requests to pay and transfers. A cash transfer's is written "PORT" by MTN; openmomo sends
    /// PUT, as for every other v2 operation (docs/compatibility.md, "Callback method").
    const fn wire(self) -> Wire {
        use CallbackMethod::{Post, Put};
        use OperationName as N;
        match self {
            N::CreateApiUser => wire("POST", "/v1_0/apiuser", "post-v1_0-apiuser").read_by(N::GetApiUser),
            N::GetApiUser => wire("GET", "/v1_0/apiuser/{referenceId}", "get-v1_0-apiuser"),
            N::CreateApiKey => wire("POST", "/v1_0/apiuser/{referenceId}/apikey", "post-v1_0-apiuser-apikey"),
            N::CreateAccessToken => wire("POST", "/token/", "CreateAccessToken"),
            N::GetAccountBalance => wire("GET", "/v1_0/account/balance", "GetAccountBalance"),
            N::GetAccountBalanceInSpecificCurrency => {
                wire("GET", "/v1_0/account/balance/{currency}", "GetAccountBalanceInSpecificCurrency")
            }
            N::ValidateAccountHolderStatus => wire(
                "GET",
                "/v1_0/accountholder/{accountHolderIdType}/{accountHolderId}/active",
                "ValidateAccountHolderStatus",
            ),
            N::GetBasicUserinfo => wire(
                "GET",
                "/v1_0/accountholder/{accountHolderIdType}/{accountHolderId}/basicuserinfo",
                "GetBasicUserinfo",
            ),
            N::RequestToPay => {
                wire("POST", "/v1_0/requesttopay", "RequesttoPay").read_by(N::RequestToPayStatus).calls_back(Put)
            }
            N::RequestToPayStatus => wire("GET", "/v1_0/requesttopay/{referenceId}", "RequesttoPayTransactionStatus"),
            N::RequestToPayDeliveryNotification => wire(
                "POST",
                "/v1_0/requesttopay/{referenceId}/deliverynotification",
                "RequesttoPayDeliveryNotification",
            ),
            N::RequestToWithdrawV1 => wire("POST", "/v1_0/requesttowithdraw", "RequestToWithdraw-V1")
                .read_by(N::RequestToWithdrawStatus)
                .calls_back(Post),
            N::RequestToWithdrawV2 => wire("POST", "/v2_0/requesttowithdraw", "RequestToWithdraw-V2")
                .read_by(N::RequestToWithdrawStatus)
                .calls_back(Put),
            N::RequestToWithdrawStatus => {
                wire("GET", "/v1_0/requesttowithdraw/{referenceId}", "RequestToWithdrawTransactionStatus")
            }
            N::CreateInvoice => {
                wire("POST", "/v2_0/invoice", "CreateInvoice").read_by(N::GetInvoiceStatus).calls_back(Put)
            }
            N::GetInvoiceStatus => wire("GET", "/v2_0/invoice/{referenceId}", "GetInvoiceStatus"),
            // What a cancellation did shows in the invoice's own status: nothing to read back.
            N::CancelInvoice => wire("DELETE", "/v2_0/invoice/{referenceId}", "CancelInvoice").calls_back(Put),
            N::PreApproval => {
                wire("POST", "/v2_0/preapproval", "PreApproval").read_by(N::GetPreApprovalStatus).calls_back(Put)
            }
            N::GetPreApprovalStatus => wire("GET", "/v2_0/preapproval/{referenceId}", "GetPreApprovalStatus"),
            N::GetApprovedPreApprovals => {
                wire("GET", "/v1_0/preapprovals/{accountHolderIdType}/{accountHolderId}", "GetApprovedPreApprovals")
            }
            N::CancelPreApproval => wire("DELETE", "/v1_0/preapproval/{preapprovalid}", "CancelPreApproval"),
            N::CreatePayments => {
                wire("POST", "/v2_0/payment", "CreatePayments").read_by(N::GetPaymentStatus).calls_back(Put)
            }
            N::GetPaymentStatus => wire("GET", "/v2_0/payment/{referenceId}", "GetPaymentStatus"),
            N::Transfer => wire("POST", "/v1_0/transfer", "Transfer").read_by(N::GetTransferStatus).calls_back(Put),
            N::GetTransferStatus => wire("GET", "/v1_0/transfer/{referenceId}", "GetTransferStatus"),
            N::DepositV1 => wire("POST", "/v1_0/deposit", "Deposit-V1").read_by(N::GetDepositStatus).calls_back(Post),
            N::DepositV2 => wire("POST", "/v2_0/deposit", "Deposit-V2").read_by(N::GetDepositStatus).calls_back(Put),
            N::GetDepositStatus => wire("GET", "/v1_0/deposit/{referenceId}", "GetDepositStatus"),
            N::RefundV1 => wire("POST", "/v1_0/refund", "Refund-V1").read_by(N::GetRefundStatus).calls_back(Post),
            N::RefundV2 => wire("POST", "/v2_0/refund", "Refund-V2").read_by(N::GetRefundStatus).calls_back(Put),
            N::GetRefundStatus => wire("GET", "/v1_0/refund/{referenceId}", "GetRefundStatus"),
            N::CashTransfer => {
                wire("POST", "/v2_0/cashtransfer", "CashTransfer").read_by(N::GetCashTransferStatus).calls_back(Put)
            }
            N::GetCashTransferStatus => wire("GET", "/v2_0/cashtransfer/{referenceId}", "GetCashTransferStatus"),
            N::BcAuthorize => wire("POST", "/v1_0/bc-authorize", "bc-authorize"),
            N::CreateOauth2Token => wire("POST", "/oauth2/token/", "CreateOauth2Token"),
            N::GetUserInfoWithConsent => wire("GET", "/oauth2/v1_0/userinfo", "GetUserInfoWithConsent"),
        }
    }

    /// The method of the callback it sends to `X-Callback-Url` (`None`: it sends none).
    pub const fn callback(self) -> Option<CallbackMethod> {
        self.wire().callback
    }

    /// For an operation that creates something under its `X-Reference-Id`, the operation that
    /// reads it back with that id.
    pub const fn status(self) -> Option<OperationName> {
        self.wire().status
    }

    /// The route below the product prefix, with `{…}` where a parameter goes.
    pub const fn route(self) -> &'static str {
        self.wire().route
    }

    /// The path below the product prefix: the route with its `{…}` parameters replaced by
    /// `params`, in order (a missing one leaves its placeholder).
    pub fn path(self, params: &[&str]) -> String {
        fill_route(self.route(), params)
    }

    /// The version in its route (`None` for the token paths, which have none).
    pub fn version(self) -> Option<ApiVersion> {
        self.route().split('/').find_map(|segment| match segment {
            "v1_0" => Some(ApiVersion::V1),
            "v2_0" => Some(ApiVersion::V2),
            _ => None,
        })
    }

    /// The kind of transaction it creates or reads the status of, if any.
    pub const fn kind(self) -> Option<TransactionKind> {
        use OperationName as N;
        use TransactionKind as K;
        Some(match self {
            N::RequestToPay | N::RequestToPayStatus => K::RequestToPay,
            N::RequestToWithdrawV1 | N::RequestToWithdrawV2 | N::RequestToWithdrawStatus => K::RequestToWithdraw,
            N::CreateInvoice | N::GetInvoiceStatus => K::Invoice,
            N::CancelInvoice => K::InvoiceCancellation,
            N::PreApproval | N::GetPreApprovalStatus => K::PreApproval,
            N::CreatePayments | N::GetPaymentStatus => K::Payment,
            N::Transfer | N::GetTransferStatus => K::Transfer,
            N::DepositV1 | N::DepositV2 | N::GetDepositStatus => K::Deposit,
            N::RefundV1 | N::RefundV2 | N::GetRefundStatus => K::Refund,
            N::CashTransfer | N::GetCashTransferStatus => K::CashTransfer,
            N::CreateApiUser
            | N::GetApiUser
            | N::CreateApiKey
            | N::CreateAccessToken
            | N::GetAccountBalance
            | N::GetAccountBalanceInSpecificCurrency
            | N::ValidateAccountHolderStatus
            | N::GetBasicUserinfo
            | N::RequestToPayDeliveryNotification
            | N::GetApprovedPreApprovals
            | N::CancelPreApproval
            | N::BcAuthorize
            | N::CreateOauth2Token
            | N::GetUserInfoWithConsent => return None,
        })
    }
}

/// One row of the table, before the product: see [`OperationName::wire`].
struct Wire {
    method: &'static str,
    route: &'static str,
    operation_id: &'static str,
    status: Option<OperationName>,
    callback: Option<CallbackMethod>,
}

/// An operation that creates nothing and calls nobody back.
const fn wire(method: &'static str, route: &'static str, operation_id: &'static str) -> Wire {
    Wire { method, route, operation_id, status: None, callback: None }
}

impl Wire {
    const fn read_by(self, status: OperationName) -> Wire {
        Wire { status: Some(status), ..self }
    }

    const fn calls_back(self, method: CallbackMethod) -> Wire {
        Wire { callback: Some(method), ..self }
    }
}

/// An implemented operation of `product` (`None`: provisioning).
const fn op(product: Option<Product>, name: OperationName) -> Operation {
    let Wire { method, route, operation_id, status, callback } = name.wire();
    Operation { name, product, method, route, operation_id, implemented: true, callback, status }
}

const P: Option<Product> = None;
const C: Option<Product> = Some(Product::Collection);
const D: Option<Product> = Some(Product::Disbursement);
const R: Option<Product> = Some(Product::Remittance);

/// The table. Order: provisioning, then each product as in MTN's exports.
pub const OPERATIONS: &[Operation] = {
    use OperationName as N;
    &[
        // Sandbox provisioning
        op(P, N::CreateApiUser),
        op(P, N::GetApiUser),
        op(P, N::CreateApiKey),
        // Collection
        op(C, N::CreateAccessToken),
        op(C, N::GetAccountBalance),
        op(C, N::GetAccountBalanceInSpecificCurrency),
        op(C, N::ValidateAccountHolderStatus),
        op(C, N::GetBasicUserinfo),
        op(C, N::RequestToPay),
        op(C, N::RequestToPayStatus),
        op(C, N::RequestToPayDeliveryNotification),
        op(C, N::RequestToWithdrawV1),
        op(C, N::RequestToWithdrawV2),
        op(C, N::RequestToWithdrawStatus),
        op(C, N::CreateInvoice),
        op(C, N::GetInvoiceStatus),
        op(C, N::CancelInvoice),
        op(C, N::PreApproval),
        op(C, N::GetPreApprovalStatus),
        op(C, N::GetApprovedPreApprovals),
        op(C, N::CancelPreApproval),
        op(C, N::CreatePayments),
        op(C, N::GetPaymentStatus),
        op(C, N::BcAuthorize),
        op(C, N::CreateOauth2Token),
        op(C, N::GetUserInfoWithConsent),
        // Disbursement
        op(D, N::CreateAccessToken),
        op(D, N::GetAccountBalance),
        op(D, N::GetAccountBalanceInSpecificCurrency),
        op(D, N::ValidateAccountHolderStatus),
        op(D, N::GetBasicUserinfo),
        op(D, N::Transfer),
        op(D, N::GetTransferStatus),
        op(D, N::DepositV1),
        op(D, N::DepositV2),
        op(D, N::GetDepositStatus),
        op(D, N::RefundV1),
        op(D, N::RefundV2),
        op(D, N::GetRefundStatus),
        op(D, N::BcAuthorize),
        op(D, N::CreateOauth2Token),
        op(D, N::GetUserInfoWithConsent),
        // Remittance
        op(R, N::CreateAccessToken),
        op(R, N::GetAccountBalance),
        op(R, N::GetAccountBalanceInSpecificCurrency),
        op(R, N::ValidateAccountHolderStatus),
        op(R, N::GetBasicUserinfo),
        op(R, N::Transfer),
        op(R, N::GetTransferStatus),
        op(R, N::CashTransfer),
        op(R, N::GetCashTransferStatus),
        op(R, N::BcAuthorize),
        op(R, N::CreateOauth2Token),
        op(R, N::GetUserInfoWithConsent),
    ]
};

/// A kind of transaction, as its status path names it (`/v1_0/requesttopay/{referenceId}` is a
/// [`TransactionKind::RequestToPay`]). v1 and v2 of an operation share one kind, and so one status
/// endpoint and one reference-id space; a transfer is one kind in Disbursement and Remittance.
///
/// Not `#[non_exhaustive]`: this is openmomo's list of MoMo's endpoints, never decoded from an
/// answer of MTN, and code that matches on it should have to decide what a new kind does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransactionKind {
    RequestToPay,
    RequestToWithdraw,
    Transfer,
    Deposit,
    Refund,
    Invoice,
    PreApproval,
    Payment,
    CashTransfer,
    /// A `DELETE …/invoice/{id}`: it has its own `X-Reference-Id` and callback, but no status
    /// endpoint of its own.
    InvoiceCancellation,
}

impl TransactionKind {
    /// Every kind.
    pub const ALL: [TransactionKind; 10] = [
        TransactionKind::RequestToPay,
        TransactionKind::RequestToWithdraw,
        TransactionKind::Transfer,
        TransactionKind::Deposit,
        TransactionKind::Refund,
        TransactionKind::Invoice,
        TransactionKind::PreApproval,
        TransactionKind::Payment,
        TransactionKind::CashTransfer,
        TransactionKind::InvoiceCancellation,
    ];

    /// The name: the status path's segment (`requesttopay`), or `invoicecancellation`.
    pub fn as_str(self) -> &'static str {
        match self {
            TransactionKind::RequestToPay => "requesttopay",
            TransactionKind::RequestToWithdraw => "requesttowithdraw",
            TransactionKind::Transfer => "transfer",
            TransactionKind::Deposit => "deposit",
            TransactionKind::Refund => "refund",
            TransactionKind::Invoice => "invoice",
            TransactionKind::PreApproval => "preapproval",
            TransactionKind::Payment => "payment",
            TransactionKind::CashTransfer => "cashtransfer",
            TransactionKind::InvoiceCancellation => "invoicecancellation",
        }
    }

    /// The method of the callback of a transaction of this kind created through `version`
    /// (`None`: no operation of the table creates such a transaction, or it sends no callback).
    pub fn callback_method(self, version: ApiVersion) -> Option<CallbackMethod> {
        OPERATIONS
            .iter()
            .filter(|op| op.kind() == Some(self) && op.name.version() == Some(version))
            .find_map(|op| op.callback)
    }

    /// The kind named exactly `s` (as [`TransactionKind::as_str`] writes it).
    pub fn parse(s: &str) -> Option<TransactionKind> {
        TransactionKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl fmt::Display for TransactionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error for a string that names no kind of transaction.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a kind of transaction")]
pub struct UnknownTransactionKind(pub String);

impl FromStr for TransactionKind {
    type Err = UnknownTransactionKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TransactionKind::parse(s).ok_or_else(|| UnknownTransactionKind(s.to_owned()))
    }
}

/// `route` with its `{…}` placeholders replaced by `params` in order (a placeholder without a
/// parameter stays as it is). The caller encodes the parameters.
pub(crate) fn fill_route(route: &str, params: &[&str]) -> String {
    let mut params = params.iter();
    let mut path = String::new();
    let mut rest = route;
    while let Some(open) = rest.find('{') {
        let close = rest[open..].find('}').map_or(rest.len(), |i| open + i + 1);
        path.push_str(&rest[..open]);
        path.push_str(params.next().copied().unwrap_or(&rest[open..close]));
        rest = &rest[close..];
    }
    path.push_str(rest);
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_roundtrip_through_their_names() {
        for kind in TransactionKind::ALL {
            assert_eq!(kind.to_string().parse::<TransactionKind>(), Ok(kind));
        }
        assert_eq!(TransactionKind::parse("RequestToPay"), None);
    }

    #[test]
    fn paths_fill_the_route_parameters_in_order() {
        assert_eq!(
            OperationName::GetBasicUserinfo.path(&["msisdn", "4673"]),
            "/v1_0/accountholder/msisdn/4673/basicuserinfo"
        );
        assert_eq!(OperationName::RequestToPay.path(&[]), "/v1_0/requesttopay");
        assert_eq!(OperationName::GetApiUser.path(&[]), "/v1_0/apiuser/{referenceId}");
    }

    #[test]
    fn every_kind_but_a_cancellation_has_a_status_operation() {
        for kind in TransactionKind::ALL {
            let products: Vec<_> = Product::ALL.into_iter().filter(|p| status_operation(*p, kind).is_some()).collect();
            assert_eq!(products.is_empty(), kind == TransactionKind::InvoiceCancellation, "{kind}");
        }
        assert!(status_operation(Product::Remittance, TransactionKind::Transfer).is_some());
        assert!(status_operation(Product::Collection, TransactionKind::Transfer).is_none());
    }

    #[test]
    fn each_creating_operation_reads_back_through_a_get_of_its_kind_in_its_product() {
        for op in OPERATIONS.iter().filter(|op| op.status.is_some()) {
            let status = OPERATIONS.iter().find(|s| Some(s.name) == op.status && s.product == op.product);
            let status = status.unwrap_or_else(|| panic!("{:?} has no {:?} in its product", op.name, op.status));
            assert_eq!((status.method, status.kind()), ("GET", op.kind()), "{:?}", op.name);
            assert!(status.route.ends_with("/{referenceId}"), "{:?}", op.name);
        }
    }

    #[test]
    fn callback_methods_follow_mtns_table_per_version() {
        use CallbackMethod::{Post, Put};
        use TransactionKind as K;
        for (kind, version, method) in [
            (K::RequestToPay, ApiVersion::V1, Some(Put)),
            (K::RequestToWithdraw, ApiVersion::V1, Some(Post)),
            (K::RequestToWithdraw, ApiVersion::V2, Some(Put)),
            (K::Transfer, ApiVersion::V1, Some(Put)),
            (K::Deposit, ApiVersion::V1, Some(Post)),
            (K::Deposit, ApiVersion::V2, Some(Put)),
            (K::Refund, ApiVersion::V1, Some(Post)),
            (K::Refund, ApiVersion::V2, Some(Put)),
            (K::Invoice, ApiVersion::V2, Some(Put)),
            (K::InvoiceCancellation, ApiVersion::V2, Some(Put)),
            (K::PreApproval, ApiVersion::V2, Some(Put)),
            (K::Payment, ApiVersion::V2, Some(Put)),
            (K::CashTransfer, ApiVersion::V2, Some(Put)),
            (K::Transfer, ApiVersion::V2, None),
        ] {
            assert_eq!(kind.callback_method(version), method, "{kind} {version:?}");
        }
    }

    #[test]
    fn only_operations_that_take_an_x_reference_id_for_a_transaction_call_back() {
        for op in OPERATIONS {
            let creates_a_transaction = op.kind().is_some() && op.method != "GET";
            assert_eq!(op.callback.is_some(), creates_a_transaction, "{:?}", op.name);
        }
    }
}
