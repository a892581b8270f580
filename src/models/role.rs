//! Roles: named sets of permissions.

use diesel::prelude::*;

use crate::auth::catalog::{ADMIN_ROLE_ID, ADMIN_ROLE_NAME};
use crate::db::schema::roles;
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
    for permission in permissions {
        diesel::insert_into(crate::db::schema::role_permissions::table)
            .values((
                crate::db::schema::role_permissions::role_id.eq(id),
                crate::db::schema::role_permissions::permission_name.eq(permission),
            ))
            .execute(conn)?;
    }
    Ok(())
}
