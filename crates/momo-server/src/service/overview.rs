//! The console overview's counts: transactions per product and status, callbacks pending and
//! failed (docs/console.md, "Overview").
//!
//! Counting a million transactions takes tens of milliseconds, too long to do for every page
//! view and wasteful to do on a timer. So the counts are taken in the background, again only
//! after something changed ([`crate::changes`]) and at most once per [`RECOUNT_GAP`], and only
//! while an overview page is open to show them (or one was just shown stale counts); a page
//! view shows the last counts taken, with their time, and never waits for a count. When they
//! are taken, the open overview pages are told ([`Change::Counts`]) and load again.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::Notify;

use crate::changes::{Batch, Change};
use crate::error::ApiResult;
use crate::state::AppState;
use crate::store::TransactionCount;

/// The counts are not taken again sooner than this after the last time.
pub const RECOUNT_GAP: Duration = Duration::from_secs(1);

/// Counts as taken at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counted {
    pub transactions: Vec<TransactionCount>,
    pub callbacks_pending: i64,
    pub callbacks_failed: i64,
    /// When they were taken (the server's clock, Unix ms).
    pub at: i64,
}

/// The last counts taken, and whether they may be stale.
#[derive(Debug, Default)]
pub struct Counts {
    last: Mutex<Option<Arc<Counted>>>,
    /// Something changed since the last counts were taken.
    stale: AtomicBool,
    /// Overview pages following the counts now (their event streams).
    watchers: AtomicUsize,
    /// A page showed stale counts since the last were taken.
    asked: AtomicBool,
    /// Woken when counts are wanted.
    wanted: Notify,
}

/// Held by an overview page's event stream while it is open.
#[derive(Debug)]
pub struct Watching(AppState);

impl Drop for Watching {
    fn drop(&mut self) {
        self.0.counts.watchers.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The counts to show now: the last taken, if any. Stale or missing ones are asked for, and
/// taken in the background: a page never waits for a count.
pub fn current(state: &AppState) -> Option<Arc<Counted>> {
    let last = state.counts.last.lock().unwrap_or_else(PoisonError::into_inner).clone();
    if last.is_none() || state.counts.stale.load(Ordering::Relaxed) {
        state.counts.asked.store(true, Ordering::Relaxed);
        state.counts.wanted.notify_one();
    }
    last
}

/// Follow the counts: while the guard lives, changes make them be taken again.
pub fn watch(state: &AppState) -> Watching {
    state.counts.watchers.fetch_add(1, Ordering::Relaxed);
    state.counts.wanted.notify_one();
    Watching(state.clone())
}

async fn count(state: &AppState) -> ApiResult<()> {
    // Marked fresh before counting: a change during the count makes the next one happen.
    state.counts.stale.store(false, Ordering::Relaxed);
    let transactions = state.store.transaction_counts().await?;
    let (callbacks_pending, callbacks_failed) = state.store.unfinished_deliveries().await?;
    let counted = Arc::new(Counted { transactions, callbacks_pending, callbacks_failed, at: state.clock.now_ms() });
    *state.counts.last.lock().unwrap_or_else(PoisonError::into_inner) = Some(counted);
    Ok(())
}

/// Keep the counts of open overview pages current: after a change, at most once per
/// [`RECOUNT_GAP`]. Runs until the server stops.
pub async fn run(state: AppState) {
    let mut batches = state.changes.subscribe();
    let stopping = state.changes.stopping();
    tokio::pin!(stopping);
    loop {
        // Wait until something changed (or counts are asked for) while a page watches.
        tokio::select! {
            received = batches.recv() => {
                let counts_only = matches!(&received, Ok(batch) if matches!(&**batch, Batch::Changes(changes)
                    if changes.iter().all(|change| *change == Change::Counts)));
                if !counts_only {
                    state.counts.stale.store(true, Ordering::Relaxed);
                }
            }
            () = state.counts.wanted.notified() => {}
            () = &mut stopping => return,
        }
        let wanted =
            state.counts.watchers.load(Ordering::Relaxed) > 0 || state.counts.asked.swap(false, Ordering::Relaxed);
        let never = state.counts.last.lock().unwrap_or_else(PoisonError::into_inner).is_none();
        if !wanted || !(state.counts.stale.load(Ordering::Relaxed) || never) {
            continue;
        }
        match count(&state).await {
            Ok(()) => state.changes.deliver_here(Batch::Changes(vec![Change::Counts])),
            Err(e) => tracing::warn!(error = %e, "could not count transactions for the console"),
        }
        tokio::time::sleep(RECOUNT_GAP).await;
    }
}
