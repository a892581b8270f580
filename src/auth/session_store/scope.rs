//! The request a store call serves: whether it may change its session (not a HEAD), and whether a
//! write of its session failed.

use std::cell::Cell;
use std::future::Future;

use crate::error::AppError;

/// What the store knows of the request it serves, set by [`scoped`] around the session middleware.
struct RequestScope {
    /// A HEAD request: it never changes the session (see [`scoped`]).
    read_only: bool,
    /// Whether saving, updating or deleting the session failed.
    write_failed: Cell<bool>,
}

tokio::task_local! {
    static REQUEST: RequestScope;
}

/// Runs `request` (the session middleware and everything inside it) in a scope the store reads
/// and writes, and returns whether a write of its session failed.
///
/// - `read_only` (a HEAD request): nothing the request does to its session is stored. HEAD runs
///   the GET handler, and a GET page takes its one-time secret or flash message out of the
///   session; a HEAD must not consume them unseen, so its changes stay in memory and the next GET
///   still finds them. (A HEAD that signs out or renews a session, which no page does, would leave
///   the stored session as it was.)
/// - A failed save, update or delete (the database blinking between loading the session and saving
///   it) is reported here instead of as an error, so that the request can answer "unavailable, try
///   again" (503) instead of actix-session's bare 500: the caller must then replace the response,
///   so that nothing of it reaches the person as if the write had happened ("signed out", a new
///   session's cookie).
pub async fn scoped<F: Future>(read_only: bool, request: F) -> (F::Output, bool) {
    let scope = RequestScope {
        read_only,
        write_failed: Cell::new(false),
    };
    REQUEST
        .scope(scope, async move {
            let outcome = request.await;
            (outcome, REQUEST.with(|scope| scope.write_failed.get()))
        })
        .await
}

/// Whether this request may not change its stored session (a HEAD request).
pub(super) fn read_only() -> bool {
    REQUEST.try_with(|scope| scope.read_only).unwrap_or(false)
}

/// A failed write of a session: logged (an outage at debug, as the database layer logs it once),
/// then noted for [`scoped`] when it runs around this request (`Ok`), else returned.
pub(super) fn write_failed(err: AppError, what: &'static str) -> Result<(), anyhow::Error> {
    match &err {
        AppError::Unavailable(detail) => {
            tracing::debug!(error = %detail, "cannot {what} the session: database unavailable")
        }
        other => tracing::error!(error = ?other, "cannot {what} the session"),
    }
    match REQUEST.try_with(|scope| scope.write_failed.set(true)) {
        Ok(()) => Ok(()),
        Err(_) => Err(err.into()),
    }
}
