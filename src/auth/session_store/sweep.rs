//! Deleting the expired sessions nobody presents again.

use std::sync::Arc;
use std::time::Duration;

use crate::db::{now, Db, DbConnection};
use crate::error::AppError;
use crate::models::session as rows;

/// How often expired rows are swept, and how many at most per sweep.
pub const SWEEP_EVERY: Duration = Duration::from_secs(5 * 60);
pub const SWEEP_BATCH: i64 = 500;
pub const SWEEP_MAX_BATCHES: usize = 20;

/// Deletes expired sessions, at most [`SWEEP_BATCH`] × [`SWEEP_MAX_BATCHES`] rows per call so one
/// sweep never holds the database for long; returns how many were deleted.
pub fn sweep_expired(conn: &mut DbConnection) -> Result<usize, AppError> {
    let now = now();
    let mut total = 0;
    for _ in 0..SWEEP_MAX_BATCHES {
        let deleted = rows::delete_expired(conn, now, SWEEP_BATCH)?;
        total += deleted;
        if deleted < usize::try_from(SWEEP_BATCH).unwrap_or(usize::MAX) {
            break;
        }
    }
    Ok(total)
}

/// Sweeps expired sessions every [`SWEEP_EVERY`] on a background thread, until `owner` is dropped.
pub fn start_sweeper<T: Send + Sync + 'static>(db: Db, owner: &Arc<T>) {
    let owner = Arc::downgrade(owner);
    std::thread::spawn(move || loop {
        std::thread::sleep(SWEEP_EVERY);
        if owner.upgrade().is_none() {
            return;
        }
        match db.get().and_then(|mut conn| sweep_expired(&mut conn)) {
            Ok(0) => {}
            Ok(deleted) => tracing::debug!(deleted, "expired sessions swept"),
            // During an outage (logged once by the database layer) the next sweep catches up.
            Err(AppError::Unavailable(detail)) => {
                tracing::debug!(error = %detail, "cannot sweep expired sessions: database unavailable")
            }
            Err(err) => tracing::warn!(error = %err, "cannot sweep expired sessions"),
        }
    });
}
