//! The kinds of transaction MoMo has.

use std::fmt;
use std::str::FromStr;

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
}
