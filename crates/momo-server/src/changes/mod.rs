//! The change feed: what the console's live pages follow (docs/console.md, "Live updates").
//!
//! Whatever makes a transaction or a callback delivery change publishes a [`Change`]. The feed
//! gathers them and, every [`FLUSH`], hands what it gathered to the pages watching on this
//! instance as one [`Batch`] and, when instances share a PostgreSQL database, to the others
//! through [`Relay`] (one `NOTIFY` per batch, not per change). A page's event stream then tells
//! its browser to load the page again; so an open page costs one query per batch of changes it
//! cares about, and nothing while nothing changes: no page polls the database.
//!
//! Publishing is cheap enough for the request path: with nobody watching here and no other
//! instance to tell, it returns at once; otherwise it pushes onto a short list under a lock,
//! and past [`MAX_BATCH`] changes a batch just says "everything changed".

pub(crate) mod postgres;

use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, watch};

/// How often gathered changes are handed on: the console's latency budget is a second.
pub(crate) const FLUSH: Duration = Duration::from_millis(100);

/// Past this many changes in one flush, a batch says [`Batch::Everything`].
pub(crate) const MAX_BATCH: usize = 256;

/// Event streams of live pages open at once on an instance.
pub(crate) const MAX_STREAMS: usize = 512;

/// Something a live page may show changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "on", rename_all = "camelCase")]
pub enum Change {
    /// A transaction was made, decided, re-planned or made final.
    #[serde(rename_all = "camelCase")]
    Transaction {
        reference_id: String,
        /// The ledger account of its payer or payee wallet, if it has one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        wallet: Option<String>,
    },
    /// A callback delivery was queued or attempted.
    #[serde(rename_all = "camelCase")]
    Delivery { reference_id: String },
    /// The overview's counts were taken again ([`crate::service::overview`]); only for this
    /// instance's pages, never announced to the others (each counts for itself).
    Counts,
}

impl Change {
    /// The change of `tx`.
    pub fn of(tx: &crate::store::TransactionRecord) -> Change {
        Change::Transaction {
            reference_id: tx.key.reference_id.clone(),
            wallet: tx
                .party
                .as_ref()
                .map(|party| crate::domain::transactions::accounts::wallet(&tx.environment, party)),
        }
    }
}

/// The changes of one flush.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Batch {
    Changes(Vec<Change>),
    /// Too many to list, or some may have been missed: every page should look again.
    Everything,
}

/// Which changes a live page follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Interest {
    Transactions,
    /// One transaction (by reference id) and its callbacks.
    Transaction(String),
    Deliveries,
    /// The overview's counts.
    Counts,
    /// The transactions of one wallet (its ledger account id).
    Wallet(String),
}

impl Interest {
    /// Whether a page with this interest must look again after `batch`.
    pub fn wants(&self, batch: &Batch) -> bool {
        let Batch::Changes(changes) = batch else { return true };
        changes.iter().any(|change| match (self, change) {
            (Interest::Transactions, Change::Transaction { .. }) => true,
            (Interest::Deliveries, Change::Delivery { .. }) => true,
            (Interest::Counts, Change::Counts) => true,
            (Interest::Transaction(wanted), Change::Transaction { reference_id, .. })
            | (Interest::Transaction(wanted), Change::Delivery { reference_id }) => reference_id == wanted,
            (Interest::Wallet(wanted), Change::Transaction { wallet: Some(wallet), .. }) => wallet == wanted,
            _ => false,
        })
    }
}

/// Gathered changes not handed on yet.
#[derive(Debug, Default)]
struct Pending {
    changes: Vec<Change>,
    overflowed: bool,
}

/// One instance's change feed (in [`AppState`](crate::state::AppState)).
#[derive(Debug)]
pub struct ChangeFeed {
    pending: Mutex<Pending>,
    local: broadcast::Sender<Arc<Batch>>,
    /// Whether other instances may be watching (a relay runs), so changes are gathered even
    /// when no page is open here.
    shared: bool,
    /// Set when the server stops: event streams end, so that they do not hold the shutdown.
    stopping: watch::Sender<bool>,
    /// When the last batch of transaction or callback changes was handed to this instance's
    /// pages (Unix ms, wall clock).
    last_changes_ms: AtomicI64,
    /// When the overview's counts were last taken again ([`Change::Counts`]).
    last_counts_ms: AtomicI64,
    /// Event streams open now.
    streams: Arc<AtomicUsize>,
}

/// Held by an open event stream: counts it among the instance's ([`MAX_STREAMS`]).
#[derive(Debug)]
pub struct OpenStream(Arc<AtomicUsize>);

