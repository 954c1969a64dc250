//! Any transaction's status, and waiting for it to be final.

use std::time::Duration;

use momo_types::payments::{Reason, TransactionStatus};
use momo_types::{Product, ReferenceId};

use crate::client::Client;
use crate::error::{Error, Result};

/// The kinds of transaction, shared with the openmomo server and CLI.
pub use momo_types::TransactionKind;

/// The status path of a `kind` of transaction in `product`, from momo-types' operation table.
fn status_path(product: Product, kind: TransactionKind, reference: &ReferenceId) -> Result<String> {
    let op = momo_types::operations::status_operation(product, kind)
        .ok_or_else(|| Error::Config(format!("{product} has no status endpoint for {kind}")))?;
    Ok(op.name.path(&[&reference.to_string()]))
}

/// What any status body says, whatever its kind.
#[derive(Debug, Clone, PartialEq)]
pub struct TransactionState {
    pub status: TransactionStatus,
    /// Why it failed, in either of MoMo's shapes (`reason`, or `errorReason` for invoices).
    pub reason: Option<Reason>,
    pub financial_transaction_id: Option<String>,
    /// The whole body.
    pub body: serde_json::Value,
}

impl TransactionState {
    pub(crate) fn from_body(body: serde_json::Value) -> Result<Self> {
        // A status MTN adds later is kept as `Unknown` and is not final: waiting goes on.
        let status = body["status"].as_str().map(TransactionStatus::from).ok_or_else(|| Error::Decode {
            status: 200,
            body: body.to_string(),
            error: "no status".into(),
        })?;
        let reason = [&body["reason"], &body["errorReason"]]
            .into_iter()
            .find(|r| !r.is_null())
            .and_then(|r| serde_json::from_value::<Reason>(r.clone()).ok());
        let financial_transaction_id = body["financialTransactionId"].as_str().map(str::to_owned);
        Ok(TransactionState { status, reason, financial_transaction_id, body })
    }
}

impl Client {
    /// The current status of any transaction.
    ///
    /// ```no_run
    /// # use momo_client::TransactionKind; use momo_types::{Product, ReferenceId};
    /// # async fn example(client: momo_client::Client, reference: ReferenceId) -> momo_client::Result<()> {
    /// let state = client.transaction_status(Product::Disbursement, TransactionKind::Deposit, &reference).await?;
    /// # Ok(()) }
    /// ```
    pub async fn transaction_status(
        &self,
        product: Product,
        kind: TransactionKind,
        reference: &ReferenceId,
    ) -> Result<TransactionState> {
        let call =
            crate::client::Call::new(reqwest::Method::GET, Some(product), status_path(product, kind, reference)?);
        self.check_call(&call)?;
        let body: serde_json::Value = self.send(&call).await?.json()?;
        TransactionState::from_body(body)
    }

    /// Poll until the transaction is SUCCESSFUL or FAILED, with backoff (0.5 s growing to 5 s,
    /// never more than MTN's 10 status requests a second). A FAILED transaction is `Ok`.
    ///
    /// ```no_run
    /// # use momo_client::TransactionKind; use momo_types::{Product, ReferenceId};
    /// # async fn example(client: momo_client::Client, reference: ReferenceId) -> momo_client::Result<()> {
    /// let state = client.wait_for_final_status(Product::Collection, TransactionKind::RequestToPay, &reference, std::time::Duration::from_secs(60)).await?;
    /// # Ok(()) }
    /// ```
    pub async fn wait_for_final_status(
        &self,
        product: Product,
        kind: TransactionKind,
        reference: &ReferenceId,
        timeout: Duration,
    ) -> Result<TransactionState> {
        self.wait_with_progress(product, kind, reference, timeout, |_| {}).await
    }

    /// [`Client::wait_for_final_status`], calling `progress` with every status seen.
    ///
    /// ```no_run
    /// # use momo_client::TransactionKind; use momo_types::{Product, ReferenceId};
    /// # async fn example(client: momo_client::Client, reference: ReferenceId) -> momo_client::Result<()> {
    /// let state = client.wait_with_progress(Product::Collection, TransactionKind::RequestToPay, &reference, std::time::Duration::from_secs(60), |s| println!("{}", s.status)).await?;
    /// # Ok(()) }
    /// ```
    pub async fn wait_with_progress(
        &self,
        product: Product,
        kind: TransactionKind,
        reference: &ReferenceId,
        timeout: Duration,
        mut progress: impl FnMut(&TransactionState),
    ) -> Result<TransactionState> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut delay = Duration::from_millis(500);
        loop {
            let state = self.transaction_status(product, kind, reference).await?;
            progress(&state);
            if state.status.is_final() {
                return Ok(state);
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return Err(Error::Timeout { last_status: state.status.to_string() });
            }
            tokio::time::sleep(delay.min(deadline - now)).await;
            delay = (delay.mul_f64(1.5)).clamp(Duration::from_millis(100), Duration::from_secs(5));
        }
    }
}
