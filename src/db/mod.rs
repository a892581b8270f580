//! The database layer: one diesel `MultiConnection` over SQLite and PostgreSQL, an r2d2 pool whose
//! manager picks the backend from the URL scheme (so a bad URL fails with the database's own message),
//! and migrations embedded per backend.

pub mod schema;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::{ManageConnection, Pool, PooledConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::error::AppError;

#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Sqlite(SqliteConnection),
    Postgres(PgConnection),
}

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Serialises migrations when several instances start at once on one PostgreSQL database.
const MIGRATION_LOCK_ID: i64 = 0x4c61_7463_686b;

/// Where the data lives, decided once from `DATABASE_URL`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(PathBuf),
    Postgres(String),
}

impl DatabaseUrl {
    /// `postgres://` / `postgresql://` select PostgreSQL; `sqlite://path`, `sqlite:path` or a plain path select SQLite.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err("DATABASE_URL is empty".into());
        }
        if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
            return Ok(Self::Postgres(raw.to_string()));
        }
        let path = raw
            .strip_prefix("sqlite://")
            .or_else(|| raw.strip_prefix("sqlite:"))
            .unwrap_or(raw);
        if path.contains("://") {
            return Err(format!(
                "DATABASE_URL must be a SQLite file path, a sqlite:// URL or a postgres:// URL, not {}",
                redact(raw)
            ));
        }
        if path.is_empty() || path == ":memory:" {
            return Err("DATABASE_URL must name a SQLite file (an in-memory database is not shared by the pool)".into());
        }
        Ok(Self::Sqlite(PathBuf::from(path)))
    }

    pub fn backend_name(&self) -> &'static str {
        match self {
            Self::Sqlite(_) => "SQLite",
            Self::Postgres(_) => "PostgreSQL",
        }
    }

    /// The URL with any password removed, fit for logs.
    pub fn display(&self) -> String {
        match self {
            Self::Sqlite(path) => path.display().to_string(),
            Self::Postgres(url) => redact(url),
        }
    }
}

/// Removes the password from a URL so it can be logged.
fn redact(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => raw.to_string(),
    }
}

/// Opens connections for the pool, choosing the backend by URL rather than letting
/// `MultiConnection::establish` try each one and discard the errors.
#[derive(Debug, Clone)]
pub struct ConnectionManager {
    url: DatabaseUrl,
}

impl ConnectionManager {
    pub fn new(url: DatabaseUrl) -> Self {
        Self { url }
    }