impl Drop for OpenStream {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl ChangeFeed {
    pub fn new(shared: bool) -> Self {
        Self {
            pending: Mutex::default(),
            local: broadcast::channel(64).0,
            shared,
            stopping: watch::channel(false).0,
            last_changes_ms: AtomicI64::new(0),
            last_counts_ms: AtomicI64::new(0),
            streams: Arc::default(),
        }
    }

    /// Note a change, to be handed on at the next flush.
    pub fn publish(&self, change: impl FnOnce() -> Change) {
        if !self.shared && self.local.receiver_count() == 0 {
            return;
        }
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        if pending.overflowed {
            return;
        }
        if pending.changes.len() >= MAX_BATCH {
            pending.overflowed = true;
            pending.changes = Vec::new();
        } else {
            pending.changes.push(change());
        }
    }

    /// Note that anything may have changed (a reset).
    pub fn publish_everything(&self) {
        if self.shared || self.local.receiver_count() > 0 {
            self.pending.lock().unwrap_or_else(PoisonError::into_inner).overflowed = true;
        }
    }

    /// What was gathered since the last call, if anything.
    fn take(&self) -> Option<Batch> {
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        let taken = std::mem::take(&mut *pending);
        if taken.overflowed {
            Some(Batch::Everything)
        } else {
            (!taken.changes.is_empty()).then_some(Batch::Changes(taken.changes))
        }
    }

    /// Hand a batch to the pages watching on this instance.
    pub fn deliver_here(&self, batch: Batch) {
        let counts_only = matches!(&batch, Batch::Changes(changes) if changes.iter().all(|c| *c == Change::Counts));
        let last = if counts_only { &self.last_counts_ms } else { &self.last_changes_ms };
        last.store(unix_ms(), Ordering::Relaxed);
        // An error only means nobody is watching.
        let _ = self.local.send(Arc::new(batch));
    }

    /// Batches from now on (a receiver that falls behind gets `Lagged`: treat it as everything).
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Batch>> {
        self.local.subscribe()
    }

    /// Whether a batch a page with this interest follows may have been handed on after `since`
    /// (Unix ms, [`unix_ms`]): a page rendered then may have missed it, having subscribed after.
    pub fn delivered_since(&self, interest: &Interest, since: i64) -> bool {
        let last = if *interest == Interest::Counts { &self.last_counts_ms } else { &self.last_changes_ms };
        last.load(Ordering::Relaxed) >= since
    }

    /// Count one more open event stream, unless [`MAX_STREAMS`] are open.
    pub fn open_stream(&self) -> Option<OpenStream> {
        let admitted = self
            .streams
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |open| (open < MAX_STREAMS).then_some(open + 1))
            .is_ok();
        admitted.then(|| OpenStream(self.streams.clone()))
    }

    /// Tell every event stream to end (the server is stopping).
    pub fn stop(&self) {
        self.stopping.send_replace(true);
    }

    /// Completes when the server is stopping.
    pub fn stopping(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut stopping = self.stopping.subscribe();
        async move {
            // An error means the feed is gone, which also means stopping.
            let _ = stopping.wait_for(|stopping| *stopping).await;
        }
    }
}

/// Now, in Unix ms on this machine's wall clock (not the server's [`Clock`](crate::domain::clock::Clock),
/// which tests move): what [`ChangeFeed::delivered_since`] compares with.
pub(crate) fn unix_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// How this instance's batches reach the instances sharing its database.
pub(crate) trait Announce: Send + 'static {
    fn announce(&mut self, batch: &Batch) -> impl std::future::Future<Output = anyhow::Result<()>> + Send;
}

/// How the other instances' batches reach this one.
pub(crate) trait Listen: Send + 'static {
    /// The next batch from another instance (`Everything` when some may have been missed, as
    /// after a lost connection).
    fn next(&mut self) -> impl std::future::Future<Output = Batch> + Send;
}

/// Hand this instance's changes to its pages every [`FLUSH`], for an instance that shares its
/// database with no other (SQLite). Runs until the server stops.
pub(crate) async fn run(feed: Arc<ChangeFeed>) {
    let mut ticks = tokio::time::interval(FLUSH);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let stopping = feed.stopping();
    tokio::pin!(stopping);
    loop {
        tokio::select! {
            _ = ticks.tick() => {
                if let Some(batch) = feed.take() {
                    feed.deliver_here(batch);
                }
            }
            () = &mut stopping => return,
        }
    }
}

