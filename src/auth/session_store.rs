//! Console sessions kept on the server, in the `sessions` table (both backends, shared by every
//! instance): an actix-session [`SessionStore`].
//!
//! - The cookie carries only a random session id (256 bits from the OS), signed and encrypted with
//!   the session key. The table stores the SHA-256 of that id, never the id: someone who reads the
//!   database (a backup, a replica, an SQL injection elsewhere) learns no usable cookie.
//! - The server decides when a session ends: it is gone once its row is deleted (sign-out, password
//!   set, deactivation, "sign out everywhere else"), once it has been idle for [`IDLE`] or once it
//!   is [`ABSOLUTE`] old, whatever the browser keeps. An expired row is treated as absent (and
//!   deleted) when it is loaded; [`start_sweeper`] deletes the ones nobody presents again.
//! - One person keeps at most [`MAX_PER_USER`] sessions (the least recently used ends first).
//! - Activity is written at most once per [`TOUCH_EVERY`] per session, so a page load costs a read
//!   and not a write: the idle limit is precise to that interval (a session idle for 12 h minus less
//!   than a minute may still be accepted for that minute).
//! - One-time secrets (a new key, a set-password link: entries named `sealed.…`) are stored
//!   encrypted (AES-256-GCM, the cookie crate's private jar) with a key derived from the session
//!   id, which the database does not hold: a copy of the table reveals no secret either.
//! - Entries whose name starts with `_` are the store's own (see [`crate::auth::session`]): the
//!   ones it adds when loading are never written back, and the sign-in address and browser go to
//!   their columns rather than into the state.

use std::cell::Cell;
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use actix_session::storage::{LoadError, SaveError, SessionKey, SessionStore, UpdateError};
use actix_web::cookie::time::Duration as CookieDuration;
use actix_web::cookie::{Cookie, CookieJar, Key};
use chrono::{Duration, NaiveDateTime};
use sha2::{Digest, Sha512};

use crate::auth::session::{
    CURRENT_SESSION, SEALED_PREFIX, SIGN_IN_IP, SIGN_IN_USER_AGENT, STORE_UNAVAILABLE, USER_ID,
};
use crate::auth::token;
use crate::db::{now, Db, DbConnection};
use crate::error::AppError;
use crate::models::session::{self as rows, NewSession, SessionRow};

/// A session ends after this long without a request.
pub const IDLE: Duration = Duration::hours(12);
/// A session ends this long after sign-in, however active.
pub const ABSOLUTE: Duration = Duration::days(7);
/// Activity is recorded at most this often per session.
pub const TOUCH_EVERY: Duration = Duration::minutes(1);
/// How often expired rows are swept, and how many at most per sweep.
pub const SWEEP_EVERY: StdDuration = StdDuration::from_secs(5 * 60);
pub const SWEEP_BATCH: i64 = 500;
pub const SWEEP_MAX_BATCHES: usize = 20;
/// The most sessions one person keeps: signing in once more ends the least recently used one, so
/// repeated sign-ins cannot grow the table without bound.
pub const MAX_PER_USER: i64 = 20;
/// The random bytes of a session id (256 bits).
const ID_BYTES: usize = 32;
/// The longest User-Agent kept for the Account page's list.
pub const USER_AGENT_MAX_CHARS: usize = 256;
const IP_MAX_CHARS: usize = 64;

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
fn read_only() -> bool {
    REQUEST.try_with(|scope| scope.read_only).unwrap_or(false)
}

