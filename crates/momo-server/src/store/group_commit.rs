//! The group commit both engines write the payment path through: new transactions, bulk
//! settlements, callback claims and attempt records queue to one committer task per store, which
//! writes everything waiting in one database transaction (one fsync, and on PostgreSQL one turn
//! on each account row) and then answers each caller. A caller's answer (a 202, a status) still
//! comes only after its rows are durable; the commit is shared.
//!
//! This module is the queue and the answers; how a batch is written is each engine's
//! (`sqlite::commit::BatchWriter::write`, `postgres::commit::commit_batch`). docs/performance.md has the
//! measurements.

use tokio::sync::{mpsc, oneshot};

use super::{
    AttemptRecord, DeliveryNext, DeliveryRecord, Finalization, Finalized, StoreError, StoreResult, TransactionRecord,
};

/// A callback attempt to record: the delivery's id, the attempt, what follows it.
pub(super) type Attempt = (String, AttemptRecord, DeliveryNext);

/// A claim of due deliveries: `(now, lease_until, limit)`.
pub(super) type Claim = (i64, i64, i64);

/// How many rows one group commit takes at most (it may go over by one caller's batch).
const GROUP: usize = 512;

/// A write waiting for the group commit, and where to send its outcome.
#[derive(Debug)]
enum Op {
    /// A new transaction, and its finalization when its outcome is due at once (always one that
    /// cannot be refused: `settle::immediate`). Answered with whether that finalization was made.
    Insert(Box<(TransactionRecord, Option<Finalization>)>, oneshot::Sender<StoreResult<bool>>),
    Finalize(Vec<Finalization>, oneshot::Sender<StoreResult<Vec<Option<Finalized>>>>),
    Record(Vec<Attempt>, oneshot::Sender<StoreResult<()>>),
    /// Last in its commit, so it also sees the callbacks of transactions finalized in it.
    Claim(Claim, oneshot::Sender<StoreResult<Vec<DeliveryRecord>>>),
}

impl Op {
    fn size(&self) -> usize {
        match self {
            Op::Insert(..) | Op::Claim(..) => 1,
            Op::Finalize(f, _) => f.len().max(1),
            Op::Record(a, _) => a.len().max(1),
        }
    }
}

/// Where the answers of one batch go, in the order of its work.
#[derive(Debug)]
enum Reply {
    Insert(oneshot::Sender<StoreResult<bool>>),
    Finalize(usize, oneshot::Sender<StoreResult<Vec<Option<Finalized>>>>),
    Record(oneshot::Sender<StoreResult<()>>),
    Claim(usize, oneshot::Sender<StoreResult<Vec<DeliveryRecord>>>),
}

/// The handle the store's methods queue their writes with.
#[derive(Debug, Clone)]
pub(super) struct Committer(mpsc::Sender<Op>);

/// The committer's end of the queue.
#[derive(Debug)]
pub(super) struct Queue(mpsc::Receiver<Op>);

/// A new committer handle and the queue its task takes batches from.
pub(super) fn channel() -> (Committer, Queue) {
    let (sender, receiver) = mpsc::channel(4 * GROUP);
    (Committer(sender), Queue(receiver))
}

impl Committer {
    /// Insert `tx` (a taken reference id: [`StoreError::Conflict`]) and, if the insert took and
    /// the engine settles at once, make `finalization` in the same commit. Whether it did.
    pub(super) async fn insert(
        &self,
        tx: &TransactionRecord,
        finalization: Option<&Finalization>,
    ) -> StoreResult<bool> {
        let (reply, outcome) = oneshot::channel();
        self.send(Op::Insert(Box::new((tx.clone(), finalization.cloned())), reply)).await?;
        outcome.await.map_err(|_| stopped())?
    }

    /// Settle `finalizations` in one commit; for each, what became of it, or `None` when the
    /// committer left it to the caller to settle on its own (an engine's choice: see
    /// [`Batch::lone`]).
    pub(super) async fn finalize(&self, finalizations: &[Finalization]) -> StoreResult<Vec<Option<Finalized>>> {
        if finalizations.is_empty() {
            return Ok(Vec::new());
        }
        let (reply, outcome) = oneshot::channel();
        self.send(Op::Finalize(finalizations.to_vec(), reply)).await?;
        outcome.await.map_err(|_| stopped())?
    }

    pub(super) async fn claim(&self, now: i64, lease_until: i64, limit: i64) -> StoreResult<Vec<DeliveryRecord>> {
        let (reply, outcome) = oneshot::channel();
        self.send(Op::Claim((now, lease_until, limit), reply)).await?;
        outcome.await.map_err(|_| stopped())?
    }

    pub(super) async fn record(&self, attempts: &[Attempt]) -> StoreResult<()> {
        let (reply, outcome) = oneshot::channel();
        self.send(Op::Record(attempts.to_vec(), reply)).await?;
        outcome.await.map_err(|_| stopped())?
    }

    async fn send(&self, op: Op) -> StoreResult<()> {
        self.0.send(op).await.map_err(|_| stopped())
    }
}

fn stopped() -> StoreError {
    StoreError::Unavailable(sqlx::Error::PoolClosed)
}

