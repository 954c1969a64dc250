//! What the shared SQL (`sql/`) needs of a database engine, and nothing more.
//!
//! The statements are written once, generic over [`Engine`]. Written against sqlx's generic API
//! instead, every function would carry bounds such as `for<'c> &'c mut DB::Connection:
//! Executor<'c, Database = DB>` and `&str: Encode<'_, DB>` for each type it binds, longer than
//! the SQL. Here each engine implements a handful of primitives with its concrete types, where
//! sqlx's bounds hold without being written, and the shared code reaches them through
//! [`Statement`], [`Row`] and [`Bind`]. What else differs between the engines is in their own
//! modules (`sqlite/`, `postgres/`), behind [`SqlStore`](super::sql::SqlStore).

use futures_util::future::BoxFuture;
use sqlx::database::HasStatementCache;
use sqlx::pool::PoolConnection;
use sqlx::postgres::PgRow;
use sqlx::query::Query;
use sqlx::query_builder::Separated;
use sqlx::sqlite::SqliteRow;
use sqlx::{ColumnIndex, Database, Decode, Encode, Pool, Postgres, QueryBuilder, Sqlite, Type};

/// A statement's bound values, as an engine keeps them.
type Arguments<'q, DB> = <DB as Database>::Arguments<'q>;

/// A statement and its bound values, as sqlx keeps them: its text borrowed for `'s`, its values
/// for `'q`.
pub(crate) type BoundQuery<'s, 'q, DB> = Query<'s, DB, Arguments<'q, DB>>;

/// A database engine, as the shared SQL uses it: each method is a one-line call of sqlx with
/// the engine's concrete types.
pub(crate) trait Engine: Database + HasStatementCache {
    /// `sqlite` or `postgres`, as [`Backend::backend`](super::Backend::backend) names it.
    const BACKEND: &'static str;
    /// What a `SELECT` ends with to keep the rows it read until the commit. Nothing on SQLite:
    /// its one writer holds the whole database for the transaction.
    const LOCK: &'static str;
    /// [`Engine::LOCK`], passing over rows that another transaction holds.
    const SKIP_LOCKED: &'static str;
    /// Whether the database has one writer at a time (SQLite). Then the group commit, which is
    /// that writer, makes every settlement (`sql::ledger::settle`), and settlements made on their
    /// own (`sql::ledger::finalize_together`, those a commit left to their callers) may share one
    /// commit, since no other transaction can hold their rows (on PostgreSQL, several in one
    /// transaction would take rows out of the lock order that keeps instances from deadlocking),
    /// and that commit begins by taking the write
    /// lock (`BEGIN IMMEDIATE`): it reads before it writes (a refund's guard), and a transaction
    /// begun as a reader fails at once with `SQLITE_BUSY` once another connection (another
    /// instance's committer) has written, where one that asks for the lock first waits its turn.
    /// The store's other write transactions write first, and so wait for the lock as they are.
    const ONE_WRITER: bool;

    fn bind<'q, T: Value<'q>>(query: BoundQuery<'q, 'q, Self>, value: T) -> BoundQuery<'q, 'q, Self>;
    fn push_bind<'q, T: Value<'q>>(builder: &mut QueryBuilder<'q, Self>, value: T);
    fn push_bind_separated<'q, T: Value<'q>>(row: &mut Separated<'_, 'q, Self, &'static str>, value: T);
    /// Run a statement on a connection; what it did (how many rows it changed). The run
    /// primitives return boxed futures: opaque ones, with these lifetime bounds, fail the `Send`
    /// check `async_trait` makes of every caller (docs/architecture.md, "Storage").
    fn execute<'e, 's: 'e, 'q: 's, 'c: 'e>(
        query: BoundQuery<'s, 'q, Self>,
        connection: &'c mut Self::Connection,
    ) -> BoxFuture<'e, sqlx::Result<Self::QueryResult>>;
    fn rows_affected(result: &Self::QueryResult) -> u64;
    fn fetch_all<'e, 's: 'e, 'q: 's, 'c: 'e>(
        query: BoundQuery<'s, 'q, Self>,
        connection: &'c mut Self::Connection,
    ) -> BoxFuture<'e, sqlx::Result<Vec<Self::Row>>>;
    fn fetch_optional<'e, 's: 'e, 'q: 's, 'c: 'e>(
        query: BoundQuery<'s, 'q, Self>,
        connection: &'c mut Self::Connection,
    ) -> BoxFuture<'e, sqlx::Result<Option<Self::Row>>>;
    fn get<'r, T: Column<'r>>(row: &'r Self::Row, column: impl ColumnRef) -> sqlx::Result<T>;
}

/// A value both engines bind: text, integers and bytes, owned or borrowed, and their options.
pub(crate) trait Value<'q>:
    'q + Encode<'q, Sqlite> + Type<Sqlite> + Encode<'q, Postgres> + Type<Postgres>
{
}

impl<'q, T> Value<'q> for T where T: 'q + Encode<'q, Sqlite> + Type<Sqlite> + Encode<'q, Postgres> + Type<Postgres> {}

/// A column type both engines decode.
pub(crate) trait Column<'r>: Decode<'r, Sqlite> + Type<Sqlite> + Decode<'r, Postgres> + Type<Postgres> {}

impl<'r, T> Column<'r> for T where T: Decode<'r, Sqlite> + Type<Sqlite> + Decode<'r, Postgres> + Type<Postgres> {}

/// A column by name, or by position where the statement does not name it.
pub(crate) trait ColumnRef: ColumnIndex<SqliteRow> + ColumnIndex<PgRow> {}

impl<T> ColumnRef for T where T: ColumnIndex<SqliteRow> + ColumnIndex<PgRow> {}

