//! The roles keys hold (`api_key_roles`).

use std::collections::HashMap;

use diesel::prelude::*;

use crate::db::schema::{api_key_roles, roles};
use crate::db::DbConnection;

/// The ids of the roles a key holds.
pub fn role_ids(conn: &mut DbConnection, key_id: &str) -> QueryResult<Vec<String>> {
    api_key_roles::table
        .filter(api_key_roles::api_key_id.eq(key_id))
        .select(api_key_roles::role_id)
        .load(conn)
}

/// Gives a key one role unless it holds it already; true when a row was added.
pub fn add_role(conn: &mut DbConnection, key_id: &str, role_id: &str) -> QueryResult<bool> {
    let row = (
        api_key_roles::api_key_id.eq(key_id),
        api_key_roles::role_id.eq(role_id),
    );
    let added = match conn {
        DbConnection::Postgres(pg) => diesel::insert_into(api_key_roles::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(pg)?,
        DbConnection::Sqlite(lite) => diesel::insert_into(api_key_roles::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(lite)?,
    };
    Ok(added > 0)
}

/// Takes one role from a key; true when it held it.
pub fn remove_role(conn: &mut DbConnection, key_id: &str, role_id: &str) -> QueryResult<bool> {
    let removed = diesel::delete(
        api_key_roles::table
            .filter(api_key_roles::api_key_id.eq(key_id))
            .filter(api_key_roles::role_id.eq(role_id)),
    )
    .execute(conn)?;
    Ok(removed > 0)
}

/// Replaces the roles a key holds.
pub fn set_roles(conn: &mut DbConnection, key_id: &str, role_ids: &[String]) -> QueryResult<()> {
    diesel::delete(api_key_roles::table.filter(api_key_roles::api_key_id.eq(key_id)))
        .execute(conn)?;
    for role_id in role_ids {
        diesel::insert_into(api_key_roles::table)
            .values((
                api_key_roles::api_key_id.eq(key_id),
                api_key_roles::role_id.eq(role_id),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// (role id, role name) per key, for many keys in one query.
pub fn roles_of_keys(
    conn: &mut DbConnection,
    key_ids: &[String],
) -> QueryResult<HashMap<String, Vec<(String, String)>>> {
    let rows: Vec<(String, String, String)> = api_key_roles::table
        .inner_join(roles::table)
        .filter(api_key_roles::api_key_id.eq_any(key_ids))
        .order(roles::name_key.asc())
        .select((api_key_roles::api_key_id, roles::id, roles::name))
        .load(conn)?;
    let mut by_key: HashMap<String, Vec<(String, String)>> = HashMap::new();
    for (key_id, role_id, role_name) in rows {
        by_key.entry(key_id).or_default().push((role_id, role_name));
    }
    Ok(by_key)
}
