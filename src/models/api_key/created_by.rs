//! The active keys a user created (for revoking them with the user, and the pages that warn of it).

use diesel::prelude::*;

use crate::db::schema::api_keys;
use crate::db::{now, DbConnection};

/// The ids of the active keys a user created, each row locked for the rest of the caller's
/// transaction (`SELECT … FOR NO KEY UPDATE` on PostgreSQL, like
/// [`find_for_update`](super::find_for_update); on SQLite the transaction already holds the write
/// lock). Ordered by id, so two lockers take them in one order.
pub fn lock_active_created_by(conn: &mut DbConnection, user_id: &str) -> QueryResult<Vec<String>> {
    let query = api_keys::table
        .filter(api_keys::created_by.eq(user_id))
        .filter(api_keys::revoked_at.is_null())
        .select(api_keys::id)
        .order(api_keys::id);
    match conn {
        DbConnection::Postgres(pg) => query.for_no_key_update().load(pg),
        DbConnection::Sqlite(lite) => query.load(lite),
    }
}

/// Revokes exactly these keys (those still active); returns how many.
pub fn revoke_many(conn: &mut DbConnection, ids: &[String]) -> QueryResult<usize> {
    if ids.is_empty() {
        return Ok(0);
    }
    let at = now();
    diesel::update(
        api_keys::table
            .filter(api_keys::id.eq_any(ids))
            .filter(api_keys::revoked_at.is_null()),
    )
    .set((
        api_keys::revoked_at.eq(Some(at)),
        api_keys::updated_at.eq(at),
    ))
    .execute(conn)
}

/// How many active keys a user created.
pub fn count_active_created_by(conn: &mut DbConnection, user_id: &str) -> QueryResult<i64> {
    api_keys::table
        .filter(api_keys::created_by.eq(user_id))
        .filter(api_keys::revoked_at.is_null())
        .count()
        .get_result(conn)
}

/// The ids of the active keys a user created (unlocked: for pages; a revocation uses
/// [`lock_active_created_by`]).
pub fn active_ids_created_by(conn: &mut DbConnection, user_id: &str) -> QueryResult<Vec<String>> {
    api_keys::table
        .filter(api_keys::created_by.eq(user_id))
        .filter(api_keys::revoked_at.is_null())
        .select(api_keys::id)
        .order(api_keys::id)
        .load(conn)
}
