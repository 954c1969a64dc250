//! The console overview's last counts, as every instance keeps them in its state; taken and
//! kept current by [`crate::service::overview`].

use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

use crate::store::TransactionCount;

/// Counts as taken at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Counted {
    pub transactions: Vec<TransactionCount>,
    pub callbacks_pending: i64,
    pub callbacks_failed: i64,
    /// When they were taken (the server's clock, Unix ms).
    pub at: i64,
}

/// The last counts taken, and whether they are still current.
#[derive(Debug, Default)]
pub struct Counts {
    pub(crate) last: Mutex<Option<Arc<Counted>>>,
    /// The last counts are current: the counter follows the changes (a page watches) and none
    /// came since they were taken. Otherwise a page view asks for new ones.
    pub(crate) current: AtomicBool,
    /// Overview pages following the counts now (their event streams).
    pub(crate) watchers: AtomicUsize,
    /// A page view asked for new counts.
    pub(crate) asked: AtomicBool,
    /// Woken when counts are asked for, and when a page starts or stops watching.
    pub(crate) wanted: Notify,
}
