//! The permission catalog and effective-permission queries.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::auth::catalog::BUILTIN;
use crate::auth::PermissionSet;
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
