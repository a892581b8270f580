//! Giving people roles and taking them away, within the granter's own rights.

use super::reads::summary;
use super::MemberAction;
use super::{can_lose_admin, lock_admins, lock_member, MemberSummary, User};
use crate::auth::Principal;
use crate::authz::catalog::{ADMIN_ROLE_ID, USERS_UPDATE};
use crate::authz::AuditAction;
use crate::db::Db;
use crate::error::AppError;
use crate::models::audit::Target;
use crate::models::role::{self, Role};
use crate::models::user;
use crate::services::audit_log::role_names;
use crate::services::grants::{grantable_role, require_may_take, resolve_requested_roles};
use crate::services::{audit_log, field, FieldErrors, FormError};

/// Replaces a user's roles with `requested` (the console's Save). The Admin role's row and the
/// person's row are locked first and their roles read after, in the same transaction. Like every
/// change to a person, it needs the rank over them (every permission of their roles is the
/// granter's, see [`super::can_act_on`]); within it, roles the granter could not give may stay as
/// they are, and leaving one out asks to take it away, which is refused (403).
pub async fn set_roles(
    db: &Db,
    principal: Principal,
    user_id: String,
    requested: Vec<String>,
) -> Result<User, FormError> {
    principal.require(USERS_UPDATE)?;
    db.run(move |conn| {
        crate::db::transaction(conn, |conn| {
            lock_admins(conn)?;
            let member = lock_member(conn, &principal, &user_id)?;
            member.require_rank(MemberAction::ChangeRoles)?;
            let before = member.role_ids.clone();
            let mut errors = FieldErrors::default();
            let roles =
                resolve_requested_roles(conn, &principal, &requested, &before, &mut errors)?;
            let after: Vec<String> = roles.iter().map(|r| r.id.clone()).collect();
            if before.iter().any(|r| r == ADMIN_ROLE_ID)
                && !after.iter().any(|r| r == ADMIN_ROLE_ID)
            {
                if let Err(refusal) = can_lose_admin(&member) {
                    errors.add(field::ROLES, refusal.reason());
                }
            }
            if !errors.is_empty() {
                return Err(FormError::Invalid(errors));
            }
            let target = member.user;
            user::set_roles(conn, &target.id, &after, principal.user_id())?;
            let granted: Vec<Role> = roles
                .iter()
                .filter(|r| !before.contains(&r.id))
                .cloned()
                .collect();
            let revoked_ids: Vec<String> = before
                .iter()
                .filter(|id| !after.contains(id))
                .cloned()
                .collect();
            let revoked = role::find_many(conn, &revoked_ids)?;
            let audited = Target::user(target.id.clone(), target.email.clone());
            if !granted.is_empty() {
                audit_log::record(
                    conn,
                    &principal,
                    AuditAction::UserRolesGranted,
                    audited.clone(),
                    format!("granted: {}", role_names(&granted)),
                )?;
            }
            if !revoked.is_empty() {
                audit_log::record(
                    conn,
                    &principal,
                    AuditAction::UserRolesRevoked,
                    audited.clone(),
                    format!("revoked: {}", role_names(&revoked)),
                )?;
            }
            if granted.is_empty() && revoked.is_empty() {
                audit_log::record(
                    conn,
                    &principal,
                    AuditAction::UserRolesGranted,
                    audited,
                    "no change",
                )?;
            }
            Ok(target)
        })
    })
    .await
}

/// Grants one role (by id or name): one row added unless the person holds it already, in one
/// transaction with the no-escalation check and the audit event. Answers the person as saved.
pub async fn grant_role(
    db: &Db,
    principal: Principal,
    user_id: String,
    role_ref: String,
) -> Result<MemberSummary, AppError> {
    principal.require(USERS_UPDATE)?;
    db.run(move |conn| {
        crate::db::transaction(conn, |conn| {
            let member = lock_member(conn, &principal, &user_id)?;
            member.require_rank(MemberAction::ChangeRoles)?;
            let granted = grantable_role(conn, &principal, &role_ref, &member.role_ids)?;
            let target = member.user;
            let summary_text =
                if user::add_role(conn, &target.id, &granted.id, principal.user_id())? {
                    format!("granted: {}", granted.name)
                } else {
                    format!("{} already held; no change", granted.name)
                };
            audit_log::record(
                conn,
                &principal,
                AuditAction::UserRolesGranted,
                Target::user(target.id.clone(), target.email.clone()),
                summary_text,
            )?;
            summary(conn, target)
        })
    })
    .await
}

/// Takes one role from a person: one row deleted, in one transaction with the check that the caller
/// could give that role, the last-administrator rule (under the Admin lock) and the audit event.
/// Answers the person as saved.
pub async fn revoke_role(
    db: &Db,
    principal: Principal,
    user_id: String,
    role_id: String,
) -> Result<MemberSummary, AppError> {
    principal.require(USERS_UPDATE)?;
    db.run(move |conn| {
        crate::db::transaction(conn, |conn| {
            lock_admins(conn)?;
            let member = lock_member(conn, &principal, &user_id)?;
            member.require_rank(MemberAction::ChangeRoles)?;
            if !member.role_ids.contains(&role_id) {
                return Err(AppError::NotFound);
            }
            require_may_take(conn, &principal, std::slice::from_ref(&role_id))?;
            if role_id == ADMIN_ROLE_ID {
                can_lose_admin(&member)
                    .map_err(|refusal| AppError::validation(field::ROLES, refusal.reason()))?;
            }
            let taken = role::find(conn, &role_id)?.ok_or(AppError::NotFound)?;
            let target = member.user;
            user::remove_role(conn, &target.id, &role_id)?;
            audit_log::record(
                conn,
                &principal,
                AuditAction::UserRolesRevoked,
                Target::user(target.id.clone(), target.email.clone()),
                format!("revoked: {}", taken.name),
            )?;
            summary(conn, target)
        })
    })
    .await
}
