//! The database layer: one diesel `MultiConnection` over SQLite and PostgreSQL, an r2d2 pool whose
//! manager picks the backend from the URL scheme (so a bad URL fails with the database's own message),
//! and migrations embedded per backend.
//!
//! When the database cannot be reached, requests answer 503 within a fraction of a second instead
//! of waiting out the pool (see [`health`] and [`Db::run`]); a pool whose connections are all busy
//! still makes requests wait up to [`POOL_WAIT`], as a busy database is not an outage.

pub mod health;
pub mod schema;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::{HandleError, ManageConnection, Pool, PooledConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::error::AppError;
use health::{Health, Transition};

/// How long a request waits for a free connection while the database is reachable (every pooled
/// connection in use). Unchanged from before: a busy pool is not an outage.
pub const POOL_WAIT: Duration = Duration::from_secs(5);
/// The wait for a connection is taken in slices this long, so that a request notices within one
/// slice that the database became unreachable while it waited.
const WAIT_SLICE: Duration = Duration::from_millis(100);
/// The pool's own timeout. Its background reconnection attempts are spaced by at most half of it,
/// so the database's return is noticed within about half a second.
const POOL_CONNECTION_TIMEOUT: Duration = Duration::from_secs(1);
/// libpq's `connect_timeout` added to a PostgreSQL URL that sets none, so that a database host that
/// drops packets fails an attempt in 10 s rather than the system's TCP timeout (minutes). Not
/// shorter: a busy server can take seconds to start a backend, and one attempt that times out
/// counts as an outage (a stopped or unreachable server refuses at once, whatever this is). With
/// 2 s, CI's PostgreSQL under the whole test suite's load timed out first connections.
const PG_CONNECT_TIMEOUT_SECS: u32 = 10;
/// TCP keepalive and `tcp_user_timeout` (libpq parameters) added to a PostgreSQL URL that sets
/// none of them, so that a network partition fails a checked-out connection (its query answers
/// "unavailable") instead of hanging it until the system's TCP timeout (up to ~15 minutes): an idle
/// connection is probed after [`PG_KEEPALIVES_IDLE_SECS`], every [`PG_KEEPALIVES_INTERVAL_SECS`],
/// and dropped after [`PG_KEEPALIVES_COUNT`] unanswered probes; data sent and not acknowledged
/// within [`PG_TCP_USER_TIMEOUT_MS`] drops it too.
const PG_KEEPALIVES_IDLE_SECS: u32 = 10;
const PG_KEEPALIVES_INTERVAL_SECS: u32 = 5;
const PG_KEEPALIVES_COUNT: u32 = 3;
const PG_TCP_USER_TIMEOUT_MS: u32 = 10_000;

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
///
/// The pool's attempts (through [`ManageConnection`]) are reported to [`Health`], which logs the
/// start and the end of an outage once each.
#[derive(Debug, Clone)]
pub struct ConnectionManager {
    url: DatabaseUrl,
    /// The PostgreSQL URL libpq is given: `url` with a `connect_timeout` when it sets none.
    pg_url: Option<String>,
    health: Arc<Health>,
}

impl ConnectionManager {
    pub fn new(url: DatabaseUrl) -> Self {
        let pg_url = match &url {
            DatabaseUrl::Postgres(raw) => Some(with_connect_timeout(
                raw,
                std::env::var_os("PGCONNECT_TIMEOUT").is_some(),
            )),
            DatabaseUrl::Sqlite(_) => None,
        };
        Self {
            url,
            pg_url,
            health: Arc::new(Health::new()),
        }
    }

