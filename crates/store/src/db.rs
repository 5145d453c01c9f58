//! The connection enum, the pool, transactions and migrations.

use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::pg::PgConnection;
use diesel::r2d2::{Pool, PooledConnection, R2D2Connection};
use diesel::sqlite::SqliteConnection;
use diesel::Connection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::StoreError;

/// One connection type for both databases; queries are written once
/// against it. Statements that differ per backend match on the variant.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Pg(PgConnection),
    Sqlite(SqliteConnection),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

impl Backend {
    /// `postgres://` and `postgresql://` select PostgreSQL; anything else is
    /// a SQLite file path (an optional `sqlite://` prefix is stripped).
    pub fn from_url(url: &str) -> Self {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Postgres => "postgres",
            Backend::Sqlite => "sqlite",
        }
    }
}

fn sqlite_path(url: &str) -> &str {
    url.strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url)
}

/// Picks the variant from the URL instead of trying each in turn, so that a
/// wrong password or a stopped server is reported as such.
#[derive(Debug)]
pub struct ConnectionManager {
    url: String,
    backend: Backend,
}

impl r2d2::ManageConnection for ConnectionManager {
    type Connection = DbConn;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<DbConn, Self::Error> {
        match self.backend {
            Backend::Postgres => PgConnection::establish(&self.url)
                .map(DbConn::Pg)
                .map_err(diesel::r2d2::Error::ConnectionError),
            Backend::Sqlite => {
                let mut conn = SqliteConnection::establish(sqlite_path(&self.url))
                    .map_err(diesel::r2d2::Error::ConnectionError)?;
                // Per-connection settings; WAL is set once on the file (see `Store::open`).
                conn.batch_execute(
                    "PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;",
                )
                .map_err(diesel::r2d2::Error::QueryError)?;
                Ok(DbConn::Sqlite(conn))
            }
        }
    }

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), Self::Error> {
        conn.ping().map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConn) -> bool {
        conn.is_broken()
    }
}

pub type PooledConn = PooledConnection<ConnectionManager>;

const PG_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");
const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");

/// The pool, shared by every request; cheap to clone.
#[derive(Clone)]
pub struct Store {
    pool: Pool<ConnectionManager>,
    backend: Backend,
}

impl Store {
    /// Connects (failing fast with the server's own message) and, for SQLite,
    /// turns on write-ahead logging.
    pub fn open(url: &str, pool_size: u32) -> Result<Self, StoreError> {
        let backend = Backend::from_url(url);
        let manager = ConnectionManager {
            url: url.to_string(),
            backend,
        };
        let pool = Pool::builder()
            .max_size(pool_size.max(1))
            .connection_timeout(Duration::from_secs(5))
            .error_handler(Box::new(r2d2::NopErrorHandler))
            .build(manager)
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        let store = Store { pool, backend };
        if backend == Backend::Sqlite {
            let mut conn = store.conn()?;
            conn.batch_execute("PRAGMA journal_mode = WAL;")?;
        }
        Ok(store)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn conn(&self) -> Result<PooledConn, StoreError> {
        Ok(self.pool.get()?)
    }

    pub fn ping(&self) -> Result<(), StoreError> {
        ping(&mut *self.conn()?)
    }

    /// Applies pending migrations; returns the versions applied.
    pub fn migrate(&self) -> Result<Vec<String>, StoreError> {
        let mut conn = self.conn()?;
        let tree = migrations_for(&conn);
        conn.run_pending_migrations(tree)
            .map(|versions| versions.iter().map(|v| v.to_string()).collect())
            .map_err(|e| StoreError::Migration(e.to_string()))
    }

    /// Versions not yet applied, so `serve` can refuse a stale schema.
    pub fn pending_migrations(&self) -> Result<Vec<String>, StoreError> {
        let mut conn = self.conn()?;
        let tree = migrations_for(&conn);
        conn.pending_migrations(tree)
            .map(|ms| ms.iter().map(|m| m.name().version().to_string()).collect())
            .map_err(|e| StoreError::Migration(e.to_string()))
    }
}

/// The database answers a trivial query.
pub fn ping(conn: &mut DbConn) -> Result<(), StoreError> {
    conn.batch_execute("SELECT 1")?;
    Ok(())
}

fn migrations_for(conn: &DbConn) -> EmbeddedMigrations {
    match conn {
        DbConn::Pg(_) => PG_MIGRATIONS,
        DbConn::Sqlite(_) => SQLITE_MIGRATIONS,
    }
}

/// The migration versions of each tree, for the test that keeps them alike.
pub fn migration_versions() -> (Vec<String>, Vec<String>) {
    fn versions<DB: diesel::backend::Backend>(tree: EmbeddedMigrations) -> Vec<String> {
        diesel::migration::MigrationSource::<DB>::migrations(&tree)
            .map(|ms| ms.iter().map(|m| m.name().version().to_string()).collect())
            .unwrap_or_default()
    }
    (
        versions::<diesel::pg::Pg>(PG_MIGRATIONS),
        versions::<diesel::sqlite::Sqlite>(SQLITE_MIGRATIONS),
    )
}

/// A transaction for work that writes. On SQLite it begins `IMMEDIATE`, so a
/// transaction that reads before it writes waits for the lock instead of
/// failing with "database is locked"; on PostgreSQL it is a plain
/// transaction (lost updates are prevented by version checks in `UPDATE`).
pub fn write_tx<T, E>(
    conn: &mut DbConn,
    f: impl FnOnce(&mut DbConn) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    match conn {
        DbConn::Sqlite(c) => {
            let nested = AnsiTransactionManager::transaction_manager_status_mut(c)
                .transaction_depth()?
                .is_some();
            if nested {
                // Inside a caller's transaction, a savepoint: store operations compose.
                AnsiTransactionManager::begin_transaction(c)?
            } else {
                AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?
            }
        }
        DbConn::Pg(_) => <DbConn as Connection>::TransactionManager::begin_transaction(conn)?,
    }
    match f(conn) {
        Ok(value) => {
            <DbConn as Connection>::TransactionManager::commit_transaction(conn)?;
            Ok(value)
        }
        Err(e) => {
            <DbConn as Connection>::TransactionManager::rollback_transaction(conn)?;
            Err(e)
        }
    }
}

/// A read-only transaction that sees one consistent state of the database
/// throughout (`REPEATABLE READ` on PostgreSQL; on SQLite a deferred
/// transaction, whose first read fixes its snapshot). For reads that must
/// agree with each other, such as a model's snapshot; it takes no write lock.
pub fn read_tx<T, E>(conn: &mut DbConn, f: impl FnOnce(&mut DbConn) -> Result<T, E>) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    <DbConn as Connection>::TransactionManager::begin_transaction(conn)?;
    if matches!(conn, DbConn::Pg(_)) {
        use diesel::RunQueryDsl;
        if let Err(e) =
            diesel::sql_query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .execute(conn)
        {
            <DbConn as Connection>::TransactionManager::rollback_transaction(conn)?;
            return Err(e.into());
        }
    }
    let out = f(conn);
    // Nothing was written: ending it either way is the same.
    <DbConn as Connection>::TransactionManager::rollback_transaction(conn)?;
    out
}

/// Runs the same statement on whichever backend the connection is, for the
/// few statements diesel cannot build on the enum (multi-row inserts,
/// `ON CONFLICT`, `FOR UPDATE`). Each arm is type-checked on its backend.
#[macro_export]
macro_rules! per_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::DbConn::Pg($c) => $body,
            $crate::db::DbConn::Sqlite($c) => $body,
        }
    };
}