/// A row as the shared SQL reads it.
pub(crate) struct Row<'r, DB: Engine>(&'r DB::Row);

impl<'r, DB: Engine> Row<'r, DB> {
    /// The column called `column` (or at that position).
    pub(crate) fn get<T: Column<'r>>(&self, column: impl ColumnRef) -> sqlx::Result<T> {
        DB::get(self.0, column)
    }
}

/// Where a statement runs: on a pool, which lends it a connection for the statement, or on a
/// connection the caller holds (inside a transaction).
#[derive(Debug)]
pub(crate) enum On<'c, DB: Database> {
    Pool(&'c Pool<DB>),
    Connection(&'c mut DB::Connection),
}

impl<'c, DB: Database> From<&'c Pool<DB>> for On<'c, DB> {
    fn from(pool: &'c Pool<DB>) -> Self {
        On::Pool(pool)
    }
}

impl<'c, DB: Database> From<&'c mut DB::Connection> for On<'c, DB> {
    fn from(connection: &'c mut DB::Connection) -> Self {
        On::Connection(connection)
    }
}

/// The connection a statement runs on, lent by a pool (given back when dropped) or the caller's.
enum Held<'c, DB: Database> {
    Lent(PoolConnection<DB>),
    Callers(&'c mut DB::Connection),
}

impl<'c, DB: Database> On<'c, DB> {
    async fn hold(self) -> sqlx::Result<Held<'c, DB>> {
        Ok(match self {
            // Boxed: the pool's wait for a connection is a large future (about 1.4 KiB), and
            // inline it would make every store method's future as large, a cost paid even
            // where the future is made and dropped unpolled (a credential-cache hit).
            On::Pool(pool) => Held::Lent(Box::pin(pool.acquire()).await?),
            On::Connection(connection) => Held::Callers(connection),
        })
    }
}

impl<DB: Database> Held<'_, DB> {
    fn connection(&mut self) -> &mut DB::Connection {
        match self {
            Held::Lent(connection) => connection,
            Held::Callers(connection) => connection,
        }
    }
}

/// A statement and its bound values: `Statement::new(SQL).bind(id).fetch_optional(pool, decode)`.
/// Its text is borrowed for `'s`, its values for `'q` (the same, but for a statement a
/// [`QueryBuilder`] built, which lends its text for less time than its values).
pub(crate) struct Statement<'s, 'q, DB: Engine>(BoundQuery<'s, 'q, DB>);

impl<'s, 'q, DB: Engine> From<BoundQuery<'s, 'q, DB>> for Statement<'s, 'q, DB> {
    /// A statement a [`QueryBuilder`] built.
    fn from(query: BoundQuery<'s, 'q, DB>) -> Self {
        Statement(query)
    }
}

impl<'q, DB: Engine> Statement<'q, 'q, DB> {
    pub(crate) fn new(sql: &'q str) -> Self {
        Statement(sqlx::query(sql))
    }

    /// Bind the next `$N`.
    pub(crate) fn bind<T: Value<'q>>(self, value: T) -> Self {
        Statement(DB::bind(self.0, value))
    }
}

impl<'s, 'q: 's, DB: Engine> Statement<'s, 'q, DB> {
    /// Run it; how many rows it changed.
    pub(crate) async fn execute(self, on: impl Into<On<'_, DB>>) -> sqlx::Result<u64> {
        let result = DB::execute(self.0, on.into().hold().await?.connection()).await?;
        Ok(DB::rows_affected(&result))
    }

    /// Every row it returns, decoded (into a `Vec`, or any collection).
    pub(crate) async fn fetch_all<R, C: FromIterator<R>>(
        self,
        on: impl Into<On<'_, DB>>,
        decode: impl Fn(&Row<'_, DB>) -> sqlx::Result<R>,
    ) -> sqlx::Result<C> {
        // The connection goes back to the pool at the end of this statement, before decoding.
        let rows = DB::fetch_all(self.0, on.into().hold().await?.connection()).await?;
        rows.iter().map(|row| decode(&Row(row))).collect()
    }

    /// The first row it returns, if any, decoded.
    pub(crate) async fn fetch_optional<R>(
        self,
        on: impl Into<On<'_, DB>>,
        decode: impl Fn(&Row<'_, DB>) -> sqlx::Result<R>,
    ) -> sqlx::Result<Option<R>> {
        let row = DB::fetch_optional(self.0, on.into().hold().await?.connection()).await?;
        row.as_ref().map(|row| decode(&Row(row))).transpose()
    }

    /// The first row it returns, decoded; [`sqlx::Error::RowNotFound`] if it returns none.
    pub(crate) async fn fetch_one<R>(
        self,
        on: impl Into<On<'_, DB>>,
        decode: impl Fn(&Row<'_, DB>) -> sqlx::Result<R>,
    ) -> sqlx::Result<R> {
        self.fetch_optional(on, decode).await?.ok_or(sqlx::Error::RowNotFound)
    }
}

/// Binding through the engine, for a [`QueryBuilder`] and the rows of its `VALUES` lists
/// (sqlx's own `push_bind` asks for bounds the shared code cannot name).
pub(crate) trait Bind<'q> {
    /// Bind a value at this point of the statement (after the separator, in a row).
    fn bind<T: Value<'q>>(&mut self, value: T) -> &mut Self;
}

impl<'q, DB: Engine> Bind<'q> for QueryBuilder<'q, DB> {
    fn bind<T: Value<'q>>(&mut self, value: T) -> &mut Self {
        DB::push_bind(self, value);
        self
    }
}

impl<'q, DB: Engine> Bind<'q> for Separated<'_, 'q, DB, &'static str> {
    fn bind<T: Value<'q>>(&mut self, value: T) -> &mut Self {
        DB::push_bind_separated(self, value);
        self
    }
}
