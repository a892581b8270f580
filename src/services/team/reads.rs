//! What the Team tab and the users API read: each read checks the permission it needs.

use super::status::first_key_beyond;
use super::MemberAction;
use super::{Member, User};
use crate::auth::Principal;
use crate::authz::catalog::{SERVICE_ACCOUNTS_DELETE, USERS_DELETE, USERS_RETRIEVE};
use crate::db::{Db, DbConnection};
use crate::error::{forbidden_sentence, AppError};
use crate::models::{api_key, role, user};
use crate::services::grants::{self, effective_permissions, EffectivePermission};
use crate::services::Refusal;

/// A person with the names of their roles, as lists show them.
#[derive(Debug, Clone)]
pub struct MemberSummary {
    pub user: User,
    /// (role id, role name), by name.
    pub roles: Vec<(String, String)>,
}

pub(super) fn summary(conn: &mut DbConnection, person: User) -> Result<MemberSummary, AppError> {
    let mut roles = user::roles_of_users(conn, std::slice::from_ref(&person.id))?;
    Ok(MemberSummary {
        roles: roles.remove(&person.id).unwrap_or_default(),
        user: person,
    })
}

fn summaries(conn: &mut DbConnection, people: Vec<User>) -> Result<Vec<MemberSummary>, AppError> {
    let ids: Vec<String> = people.iter().map(|u| u.id.clone()).collect();
    let mut roles = user::roles_of_users(conn, &ids)?;
    Ok(people
        .into_iter()
        .map(|person| MemberSummary {
            roles: roles.remove(&person.id).unwrap_or_default(),
            user: person,
        })
        .collect())
}

/// How many people are on the team.
pub async fn count(db: &Db, principal: &Principal) -> Result<i64, AppError> {
    principal.require(USERS_RETRIEVE)?;
    db.run(|conn| Ok(user::count(conn)?)).await
}

/// A page of the team, by email.
pub async fn page(
    db: &Db,
    principal: &Principal,
    limit: i64,
    offset: i64,
) -> Result<Vec<MemberSummary>, AppError> {
    principal.require(USERS_RETRIEVE)?;
    db.run(move |conn| {
        let people = user::list_page(conn, limit, offset)?;
        summaries(conn, people)
    })
    .await
}

/// Up to `limit` people by id, after `after` (the API's cursor pages).
pub async fn list_after(
    db: &Db,
    principal: &Principal,
    after: Option<String>,
    limit: i64,
) -> Result<Vec<MemberSummary>, AppError> {
    principal.require(USERS_RETRIEVE)?;
    db.run(move |conn| {
        let people = user::list_after(conn, after.as_deref(), limit)?;
        summaries(conn, people)
    })
    .await
}

/// One person, as found.
pub async fn person(db: &Db, principal: &Principal, user_id: String) -> Result<User, AppError> {
    principal.require(USERS_RETRIEVE)?;
    db.run(move |conn| user::find(conn, &user_id)?.ok_or(AppError::NotFound))
        .await
}

/// A person as their page shows them to the principal: what the principal may do to them (see the
/// `can_*` functions) and the permissions their roles give.
#[derive(Debug, Clone)]
pub struct MemberDetail {
    pub member: Member,
    pub effective: Vec<EffectivePermission>,
}

pub async fn member(
    db: &Db,
    principal: &Principal,
    user_id: String,
) -> Result<MemberDetail, AppError> {
    principal.require(USERS_RETRIEVE)?;
    let viewer = principal.clone();
    db.run(move |conn| {
        let found = user::find(conn, &user_id)?.ok_or(AppError::NotFound)?;
        let member = Member::load(conn, &viewer, found)?;
        let roles = role::find_many(conn, &member.role_ids)?;
        let effective = effective_permissions(conn, &roles)?;
        Ok(MemberDetail { member, effective })
    })
    .await
}

/// What deactivating a person would do, for the confirmation page: refused (403) unless the
/// principal outranks them.
#[derive(Debug, Clone)]
pub struct DeactivationPreview {
    pub user: User,
    /// The active keys they created.
    pub active_keys: usize,
    /// Whether the principal may also revoke those keys.
    pub revoke_keys: Result<(), Refusal>,
}

pub async fn deactivation_preview(
    db: &Db,
    principal: &Principal,
    user_id: String,
) -> Result<DeactivationPreview, AppError> {
    principal.require(USERS_DELETE)?;
    let viewer = principal.clone();
    db.run(move |conn| {
        let found = user::find(conn, &user_id)?.ok_or(AppError::NotFound)?;
        let member = Member::load(conn, &viewer, found)?;
        member.require_rank(MemberAction::Deactivate)?;
        let keys = api_key::active_ids_created_by(conn, &user_id)?;
        let revoke_keys = if !viewer.can(SERVICE_ACCOUNTS_DELETE) {
            Err(Refusal::new(forbidden_sentence(SERVICE_ACCOUNTS_DELETE)))
        } else {
            match first_key_beyond(conn, &viewer.permissions, &keys)? {
                Some(missing) => Err(Refusal::new(grants::outranked_sentence(
                    "revoke every key they created",
                    &missing,
                ))),
                None => Ok(()),
            }
        };
        Ok(DeactivationPreview {
            user: member.user,
            active_keys: keys.len(),
            revoke_keys,
        })
    })
    .await
}
