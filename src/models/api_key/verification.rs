//! The hot path's queries: the few columns and rows verifying a key needs.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{api_key_roles, api_keys, role_permissions, roles};
use crate::db::DbConnection;

/// The columns verifying a key needs (fewer than [`ApiKey`](super::ApiKey): verification runs on
/// the hot path).
#[derive(Debug, Clone, Queryable)]
pub struct KeyCredentials {
    pub id: String,
    pub name: String,
    pub secret_hash: String,
    pub expires_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
}

/// The key with this public id. `public_id` is unique, so this needs no `LIMIT`: SQLite re-prepares
/// a statement whose `LIMIT` is a bound parameter each time it runs (`.first()`), which would triple
/// the cost of this lookup.
pub fn credentials_by_public_id(
    conn: &mut DbConnection,
    public_id: &str,
) -> QueryResult<Option<KeyCredentials>> {
    let query = api_keys::table
        .filter(api_keys::public_id.eq(public_id))
        .select((
            api_keys::id,
            api_keys::name,
            api_keys::secret_hash,
            api_keys::expires_at,
            api_keys::revoked_at,
        ));
    let mut found: Vec<KeyCredentials> = match conn {
        DbConnection::Sqlite(conn) => query.load(conn)?,
        DbConnection::Postgres(conn) => query.load(conn)?,
    };
    Ok(found.pop())
}

/// (id, name, grants every permission) of a key's roles, by name.
pub fn roles_for_verification(
    conn: &mut DbConnection,
    key_id: &str,
) -> QueryResult<Vec<(String, String, bool)>> {
    let query = api_key_roles::table
        .inner_join(roles::table)
        .filter(api_key_roles::api_key_id.eq(key_id))
        .order(roles::name_key.asc())
        .select((roles::id, roles::name, roles::grants_all));
    match conn {
        DbConnection::Sqlite(conn) => query.load(conn),
        DbConnection::Postgres(conn) => query.load(conn),
    }
}

/// The permission names a key holds through its roles, unsorted and possibly repeated.
pub fn permission_names(conn: &mut DbConnection, key_id: &str) -> QueryResult<Vec<String>> {
    let query = api_key_roles::table
        .inner_join(
            role_permissions::table.on(role_permissions::role_id.eq(api_key_roles::role_id)),
        )
        .filter(api_key_roles::api_key_id.eq(key_id))
        .select(role_permissions::permission_name);
    match conn {
        DbConnection::Sqlite(conn) => query.load(conn),
        DbConnection::Postgres(conn) => query.load(conn),
    }
}
