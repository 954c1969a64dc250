//! The console overview's counts: transactions per product and status, callbacks pending and
//! failed (docs/console.md, "Overview").
//!
//! Counting a million transactions takes tens of milliseconds, too long to do for every page
//! view and wasteful to do on a timer. So the counts are taken in the background, again only
//! after something changed ([`crate::changes`]) and at most once per [`RECOUNT_GAP`], and only
//! while an overview page is open to show them (or one was just shown stale counts); a page
//! view shows the last counts taken, with their time, and never waits for a count. When they
//! are taken, the open overview pages are told ([`Change::Counts`]) and load again.

use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};
use std::time::Duration;

use tokio::sync::broadcast::error::RecvError;
use tokio::time::Instant;

use crate::changes::{Batch, Change};
pub(crate) use crate::counts::Counted;
use crate::error::ApiResult;
use crate::state::AppState;

/// The counts are not taken again sooner than this after the last time.
pub(crate) const RECOUNT_GAP: Duration = Duration::from_secs(1);

/// Held by an overview page's event stream while it is open.
#[derive(Debug)]
pub(crate) struct Watching(AppState);

impl Drop for Watching {
    fn drop(&mut self) {
        self.0.counts.watchers.fetch_sub(1, Ordering::Relaxed);
        self.0.counts.wanted.notify_one();
    }
}

/// The counts to show now: the last taken, if any. Missing or possibly stale ones are asked
/// for, and taken in the background: a page never waits for a count.
pub(crate) fn current(state: &AppState) -> Option<Arc<Counted>> {
    let last = state.counts.last.lock().unwrap_or_else(PoisonError::into_inner).clone();
    if last.is_none() || !state.counts.current.load(Ordering::Relaxed) {
        state.counts.asked.store(true, Ordering::Relaxed);
        state.counts.wanted.notify_one();
    }
    last
}

/// Follow the counts: while the guard lives, changes make them be taken again.
pub(crate) fn watch(state: &AppState) -> Watching {
    state.counts.watchers.fetch_add(1, Ordering::Relaxed);
    state.counts.wanted.notify_one();
    Watching(state.clone())
}

async fn count(state: &AppState) -> ApiResult<()> {
    let transactions = state.store.transaction_counts().await?;
    let (callbacks_pending, callbacks_failed) = state.store.unfinished_deliveries().await?;
    let counted = Arc::new(Counted { transactions, callbacks_pending, callbacks_failed, at: state.clock.now_ms() });
    *state.counts.last.lock().unwrap_or_else(PoisonError::into_inner) = Some(counted);
    Ok(())
}

fn watched(state: &AppState) -> bool {
    state.counts.watchers.load(Ordering::Relaxed) > 0
}

/// Whether a batch holds more than the counts' own news.
fn changes_something(received: &Result<Arc<Batch>, RecvError>) -> bool {
    match received {
        Ok(batch) => !matches!(&**batch, Batch::Changes(changes) if changes.iter().all(|c| *c == Change::Counts)),
        // Fell behind (or the feed is gone): assume a change.
        Err(_) => true,
    }
}

/// Take the counts when a page asks, and keep them current while an overview page watches:
/// again after each change, no sooner than [`RECOUNT_GAP`] after the last time. While nobody
/// watches it follows nothing (the change feed then has no subscriber here). Runs until the
/// server stops.
pub(crate) async fn run(state: AppState) {
    let stopping = state.changes.stopping();
    tokio::pin!(stopping);
    let mut last_count: Option<Instant> = None;
    loop {
        tokio::select! {
            () = state.counts.wanted.notified() => {}
            () = &mut stopping => return,
        }
        loop {
            let watching = watched(&state);
            if !watching && !state.counts.asked.swap(false, Ordering::Relaxed) {
                break;
            }
            if let Some(at) = last_count {
                tokio::select! {
                    () = tokio::time::sleep_until(at + RECOUNT_GAP) => {}
                    () = &mut stopping => return,
                }
            }
            // Subscribed before counting: a change during the count makes the next one.
            let mut batches = watching.then(|| state.changes.subscribe());
            last_count = Some(Instant::now());
            match count(&state).await {
                Ok(()) => {
                    state.counts.current.store(watching, Ordering::Relaxed);
                    state.changes.deliver_here(Batch::Changes(vec![Change::Counts]));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "could not count transactions for the console; will try again");
                    state.counts.current.store(false, Ordering::Relaxed);
                    state.counts.asked.store(true, Ordering::Relaxed);
                    continue;
                }
            }
            let Some(batches) = batches.as_mut() else { continue };
            // Follow the changes until one comes, or the last page stops watching.
            loop {
                tokio::select! {
                    received = batches.recv() => if changes_something(&received) { break },
                    () = state.counts.wanted.notified() => if !watched(&state) || state.counts.asked.load(Ordering::Relaxed) { break },
                    () = &mut stopping => return,
                }
            }
            state.counts.current.store(false, Ordering::Relaxed);
        }
    }
}
