//! The SQL of [`OperatorState`], for both engines.

use async_trait::async_trait;

use super::credentials::BUMP_EPOCH;
use super::{rows, SqlStore};
use crate::store::engine::Statement;
use crate::store::{ConsoleSession, FaultRecord, OperatorState, SecretHash, StoreResult};

#[async_trait]
impl<S: SqlStore> OperatorState for S {
    async fn insert_console_session(&self, session: &ConsoleSession) -> StoreResult<()> {
        let mut tx = self.writer().begin().await?;
        Statement::<S::Db>::new("DELETE FROM console_sessions WHERE expires_at <= $1")
            .bind(session.created_at)
            .execute(&mut *tx)
            .await?;
        Statement::<S::Db>::new(
            "INSERT INTO console_sessions (id_hash, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(session.id_hash.to_hex())
        .bind(&session.csrf_token)
        .bind(session.created_at)
        .bind(session.expires_at)
        .execute(&mut *tx)
        .await?;
        Ok(tx.commit().await?)
    }

    async fn console_session(&self, id_hash: &SecretHash, now: i64) -> StoreResult<Option<ConsoleSession>> {
        Ok(Statement::new(
            "SELECT csrf_token, created_at, expires_at FROM console_sessions WHERE id_hash = $1 AND expires_at > $2",
        )
        .bind(id_hash.to_hex())
        .bind(now)
        .fetch_optional(self.reader(), |row| {
            Ok(ConsoleSession {
                id_hash: id_hash.clone(),
                csrf_token: row.get("csrf_token")?,
                created_at: row.get("created_at")?,
                expires_at: row.get("expires_at")?,
            })
        })
        .await?)
    }

    async fn set_console_csrf(&self, id_hash: &SecretHash, csrf_token: &str) -> StoreResult<()> {
        Statement::new("UPDATE console_sessions SET csrf_token = $2 WHERE id_hash = $1")
            .bind(id_hash.to_hex())
            .bind(csrf_token)
            .execute(self.writer())
            .await?;
        Ok(())
    }

    async fn delete_console_session(&self, id_hash: &SecretHash) -> StoreResult<()> {
        Statement::new("DELETE FROM console_sessions WHERE id_hash = $1")
            .bind(id_hash.to_hex())
            .execute(self.writer())
            .await?;
        Ok(())
    }

    async fn reset_payments(&self) -> StoreResult<()> {
        let mut tx = self.writer().begin().await?;
        for table in
            ["callback_attempts", "callback_deliveries", "ledger_postings", "accounts", "transactions", "consents"]
        {
            Statement::<S::Db>::new(&format!("DELETE FROM {table}")).execute(&mut *tx).await?;
        }
        // Instances cache final statuses: the epoch tells them to forget.
        Statement::<S::Db>::new(BUMP_EPOCH).execute(&mut *tx).await?;
        Ok(tx.commit().await?)
    }

    async fn insert_fault(&self, fault: &FaultRecord) -> StoreResult<()> {
        Statement::new("INSERT INTO fault_rules (id, spec, remaining, created_at) VALUES ($1, $2, $3, $4)")
            .bind(&fault.id)
            .bind(&fault.spec)
            .bind(fault.remaining)
            .bind(fault.created_at)
            .execute(self.writer())
            .await?;
        Ok(())
    }

    async fn faults(&self) -> StoreResult<Vec<FaultRecord>> {
        Ok(Statement::new("SELECT id, spec, remaining, created_at FROM fault_rules ORDER BY created_at, id")
            .fetch_all(self.reader(), rows::fault)
            .await?)
    }

    async fn use_fault(&self, id: &str, counted: bool) -> StoreResult<bool> {
        // A rule until removed needs only to exist: a read, not a write per request.
        let usable = if counted {
            Statement::new("UPDATE fault_rules SET remaining = remaining - 1 WHERE id = $1 AND remaining > 0")
                .bind(id)
                .execute(self.writer())
                .await?
                == 1
        } else {
            Statement::new("SELECT 1 AS found FROM fault_rules WHERE id = $1 AND remaining IS NULL")
                .bind(id)
                .fetch_optional(self.reader(), |_| Ok(()))
                .await?
                .is_some()
        };
        Ok(usable)
    }

    async fn delete_fault(&self, id: &str) -> StoreResult<bool> {
        let deleted = Statement::new("DELETE FROM fault_rules WHERE id = $1").bind(id).execute(self.writer()).await?;
        Ok(deleted == 1)
    }

    async fn delete_faults(&self) -> StoreResult<()> {
        Statement::new("DELETE FROM fault_rules").execute(self.writer()).await?;
        Ok(())
    }
}
