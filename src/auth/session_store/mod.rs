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

mod scope;
mod sealed;
mod sweep;

use std::collections::HashMap;

use actix_session::storage::{LoadError, SaveError, SessionKey, SessionStore, UpdateError};
use actix_web::cookie::time::Duration as CookieDuration;
use chrono::{Duration, NaiveDateTime};

use crate::auth::session::{
    CURRENT_SESSION, SIGN_IN_IP, SIGN_IN_USER_AGENT, STORE_UNAVAILABLE, USER_ID,
};
use crate::auth::token;
use crate::db::{now, Db, DbConnection};
use crate::error::AppError;
use crate::models::session::{self as rows, NewSession, SessionRow};
pub use scope::scoped;
use scope::{read_only, write_failed};
use sealed::transform_sealed;
pub use sweep::{start_sweeper, sweep_expired, SWEEP_BATCH, SWEEP_EVERY, SWEEP_MAX_BATCHES};

/// A session ends after this long without a request.
pub const IDLE: Duration = Duration::hours(12);
/// A session ends this long after sign-in, however active.
pub const ABSOLUTE: Duration = Duration::days(7);
/// Activity is recorded at most this often per session.
pub const TOUCH_EVERY: Duration = Duration::minutes(1);
/// The most sessions one person keeps: signing in once more ends the least recently used one, so
/// repeated sign-ins cannot grow the table without bound.
pub const MAX_PER_USER: i64 = 20;
/// The random bytes of a session id (256 bits).
const ID_BYTES: usize = 32;
/// The longest User-Agent kept for the Account page's list.
pub const USER_AGENT_MAX_CHARS: usize = 256;
const IP_MAX_CHARS: usize = 64;

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
