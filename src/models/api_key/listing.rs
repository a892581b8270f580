//! Pages of keys with their creators and roles.

use diesel::prelude::*;

use super::{roles_of_keys, ApiKey};
use crate::db::schema::{api_keys, users};
use crate::db::DbConnection;

/// One row of the Development tab's list.
#[derive(Debug, Clone)]
pub struct KeyListing {
    pub key: ApiKey,
    pub creator_email: Option<String>,
    /// (role id, role name), sorted by name.
    pub roles: Vec<(String, String)>,
}

pub fn count(conn: &mut DbConnection) -> QueryResult<i64> {
    api_keys::table.count().get_result(conn)
}

/// A page of keys, newest first, with their creators and roles (three queries, whatever the page size).
pub fn list_page(conn: &mut DbConnection, limit: i64, offset: i64) -> QueryResult<Vec<KeyListing>> {
    let rows: Vec<(ApiKey, Option<String>)> = api_keys::table
        .left_join(users::table)
        .order((api_keys::created_at.desc(), api_keys::id.desc()))
        .limit(limit)
        .offset(offset)
        .select((ApiKey::as_select(), users::email.nullable()))
        .load(conn)?;
    with_roles(conn, rows)
}

/// Keys ordered by id (oldest first), after `after`, with creators and roles (the API's cursor pages).
pub fn list_after(
    conn: &mut DbConnection,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<KeyListing>> {
    let mut query = api_keys::table
        .left_join(users::table)
        .select((ApiKey::as_select(), users::email.nullable()))
        .order(api_keys::id.asc())
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(api_keys::id.gt(after.to_string()));
    }
    let rows: Vec<(ApiKey, Option<String>)> = query.load(conn)?;
    with_roles(conn, rows)
}

/// The listings of these keys (with their creators' emails), their roles read in one query.
fn with_roles(
    conn: &mut DbConnection,
    rows: Vec<(ApiKey, Option<String>)>,
) -> QueryResult<Vec<KeyListing>> {
    let ids: Vec<String> = rows.iter().map(|(key, _)| key.id.clone()).collect();
    let mut roles_by_key = roles_of_keys(conn, &ids)?;
    Ok(rows
        .into_iter()
        .map(|(key, creator_email)| {
            let roles = roles_by_key.remove(&key.id).unwrap_or_default();
            KeyListing {
                key,
                creator_email,
                roles,
            }
        })
        .collect())
}
