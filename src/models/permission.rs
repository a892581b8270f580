//! The permission catalog and effective-permission queries.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::authz::catalog::BUILTIN;
use crate::authz::PermissionSet;
use crate::db::schema::{permissions, role_permissions, roles, user_roles};
use crate::db::{is_unique_violation, now, DbConnection};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = permissions)]
pub struct Permission {
    pub name: String,
    pub description: String,
    pub is_builtin: bool,
    pub created_at: NaiveDateTime,
}

/// Inserts Latchkey's own permissions that are missing (new ones arrive with upgrades).
pub fn ensure_builtin(conn: &mut DbConnection) -> QueryResult<()> {
    let existing: Vec<String> = permissions::table.select(permissions::name).load(conn)?;
    for entry in BUILTIN
        .iter()
        .filter(|e| !existing.iter().any(|name| name == e.name))
    {
        let inserted = diesel::insert_into(permissions::table)
            .values((
                permissions::name.eq(entry.name),
                permissions::description.eq(entry.description),
                permissions::is_builtin.eq(true),
                permissions::created_at.eq(now()),
            ))
            .execute(conn);
        match inserted {
            Err(e) if !is_unique_violation(&e) => return Err(e),
            _ => {}
        }
    }
    Ok(())
}

pub fn list(conn: &mut DbConnection) -> QueryResult<Vec<Permission>> {
    permissions::table
        .order(permissions::name.asc())
        .select(Permission::as_select())
        .load(conn)
}

/// Every permission name, sorted.
pub fn names(conn: &mut DbConnection) -> QueryResult<Vec<String>> {
    let query = permissions::table
        .order(permissions::name.asc())
        .select(permissions::name);
    match conn {
        DbConnection::Sqlite(conn) => query.load(conn),
        DbConnection::Postgres(conn) => query.load(conn),
    }
}

/// What a user may do: the union of their roles' permissions, or everything when one of their
/// roles grants all (the built-in Admin role).
pub fn effective_for_user(conn: &mut DbConnection, user_id: &str) -> QueryResult<PermissionSet> {
    let role_ids = user_roles::table
        .filter(user_roles::user_id.eq(user_id))
        .select(user_roles::role_id);
    let grants_all: i64 = roles::table
        .filter(roles::id.eq_any(role_ids))
        .filter(roles::grants_all.eq(true))
        .count()
        .get_result(conn)?;
    if grants_all > 0 {
        return Ok(PermissionSet::all());
    }
    let role_ids = user_roles::table
        .filter(user_roles::user_id.eq(user_id))
        .select(user_roles::role_id);
    let names: Vec<String> = role_permissions::table
        .filter(role_permissions::role_id.eq_any(role_ids))
        .select(role_permissions::permission_name)
        .distinct()
        .load(conn)?;
    Ok(PermissionSet::from_names(names))
}

pub fn find(conn: &mut DbConnection, name: &str) -> QueryResult<Option<Permission>> {
    permissions::table
        .find(name)
        .select(Permission::as_select())
        .first(conn)
        .optional()
}

/// Adds a permission the operator defines for their own systems.
pub fn insert_custom(conn: &mut DbConnection, name: &str, description: &str) -> QueryResult<()> {
    diesel::insert_into(permissions::table)
        .values((
            permissions::name.eq(name),
            permissions::description.eq(description),
            permissions::is_builtin.eq(false),
            permissions::created_at.eq(now()),
        ))
        .execute(conn)
        .map(|_| ())
}

pub fn update_description(
    conn: &mut DbConnection,
    name: &str,
    description: &str,
) -> QueryResult<()> {
    diesel::update(permissions::table.find(name))
        .set(permissions::description.eq(description))
        .execute(conn)
        .map(|_| ())
}

/// Removes a permission from every role, then from the catalog.
pub fn delete(conn: &mut DbConnection, name: &str) -> QueryResult<()> {
    diesel::delete(role_permissions::table.filter(role_permissions::permission_name.eq(name)))
        .execute(conn)?;
    diesel::delete(permissions::table.find(name))
        .execute(conn)
        .map(|_| ())
}

/// The names of the roles that hold a permission.
pub fn roles_using(conn: &mut DbConnection, name: &str) -> QueryResult<Vec<String>> {
    role_permissions::table
        .inner_join(roles::table)
        .filter(role_permissions::permission_name.eq(name))
        .order(roles::name_key.asc())
        .select(roles::name)
        .load(conn)
}

/// How many roles use each permission.
pub fn usage_counts(
    conn: &mut DbConnection,
) -> QueryResult<std::collections::HashMap<String, i64>> {
    use diesel::dsl::count_star;
    let rows: Vec<(String, i64)> = role_permissions::table
        .group_by(role_permissions::permission_name)
        .select((role_permissions::permission_name, count_star()))
        .load(conn)?;
    Ok(rows.into_iter().collect())
}

/// Permissions ordered by name, after `after` (the API's cursor pages).
pub fn list_after(
    conn: &mut DbConnection,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<Permission>> {
    let mut query = permissions::table
        .select(Permission::as_select())
        .order(permissions::name.asc())
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(permissions::name.gt(after.to_string()));
    }
    query.load(conn)
}
