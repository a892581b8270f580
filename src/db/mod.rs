//! The database layer: one diesel `MultiConnection` over SQLite and PostgreSQL, an r2d2 pool whose
//! manager picks the backend from the URL scheme (so a bad URL fails with the database's own message),
//! and migrations embedded per backend. `url` reads `DATABASE_URL`, `pool` opens and checks out
//! connections, `migrate` applies the schema, [`health`] tells whether the database can be reached.
//!
//! When the database cannot be reached, requests answer 503 within a fraction of a second instead
//! of waiting out the pool (see [`health`] and [`Db::run`]); a pool whose connections are all busy
//! still makes requests wait up to [`POOL_WAIT`], as a busy database is not an outage.

pub mod health;
mod migrate;
mod pool;
pub mod schema;
mod url;

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use diesel::prelude::*;

use crate::error::AppError;
use health::Health;
pub use migrate::run_migrations;
pub use pool::{prepare_postgres_client, ConnectionManager, DbPool, PooledDb, POOL_WAIT};
pub use url::DatabaseUrl;

#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Sqlite(SqliteConnection),
    Postgres(PgConnection),
}

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
}

/// The pool and the backend it talks to; cheap to clone.
#[derive(Clone)]
pub struct Db {
    pool: DbPool,
    url: DatabaseUrl,
    health: Arc<Health>,
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
        let health = Arc::clone(&manager.health);
        let pool = pool::build(manager, max_size);
        Ok(Self {
            pool,
            url,
            health,
            authz_generation: Arc::new(AtomicU64::new(0)),
        })
    }

    /// True while the database cannot be reached (the latest connection attempt failed).
    pub fn is_unreachable(&self) -> bool {
        self.health.is_down()
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
        pool::checkout(&self.pool, &self.health)
    }

    /// Runs blocking database work on the blocking thread pool, off the async workers.
    ///
    /// During an outage it fails at once with [`AppError::Unavailable`], without taking a
    /// blocking thread.
    pub async fn run<T, E, F>(&self, work: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<AppError> + Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
    {
        if let Some(refusal) = pool::fail_fast(&self.pool, &self.health) {
            return Err(refusal.into());
        }
        let pool = self.pool.clone();
        let health = Arc::clone(&self.health);
        actix_web::rt::task::spawn_blocking(move || {
            let mut conn = pool::checkout(&pool, &health)?;
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
