//! One-time links that let a person set their password: invitations and resets.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::user_tokens;
use crate::db::{new_id, now, DbConnection};

pub const PURPOSE_INVITE: &str = "invite";
pub const PURPOSE_RESET: &str = "reset";

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = user_tokens)]
pub struct UserToken {
    pub id: String,
    pub user_id: String,
    pub purpose: String,
    pub token_hash: String,
    pub created_by: Option<String>,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub used_at: Option<NaiveDateTime>,
}

/// Stores a new link (its hash) and retires the user's earlier unused links.
pub fn issue(
    conn: &mut DbConnection,
    user_id: &str,
    purpose: &str,
    token_hash: &str,
    created_by: Option<&str>,
    expires_at: NaiveDateTime,
) -> QueryResult<()> {
    retire_unused(conn, user_id)?;
    diesel::insert_into(user_tokens::table)
        .values((
            user_tokens::id.eq(new_id()),
            user_tokens::user_id.eq(user_id),
            user_tokens::purpose.eq(purpose),
            user_tokens::token_hash.eq(token_hash),
            user_tokens::created_by.eq(created_by),
            user_tokens::created_at.eq(now()),
            user_tokens::expires_at.eq(expires_at),
        ))
        .execute(conn)
        .map(|_| ())
}

/// An unused, unexpired link with this hash.
pub fn find_usable(conn: &mut DbConnection, token_hash: &str) -> QueryResult<Option<UserToken>> {
    user_tokens::table
        .filter(user_tokens::token_hash.eq(token_hash))
        .filter(user_tokens::used_at.is_null())
        .filter(user_tokens::expires_at.gt(now()))
        .select(UserToken::as_select())
        .first(conn)
        .optional()
}

/// Marks a link used; returns false when it was already used (a second click, or a race).
pub fn mark_used(conn: &mut DbConnection, id: &str) -> QueryResult<bool> {
    let updated = diesel::update(
        user_tokens::table
            .find(id)
            .filter(user_tokens::used_at.is_null()),
    )
    .set(user_tokens::used_at.eq(Some(now())))
    .execute(conn)?;
    Ok(updated == 1)
}

pub fn retire_unused(conn: &mut DbConnection, user_id: &str) -> QueryResult<()> {
    diesel::update(
        user_tokens::table
            .filter(user_tokens::user_id.eq(user_id))
            .filter(user_tokens::used_at.is_null()),
    )
    .set(user_tokens::used_at.eq(Some(now())))
    .execute(conn)
    .map(|_| ())
}
