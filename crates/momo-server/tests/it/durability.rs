//! The settings a commit's durability rests on, read back from the database: the crash tests
//! (SIGKILL) cannot see them, since the operating system keeps what a killed process wrote
//! (docs/reliability.md, "Durability").

use momo_server::store::postgres::PgStore;
use momo_server::store::sqlite::SqliteStore;

use crate::helpers::fresh_postgres_database;
use crate::store_conformance::pending;
use momo_server::store::Payments;

/// SQLite: every connection that writes the database syncs the write-ahead log at every commit:
/// the committer's (the payment path), the checkpointer's (which copies the log into the
/// database) and the writer pool's (everything else).
#[tokio::test]
async fn the_sqlite_committer_syncs_its_write_ahead_log_at_every_commit() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&format!("sqlite://{}", dir.path().join("momo.db").display())).await.unwrap();
    let connections = store.durability().await.unwrap();
    let names: Vec<&str> = connections.iter().map(|(name, _)| *name).collect();
    assert_eq!(names, ["committer", "checkpointer", "writer"]);
    for (name, durability) in connections {
        assert_eq!(durability.synchronous, 2, "{name}: PRAGMA synchronous is FULL: {durability:?}");
        assert_eq!(durability.journal_mode, "wal", "{name}: {durability:?}");
    }
}

/// SQLite: what the payment path commits reaches the database file soon after, by a checkpoint
/// made beside the commits, not only once the write-ahead log has grown to SQLite's checkpoint
/// threshold at a commit (1,000 pages by default; the committer's own is far higher). A copy of
/// the database file alone, without its log, shows it.
#[tokio::test]
async fn sqlite_commits_are_checkpointed_into_the_database_file_beside_the_commits() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("momo.db");
    let store = SqliteStore::open(&format!("sqlite://{}", file.display())).await.unwrap();
    store.insert_transaction(&pending("checkpointed", 100)).await.unwrap();
    let copy = dir.path().join("copy.db");
    let mut found = 0;
    for _ in 0..50 {
        std::fs::copy(&file, &copy).unwrap();
        // A copy taken while a checkpoint writes may be torn: then the next one.
        found = rusqlite::Connection::open(&copy)
            .and_then(|db| {
                db.query_row("SELECT count(*) FROM transactions WHERE reference_id = 'checkpointed'", [], |row| {
                    row.get(0)
                })
            })
            .unwrap_or(0);
        if found == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(found, 1, "the committed row is in the database file within 5 s");
}

/// PostgreSQL: the server's settings (which openmomo does not change) have a commit wait for
/// the disk, and protect the pages a power loss can tear.
#[tokio::test]
async fn postgresql_commits_wait_for_the_disk() {
    let Some(url) = fresh_postgres_database().await else { return };
    let store = PgStore::open(&url).await.unwrap();
    let durability = store.durability().await.unwrap();
    assert!(durability.fsync, "{durability:?}");
    assert!(durability.full_page_writes, "{durability:?}");
    assert_ne!(durability.synchronous_commit, "off", "{durability:?}");
}
