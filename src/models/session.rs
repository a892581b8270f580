//! Console sessions kept on the server (see [`crate::auth::session_store`]). A row is found by the
//! SHA-256 of the id the cookie carries; the id itself is never stored.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::sessions;
use crate::db::DbConnection;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sessions)]
pub struct SessionRow {
    pub id_hash: String,
    pub user_id: Option<String>,
    /// The session's entries, as a JSON object of JSON-encoded values.
    pub state: String,
    pub created_at: NaiveDateTime,
    pub last_seen_at: NaiveDateTime,
    /// When the session ends unless it is used again: the idle limit, capped by the absolute one.
    pub expires_at: NaiveDateTime,
    pub absolute_expires_at: NaiveDateTime,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
}

impl SessionRow {
    pub fn is_expired(&self, now: NaiveDateTime) -> bool {
        self.expires_at <= now || self.absolute_expires_at <= now
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = sessions)]
pub struct NewSession<'a> {
    pub id_hash: &'a str,
    pub user_id: Option<&'a str>,
    pub state: &'a str,
    pub created_at: NaiveDateTime,
    pub last_seen_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub absolute_expires_at: NaiveDateTime,
    pub ip_address: Option<&'a str>,
    pub user_agent: Option<&'a str>,
}

pub fn insert(conn: &mut DbConnection, new: &NewSession<'_>) -> QueryResult<()> {
    diesel::insert_into(sessions::table)
        .values(new)
        .execute(conn)
        .map(|_| ())
}

pub fn find(conn: &mut DbConnection, id_hash: &str) -> QueryResult<Option<SessionRow>> {
    sessions::table
        .find(id_hash)
        .select(SessionRow::as_select())
        .first(conn)
        .optional()
}

/// Records activity: the session was seen at `now` and now ends at `expires_at`.
pub fn touch(
    conn: &mut DbConnection,
    id_hash: &str,
    now: NaiveDateTime,
    expires_at: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(sessions::table.find(id_hash))
        .set((
            sessions::last_seen_at.eq(now),
            sessions::expires_at.eq(expires_at),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Replaces the session's entries (and who it belongs to); false when the row no longer exists
/// (the session ended meanwhile: it is not brought back).
pub fn update_state(
    conn: &mut DbConnection,
    id_hash: &str,
    user_id: Option<&str>,
    state: &str,
    now: NaiveDateTime,
    expires_at: NaiveDateTime,
) -> QueryResult<bool> {
    let updated = diesel::update(sessions::table.find(id_hash))
        .set((
            sessions::user_id.eq(user_id),
            sessions::state.eq(state),
            sessions::last_seen_at.eq(now),
            sessions::expires_at.eq(expires_at),
        ))
        .execute(conn)?;
    Ok(updated == 1)
}

pub fn delete(conn: &mut DbConnection, id_hash: &str) -> QueryResult<()> {
    diesel::delete(sessions::table.find(id_hash))
        .execute(conn)
        .map(|_| ())
}

/// Ends every session of the user (password set, account deactivated); returns how many.
pub fn delete_for_user(conn: &mut DbConnection, user_id: &str) -> QueryResult<usize> {
    diesel::delete(sessions::table.filter(sessions::user_id.eq(user_id))).execute(conn)
}

/// Ends the user's sessions except the one with `keep_hash`; returns how many.
pub fn delete_others_for_user(
    conn: &mut DbConnection,
    user_id: &str,
    keep_hash: &str,
) -> QueryResult<usize> {
    diesel::delete(
        sessions::table
            .filter(sessions::user_id.eq(user_id))
            .filter(sessions::id_hash.ne(keep_hash)),
    )
    .execute(conn)
}

/// Ends the user's least recently used sessions beyond the `keep` most recent; returns how many.
pub fn delete_beyond_most_recent(
    conn: &mut DbConnection,
    user_id: &str,
    keep: i64,
) -> QueryResult<usize> {
    let older: Vec<String> = sessions::table
        .filter(sessions::user_id.eq(user_id))
        .order((sessions::last_seen_at.desc(), sessions::id_hash.asc()))
        .limit(1_000)
        .offset(keep)
        .select(sessions::id_hash)
        .load(conn)?;
    if older.is_empty() {
        return Ok(0);
    }
    diesel::delete(sessions::table.filter(sessions::id_hash.eq_any(&older))).execute(conn)
}

/// The user's unexpired sessions, most recently used first (at most `limit`).
pub fn active_for_user(
    conn: &mut DbConnection,
    user_id: &str,
    now: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<SessionRow>> {
    sessions::table
        .filter(sessions::user_id.eq(user_id))
        .filter(sessions::expires_at.gt(now))
        .filter(sessions::absolute_expires_at.gt(now))
        .order((sessions::last_seen_at.desc(), sessions::id_hash.asc()))
        .limit(limit)
        .select(SessionRow::as_select())
        .load(conn)
}

/// Deletes at most `limit` sessions that ended before `now`; returns how many.
pub fn delete_expired(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    limit: i64,
) -> QueryResult<usize> {
    let expired: Vec<String> = sessions::table
        .filter(sessions::expires_at.le(now))
        .order(sessions::expires_at.asc())
        .limit(limit)
        .select(sessions::id_hash)
        .load(conn)?;
    if expired.is_empty() {
        return Ok(0);
    }
    diesel::delete(sessions::table.filter(sessions::id_hash.eq_any(&expired))).execute(conn)
}
