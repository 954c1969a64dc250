//! Migrations embedded in the binary, one list per engine. Where the SQL is the same for both
//! engines the file lives in `migrations/shared/`.
//!
//! They are fed to sqlx's `Migrator` through a [`MigrationSource`], which keeps sqlx's
//! bookkeeping (`_sqlx_migrations`, checksums, locking) without its `macros` feature: that
//! feature would compile the SQLite C library a second time for the proc-macro host.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;

use sqlx::error::BoxDynError;
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};

/// One engine's migrations: `(version, description, sql)`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Embedded(pub &'static [(i64, &'static str, &'static str)]);

pub(crate) const SQLITE: Embedded = Embedded(&[
    (1, "init", include_str!("migrations/sqlite/0001_init.sql")),
    (2, "payments", include_str!("migrations/shared/0002_payments.sql")),
    (3, "cancellation", include_str!("migrations/shared/0003_cancellation.sql")),
    (4, "consents", include_str!("migrations/shared/0004_consents.sql")),
    (5, "faults", include_str!("migrations/shared/0005_faults.sql")),
    (6, "balance limit", include_str!("migrations/sqlite/0006_balance_limit.sql")),
    (7, "console sessions", include_str!("migrations/shared/0007_console_sessions.sql")),
    (8, "transaction listing", include_str!("migrations/shared/0008_transaction_listing.sql")),
    (9, "transactions by party", include_str!("migrations/shared/0009_transactions_by_party.sql")),
    (10, "callback listing", include_str!("migrations/shared/0010_callback_listing.sql")),
    (11, "outcome reason", include_str!("migrations/shared/0011_outcome_reason.sql")),
]);

pub(crate) const POSTGRES: Embedded = Embedded(&[
    (1, "init", include_str!("migrations/postgres/0001_init.sql")),
    (2, "payments", include_str!("migrations/shared/0002_payments.sql")),
    (3, "cancellation", include_str!("migrations/shared/0003_cancellation.sql")),
    (4, "consents", include_str!("migrations/shared/0004_consents.sql")),
    (5, "faults", include_str!("migrations/shared/0005_faults.sql")),
    (6, "balance limit", include_str!("migrations/postgres/0006_balance_limit.sql")),
    (7, "console sessions", include_str!("migrations/shared/0007_console_sessions.sql")),
    (
        8,
        "transaction listing",
        concat!(
            include_str!("migrations/shared/0008_transaction_listing.sql"),
            include_str!("migrations/postgres/0008_transaction_listing_statistics.sql")
        ),
    ),
    (9, "transactions by party", include_str!("migrations/shared/0009_transactions_by_party.sql")),
    (10, "callback listing", include_str!("migrations/shared/0010_callback_listing.sql")),
    (11, "outcome reason", include_str!("migrations/shared/0011_outcome_reason.sql")),
]);

impl<'s> MigrationSource<'s> for Embedded {
    fn resolve(self) -> Pin<Box<dyn Future<Output = Result<Vec<Migration>, BoxDynError>> + Send + 's>> {
        Box::pin(async move {
            Ok(self
                .0
                .iter()
                .map(|(version, description, sql)| {
                    Migration::new(
                        *version,
                        Cow::Borrowed(*description),
                        MigrationType::Simple,
                        Cow::Borrowed(*sql),
                        false,
                    )
                })
                .collect())
        })
    }
}

impl Embedded {
    pub(crate) async fn migrator(self) -> anyhow::Result<Migrator> {
        Ok(Migrator::new(self).await?)
    }
}
