//! The MoMo Open API, one module per upstream area. [`surface`] is the table of every
//! operation; [`router`] turns it into routes.

pub(crate) mod account;
pub(crate) mod accountholder;
pub(crate) mod consent;
pub(crate) mod payments;
pub(crate) mod provisioning;
pub mod surface;
pub(crate) mod token;

use axum::http::Method;
use axum::routing::{on, MethodFilter, MethodRouter};
use axum::Router;

use crate::error::ApiError;
use crate::state::AppState;
use surface::{Operation, OPERATIONS};

/// The handler of an implemented operation; `None` for the others.
pub fn handler(op: &Operation) -> Option<MethodRouter<AppState>> {
    let filter = method_filter(op.method)?;
    use momo_types::Product::{Collection, Disbursement, Remittance};
    let router = match (op.product, op.operation_id) {
        (None, "post-v1_0-apiuser") => on(filter, provisioning::create_api_user),
        (None, "get-v1_0-apiuser") => on(filter, provisioning::get_api_user),
        (None, "post-v1_0-apiuser-apikey") => on(filter, provisioning::create_api_key),
        (Some(_), "CreateAccessToken") => on(filter, token::create_access_token),
        (Some(_), "GetAccountBalance") => on(filter, account::balance),
        (Some(_), "GetAccountBalanceInSpecificCurrency") => on(filter, account::balance_in_currency),
        (Some(_), "ValidateAccountHolderStatus") => on(filter, accountholder::active),
        (Some(_), "GetBasicUserinfo") => on(filter, accountholder::basic_user_info),
        (Some(Collection), "RequesttoPay") => on(filter, payments::request_to_pay),
        (Some(Collection), "RequesttoPayTransactionStatus") => on(filter, payments::request_to_pay_status),
        (Some(Collection), "RequesttoPayDeliveryNotification") => on(filter, accountholder::delivery_notification),
        (Some(Collection), "RequestToWithdraw-V1") => on(filter, payments::request_to_withdraw_v1),
        (Some(Collection), "RequestToWithdraw-V2") => on(filter, payments::request_to_withdraw_v2),
        (Some(Collection), "RequestToWithdrawTransactionStatus") => on(filter, payments::request_to_withdraw_status),
        (Some(Disbursement | Remittance), "Transfer") => on(filter, payments::transfer),
        (Some(Disbursement | Remittance), "GetTransferStatus") => on(filter, payments::transfer_status),
        (Some(Disbursement), "Deposit-V1") => on(filter, payments::deposit_v1),
        (Some(Disbursement), "Deposit-V2") => on(filter, payments::deposit_v2),
        (Some(Disbursement), "GetDepositStatus") => on(filter, payments::deposit_status),
        (Some(Disbursement), "Refund-V1") => on(filter, payments::refund_v1),
        (Some(Disbursement), "Refund-V2") => on(filter, payments::refund_v2),
        (Some(Disbursement), "GetRefundStatus") => on(filter, payments::refund_status),
        (Some(Collection), "CreateInvoice") => on(filter, payments::create_invoice),
        (Some(Collection), "GetInvoiceStatus") => on(filter, payments::invoice_status),
        (Some(Collection), "CancelInvoice") => on(filter, payments::cancel_invoice),
        (Some(Collection), "PreApproval") => on(filter, payments::create_preapproval),
        (Some(Collection), "GetPreApprovalStatus") => on(filter, payments::preapproval_status),
        (Some(Collection), "GetApprovedPreApprovals") => on(filter, payments::approved_preapprovals),
        (Some(Collection), "CancelPreApproval") => on(filter, payments::cancel_preapproval),
        (Some(Collection), "CreatePayments") => on(filter, payments::create_payment),
        (Some(Collection), "GetPaymentStatus") => on(filter, payments::payment_status),
        (Some(Remittance), "CashTransfer") => on(filter, payments::cash_transfer),
        (Some(Remittance), "GetCashTransferStatus") => on(filter, payments::cash_transfer_status),
        (Some(_), "bc-authorize") => on(filter, consent::bc_authorize),
        (Some(_), "CreateOauth2Token") => on(filter, consent::oauth2_token),
        (Some(_), "GetUserInfoWithConsent") => on(filter, consent::userinfo),
        _ => return None,
    };
    Some(router)
}

fn method_filter(method: &str) -> Option<MethodFilter> {
    MethodFilter::try_from(Method::from_bytes(method.as_bytes()).ok()?).ok()
}

/// Every MoMo route, from the table.
pub fn router() -> Router<AppState> {
    let mut router = Router::new();
    for op in OPERATIONS {
        let handler = match (op.implemented, handler(op)) {
            (true, Some(handler)) => handler,
            _ => not_implemented(op),
        };
        let route = op.full_route();
        // MTN's token paths end in '/'; accept them without it too.
        if let Some(bare) = route.strip_suffix('/') {
            router = router.route(bare, handler.clone());
        }
        router = router.route(&route, handler);
    }
    router
}

fn not_implemented(op: &'static Operation) -> MethodRouter<AppState> {
    let filter = method_filter(op.method).unwrap_or(MethodFilter::GET);
    on(filter, move || async move { ApiError::NotImplemented(op.operation_id) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_implemented_operation_has_a_handler_and_no_other_does() {
        for op in OPERATIONS {
            assert_eq!(handler(op).is_some(), op.implemented, "{} {}", op.method, op.full_route());
        }
    }

    #[test]
    fn routes_are_unique_per_method() {
        let mut seen = std::collections::HashSet::new();
        for op in OPERATIONS {
            assert!(seen.insert((op.method, op.full_route())), "{} {} twice", op.method, op.full_route());
        }
    }
}
