//! API keys (service accounts) and the roles they hold. Only the hash of a key's secret is stored.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{api_key_roles, api_keys, role_permissions, roles, users};
use crate::db::{now, DbConnection};

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

/// The columns verifying a key needs (fewer than [`ApiKey`]: verification runs on the hot path).
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

/// The ids of the active keys a user created, each row locked for the rest of the caller's
/// transaction (`SELECT … FOR NO KEY UPDATE` on PostgreSQL, like [`find_for_update`]; on SQLite the
/// transaction already holds the write lock). Ordered by id, so two lockers take them in one order.
pub fn lock_active_created_by(conn: &mut DbConnection, user_id: &str) -> QueryResult<Vec<String>> {
    let query = api_keys::table
        .filter(api_keys::created_by.eq(user_id))
        .filter(api_keys::revoked_at.is_null())
        .select(api_keys::id)
        .order(api_keys::id);
    match conn {
        DbConnection::Postgres(pg) => query.for_no_key_update().load(pg),
        DbConnection::Sqlite(lite) => query.load(lite),
    }
}

/// Revokes exactly these keys (those still active); returns how many.
pub fn revoke_many(conn: &mut DbConnection, ids: &[String]) -> QueryResult<usize> {
    if ids.is_empty() {
        return Ok(0);
    }
    let at = now();
    diesel::update(
        api_keys::table
            .filter(api_keys::id.eq_any(ids))
            .filter(api_keys::revoked_at.is_null()),
    )
    .set((
        api_keys::revoked_at.eq(Some(at)),
        api_keys::updated_at.eq(at),
    ))
    .execute(conn)
}

/// How many active keys a user created.
pub fn count_active_created_by(conn: &mut DbConnection, user_id: &str) -> QueryResult<i64> {
    api_keys::table
        .filter(api_keys::created_by.eq(user_id))
        .filter(api_keys::revoked_at.is_null())
        .count()
        .get_result(conn)
}

/// The ids of the active keys a user created (unlocked: for pages; a revocation uses
/// [`lock_active_created_by`]).
pub fn active_ids_created_by(conn: &mut DbConnection, user_id: &str) -> QueryResult<Vec<String>> {
    api_keys::table
        .filter(api_keys::created_by.eq(user_id))
        .filter(api_keys::revoked_at.is_null())
        .select(api_keys::id)
        .order(api_keys::id)
        .load(conn)
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
