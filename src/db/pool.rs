//! The pool: the manager that opens connections (and reports them to [`Health`]), and checking a
//! connection out, waiting while the pool is busy and failing fast while the database is down.

use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::{HandleError, ManageConnection, Pool, PooledConnection};

use super::health::{Health, Transition};
use super::url::with_connect_timeout;
use super::{DatabaseUrl, DbConnection};
use crate::error::AppError;

/// How long a request waits for a free connection while the database is reachable (every pooled
/// connection in use). Unchanged from before: a busy pool is not an outage.
pub const POOL_WAIT: Duration = Duration::from_secs(5);
/// The wait for a connection is taken in slices this long, so that a request notices within one
/// slice that the database became unreachable while it waited.
const WAIT_SLICE: Duration = Duration::from_millis(100);
/// The pool's own timeout. Its background reconnection attempts are spaced by at most half of it,
/// so the database's return is noticed within about half a second.
const POOL_CONNECTION_TIMEOUT: Duration = Duration::from_secs(1);

pub type DbPool = Pool<ConnectionManager>;
pub type PooledDb = PooledConnection<ConnectionManager>;

/// Prepares the OpenSSL built into the binary, which libpq uses, once: before libpq does, and
/// without OpenSSL's exit-time clean-up (the pool's threads may still be connecting while the
/// process exits, and a clean-up under them crashes it). Whatever opens a PostgreSQL connection
/// first in a process calls it: the pool does, and so must a tool or test connecting on its own.
pub fn prepare_postgres_client() {
    openssl_sys::init();
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
    pub(super) health: Arc<Health>,
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
                prepare_postgres_client();
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

/// The pool over `manager`, whose first connection is opened in the background.
pub(super) fn build(manager: ConnectionManager, max_size: u32) -> DbPool {
    Pool::builder()
        .max_size(max_size.max(1))
        .min_idle(Some(1))
        .connection_timeout(POOL_CONNECTION_TIMEOUT)
        .error_handler(Box::new(QuietErrors))
        // The database was just reached: the pool opens its first connection in the background
        // instead of failing the start when that takes longer than its timeout.
        .build_unchecked(manager)
}

/// The refusal while the database is known to be unreachable and the pool holds no connection
/// that might still work (an attempt failed under
/// [`FAIL_FAST_FOR`](super::health::FAIL_FAST_FOR) ago).
pub(super) fn fail_fast(pool: &DbPool, health: &Health) -> Option<AppError> {
    (health.failing_fast() && pool.state().connections == 0).then(unreachable)
}

fn unreachable() -> AppError {
    AppError::Unavailable("the database cannot be reached".into())
}

/// A connection from the pool. While the database is reachable this waits up to [`POOL_WAIT`] for
/// one to be free; once connection attempts fail and the pool holds none, it gives up within one
/// [`WAIT_SLICE`].
pub(super) fn checkout(pool: &DbPool, health: &Health) -> Result<PooledDb, AppError> {
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
