//! What the operator keeps in the store: console sessions, fault rules, and the reset of all
//! payments.

use std::fmt;

use async_trait::async_trait;

use super::{SecretHash, StoreResult};

/// The operator's state: console sessions, fault rules, and forgetting every payment.
#[async_trait]
pub trait OperatorState: Send + Sync {
    /// Start a console session (and forget the sessions that have ended).
    async fn insert_console_session(&self, session: &ConsoleSession) -> StoreResult<()>;
    /// The console session whose id hashes to `id_hash`, if it has not ended at `now`.
    async fn console_session(&self, id_hash: &SecretHash, now: i64) -> StoreResult<Option<ConsoleSession>>;
    /// Give a console session a new CSRF token (after each change it made, so that a form sent
    /// again, by a reload, is refused instead of repeating the change).
    async fn set_console_csrf(&self, id_hash: &SecretHash, csrf_token: &str) -> StoreResult<()>;
    /// End a console session (sign-out).
    async fn delete_console_session(&self, id_hash: &SecretHash) -> StoreResult<()>;

    /// Forget all transactions, ledger entries and deliveries (users and keys stay).
    async fn reset_payments(&self) -> StoreResult<()>;

    /// Add a fault rule; [`StoreError::Conflict`](super::StoreError::Conflict) if its id is taken.
    async fn insert_fault(&self, fault: &FaultRecord) -> StoreResult<()>;
    /// Every fault rule (those used up included), oldest first.
    async fn faults(&self) -> StoreResult<Vec<FaultRecord>>;
    /// Let the rule `id` affect one more request: `false` if it was removed or is used up. A
    /// `counted` rule's `remaining` goes down by one in the same statement, so that instances
    /// sharing the database never let it affect more requests than its count between them.
    async fn use_fault(&self, id: &str, counted: bool) -> StoreResult<bool>;
    /// Remove a fault rule; `false` if there is none with that id.
    async fn delete_fault(&self, id: &str) -> StoreResult<bool>;
    /// Remove every fault rule.
    async fn delete_faults(&self) -> StoreResult<()>;
}

/// A fault rule as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultRecord {
    pub id: String,
    /// The rule as the operator wrote it (JSON of [`FaultSpec`](crate::faults::FaultSpec)).
    pub spec: String,
    /// Requests it may still affect; `None`: until removed.
    pub remaining: Option<i64>,
    pub created_at: i64,
}

/// A signed-in browser console session.
#[derive(Clone, PartialEq, Eq)]
pub struct ConsoleSession {
    /// The keyed hash of the session id the browser holds in its cookie.
    pub id_hash: SecretHash,
    /// What the session's forms must carry.
    pub csrf_token: String,
    pub created_at: i64,
    pub expires_at: i64,
}

impl fmt::Debug for ConsoleSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConsoleSession").field("expires_at", &self.expires_at).finish_non_exhaustive()
    }
}