    pub fn connect(&self) -> Result<DbConnection, ConnectionError> {
        match &self.url {
            DatabaseUrl::Postgres(url) => Ok(DbConnection::Postgres(PgConnection::establish(url)?)),
            DatabaseUrl::Sqlite(path) => {
                let mut conn = SqliteConnection::establish(&path.to_string_lossy())?;
                // synchronous = FULL: a commit is on disk (the WAL fsynced) before it is
                // acknowledged, so an answered write survives a power loss or OS crash, not only a
                // killed process. Writes are people's changes and batched flushes, so the fsync
                // per commit costs little; key verification reads only.
                conn.batch_execute(
                    "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; \
                     PRAGMA busy_timeout = 5000; PRAGMA synchronous = FULL;",
                )
                .map_err(|e| ConnectionError::BadConnection(e.to_string()))?;
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }
}

impl ManageConnection for ConnectionManager {
    type Connection = DbConnection;
    type Error = ConnectionError;

    fn connect(&self) -> Result<DbConnection, ConnectionError> {
        ConnectionManager::connect(self)
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), ConnectionError> {
        conn.batch_execute("SELECT 1")
            .map_err(|e| ConnectionError::BadConnection(e.to_string()))
    }

    fn has_broken(&self, _conn: &mut DbConnection) -> bool {
        false
    }
}

pub type DbPool = Pool<ConnectionManager>;
pub type PooledDb = PooledConnection<ConnectionManager>;

/// Why the database could not be opened at start.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("{0}")]
    BadUrl(String),
    #[error("cannot create the folder {path} for the SQLite database: {source}")]
    CreateDir {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot connect to the {backend} database {url}: {source}")]
    Connect {
        backend: &'static str,
        url: String,
        source: ConnectionError,
    },
    #[error("cannot apply the database migrations: {0}")]
    Migrate(String),
    #[error("cannot build the connection pool: {0}")]
    Pool(String),
}

/// The pool and the backend it talks to; cheap to clone.
#[derive(Clone)]
pub struct Db {
    pool: DbPool,
    url: DatabaseUrl,
    authz_generation: Arc<AtomicU64>,
}

impl Db {
    /// Connects once directly (so a wrong URL fails at once with the database's message), applies
    /// migrations, then builds the pool.
    pub fn open(raw_url: &str, max_size: u32) -> Result<Self, OpenError> {
        let url = DatabaseUrl::parse(raw_url).map_err(OpenError::BadUrl)?;
        if let DatabaseUrl::Sqlite(path) = &url {
            ensure_parent_dir(path)?;
        }
        let manager = ConnectionManager::new(url.clone());
        let mut first = manager.connect().map_err(|source| OpenError::Connect {
            backend: url.backend_name(),
            url: url.display(),
            source,
        })?;
        run_migrations(&mut first).map_err(OpenError::Migrate)?;
        drop(first);
        let pool = Pool::builder()
            .max_size(max_size.max(1))
            .min_idle(Some(1))
            .connection_timeout(Duration::from_secs(5))
            .build(manager)
            .map_err(|e| OpenError::Pool(e.to_string()))?;
        Ok(Self {
            pool,
            url,
            authz_generation: Arc::new(AtomicU64::new(0)),
        })
    }

    pub fn url(&self) -> &DatabaseUrl {
        &self.url
    }

    /// Tells this instance's caches that what keys may do has changed (other instances learn it from
    /// the version stored in the database).
    pub fn note_authz_change(&self) {
        self.authz_generation.fetch_add(1, Ordering::Release);
    }

    /// Changes each time this instance changes keys, roles or permissions.
    pub fn authz_generation(&self) -> u64 {
        self.authz_generation.load(Ordering::Acquire)
    }

    /// A pooled connection for blocking code (CLI commands, tests); request handlers use [`Db::run`].
    pub fn get(&self) -> Result<PooledDb, AppError> {
        self.pool
            .get()
            .map_err(|e| AppError::Unavailable(e.to_string()))
    }

    /// Runs blocking database work on the blocking thread pool, off the async workers.
    pub async fn run<T, E, F>(&self, work: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<AppError> + Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
    {
        let pool = self.pool.clone();
        actix_web::rt::task::spawn_blocking(move || {
            let mut conn = pool
                .get()
                .map_err(|e| AppError::Unavailable(e.to_string()))?;
            work(&mut conn)
        })
        .await
        .map_err(|e| AppError::Internal(format!("database task failed: {e}")))?
    }
}

fn ensure_parent_dir(path: &Path) -> Result<(), OpenError> {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => {
            std::fs::create_dir_all(parent).map_err(|source| OpenError::CreateDir {
                path: parent.display().to_string(),
                source,
            })
        }
        _ => Ok(()),
    }
}

/// Applies the pending migrations of the connection's backend.
/// Runs `work` in one transaction, committed when it returns `Ok` and rolled back otherwise.
///
/// Use this rather than `Connection::transaction`: on SQLite the outermost transaction starts with
/// `BEGIN IMMEDIATE`, taking the write lock at once and waiting up to `busy_timeout` for another
/// writer. A plain (deferred) `BEGIN` that reads and then writes fails at once with "database is
/// locked" when another connection wrote in between, whatever the busy timeout: concurrent API calls
/// then answered 500. Inside a transaction this opens a savepoint, as `Connection::transaction` does.
pub fn transaction<T, E, F>(conn: &mut DbConnection, work: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    type Manager = <DbConnection as Connection>::TransactionManager;
    let outermost = Manager::transaction_manager_status_mut(conn)
        .transaction_depth()?
        .is_none();
    match conn {
        DbConnection::Sqlite(inner) if outermost => {
            AnsiTransactionManager::begin_transaction_sql(inner, "BEGIN IMMEDIATE")?
        }
        _ => Manager::begin_transaction(conn)?,
    }
    match work(conn) {
        Ok(value) => {
            Manager::commit_transaction(conn)?;
            Ok(value)
        }
        Err(error) => match Manager::rollback_transaction(conn) {
            Ok(()) | Err(diesel::result::Error::BrokenTransactionManager) => Err(error),
            Err(rollback_error) => Err(rollback_error.into()),
        },
    }
}

pub fn run_migrations(conn: &mut DbConnection) -> Result<(), String> {
    match conn {
        DbConnection::Sqlite(c) => c
            .run_pending_migrations(SQLITE_MIGRATIONS)
            .map(|_| ())
            .map_err(|e| e.to_string()),
        DbConnection::Postgres(c) => {
            diesel::sql_query(format!("SELECT pg_advisory_lock({MIGRATION_LOCK_ID})"))
                .execute(c)
                .map_err(|e| e.to_string())?;
            let outcome = c
                .run_pending_migrations(POSTGRES_MIGRATIONS)
                .map(|_| ())
                .map_err(|e| e.to_string());
            diesel::sql_query(format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_ID})"))
                .execute(c)
                .map_err(|e| e.to_string())?;
            outcome
        }
    }
}

/// True when the error is a unique-constraint violation (on either backend).
pub fn is_unique_violation(err: &diesel::result::Error) -> bool {
    matches!(
        err,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)
    )
}

/// The current UTC time at the precision both backends store (microseconds).
pub fn now() -> chrono::NaiveDateTime {
    use chrono::SubsecRound;
    chrono::Utc::now().naive_utc().trunc_subsecs(6)
}

/// A new text id: a UUID v7, so ids sort by creation time.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}