/// What one commit writes: everything that was waiting, up to [`GROUP`] rows.
#[derive(Debug)]
pub(super) struct Batch {
    /// New transactions, each with its finalization when its outcome is due at once.
    pub(super) inserts: Vec<(TransactionRecord, Option<Finalization>)>,
    /// Settlements of transactions already stored, in the order they were asked for.
    pub(super) finalizations: Vec<Finalization>,
    /// For each of [`Batch::finalizations`], whether its caller asked for it alone (a status
    /// read settling its own transaction, which would rather wait for the row than be told it is
    /// being settled elsewhere).
    pub(super) lone: Vec<bool>,
    pub(super) attempts: Vec<Attempt>,
    pub(super) claims: Vec<Claim>,
    /// Rows in the batch, as the commit metrics count them.
    pub(super) size: usize,
    replies: Vec<Reply>,
}

/// Why a group commit failed, as each of its callers is told.
#[derive(Debug)]
pub(super) struct CommitFailed {
    message: String,
    /// The database was out of reach or busy: worth trying again (a 503, not a 500).
    unavailable: bool,
}

impl CommitFailed {
    pub(super) fn new(message: String, unavailable: bool) -> Self {
        Self { message, unavailable }
    }

    fn to_store_error(&self) -> StoreError {
        let copy = sqlx::Error::Protocol(format!("group commit failed: {}", self.message));
        if self.unavailable {
            StoreError::Unavailable(copy)
        } else {
            StoreError::Backend(copy)
        }
    }
}

impl From<sqlx::Error> for CommitFailed {
    fn from(e: sqlx::Error) -> Self {
        Self::new(e.to_string(), super::unavailable(&e))
    }
}

/// What a batch's commit gives back: for each insert whether it took and whether its
/// finalization was made, for each finalization its result (`None`: left to the caller), and the
/// deliveries each claim leased.
#[derive(Debug, Default)]
pub(super) struct Written {
    pub(super) inserted: Vec<InsertResult>,
    pub(super) finalized: Vec<Option<Finalized>>,
    pub(super) claimed: Vec<Vec<DeliveryRecord>>,
}

/// What became of one insert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum InsertResult {
    /// The reference id was taken: nothing written.
    Taken,
    /// Inserted; `true` if its finalization was made in the same commit.
    Inserted { settled: bool },
}

impl Queue {
    /// The next batch: at least one write (waiting for it, after calling `idle`), then whatever
    /// else is queued, up to [`GROUP`] rows. `None` when every handle is gone.
    pub(super) async fn next(&mut self, idle: impl FnOnce()) -> Option<Batch> {
        let first = match self.0.try_recv() {
            Ok(op) => op,
            Err(_) => {
                idle();
                self.0.recv().await?
            }
        };
        let mut size = first.size();
        let mut ops = vec![first];
        while size < GROUP {
            match self.0.try_recv() {
                Ok(next) => {
                    size += next.size();
                    ops.push(next);
                }
                Err(_) => break,
            }
        }
        let mut batch = Batch {
            inserts: Vec::new(),
            finalizations: Vec::new(),
            lone: Vec::new(),
            attempts: Vec::new(),
            claims: Vec::new(),
            size,
            replies: Vec::with_capacity(ops.len()),
        };
        for op in ops {
            match op {
                Op::Insert(new, reply) => {
                    batch.inserts.push(*new);
                    batch.replies.push(Reply::Insert(reply));
                }
                Op::Finalize(f, reply) => {
                    batch.replies.push(Reply::Finalize(f.len(), reply));
                    batch.lone.extend(std::iter::repeat_n(f.len() == 1, f.len()));
                    batch.finalizations.extend(f);
                }
                Op::Record(a, reply) => {
                    batch.replies.push(Reply::Record(reply));
                    batch.attempts.extend(a);
                }
                Op::Claim(claim, reply) => {
                    batch.replies.push(Reply::Claim(batch.claims.len(), reply));
                    batch.claims.push(claim);
                }
            }
        }
        Some(batch)
    }
}

impl Batch {
    /// Answer every caller of the batch with what its commit gave, or with the commit's failure.
    pub(super) fn answer(self, written: Result<Written, CommitFailed>) {
        match written {
            Ok(Written { inserted, finalized, mut claimed }) => {
                let mut finalized = finalized.into_iter();
                let mut inserted = inserted.into_iter();
                for reply in self.replies {
                    match reply {
                        Reply::Insert(reply) => {
                            let _ = reply.send(match inserted.next() {
                                Some(InsertResult::Inserted { settled }) => Ok(settled),
                                Some(InsertResult::Taken) => Err(StoreError::Conflict),
                                // An engine that answered fewer inserts than it was given: its
                                // fault, not the client's (a 409 would say the id was taken).
                                None => Err(StoreError::Backend(sqlx::Error::Protocol(
                                    "the group commit gave no answer for an insert".into(),
                                ))),
                            });
                        }
                        Reply::Finalize(n, reply) => {
                            let _ = reply.send(Ok(finalized.by_ref().take(n).collect()));
                        }
                        Reply::Record(reply) => {
                            let _ = reply.send(Ok(()));
                        }
                        Reply::Claim(i, reply) => {
                            let _ = reply.send(Ok(claimed.get_mut(i).map(std::mem::take).unwrap_or_default()));
                        }
                    }
                }
            }
            Err(e) => {
                tracing::error!(error = %e.message, rows = self.size, "group commit failed");
                let failed = || e.to_store_error();
                for reply in self.replies {
                    match reply {
                        Reply::Insert(reply) => {
                            let _ = reply.send(Err(failed()));
                        }
                        Reply::Finalize(_, reply) => {
                            let _ = reply.send(Err(failed()));
                        }
                        Reply::Record(reply) => {
                            let _ = reply.send(Err(failed()));
                        }
                        Reply::Claim(_, reply) => {
                            let _ = reply.send(Err(failed()));
                        }
                    }
                }
            }
        }
    }
}
