//! Roles: named sets of permissions.

use diesel::prelude::*;

use crate::authz::catalog::{ADMIN_ROLE_ID, ADMIN_ROLE_NAME};
use std::collections::HashMap;

use crate::db::schema::{api_key_roles, role_permissions, roles, user_roles};
use crate::db::{is_unique_violation, now, DbConnection};

/// The lookup key that makes role names unique ignoring case.
pub fn name_key(name: &str) -> String {
    name.trim().to_lowercase()
}

/// Creates the built-in Admin role (every permission, present and future) when it is missing.
pub fn ensure_admin_role(conn: &mut DbConnection) -> QueryResult<()> {
    let exists: i64 = roles::table.find(ADMIN_ROLE_ID).count().get_result(conn)?;
    if exists > 0 {
        return Ok(());
    }
    let inserted = diesel::insert_into(roles::table)
        .values((
            roles::id.eq(ADMIN_ROLE_ID),
            roles::name.eq(ADMIN_ROLE_NAME),
            roles::name_key.eq(name_key(ADMIN_ROLE_NAME)),
            roles::description.eq("Every permission, including ones added later."),
            roles::grants_all.eq(true),
            roles::is_builtin.eq(true),
            roles::created_at.eq(now()),
            roles::updated_at.eq(now()),
        ))
        .execute(conn);
    match inserted {
        Err(e) if !is_unique_violation(&e) => Err(e),
        _ => Ok(()),
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = roles)]
pub struct Role {
    pub id: String,
    pub name: String,
    pub name_key: String,
    pub description: String,
    pub grants_all: bool,
    pub is_builtin: bool,
    pub created_at: chrono::NaiveDateTime,
    pub updated_at: chrono::NaiveDateTime,
}

/// Inserts a role with its permissions; the caller runs this inside its transaction.
pub fn insert(
    conn: &mut DbConnection,
    id: &str,
    name: &str,
    description: &str,
    permissions: &[String],
) -> QueryResult<()> {
    let at = now();
    diesel::insert_into(roles::table)
        .values((
            roles::id.eq(id),
            roles::name.eq(name.trim()),
            roles::name_key.eq(name_key(name)),
            roles::description.eq(description.trim()),
            roles::grants_all.eq(false),
            roles::is_builtin.eq(false),
            roles::created_at.eq(at),
            roles::updated_at.eq(at),
        ))
        .execute(conn)?;
    add_permissions(conn, id, permissions)
}

