//! The settings a commit's durability rests on, read back from the database: the crash tests
//! (SIGKILL) cannot see them, since the operating system keeps what a killed process wrote
//! (docs/reliability.md, "Durability").

use momo_server::store::postgres::PgStore;
use momo_server::store::sqlite::SqliteStore;

use crate::helpers::fresh_postgres_database;

/// SQLite: every connection that writes the database syncs the write-ahead log at every commit:
/// the committer's (the payment path) and the writer pool's (everything else).
#[tokio::test]
async fn the_sqlite_committer_syncs_its_write_ahead_log_at_every_commit() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&format!("sqlite://{}", dir.path().join("momo.db").display())).await.unwrap();
    let connections = store.durability().await.unwrap();
    let names: Vec<&str> = connections.iter().map(|(name, _)| *name).collect();
    assert_eq!(names, ["committer", "writer"]);
    for (name, durability) in connections {
        assert_eq!(durability.synchronous, 2, "{name}: PRAGMA synchronous is FULL: {durability:?}");
        assert_eq!(durability.journal_mode, "wal", "{name}: {durability:?}");
    }
}

/// SQLite: a database in memory is refused at start with an error that says so. The committer
/// opens the file on a connection of its own, where an in-memory database would be another,
/// empty one, and no commit in memory is durable.
#[tokio::test]
async fn an_in_memory_sqlite_database_is_refused_with_an_error_that_says_why() {
    for url in ["sqlite::memory:", "sqlite://momo.db?mode=memory"] {
        let error = SqliteStore::open(url).await.map(|_| ()).unwrap_err().to_string();
        assert!(error.contains("in-memory SQLite database cannot be used"), "{url}: {error}");
    }
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
