//! Key/value settings shared by every instance on one database (session key, setup token).

use diesel::prelude::*;

use crate::db::schema::settings;
use crate::db::{is_unique_violation, now, DbConnection};

pub const SESSION_KEY: &str = "session_key";
pub const SETUP_TOKEN_SHA256: &str = "setup_token_sha256";
/// Changes (to a new random value) in every transaction that changes what a key may do; every
/// instance watches it to drop its cache of verified keys.
pub const AUTHZ_VERSION: &str = "authz_version";

pub fn get(conn: &mut DbConnection, key: &str) -> QueryResult<Option<String>> {
    settings::table
        .find(key)
        .select(settings::value)
        .first(conn)
        .optional()
}

/// Stores `value` unless the key already holds one, and returns what is stored: the first instance
/// to write wins, the others read its value.
pub fn get_or_insert(conn: &mut DbConnection, key: &str, value: &str) -> QueryResult<String> {
    if let Some(existing) = get(conn, key)? {
        return Ok(existing);
    }
    let inserted = diesel::insert_into(settings::table)
        .values((
            settings::key.eq(key),
            settings::value.eq(value),
            settings::updated_at.eq(now()),
        ))
        .execute(conn);
    match inserted {
        Ok(_) => Ok(value.to_string()),
        Err(e) if is_unique_violation(&e) => settings::table
            .find(key)
            .select(settings::value)
            .first(conn),
        Err(e) => Err(e),
    }
}

pub fn set(conn: &mut DbConnection, key: &str, value: &str) -> QueryResult<()> {
    let updated = diesel::update(settings::table.find(key))
        .set((settings::value.eq(value), settings::updated_at.eq(now())))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(settings::table)
            .values((
                settings::key.eq(key),
                settings::value.eq(value),
                settings::updated_at.eq(now()),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Deletes a setting; returns whether it existed.
pub fn delete(conn: &mut DbConnection, key: &str) -> QueryResult<bool> {
    Ok(diesel::delete(settings::table.find(key)).execute(conn)? > 0)
}

/// A cheap query that needs the database to answer and the schema to be in place.
pub fn ping(conn: &mut DbConnection) -> QueryResult<i64> {
    settings::table.count().get_result(conn)
}

/// Marks, inside the caller's transaction, that keys, roles or permissions changed.
pub fn bump_authz_version(conn: &mut DbConnection) -> QueryResult<()> {
    set(conn, AUTHZ_VERSION, &crate::db::new_id())
}
