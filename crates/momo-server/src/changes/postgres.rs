//! The change relay between instances sharing a PostgreSQL database: `NOTIFY` and `LISTEN` on
//! one channel, one notification per batch ([`super::run_shared`]).

use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions};

/// The channel instances sharing a database announce their console changes on.
const CHANGES_CHANNEL: &str = "momo_console_changes";

/// `NOTIFY` carries at most 8,000 bytes; a batch longer than this is announced as everything.
const MAX_NOTIFY_PAYLOAD: usize = 7_900;

/// What one instance announces: its batch, and who it is (so it ignores its own).
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Announcement {
    origin: uuid::Uuid,
    batch: super::Batch,
}

/// This instance's side of the change relay: `NOTIFY` on a connection of its own.
#[derive(Debug)]
pub(crate) struct PgAnnouncer {
    pool: PgPool,
    origin: uuid::Uuid,
}

/// The other instances' side: `LISTEN` on a connection of its own.
#[derive(Debug)]
pub(crate) struct PgChangeListener {
    listener: sqlx::postgres::PgListener,
    origin: uuid::Uuid,
    /// Listening failed since the last announcement was received.
    lost: bool,
}

/// The console's change relay between instances sharing the database at `url`
/// ([`crate::changes`]): two connections, apart from the store's pool.
pub(crate) async fn relay(url: &str) -> anyhow::Result<(PgAnnouncer, PgChangeListener)> {
    let origin = uuid::Uuid::new_v4();
    let pool = PgPoolOptions::new().max_connections(1).acquire_timeout(Duration::from_secs(3)).connect_lazy(url)?;
    let mut listener = sqlx::postgres::PgListener::connect(url).await?;
    listener.listen(CHANGES_CHANNEL).await?;
    Ok((PgAnnouncer { pool, origin }, PgChangeListener { listener, origin, lost: false }))
}

impl super::Announce for PgAnnouncer {
    async fn announce(&mut self, batch: &super::Batch) -> anyhow::Result<()> {
        let mut payload = serde_json::to_string(&Announcement { origin: self.origin, batch: batch.clone() })?;
        if payload.len() > MAX_NOTIFY_PAYLOAD {
            payload = serde_json::to_string(&Announcement { origin: self.origin, batch: super::Batch::Everything })?;
        }
        sqlx::query("SELECT pg_notify($1, $2)").bind(CHANGES_CHANNEL).bind(payload).execute(&self.pool).await?;
        Ok(())
    }
}

impl super::Listen for PgChangeListener {
    async fn next(&mut self) -> super::Batch {
        loop {
            match self.listener.try_recv().await {
                // Listening again after a failure: what was announced meanwhile is lost, so every
                // page looks again.
                Ok(Some(_)) if std::mem::take(&mut self.lost) => return super::Batch::Everything,
                Ok(Some(notification)) => match serde_json::from_str::<Announcement>(notification.payload()) {
                    Ok(announced) if announced.origin == self.origin => continue,
                    Ok(announced) => return announced.batch,
                    Err(e) => {
                        tracing::warn!(error = %e, "an unreadable change announcement; every page looks again");
                        return super::Batch::Everything;
                    }
                },
                // The connection was lost (the next call connects again): announcements may have
                // been missed meanwhile.
                Ok(None) => return super::Batch::Everything,
                Err(e) => {
                    if !self.lost {
                        tracing::warn!(error = %e, "cannot listen for other instances' changes; retrying");
                    }
                    self.lost = true;
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }
}
