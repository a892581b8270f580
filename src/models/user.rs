//! People who sign in.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{user_roles, users};
use crate::db::{now, DbConnection};

pub const STATUS_ACTIVE: &str = "active";
pub const STATUS_INVITED: &str = "invited";
pub const STATUS_DEACTIVATED: &str = "deactivated";

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
        self.status == STATUS_ACTIVE
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

/// Changes a user's status; leaving `active` also ends their sessions (see [`bump_auth_version`]).
pub fn set_status(conn: &mut DbConnection, id: &str, status: &str) -> QueryResult<()> {
    diesel::update(users::table.find(id))
        .set((users::status.eq(status), users::updated_at.eq(now())))
        .execute(conn)?;
    bump_auth_version(conn, id)
}

/// Invalidates every session of the user: each carries the version it was signed in with.
pub fn bump_auth_version(conn: &mut DbConnection, id: &str) -> QueryResult<()> {
    diesel::update(users::table.find(id))
        .set(users::auth_version.eq(users::auth_version + 1))
        .execute(conn)
        .map(|_| ())
}