    pub fn connect(&self) -> Result<DbConnection, ConnectionError> {
        match &self.url {
            DatabaseUrl::Postgres(url) => {
                // libpq uses the OpenSSL built into the binary. Initialise it once, before libpq
                // does, without OpenSSL's exit-time clean-up: the pool's threads may still be
                // connecting while the process exits, and a clean-up under them crashes it.
                openssl_sys::init();
                Ok(DbConnection::Postgres(PgConnection::establish(
                    self.pg_url.as_deref().unwrap_or(url),
                )?))
            }
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
        let outcome = ConnectionManager::connect(self);
        match &outcome {
            Ok(_) => {
                if let Transition::CameBack(after) = self.health.connected() {
                    tracing::info!(
                        backend = self.url.backend_name(),
                        outage_secs = format!("{:.1}", after.as_secs_f64()),
                        "database reachable again: requests are served normally"
                    );
                }
            }
            Err(err) => {
                if self.health.connect_failed() == Transition::WentDown {
                    tracing::error!(
                        backend = self.url.backend_name(),
                        database = %self.url.display(),
                        // libpq's message spans lines; the log keeps one line per event.
                        error = %err.to_string().split_whitespace().collect::<Vec<_>>().join(" "),
                        "database unreachable: requests that need it answer 503 until it returns \
                         (logged once; cached key checks keep working)"
                    );
                }
            }
        }
        outcome
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), ConnectionError> {
        conn.batch_execute("SELECT 1")
            .map_err(|e| ConnectionError::BadConnection(e.to_string()))
    }

    fn has_broken(&self, _conn: &mut DbConnection) -> bool {
        false
    }
}

/// The pool reports every failed attempt and failed check here; the outage itself is logged once by
/// [`ManageConnection::connect`], so these are debug lines only (r2d2's default logs each at ERROR,
/// twice a second during an outage).
#[derive(Debug)]
struct QuietErrors;

impl HandleError<ConnectionError> for QuietErrors {
    fn handle_error(&self, error: ConnectionError) {
        tracing::debug!(error = %error, "database connection attempt or check failed");
    }
}

/// `url` with `connect_timeout=10` added unless it (or `PGCONNECT_TIMEOUT`) sets one, and TCP
/// keepalives and `tcp_user_timeout` (see [`PG_KEEPALIVES_IDLE_SECS`]) each added unless the URL
/// sets it.
fn with_connect_timeout(url: &str, env_sets_one: bool) -> String {
    let query = url.split_once('?').map_or("", |(_, query)| query);
    let sets = |name: &str| {
        query
            .split('&')
            .any(|pair| pair.split('=').next() == Some(name))
    };
    let connect_timeout = (!env_sets_one).then(|| PG_CONNECT_TIMEOUT_SECS.to_string());
    let added: Vec<String> = [
        ("connect_timeout", connect_timeout),
        ("keepalives", Some("1".to_string())),
        ("keepalives_idle", Some(PG_KEEPALIVES_IDLE_SECS.to_string())),
        (
            "keepalives_interval",
            Some(PG_KEEPALIVES_INTERVAL_SECS.to_string()),
        ),
        ("keepalives_count", Some(PG_KEEPALIVES_COUNT.to_string())),
        ("tcp_user_timeout", Some(PG_TCP_USER_TIMEOUT_MS.to_string())),
    ]
    .into_iter()
    .filter(|(name, _)| !sets(name))
    .filter_map(|(name, value)| value.map(|value| format!("{name}={value}")))
    .collect();
    if added.is_empty() {
        return url.to_string();
    }
    let separator = match url.split_once('?') {
        None => "?",
        Some((_, "")) => "",
        Some(_) => "&",
    };
    format!("{url}{separator}{}", added.join("&"))
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
        let pool = Pool::builder()
            .max_size(max_size.max(1))
            .min_idle(Some(1))
            .connection_timeout(POOL_CONNECTION_TIMEOUT)
            .error_handler(Box::new(QuietErrors))
            // The database was just reached above: the pool opens its first connection in the
            // background instead of failing the start when that takes longer than its timeout.
            .build_unchecked(manager);
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
        checkout(&self.pool, &self.health)
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
        if let Some(refusal) = fail_fast(&self.pool, &self.health) {
            return Err(refusal.into());
        }
        let pool = self.pool.clone();
        let health = Arc::clone(&self.health);
        actix_web::rt::task::spawn_blocking(move || {
            let mut conn = checkout(&pool, &health)?;
            work(&mut conn)
        })
        .await
        .map_err(|e| AppError::Internal(format!("database task failed: {e}")))?
    }
}

/// The refusal while the database is known to be unreachable and the pool holds no connection
/// that might still work (an attempt failed under [`health::FAIL_FAST_FOR`] ago).
fn fail_fast(pool: &DbPool, health: &Health) -> Option<AppError> {
    (health.failing_fast() && pool.state().connections == 0).then(unreachable)
}

fn unreachable() -> AppError {
    AppError::Unavailable("the database cannot be reached".into())
}

/// A connection from the pool. While the database is reachable this waits up to [`POOL_WAIT`] for
/// one to be free; once connection attempts fail and the pool holds none, it gives up within one
/// [`WAIT_SLICE`].
fn checkout(pool: &DbPool, health: &Health) -> Result<PooledDb, AppError> {
    if let Some(refusal) = fail_fast(pool, health) {
        return Err(refusal);
    }
    let started = Instant::now();
    loop {
        match pool.get_timeout(WAIT_SLICE) {
            Ok(conn) => return Ok(conn),
            Err(err) => {
                if health.is_down() && pool.state().connections == 0 {
                    return Err(unreachable());
                }
                if started.elapsed() >= POOL_WAIT {
                    if health.should_log_exhaustion() {
                        tracing::warn!(
                            error = %err,
                            wait_secs = POOL_WAIT.as_secs(),
                            "every database connection stayed in use: answering 503 \
                             (raise LATCHKEY_DB_POOL_SIZE if this repeats; logged at most every 10 s)"
                        );
                    }
                    return Err(AppError::Unavailable(format!(
                        "no database connection became free within {} s",
                        POOL_WAIT.as_secs()
                    )));
                }
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_postgres_url_gets_timeouts_and_keepalives_it_does_not_set() {
        assert_eq!(
            with_connect_timeout("postgres://u@db:5432/latchkey", false),
            "postgres://u@db:5432/latchkey?connect_timeout=10&keepalives=1&keepalives_idle=10\
             &keepalives_interval=5&keepalives_count=3&tcp_user_timeout=10000"
        );
        assert_eq!(
            with_connect_timeout("postgres://u@db/latchkey?sslmode=require", true),
            "postgres://u@db/latchkey?sslmode=require&keepalives=1&keepalives_idle=10\
             &keepalives_interval=5&keepalives_count=3&tcp_user_timeout=10000",
            "PGCONNECT_TIMEOUT sets the connect timeout"
        );
    }

    #[test]
    fn a_postgres_url_keeps_the_values_it_sets() {
        let url = "postgres://u@db/latchkey?connect_timeout=9&keepalives=0&tcp_user_timeout=500";
        assert_eq!(
            with_connect_timeout(url, false),
            format!("{url}&keepalives_idle=10&keepalives_interval=5&keepalives_count=3")
        );
        let everything = "postgres://u@db/l?connect_timeout=9&keepalives=1&keepalives_idle=1\
                          &keepalives_interval=1&keepalives_count=1&tcp_user_timeout=1";
        assert_eq!(with_connect_timeout(everything, false), everything);
        assert_eq!(
            with_connect_timeout("postgres://u@db/l?", true),
            "postgres://u@db/l?keepalives=1&keepalives_idle=10&keepalives_interval=5\
             &keepalives_count=3&tcp_user_timeout=10000"
        );
    }
}
