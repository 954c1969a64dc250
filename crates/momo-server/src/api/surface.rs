//! Every operation of MTN's MoMo Open API, in one table.
//!
//! The router is built from this table: implemented operations get their handler, the others
//! answer 501 `NOT_IMPLEMENTED` in MoMo's error shape. `docs/compatibility.md` lists the same
//! operations; a test checks both agree.
//!
//! Routes use one parameter name per position (`{referenceId}` where MTN's exports vary between
//! `{x-referenceId}` and `{referenceId}`), and Remittance's
//! `/v1_0/accountholder/msisdn/{accountHolderMSISDN}/basicuserinfo` is routed through the
//! general `{accountHolderIdType}/{accountHolderId}` pattern. The two "clone" operations of the
//! Remittance export are portal debris and are left out.

use momo_types::Product;

/// One MoMo operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operation {
    /// `None` for sandbox provisioning, which has no product prefix.
    pub product: Option<Product>,
    pub method: &'static str,
    /// The route below the product prefix.
    pub route: &'static str,
    /// MTN's `operationId`.
    pub operation_id: &'static str,
    pub implemented: bool,
}

impl Operation {
    /// The full route, product prefix included.
    pub fn full_route(&self) -> String {
        match self.product {
            Some(product) => format!("/{product}{}", self.route),
            None => self.route.to_owned(),
        }
    }
}

const fn op(
    product: Option<Product>,
    method: &'static str,
    route: &'static str,
    operation_id: &'static str,
    implemented: bool,
) -> Operation {
    Operation { product, method, route, operation_id, implemented }
}

const C: Option<Product> = Some(Product::Collection);
const D: Option<Product> = Some(Product::Disbursement);
const R: Option<Product> = Some(Product::Remittance);

/// The table. Order: provisioning, then each product as in MTN's exports.
pub const OPERATIONS: &[Operation] = &[
    // Sandbox provisioning
    op(None, "POST", "/v1_0/apiuser", "post-v1_0-apiuser", true),
    op(None, "GET", "/v1_0/apiuser/{referenceId}", "get-v1_0-apiuser", true),
    op(None, "POST", "/v1_0/apiuser/{referenceId}/apikey", "post-v1_0-apiuser-apikey", true),
    // Collection
    op(C, "POST", "/token/", "CreateAccessToken", true),
    op(C, "GET", "/v1_0/account/balance", "GetAccountBalance", true),
    op(C, "GET", "/v1_0/account/balance/{currency}", "GetAccountBalanceInSpecificCurrency", true),
    op(
        C,
        "GET",
        "/v1_0/accountholder/{accountHolderIdType}/{accountHolderId}/active",
        "ValidateAccountHolderStatus",
        true,
    ),
    op(C, "GET", "/v1_0/accountholder/{accountHolderIdType}/{accountHolderId}/basicuserinfo", "GetBasicUserinfo", true),
    op(C, "POST", "/v1_0/requesttopay", "RequesttoPay", true),
    op(C, "GET", "/v1_0/requesttopay/{referenceId}", "RequesttoPayTransactionStatus", true),
    op(C, "POST", "/v1_0/requesttopay/{referenceId}/deliverynotification", "RequesttoPayDeliveryNotification", true),
    op(C, "POST", "/v1_0/requesttowithdraw", "RequestToWithdraw-V1", true),
    op(C, "POST", "/v2_0/requesttowithdraw", "RequestToWithdraw-V2", true),
    op(C, "GET", "/v1_0/requesttowithdraw/{referenceId}", "RequestToWithdrawTransactionStatus", true),
    op(C, "POST", "/v2_0/invoice", "CreateInvoice", true),
    op(C, "GET", "/v2_0/invoice/{referenceId}", "GetInvoiceStatus", true),
    op(C, "DELETE", "/v2_0/invoice/{referenceId}", "CancelInvoice", true),
    op(C, "POST", "/v2_0/preapproval", "PreApproval", true),
    op(C, "GET", "/v2_0/preapproval/{referenceId}", "GetPreApprovalStatus", true),
    op(C, "GET", "/v1_0/preapprovals/{accountHolderIdType}/{accountHolderId}", "GetApprovedPreApprovals", true),
    op(C, "DELETE", "/v1_0/preapproval/{preapprovalid}", "CancelPreApproval", true),
    op(C, "POST", "/v2_0/payment", "CreatePayments", true),
    op(C, "GET", "/v2_0/payment/{referenceId}", "GetPaymentStatus", true),
    op(C, "POST", "/v1_0/bc-authorize", "bc-authorize", true),
    op(C, "POST", "/oauth2/token/", "CreateOauth2Token", true),
    op(C, "GET", "/oauth2/v1_0/userinfo", "GetUserInfoWithConsent", true),
    // Disbursement
    op(D, "POST", "/token/", "CreateAccessToken", true),
    op(D, "GET", "/v1_0/account/balance", "GetAccountBalance", true),
    op(D, "GET", "/v1_0/account/balance/{currency}", "GetAccountBalanceInSpecificCurrency", true),
    op(
        D,
        "GET",
        "/v1_0/accountholder/{accountHolderIdType}/{accountHolderId}/active",
        "ValidateAccountHolderStatus",
        true,
    ),
    op(D, "GET", "/v1_0/accountholder/{accountHolderIdType}/{accountHolderId}/basicuserinfo", "GetBasicUserinfo", true),
    op(D, "POST", "/v1_0/transfer", "Transfer", true),
    op(D, "GET", "/v1_0/transfer/{referenceId}", "GetTransferStatus", true),
    op(D, "POST", "/v1_0/deposit", "Deposit-V1", true),
    op(D, "POST", "/v2_0/deposit", "Deposit-V2", true),
    op(D, "GET", "/v1_0/deposit/{referenceId}", "GetDepositStatus", true),
    op(D, "POST", "/v1_0/refund", "Refund-V1", true),
    op(D, "POST", "/v2_0/refund", "Refund-V2", true),
    op(D, "GET", "/v1_0/refund/{referenceId}", "GetRefundStatus", true),
    op(D, "POST", "/v1_0/bc-authorize", "bc-authorize", true),
    op(D, "POST", "/oauth2/token/", "CreateOauth2Token", true),
    op(D, "GET", "/oauth2/v1_0/userinfo", "GetUserInfoWithConsent", true),
    // Remittance
    op(R, "POST", "/token/", "CreateAccessToken", true),
    op(R, "GET", "/v1_0/account/balance", "GetAccountBalance", true),
    op(R, "GET", "/v1_0/account/balance/{currency}", "GetAccountBalanceInSpecificCurrency", true),
    op(
        R,
        "GET",
        "/v1_0/accountholder/{accountHolderIdType}/{accountHolderId}/active",
        "ValidateAccountHolderStatus",
        true,
    ),
    op(R, "GET", "/v1_0/accountholder/{accountHolderIdType}/{accountHolderId}/basicuserinfo", "GetBasicUserinfo", true),
    op(R, "POST", "/v1_0/transfer", "Transfer", true),
    op(R, "GET", "/v1_0/transfer/{referenceId}", "GetTransferStatus", true),
    op(R, "POST", "/v2_0/cashtransfer", "CashTransfer", true),
    op(R, "GET", "/v2_0/cashtransfer/{referenceId}", "GetCashTransferStatus", true),
    op(R, "POST", "/v1_0/bc-authorize", "bc-authorize", true),
    op(R, "POST", "/oauth2/token/", "CreateOauth2Token", true),
    op(R, "GET", "/oauth2/v1_0/userinfo", "GetUserInfoWithConsent", true),
];
