//! The embedded SQLite engine.
//!
//! One writer connection (SQLite allows one writer at a time; queuing in the pool is cheaper
//! than lock retries) and a pool of readers, which WAL lets run beside the writer.
//! `synchronous=FULL`: a commit is on disk before the server acknowledges it.
//!
//! New transactions go through a group commit: concurrent inserts queue to one committer task,
//! which writes everything waiting in one database transaction (one fsync) and then answers each
//! caller. A caller's 202 still comes only after its row is durable; the fsync is shared.

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

use super::migrations;

/// The SQLite store.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
    committer: tokio::sync::mpsc::Sender<Pending>,
}

/// An insert waiting for the group commit, and where to send its outcome.
type Pending = (super::TransactionRecord, tokio::sync::oneshot::Sender<super::StoreResult<()>>);

/// How many inserts one group commit takes at most.
const GROUP: usize = 512;

impl SqliteStore {
    /// Open (creating if needed) the database at `url` (`sqlite://path/to/momo.db`) and migrate it.
    pub async fn open(url: &str) -> anyhow::Result<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options.clone())
            .await?;
        migrations::SQLITE.migrator().await?.run(&writer).await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options.read_only(true))
            .await?;
        let (committer, queue) = tokio::sync::mpsc::channel(4 * GROUP);
        tokio::spawn(group_commit(writer.clone(), queue));
        Ok(Self { writer, reader, committer })
    }

    async fn insert_one_transaction(&self, tx: &super::TransactionRecord) -> super::StoreResult<()> {
        let (reply, outcome) = tokio::sync::oneshot::channel();
        let stopped = || super::StoreError::Backend(sqlx::Error::PoolClosed);
        self.committer.send((tx.clone(), reply)).await.map_err(|_| stopped())?;
        outcome.await.map_err(|_| stopped())?
    }

    fn writer(&self) -> &SqlitePool {
        &self.writer
    }

    fn reader(&self) -> &SqlitePool {
        &self.reader
    }
}

/// The committer: take what is waiting (at least one), write it in one transaction, answer each.
async fn group_commit(writer: SqlitePool, mut queue: tokio::sync::mpsc::Receiver<Pending>) {
    while let Some(first) = queue.recv().await {
        let mut batch = vec![first];
        while batch.len() < GROUP {
            match queue.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let records: Vec<super::TransactionRecord> = batch.iter().map(|(tx, _)| tx.clone()).collect();
        let written = async {
            let mut db = writer.begin().await?;
            let inserted = insert_transactions(&mut db, &records).await?;
            db.commit().await?;
            Ok::<_, sqlx::Error>(inserted)
        }
        .await;
        match written {
            Ok(inserted) => {
                for ((_, reply), new) in batch.into_iter().zip(inserted) {
                    let _ = reply.send(if new { Ok(()) } else { Err(super::StoreError::Conflict) });
                }
            }
            Err(e) => {
                tracing::error!(error = %e, batch = batch.len(), "group commit failed");
                for (_, reply) in batch {
                    let _ = reply.send(Err(super::StoreError::Backend(sqlx::Error::Protocol(format!(
                        "group commit failed: {e}"
                    )))));
                }
            }
        }
    }
}

super::sql::impl_store!(SqliteStore, sqlx::Sqlite, sqlx::sqlite::SqliteRow, "sqlite", "", "");
