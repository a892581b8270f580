//! API keys (service accounts) and the roles they hold. Only the hash of a key's secret is stored.
//! Here the key rows; `verification` holds the hot path's queries, `roles` the roles keys hold,
//! `listing` the pages of keys, `created_by` the active keys a user created.

mod created_by;
mod listing;
mod roles;
mod verification;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{api_keys, users};
use crate::db::{now, DbConnection};
pub use created_by::{
    active_ids_created_by, count_active_created_by, lock_active_created_by, revoke_many,
};
pub use listing::{count, list_after, list_page, KeyListing};
pub use roles::{add_role, remove_role, role_ids, roles_of_keys, set_roles};
pub use verification::{
    credentials_by_public_id, permission_names, roles_for_verification, KeyCredentials,
};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = api_keys)]
pub struct ApiKey {
    pub id: String,
    pub public_id: String,
    pub name: String,
    pub description: String,
    pub secret_hash: String,
    pub created_by: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub expires_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
    pub last_used_at: Option<NaiveDateTime>,
    pub last_used_ip: Option<String>,
}

/// Whether a key can authenticate now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyStatus {
    Active,
    Expired,
    Revoked,
}

impl KeyStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Expired => "expired",
            Self::Revoked => "revoked",
        }
    }
}

impl ApiKey {
    pub fn status_at(&self, at: NaiveDateTime) -> KeyStatus {
        if self.revoked_at.is_some() {
            KeyStatus::Revoked
        } else if self.expires_at.is_some_and(|expiry| expiry <= at) {
            KeyStatus::Expired
        } else {
            KeyStatus::Active
        }
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = api_keys)]
pub struct NewApiKey<'a> {
    pub id: &'a str,
    pub public_id: &'a str,
    pub name: &'a str,
    pub description: &'a str,
    pub secret_hash: &'a str,
    pub created_by: Option<&'a str>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub expires_at: Option<NaiveDateTime>,
}

pub fn insert(conn: &mut DbConnection, key: &NewApiKey) -> QueryResult<()> {
    diesel::insert_into(api_keys::table)
        .values(key)
        .execute(conn)
        .map(|_| ())
}

pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<ApiKey>> {
    api_keys::table
        .find(id)
        .select(ApiKey::as_select())
        .first(conn)
        .optional()
}

/// The key, locked for the rest of the caller's transaction so that writers of its roles take turns:
/// `SELECT … FOR NO KEY UPDATE` on PostgreSQL; on SQLite the transaction already holds the database's
/// write lock (`BEGIN IMMEDIATE`, see [`crate::db::transaction`]). Call it first, inside the
/// transaction, before reading what the change depends on.
pub fn find_for_update(conn: &mut DbConnection, id: &str) -> QueryResult<Option<ApiKey>> {
    match conn {
        DbConnection::Postgres(pg) => api_keys::table
            .find(id)
            .select(ApiKey::as_select())
            .for_no_key_update()
            .first(pg)
            .optional(),
        DbConnection::Sqlite(lite) => api_keys::table
            .find(id)
            .select(ApiKey::as_select())
            .first(lite)
            .optional(),
    }
}

pub fn find_by_public_id(conn: &mut DbConnection, public_id: &str) -> QueryResult<Option<ApiKey>> {
    api_keys::table
        .filter(api_keys::public_id.eq(public_id))
        .select(ApiKey::as_select())
        .first(conn)
        .optional()
}

pub fn update_details(
    conn: &mut DbConnection,
    id: &str,
    name: &str,
    description: &str,
    expires_at: Option<NaiveDateTime>,
) -> QueryResult<()> {
    diesel::update(api_keys::table.find(id))
        .set((
            api_keys::name.eq(name),
            api_keys::description.eq(description),
            api_keys::expires_at.eq(expires_at),
            api_keys::updated_at.eq(now()),
        ))
        .execute(conn)
        .map(|_| ())
}

pub fn revoke(conn: &mut DbConnection, id: &str) -> QueryResult<()> {
    let at = now();
    diesel::update(
        api_keys::table
            .find(id)
            .filter(api_keys::revoked_at.is_null()),
    )
    .set((
        api_keys::revoked_at.eq(Some(at)),
        api_keys::updated_at.eq(at),
    ))
    .execute(conn)
    .map(|_| ())
}

pub fn creator_email(conn: &mut DbConnection, key: &ApiKey) -> QueryResult<Option<String>> {
    match &key.created_by {
        Some(user_id) => users::table
            .find(user_id)
            .select(users::email)
            .first(conn)
            .optional(),
        None => Ok(None),
    }
}

/// Records when (and from where) a key was last used; written in batches, never per request.
pub fn record_last_used(
    conn: &mut DbConnection,
    id: &str,
    at: NaiveDateTime,
    ip: Option<&str>,
) -> QueryResult<()> {
    diesel::update(api_keys::table.find(id))
        .set((
            api_keys::last_used_at.eq(Some(at)),
            api_keys::last_used_ip.eq(ip),
        ))
        .execute(conn)
        .map(|_| ())
}