/// Hand this instance's changes on every [`FLUSH`], to its pages and to the other instances,
/// whose batches come back to this instance's pages. Runs until the server stops.
pub(crate) async fn run_shared(feed: Arc<ChangeFeed>, mut announcer: impl Announce, mut listener: impl Listen) {
    let (outgoing, mut queued) = tokio::sync::mpsc::channel::<Batch>(16);
    let flusher = {
        let feed = feed.clone();
        async move {
            let mut ticks = tokio::time::interval(FLUSH);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            // A full queue means the database is slow: what did not fit is announced as
            // `Everything` as soon as there is room again.
            let mut dropped = false;
            loop {
                ticks.tick().await;
                let batch = feed.take();
                if let Some(batch) = &batch {
                    feed.deliver_here(batch.clone());
                }
                let announce = if dropped { Some(Batch::Everything) } else { batch };
                if let Some(announce) = announce {
                    dropped = outgoing.try_send(announce).is_err();
                }
            }
        }
    };
    let sender = async move {
        while let Some(batch) = queued.recv().await {
            if let Err(e) = announcer.announce(&batch).await {
                tracing::warn!(error = format!("{e:#}"), "could not tell other instances about changes");
            }
        }
    };
    let receiver = {
        let feed = feed.clone();
        async move {
            loop {
                feed.deliver_here(listener.next().await);
            }
        }
    };
    tokio::select! {
        () = flusher => {}
        () = sender => {}
        () = receiver => {}
        () = feed.stopping() => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tx(reference: &str, wallet: Option<&str>) -> Change {
        Change::Transaction { reference_id: reference.into(), wallet: wallet.map(Into::into) }
    }

    #[test]
    fn pages_follow_only_the_changes_they_show() {
        let batch = Batch::Changes(vec![tx("a", Some("wallet:x")), Change::Delivery { reference_id: "b".into() }]);
        assert!(!Interest::Counts.wants(&batch), "the overview loads again when its counts were taken again");
        assert!(Interest::Counts.wants(&Batch::Changes(vec![Change::Counts])));
        assert!(!Interest::Transactions.wants(&Batch::Changes(vec![Change::Counts])));
        assert!(Interest::Transactions.wants(&batch));
        assert!(Interest::Deliveries.wants(&batch));
        assert!(Interest::Transaction("a".into()).wants(&batch));
        assert!(Interest::Transaction("b".into()).wants(&batch), "a transaction's page shows its callbacks");
        assert!(!Interest::Transaction("c".into()).wants(&batch));
        assert!(Interest::Wallet("wallet:x".into()).wants(&batch));
        assert!(!Interest::Wallet("wallet:y".into()).wants(&batch));
        let deliveries_only = Batch::Changes(vec![Change::Delivery { reference_id: "b".into() }]);
        assert!(!Interest::Transactions.wants(&deliveries_only));
        assert!(Interest::Wallet("wallet:y".into()).wants(&Batch::Everything));
    }

    #[test]
    fn nothing_is_gathered_while_nobody_watches_and_no_other_instance_listens() {
        let feed = ChangeFeed::new(false);
        feed.publish(|| tx("a", None));
        assert_eq!(feed.take(), None);
        let _watching = feed.subscribe();
        feed.publish(|| tx("a", None));
        assert_eq!(feed.take(), Some(Batch::Changes(vec![tx("a", None)])));
        assert_eq!(feed.take(), None, "a batch is handed on once");
        let shared = ChangeFeed::new(true);
        shared.publish(|| tx("b", None));
        assert_eq!(shared.take(), Some(Batch::Changes(vec![tx("b", None)])));
    }

    #[test]
    fn a_flood_of_changes_becomes_one_batch_that_says_everything() {
        let feed = ChangeFeed::new(true);
        for i in 0..=MAX_BATCH {
            feed.publish(|| tx(&i.to_string(), None));
        }
        assert_eq!(feed.take(), Some(Batch::Everything));
        assert_eq!(feed.take(), None);
    }

    #[test]
    fn at_most_max_streams_are_open_at_once() {
        let feed = ChangeFeed::new(false);
        let open: Vec<_> = (0..MAX_STREAMS).map(|_| feed.open_stream().expect("room")).collect();
        assert!(feed.open_stream().is_none(), "one too many");
        drop(open);
        assert!(feed.open_stream().is_some(), "closed streams make room");
    }

    #[test]
    fn batches_travel_as_json_that_reads_back_the_same() {
        for batch in [Batch::Everything, Batch::Changes(vec![tx("a", Some("w")), tx("b", None)])] {
            let text = serde_json::to_string(&batch).unwrap();
            assert_eq!(serde_json::from_str::<Batch>(&text).unwrap(), batch);
        }
    }
}
