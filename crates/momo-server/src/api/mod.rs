//! The MoMo Open API, one module per upstream area. [`surface`] is the table of every
//! operation; [`router`] turns it into routes.

pub(crate) mod account;
pub(crate) mod accountholder;
pub(crate) mod consent;
pub(crate) mod payments;
pub(crate) mod provisioning;
pub mod surface;
pub(crate) mod token;

use axum::routing::{on, MethodFilter, MethodRouter};
use axum::Router;
use momo_types::payments::{CashTransfer, CreateInvoice, CreatePayments, PreApproval, Refund, RequestToPay, Transfer};

use crate::domain::transactions::ApiVersion::{V1, V2};
use crate::domain::transactions::Kind;
use crate::error::ApiError;
use crate::state::AppState;
use surface::{Operation, OperationName, OPERATIONS};

/// The handler of an operation. An operation the table lists but this server does not implement
/// maps to `return None` here (there is none today), and so answers 501.
pub fn handler(op: &Operation) -> Option<MethodRouter<AppState>> {
    let filter = crate::extract::method_filter(op.method)?;
    use OperationName as N;
    let router = match op.name {
        N::CreateApiUser => on(filter, provisioning::create_api_user),
        N::GetApiUser => on(filter, provisioning::get_api_user),
        N::CreateApiKey => on(filter, provisioning::create_api_key),
        N::CreateAccessToken => on(filter, token::create_access_token),
        N::GetAccountBalance => on(filter, account::balance),
        N::GetAccountBalanceInSpecificCurrency => on(filter, account::balance_in_currency),
        N::ValidateAccountHolderStatus => on(filter, accountholder::active),
        N::GetBasicUserinfo => on(filter, accountholder::basic_user_info),
        N::RequestToPay => payments::create::<RequestToPay>(filter, Kind::RequestToPay, V1),
        N::RequestToPayStatus => payments::status(filter, Kind::RequestToPay),
        N::RequestToPayDeliveryNotification => on(filter, accountholder::delivery_notification),
        N::RequestToWithdrawV1 => payments::create::<RequestToPay>(filter, Kind::RequestToWithdraw, V1),
        N::RequestToWithdrawV2 => payments::create::<RequestToPay>(filter, Kind::RequestToWithdraw, V2),
        N::RequestToWithdrawStatus => payments::status(filter, Kind::RequestToWithdraw),
        N::Transfer => payments::create::<Transfer>(filter, Kind::Transfer, V1),
        N::GetTransferStatus => payments::status(filter, Kind::Transfer),
        N::DepositV1 => payments::create::<Transfer>(filter, Kind::Deposit, V1),
        N::DepositV2 => payments::create::<Transfer>(filter, Kind::Deposit, V2),
        N::GetDepositStatus => payments::status(filter, Kind::Deposit),
        N::RefundV1 => payments::create::<Refund>(filter, Kind::Refund, V1),
        N::RefundV2 => payments::create::<Refund>(filter, Kind::Refund, V2),
        N::GetRefundStatus => payments::status(filter, Kind::Refund),
        N::CreateInvoice => payments::create::<CreateInvoice>(filter, Kind::Invoice, V2),
        N::GetInvoiceStatus => payments::status(filter, Kind::Invoice),
        N::CancelInvoice => on(filter, payments::cancel_invoice),
        N::PreApproval => payments::create::<PreApproval>(filter, Kind::PreApproval, V2),
        N::GetPreApprovalStatus => payments::status(filter, Kind::PreApproval),
        N::GetApprovedPreApprovals => on(filter, payments::approved_preapprovals),
        N::CancelPreApproval => on(filter, payments::cancel_preapproval),
        N::CreatePayments => payments::create::<CreatePayments>(filter, Kind::Payment, V2),
        N::GetPaymentStatus => payments::status(filter, Kind::Payment),
        N::CashTransfer => payments::create::<CashTransfer>(filter, Kind::CashTransfer, V2),
        N::GetCashTransferStatus => payments::status(filter, Kind::CashTransfer),
        N::BcAuthorize => on(filter, consent::bc_authorize),
        N::CreateOauth2Token => on(filter, consent::oauth2_token),
        N::GetUserInfoWithConsent => on(filter, consent::userinfo),
    };
    Some(router)
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
    let filter = crate::extract::method_filter(op.method).unwrap_or(MethodFilter::GET);
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
