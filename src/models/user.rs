//! People who sign in.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::authz::UserStatus;
use crate::db::schema::{user_roles, users};
use crate::db::{now, DbConnection};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: String,
    pub email: String,
    pub display_name: String,
    pub password_hash: Option<String>,
    pub status: String,
    pub auth_version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub last_sign_in_at: Option<NaiveDateTime>,
}

impl User {
    pub fn is_active(&self) -> bool {
        self.status == UserStatus::Active.as_str()
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub id: &'a str,
    pub email: &'a str,
    pub display_name: &'a str,
    pub password_hash: Option<&'a str>,
    pub status: &'a str,
    pub auth_version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// Emails are compared and stored trimmed and lower-cased.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<User>> {
    users::table
        .find(id)
        .select(User::as_select())
        .first(conn)
        .optional()
}

/// The user, locked for the rest of the caller's transaction so that writers of their roles and
/// status take turns: `SELECT … FOR NO KEY UPDATE` on PostgreSQL; on SQLite the transaction already
/// holds the database's write lock (`BEGIN IMMEDIATE`, see [`crate::db::transaction`]).
pub fn find_for_update(conn: &mut DbConnection, id: &str) -> QueryResult<Option<User>> {
    match conn {
        DbConnection::Postgres(pg) => users::table
            .find(id)
            .select(User::as_select())
            .for_no_key_update()
            .first(pg)
            .optional(),
        DbConnection::Sqlite(lite) => users::table
            .find(id)
            .select(User::as_select())
            .first(lite)
            .optional(),
    }
}

pub fn find_by_email(conn: &mut DbConnection, email: &str) -> QueryResult<Option<User>> {
    users::table
        .filter(users::email.eq(normalize_email(email)))
        .select(User::as_select())
        .first(conn)
        .optional()
}

pub fn count(conn: &mut DbConnection) -> QueryResult<i64> {
    users::table.count().get_result(conn)
}

pub fn insert(conn: &mut DbConnection, user: &NewUser) -> QueryResult<()> {
    diesel::insert_into(users::table)
        .values(user)
        .execute(conn)
        .map(|_| ())
}

pub fn record_sign_in(conn: &mut DbConnection, id: &str) -> QueryResult<()> {
    diesel::update(users::table.find(id))
        .set(users::last_sign_in_at.eq(Some(now())))
        .execute(conn)
        .map(|_| ())
}

pub fn grant_role(
    conn: &mut DbConnection,
    user_id: &str,
    role_id: &str,
    granted_by: Option<&str>,
) -> QueryResult<()> {
    diesel::insert_into(user_roles::table)
        .values((
            user_roles::user_id.eq(user_id),
            user_roles::role_id.eq(role_id),
            user_roles::granted_by.eq(granted_by),
            user_roles::granted_at.eq(now()),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Grants one role unless the user holds it already; true when a row was added.
pub fn add_role(
    conn: &mut DbConnection,
    user_id: &str,
    role_id: &str,
    granted_by: Option<&str>,
) -> QueryResult<bool> {
    let row = (
        user_roles::user_id.eq(user_id),
        user_roles::role_id.eq(role_id),
        user_roles::granted_by.eq(granted_by),
        user_roles::granted_at.eq(now()),
    );
    let added = match conn {
        DbConnection::Postgres(pg) => diesel::insert_into(user_roles::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(pg)?,
        DbConnection::Sqlite(lite) => diesel::insert_into(user_roles::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(lite)?,
    };
    Ok(added > 0)
}

/// Takes one role from a user; true when they held it.
pub fn remove_role(conn: &mut DbConnection, user_id: &str, role_id: &str) -> QueryResult<bool> {
    let removed = diesel::delete(
        user_roles::table
            .filter(user_roles::user_id.eq(user_id))
            .filter(user_roles::role_id.eq(role_id)),
    )
    .execute(conn)?;
    Ok(removed > 0)
}

/// Changes a user's status; leaving `active` also ends their sessions (see [`bump_auth_version`]).
pub fn set_status(conn: &mut DbConnection, id: &str, status: UserStatus) -> QueryResult<()> {
    diesel::update(users::table.find(id))
        .set((
            users::status.eq(status.as_str()),
            users::updated_at.eq(now()),
        ))
        .execute(conn)?;
    bump_auth_version(conn, id)
}

/// Ends every session of the user: deletes their rows (so they end on every instance at once) and
/// bumps the version each session was signed in with (checked on every request as well).
pub fn bump_auth_version(conn: &mut DbConnection, id: &str) -> QueryResult<()> {
    diesel::update(users::table.find(id))
        .set(users::auth_version.eq(users::auth_version + 1))
        .execute(conn)?;
    crate::models::session::delete_for_user(conn, id).map(|_| ())
}

/// Sets a new password and ends every session. The status stays as it is: a password change never
/// undoes a deactivation (only redeeming a link activates, see [`activate_invited`]).
pub fn set_password(conn: &mut DbConnection, id: &str, password_hash: &str) -> QueryResult<()> {
    diesel::update(users::table.find(id))
        .set((
            users::password_hash.eq(Some(password_hash)),
            users::updated_at.eq(now()),
        ))
        .execute(conn)?;
    bump_auth_version(conn, id)
}

/// An invitation accepted: `invited` becomes `active`. Any other status (`active`, and above all
/// `deactivated`) is left alone; true when the status changed.
pub fn activate_invited(conn: &mut DbConnection, id: &str) -> QueryResult<bool> {
    let changed = diesel::update(
        users::table
            .find(id)
            .filter(users::status.eq(UserStatus::Invited.as_str())),
    )
    .set((
        users::status.eq(UserStatus::Active.as_str()),
        users::updated_at.eq(now()),
    ))
    .execute(conn)?;
    Ok(changed > 0)
}

pub fn find_many(conn: &mut DbConnection, ids: &[String]) -> QueryResult<Vec<User>> {
    users::table
        .filter(users::id.eq_any(ids))
        .select(User::as_select())
        .load(conn)
}

/// A page of users ordered by email.
pub fn list_page(conn: &mut DbConnection, limit: i64, offset: i64) -> QueryResult<Vec<User>> {
    users::table
        .order(users::email.asc())
        .limit(limit)
        .offset(offset)
        .select(User::as_select())
        .load(conn)
}

/// The ids of the roles a user holds.
pub fn role_ids(conn: &mut DbConnection, user_id: &str) -> QueryResult<Vec<String>> {
    user_roles::table
        .filter(user_roles::user_id.eq(user_id))
        .select(user_roles::role_id)
        .load(conn)
}

/// (role id, role name) per user, for many users in one query.
pub fn roles_of_users(
    conn: &mut DbConnection,
    user_ids: &[String],
) -> QueryResult<std::collections::HashMap<String, Vec<(String, String)>>> {
    use crate::db::schema::roles;
    let rows: Vec<(String, String, String)> = user_roles::table
        .inner_join(roles::table)
        .filter(user_roles::user_id.eq_any(user_ids))
        .order(roles::name_key.asc())
        .select((user_roles::user_id, roles::id, roles::name))
        .load(conn)?;
    let mut by_user: std::collections::HashMap<String, Vec<(String, String)>> =
        std::collections::HashMap::new();
    for (user_id, role_id, role_name) in rows {
        by_user
            .entry(user_id)
            .or_default()
            .push((role_id, role_name));
    }
    Ok(by_user)
}

/// Replaces a user's roles; `granted_by` is recorded on the roles added now.
pub fn set_roles(
    conn: &mut DbConnection,
    user_id: &str,
    role_ids: &[String],
    granted_by: Option<&str>,
) -> QueryResult<()> {
    let current = self::role_ids(conn, user_id)?;
    let removed: Vec<&String> = current.iter().filter(|id| !role_ids.contains(id)).collect();
    diesel::delete(
        user_roles::table
            .filter(user_roles::user_id.eq(user_id))
            .filter(user_roles::role_id.eq_any(removed)),
    )
    .execute(conn)?;
    for role_id in role_ids.iter().filter(|id| !current.contains(id)) {
        grant_role(conn, user_id, role_id, granted_by)?;
    }
    Ok(())
}

/// How many active users hold the given role.
pub fn count_active_holders(conn: &mut DbConnection, role_id: &str) -> QueryResult<i64> {
    users::table
        .inner_join(user_roles::table)
        .filter(user_roles::role_id.eq(role_id))
        .filter(users::status.eq(UserStatus::Active.as_str()))
        .count()
        .get_result(conn)
}

/// Users ordered by id, after `after` (the API's cursor pages).
pub fn list_after(
    conn: &mut DbConnection,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<User>> {
    let mut query = users::table
        .select(User::as_select())
        .order(users::id.asc())
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(users::id.gt(after.to_string()));
    }
    query.load(conn)
}
