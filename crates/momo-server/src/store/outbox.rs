//! The callback outbox of the store: a callback is a row, written with the settlement that
//! makes it due, leased by the delivery worker and kept with its attempts.

use async_trait::async_trait;

use super::{StoreResult, TxKey};

/// The callbacks waiting to be sent, being sent, and sent, with their attempts.
#[async_trait]
pub trait CallbackOutbox: Send + Sync {
    /// Lease up to `limit` due deliveries until `lease_until`.
    async fn claim_deliveries(&self, now: i64, lease_until: i64, limit: i64) -> StoreResult<Vec<DeliveryRecord>>;
    /// Record attempts (delivery id, attempt, what happens next), all in one commit.
    async fn record_attempts(&self, attempts: &[(String, AttemptRecord, DeliveryNext)]) -> StoreResult<()>;
    /// The most recent callbacks, newest first, optionally of one reference id and in one state.
    async fn deliveries(
        &self,
        reference_id: Option<&str>,
        state: Option<DeliveryState>,
        limit: i64,
    ) -> StoreResult<Vec<DeliveryRecord>>;
    async fn delivery(&self, id: &str) -> StoreResult<Option<DeliveryRecord>>;
    /// How many callbacks are pending and how many failed (given up).
    async fn unfinished_deliveries(&self) -> StoreResult<(i64, i64)>;
    /// The callbacks due at `now` and not yet delivered (those in flight included): how many,
    /// and since when the longest-waiting of them is due. One read of the pending deliveries'
    /// partial index, from its start to `now`.
    async fn callback_backlog(&self, now: i64) -> StoreResult<CallbackBacklog>;
    /// Attempt a callback again, with the same body, from `now`: a delivered or failed one is
    /// pending again (its attempts keep counting); a pending one is due at `now` instead of later.
    /// `None` if there is no such delivery, or if one of its attempts is in flight (leased): its
    /// outcome, when recorded, would overwrite the redelivery.
    async fn redeliver(&self, id: &str, now: i64) -> StoreResult<Option<DeliveryRecord>>;
    async fn delivery_attempts(&self, id: &str) -> StoreResult<Vec<AttemptRecord>>;
}

/// A callback to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDelivery {
    pub id: String,
    pub api_user: String,
    pub url: String,
    pub method: String,
    pub body: String,
}

/// A callback in the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRecord {
    pub id: String,
    pub api_user: String,
    pub key: TxKey,
    pub url: String,
    pub method: String,
    pub body: String,
    /// `pending`, `delivered` or `failed`.
    pub state: String,
    pub attempts: i64,
    pub next_attempt_at: Option<i64>,
    pub created_at: i64,
    pub finished_at: Option<i64>,
}

/// Where a callback is: the values of [`DeliveryRecord::state`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    /// Not delivered yet; another attempt is due.
    Pending,
    Delivered,
    /// Given up after the last attempt the retry policy allows.
    Failed,
}

impl DeliveryState {
    pub const ALL: [DeliveryState; 3] = [DeliveryState::Pending, DeliveryState::Delivered, DeliveryState::Failed];

    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Failed => "failed",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.as_str() == value)
    }
}

/// One try at delivering a callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptRecord {
    pub attempt: i64,
    pub at: i64,
    pub status_code: Option<i64>,
    pub latency_ms: i64,
    pub error: Option<String>,
}

/// After an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryNext {
    RetryAt(i64),
    Delivered,
    GaveUp,
}

/// What [`CallbackOutbox::callback_backlog`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallbackBacklog {
    pub due: i64,
    /// When the longest-waiting due delivery became due (`None`: nothing is due).
    pub oldest_due_at: Option<i64>,
}
