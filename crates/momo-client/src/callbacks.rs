//! Callbacks: parse any callback body, verify openmomo's signature, and confirm a callback
//! against the status endpoint (the only check that works against MTN, which signs nothing).

use hmac::{Hmac, Mac};
use momo_types::{Product, ReferenceId};
use sha2::Sha256;
use subtle::ConstantTimeEq as _;

use crate::client::Client;
use crate::error::{Error, Result};
use crate::wait::{TransactionKind, TransactionState};

/// The header openmomo signs callbacks with.
pub const SIGNATURE_HEADER: &str = "X-Momo-Signature";

/// Parse a callback body (any kind; both `reason` shapes).
///
/// ```
/// let body = br#"{"externalId":"1","amount":"10","currency":"EUR","payer":{"partyIdType":"MSISDN","partyId":"46733123451"},"status":"FAILED","reason":"APPROVAL_REJECTED"}"#;
/// let callback = momo_client::callbacks::parse(body).unwrap();
/// assert_eq!(callback.status.as_str(), "FAILED");
/// assert_eq!(callback.reason.unwrap().code().as_str(), "APPROVAL_REJECTED");
/// ```
pub fn parse(body: &[u8]) -> Result<TransactionState> {
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|e| Error::Decode {
        status: 0,
        body: String::from_utf8_lossy(body).chars().take(2000).collect(),
        error: e.to_string(),
    })?;
    TransactionState::from_body(value)
}

/// Why a signature did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the signature header is malformed")]
    Malformed,
    #[error("the signature is {0} seconds away from now, more than allowed")]
    Stale(i64),
    #[error("the signature does not match")]
    Mismatch,
}

/// Verify `X-Momo-Signature` (`t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`) with the
/// API user's callback signing secret, refusing timestamps more than `tolerance_secs` from `now`.
///
/// ```
/// use momo_client::callbacks::{verify_signature, SignatureError};
/// let header = "t=1700000000,v1=0000";
/// assert_eq!(verify_signature("secret", header, b"{}", 1_700_000_000, 300), Err(SignatureError::Mismatch));
/// ```
pub fn verify_signature(
    secret: &str,
    header: &str,
    body: &[u8],
    now_unix: i64,
    tolerance_secs: i64,
) -> std::result::Result<(), SignatureError> {
    let mut timestamp = None;
    let mut signature = None;
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", v)) => signature = hex::decode(v).ok(),
            _ => {}
        }
    }
    let (Some(timestamp), Some(signature)) = (timestamp, signature) else { return Err(SignatureError::Malformed) };
    let skew = (now_unix - timestamp).abs();
    if skew > tolerance_secs {
        return Err(SignatureError::Stale(skew));
    }
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).map_err(|_| SignatureError::Malformed)?;
    mac.update(format!("{timestamp}.").as_bytes());
    mac.update(body);
    let expected = mac.finalize().into_bytes();
    if expected.as_slice().ct_eq(&signature).into() {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

impl Client {
    /// Confirm a callback: fetch the transaction's status and check the callback tells the same.
    /// Returns the fetched state; an error if the callback disagrees with it.
    ///
    /// ```no_run
    /// # use momo_client::TransactionKind; use momo_types::{Product, ReferenceId};
    /// # async fn example(client: momo_client::Client, reference: ReferenceId, body: Vec<u8>) -> momo_client::Result<()> {
    /// let received = momo_client::callbacks::parse(&body)?;
    /// let confirmed = client.confirm_callback(Product::Collection, TransactionKind::RequestToPay, &reference, &received).await?;
    /// # Ok(()) }
    /// ```
    pub async fn confirm_callback(
        &self,
        product: Product,
        kind: TransactionKind,
        reference: &ReferenceId,
        callback: &TransactionState,
    ) -> Result<TransactionState> {
        let current = self.transaction_status(product, kind, reference).await?;
        if current.status != callback.status {
            return Err(Error::Http {
                status: 0,
                body: format!("the callback says {} but the status endpoint says {}", callback.status, current.status),
            });
        }
        Ok(current)
    }
}