fn add_permissions(
    conn: &mut DbConnection,
    role_id: &str,
    permissions: &[String],
) -> QueryResult<()> {
    for permission in permissions {
        diesel::insert_into(role_permissions::table)
            .values((
                role_permissions::role_id.eq(role_id),
                role_permissions::permission_name.eq(permission),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Replaces a role's name, description and permissions.
pub fn update(
    conn: &mut DbConnection,
    id: &str,
    name: &str,
    description: &str,
    permissions: &[String],
) -> QueryResult<()> {
    diesel::update(roles::table.find(id))
        .set((
            roles::name.eq(name.trim()),
            roles::name_key.eq(name_key(name)),
            roles::description.eq(description.trim()),
            roles::updated_at.eq(now()),
        ))
        .execute(conn)?;
    diesel::delete(role_permissions::table.filter(role_permissions::role_id.eq(id)))
        .execute(conn)?;
    add_permissions(conn, id, permissions)
}

pub fn delete(conn: &mut DbConnection, id: &str) -> QueryResult<usize> {
    diesel::delete(roles::table.find(id)).execute(conn)
}

pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<Role>> {
    roles::table
        .find(id)
        .select(Role::as_select())
        .first(conn)
        .optional()
}

/// The role, locked for the rest of the caller's transaction so that writers of it take turns:
/// `SELECT … FOR NO KEY UPDATE` on PostgreSQL (which does not block granting the role: a foreign key
/// check takes only a key-share lock); on SQLite the transaction already holds the database's write
/// lock (`BEGIN IMMEDIATE`, see [`crate::db::transaction`]).
pub fn find_for_update(conn: &mut DbConnection, id: &str) -> QueryResult<Option<Role>> {
    match conn {
        DbConnection::Postgres(pg) => roles::table
            .find(id)
            .select(Role::as_select())
            .for_no_key_update()
            .first(pg)
            .optional(),
        DbConnection::Sqlite(lite) => roles::table
            .find(id)
            .select(Role::as_select())
            .first(lite)
            .optional(),
    }
}

pub fn find_by_name(conn: &mut DbConnection, name: &str) -> QueryResult<Option<Role>> {
    roles::table
        .filter(roles::name_key.eq(name_key(name)))
        .select(Role::as_select())
        .first(conn)
        .optional()
}

pub fn find_many(conn: &mut DbConnection, ids: &[String]) -> QueryResult<Vec<Role>> {
    roles::table
        .filter(roles::id.eq_any(ids))
        .order(roles::name_key.asc())
        .select(Role::as_select())
        .load(conn)
}

/// Every role, Admin first, then by name.
pub fn list(conn: &mut DbConnection) -> QueryResult<Vec<Role>> {
    roles::table
        .order((roles::grants_all.desc(), roles::name_key.asc()))
        .select(Role::as_select())
        .load(conn)
}

/// The permission names of one role, sorted.
pub fn permissions_of(conn: &mut DbConnection, role_id: &str) -> QueryResult<Vec<String>> {
    role_permissions::table
        .filter(role_permissions::role_id.eq(role_id))
        .order(role_permissions::permission_name.asc())
        .select(role_permissions::permission_name)
        .load(conn)
}

/// Permission names per role, for many roles in one query.
pub fn permissions_by_role(
    conn: &mut DbConnection,
    role_ids: &[String],
) -> QueryResult<HashMap<String, Vec<String>>> {
    let rows: Vec<(String, String)> = role_permissions::table
        .filter(role_permissions::role_id.eq_any(role_ids))
        .order(role_permissions::permission_name.asc())
        .select((role_permissions::role_id, role_permissions::permission_name))
        .load(conn)?;
    let mut by_role: HashMap<String, Vec<String>> = HashMap::new();
    for (role_id, permission) in rows {
        by_role.entry(role_id).or_default().push(permission);
    }
    Ok(by_role)
}

/// How many permissions, keys and users each role has, in three grouped queries.
#[derive(Debug, Clone, Copy, Default)]
pub struct RoleCounts {
    pub permissions: i64,
    pub keys: i64,
    pub users: i64,
}

pub fn counts(conn: &mut DbConnection) -> QueryResult<HashMap<String, RoleCounts>> {
    use diesel::dsl::count_star;
    let mut counts: HashMap<String, RoleCounts> = HashMap::new();
    let permission_counts: Vec<(String, i64)> = role_permissions::table
        .group_by(role_permissions::role_id)
        .select((role_permissions::role_id, count_star()))
        .load(conn)?;
    for (role_id, n) in permission_counts {
        counts.entry(role_id).or_default().permissions = n;
    }
    let key_counts: Vec<(String, i64)> = api_key_roles::table
        .group_by(api_key_roles::role_id)
        .select((api_key_roles::role_id, count_star()))
        .load(conn)?;
    for (role_id, n) in key_counts {
        counts.entry(role_id).or_default().keys = n;
    }
    let user_counts: Vec<(String, i64)> = user_roles::table
        .group_by(user_roles::role_id)
        .select((user_roles::role_id, count_star()))
        .load(conn)?;
    for (role_id, n) in user_counts {
        counts.entry(role_id).or_default().users = n;
    }
    Ok(counts)
}

/// How many keys and users hold one role.
pub fn holder_counts(conn: &mut DbConnection, role_id: &str) -> QueryResult<RoleCounts> {
    let keys = api_key_roles::table
        .filter(api_key_roles::role_id.eq(role_id))
        .count()
        .get_result(conn)?;
    let users = user_roles::table
        .filter(user_roles::role_id.eq(role_id))
        .count()
        .get_result(conn)?;
    let permissions = role_permissions::table
        .filter(role_permissions::role_id.eq(role_id))
        .count()
        .get_result(conn)?;
    Ok(RoleCounts {
        permissions,
        keys,
        users,
    })
}

/// Roles ordered by id, after `after` (the API's cursor pages).
pub fn list_after(
    conn: &mut DbConnection,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<Role>> {
    let mut query = roles::table
        .select(Role::as_select())
        .order(roles::id.asc())
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(roles::id.gt(after.to_string()));
    }
    query.load(conn)
}