/// A failed write of a session: logged (an outage at debug, as the database layer logs it once),
/// then noted for [`scoped`] when it runs around this request (`Ok`), else returned.
fn write_failed(err: AppError, what: &'static str) -> Result<(), anyhow::Error> {
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

/// The [`SessionStore`] over the `sessions` table; every call runs on the blocking pool.
#[derive(Clone)]
pub struct DbSessionStore {
    db: Db,
}

impl DbSessionStore {
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

/// The hash a session's row is found by.
pub fn id_hash(session_key: &str) -> String {
    token::sha256_hex(session_key)
}

/// When a session seen at `now` ends: the idle limit, capped by its absolute end.
fn ends_at(now: NaiveDateTime, absolute: NaiveDateTime) -> NaiveDateTime {
    (now + IDLE).min(absolute)
}

fn truncated(value: &str, max_chars: usize) -> String {
    value.chars().take(max_chars).collect()
}

/// The key that seals a session's one-time entries: derived from the session id itself, so only a
/// request presenting the cookie can open them.
fn sealing_key(session_key: &str) -> Option<Key> {
    let digest = Sha512::new()
        .chain_update(b"latchkey sealed session entries\0")
        .chain_update(session_key.as_bytes())
        .finalize();
    Key::try_from(digest.as_slice()).ok()
}

fn seal(key: &Key, name: &str, value: &str) -> Option<String> {
    let mut jar = CookieJar::new();
    jar.private_mut(key)
        .add(Cookie::new(name.to_string(), value.to_string()));
    jar.get(name).map(|cookie| cookie.value().to_string())
}

fn open(key: &Key, name: &str, sealed: &str) -> Option<String> {
    let mut jar = CookieJar::new();
    jar.add_original(Cookie::new(name.to_string(), sealed.to_string()));
    jar.private(key)
        .get(name)
        .map(|cookie| cookie.value().to_string())
}

/// Seals (or, when loading, opens) the `sealed.…` entries in place; one that cannot be sealed or
/// opened is dropped.
fn transform_sealed(state: &mut HashMap<String, String>, session_key: &str, sealing: bool) {
    let names: Vec<String> = state
        .keys()
        .filter(|name| name.starts_with(SEALED_PREFIX))
        .cloned()
        .collect();
    if names.is_empty() {
        return;
    }
    let key = sealing_key(session_key);
    for name in names {
        let Some(value) = state.remove(&name) else {
            continue;
        };
        let changed = key.as_ref().and_then(|key| {
            if sealing {
                seal(key, &name, &value)
            } else {
                open(key, &name, &value)
            }
        });
        if let Some(changed) = changed {
            state.insert(name, changed);
        }
    }
}

/// What the state says about its row: who it belongs to, and what the store writes as `state`
/// (without the store's own entries).
struct Prepared {
    user_id: Option<String>,
    ip: Option<String>,
    user_agent: Option<String>,
    state: String,
}

fn prepare(
    mut state: HashMap<String, String>,
    session_key: &str,
) -> Result<Prepared, serde_json::Error> {
    let decode = |raw: Option<String>| -> Option<String> {
        raw.and_then(|raw| serde_json::from_str::<String>(&raw).ok())
    };
    let ip = decode(state.remove(SIGN_IN_IP)).map(|ip| truncated(&ip, IP_MAX_CHARS));
    let user_agent =
        decode(state.remove(SIGN_IN_USER_AGENT)).map(|ua| truncated(&ua, USER_AGENT_MAX_CHARS));
    state.retain(|name, _| !name.starts_with('_'));
    transform_sealed(&mut state, session_key, true);
    let user_id = state
        .get(USER_ID)
        .and_then(|raw| serde_json::from_str::<String>(raw).ok());
    Ok(Prepared {
        user_id,
        ip,
        user_agent,
        state: serde_json::to_string(&state)?,
    })
}

fn load_row(
    conn: &mut DbConnection,
    session_key: &str,
) -> Result<Option<HashMap<String, String>>, AppError> {
    let hash = &id_hash(session_key);
    let Some(row) = rows::find(conn, hash)? else {
        return Ok(None);
    };
    let now = now();
    if row.is_expired(now) {
        rows::delete(conn, hash)?;
        return Ok(None);
    }
    if now - row.last_seen_at >= TOUCH_EVERY {
        rows::touch(conn, hash, now, ends_at(now, row.absolute_expires_at))?;
    }
    let SessionRow { state, .. } = row;
    let Ok(mut entries) = serde_json::from_str::<HashMap<String, String>>(&state) else {
        // A row this code did not write: treated as absent, and ended.
        rows::delete(conn, hash)?;
        return Ok(None);
    };
    entries.retain(|name, _| !name.starts_with('_'));
    transform_sealed(&mut entries, session_key, false);
    let current = serde_json::to_string(hash).map_err(|e| AppError::Internal(e.to_string()))?;
    entries.insert(CURRENT_SESSION.into(), current);
    Ok(Some(entries))
}

impl SessionStore for DbSessionStore {
    async fn load(
        &self,
        session_key: &SessionKey,
    ) -> Result<Option<HashMap<String, String>>, LoadError> {
        let key = session_key.as_ref().to_string();
        match self.db.run(move |conn| load_row(conn, &key)).await {
            Ok(found) => Ok(found),
            Err(err) => {
                // The session cannot be read: the request goes on with a state that says so, and
                // whatever needs the signed-in user answers "the database is unavailable" (503)
                // instead of an opaque 500, without signing the person out. Nothing is written
                // back for this state (see `update`).
                // An outage is logged once by the database layer, not once per page.
                match err {
                    AppError::Unavailable(_) => {
                        tracing::debug!(error = ?err, "cannot load the session")
                    }
                    _ => tracing::warn!(error = ?err, "cannot load the session"),
                }
                Ok(Some(HashMap::from([(
                    STORE_UNAVAILABLE.to_string(),
                    "true".to_string(),
                )])))
            }
        }
    }

    async fn save(
        &self,
        session_state: HashMap<String, String>,
        _ttl: &CookieDuration,
    ) -> Result<SessionKey, SaveError> {
        let key = token::random_hex(ID_BYTES);
        if read_only() {
            // The key names no row: a HEAD starts no session.
            return SessionKey::try_from(key).map_err(|e| SaveError::Other(e.into()));
        }
        let prepared =
            prepare(session_state, &key).map_err(|e| SaveError::Serialization(e.into()))?;
        let hash = id_hash(&key);
        self.db
            .run(move |conn| {
                let now = now();
                let absolute = now + ABSOLUTE;
                rows::insert(
                    conn,
                    &NewSession {
                        id_hash: &hash,
                        user_id: prepared.user_id.as_deref(),
                        state: &prepared.state,
                        created_at: now,
                        last_seen_at: now,
                        expires_at: ends_at(now, absolute),
                        absolute_expires_at: absolute,
                        ip_address: prepared.ip.as_deref(),
                        user_agent: prepared.user_agent.as_deref(),
                    },
                )?;
                if let Some(user_id) = &prepared.user_id {
                    rows::delete_beyond_most_recent(conn, user_id, MAX_PER_USER)?;
                }
                Ok::<_, AppError>(())
            })
            .await
            .or_else(|err| write_failed(err, "save"))
            .map_err(SaveError::Other)?;
        // After a reported failure the key names no row, and the response that would carry it is
        // replaced.
        SessionKey::try_from(key).map_err(|e| SaveError::Other(e.into()))
    }

    async fn update(
        &self,
        session_key: SessionKey,
        session_state: HashMap<String, String>,
        _ttl: &CookieDuration,
    ) -> Result<SessionKey, UpdateError> {
        if session_state.contains_key(STORE_UNAVAILABLE) {
            // The state was never read, so writing this one would erase the real one.
            return Ok(session_key);
        }
        if read_only() {
            // A HEAD: what it took out of the session (a one-time secret, a flash) stays stored.
            return Ok(session_key);
        }
        let prepared = prepare(session_state, session_key.as_ref())
            .map_err(|e| UpdateError::Serialization(e.into()))?;
        let hash = id_hash(session_key.as_ref());
        self.db
            .run(move |conn| {
                let Some(row) = rows::find(conn, &hash)? else {
                    // Ended meanwhile (signed out elsewhere): it stays ended.
                    return Ok::<_, AppError>(());
                };
                let now = now();
                if row.is_expired(now) {
                    rows::delete(conn, &hash)?;
                    return Ok(());
                }
                rows::update_state(
                    conn,
                    &hash,
                    prepared.user_id.as_deref(),
                    &prepared.state,
                    now,
                    ends_at(now, row.absolute_expires_at),
                )?;
                Ok(())
            })
            .await
            .or_else(|err| write_failed(err, "update"))
            .map_err(UpdateError::Other)?;
        Ok(session_key)
    }

    /// Activity is recorded by `load` (at most once per [`TOUCH_EVERY`]), so nothing to do here.
    async fn update_ttl(
        &self,
        _session_key: &SessionKey,
        _ttl: &CookieDuration,
    ) -> Result<(), anyhow::Error> {
        Ok(())
    }

    async fn delete(&self, session_key: &SessionKey) -> Result<(), anyhow::Error> {
        if read_only() {
            return Ok(());
        }
        let hash = id_hash(session_key.as_ref());
        self.db
            .run(move |conn| rows::delete(conn, &hash).map_err(AppError::from))
            .await
            .map(|_| ())
            .or_else(|err| write_failed(err, "delete"))
    }
}

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
