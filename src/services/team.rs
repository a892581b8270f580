//! The team: inviting people, granting and revoking their roles within the granter's own rights,
//! deactivating and reactivating them, and issuing password-reset links.

use chrono::Duration;

use crate::auth::token::{random_hex, sha256_hex};
use crate::auth::Principal;
use crate::authz::catalog::{
    ADMIN_ROLE_ID, SERVICE_ACCOUNTS_DELETE, USERS_CREATE, USERS_DELETE, USERS_UPDATE,
};
use crate::authz::{AuditAction, UserStatus};
use crate::db::{new_id, now, Db, DbConnection};
use crate::error::AppError;
use crate::models::audit::Target;
use crate::models::role::{self, Role};
use crate::models::user::{self, NewUser, User};
use crate::models::{api_key, user_token};
use crate::services::audit_log;
use crate::services::grants::{
    check_grantable_roles, grantable_role, require_may_take, resolve_requested_roles,
};
use crate::services::{field, grants, in_authz_transaction, FieldErrors, FormError};

pub const INVITE_DAYS: i64 = 7;
pub const RESET_HOURS: i64 = 24;

#[derive(Debug, Clone, Default)]
pub struct InviteInput {
    pub email: String,
    pub display_name: String,
    pub role_ids: Vec<String>,
}

/// A person just invited, with the one-time link token to hand over (shown once, stored as a hash).
#[derive(Debug, Clone)]
pub struct IssuedLink {
    pub user: User,
    pub token: String,
}

fn role_names(roles: &[Role]) -> String {
    if roles.is_empty() {
        "none".into()
    } else {
        roles
            .iter()
            .map(|r| r.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

pub async fn invite(
    db: &Db,
    principal: Principal,
    input: InviteInput,
) -> Result<IssuedLink, FormError> {
    principal.require(USERS_CREATE)?;
    db.run(move |conn| {
        crate::db::transaction(conn, |conn| {
            let mut errors = FieldErrors::default();
            let email = user::normalize_email(&input.email);
            if email.is_empty() {
                errors.add("email", "Enter the person's email address.");
            } else if !crate::services::setup::looks_like_email(&email) {
                errors.add("email", "Enter an email address like name@example.com.");
            } else if user::find_by_email(conn, &email)?.is_some() {
                errors.add("email", "Someone with this email is already on the team.");
            }
            crate::services::setup::check_display_name(&input.display_name, &mut errors);
            let roles = check_grantable_roles(conn, &principal, &input.role_ids, &[], &mut errors)?;
            if !errors.is_empty() {
                return Err(FormError::Invalid(errors));
            }
            let id = new_id();
            let at = now();
            let name = match input.display_name.trim() {
                "" => email.split('@').next().unwrap_or_default().to_string(),
                given => given.to_string(),
            };
            user::insert(
                conn,
                &NewUser {
                    id: &id,
                    email: &email,
                    display_name: &name,
                    password_hash: None,
                    status: UserStatus::Invited.as_str(),
                    auth_version: 1,
                    created_at: at,
                    updated_at: at,
                },
            )
            .map_err(|e| {
                // Invited at the same moment by someone else: the unique index decides, and the
                // error ends the transaction (on PostgreSQL a failed statement aborts it).
                if crate::db::is_unique_violation(&e) {
                    AppError::FieldConflict {
                        field: "email".into(),
                        message: "Someone with this email is already on the team.".into(),
                    }
                } else {
                    e.into()
                }
            })?;
            let role_ids: Vec<String> = roles.iter().map(|r| r.id.clone()).collect();
            user::set_roles(conn, &id, &role_ids, principal.user_id())?;
            let token = random_hex(32);
            user_token::issue(
                conn,
                &id,
                user_token::PURPOSE_INVITE,
                &sha256_hex(&token),
                principal.user_id(),
                at + Duration::days(INVITE_DAYS),
            )?;
            let invited = user::find(conn, &id)?.ok_or(AppError::NotFound)?;
            audit_log::record(
                conn,
                &principal,
                AuditAction::UserInvited,
                Target::user(invited.id.clone(), invited.email.clone()),
                format!("roles: {}", role_names(&roles)),
            )?;
            Ok(IssuedLink {
                user: invited,
                token,
            })
        })
    })
    .await
}

/// True when `user_id` is the only active holder of the Admin role.
fn is_last_admin(conn: &mut DbConnection, target: &User) -> Result<bool, AppError> {
    if !target.is_active()
        || !user::role_ids(conn, &target.id)?
            .iter()
            .any(|r| r == ADMIN_ROLE_ID)
    {
        return Ok(false);
    }
    Ok(user::count_active_holders(conn, ADMIN_ROLE_ID)? <= 1)
}

/// Serialises every change that could leave no active administrator (taking the Admin role from
/// someone, deactivating someone): each locks the Admin role's row first, so two administrators
/// demoting or deactivating each other at the same moment take turns, and the second sees the first's
/// change when it counts the remaining administrators. On SQLite the transaction already holds the
/// write lock. Always taken before the user's own row, so the lock order is the same everywhere.
fn lock_admins(conn: &mut DbConnection) -> Result<(), AppError> {
    role::find_for_update(conn, ADMIN_ROLE_ID)?;
    Ok(())
}

/// Locks the person's row for the rest of the transaction (writers of one person take turns).
fn lock_user(conn: &mut DbConnection, user_id: &str) -> Result<User, AppError> {
    user::find_for_update(conn, user_id)?.ok_or(AppError::NotFound)
}

const LAST_ADMIN: &str = "is the last active administrator. Give the Admin role to someone else first, so that someone can always manage Latchkey.";

/// Replaces a user's roles with `requested` (the console's Save). The Admin role's row and the
/// person's row are locked first and their roles read after, in the same transaction. Like every
/// change to a person, it needs the rank over them (every permission of their roles is the
/// granter's, see [`grants::require_can_change_user`]); within it, roles the granter could not give
/// may stay as they are, and leaving one out asks to take it away, which is refused (403).
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
            let target = lock_user(conn, &user_id)?;
            grants::require_can_change_user(conn, &principal, &target.id)?;
            let before = user::role_ids(conn, &user_id)?;
            let mut errors = FieldErrors::default();
            let roles =
                resolve_requested_roles(conn, &principal, &requested, &before, &mut errors)?;
            let after: Vec<String> = roles.iter().map(|r| r.id.clone()).collect();
            if before.iter().any(|r| r == ADMIN_ROLE_ID)
                && !after.iter().any(|r| r == ADMIN_ROLE_ID)
                && is_last_admin(conn, &target)?
            {
                errors.add(field::ROLES, format!("{} {LAST_ADMIN}", target.email));
            }
            if !errors.is_empty() {
                return Err(FormError::Invalid(errors));
            }
            user::set_roles(conn, &user_id, &after, principal.user_id())?;
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
            if !granted.is_empty() {
                audit_log::record(
                    conn,
                    &principal,
                    AuditAction::UserRolesGranted,
                    Target::user(target.id.clone(), target.email.clone()),
                    format!("granted: {}", role_names(&granted)),
                )?;
            }
            if !revoked.is_empty() {
                audit_log::record(
                    conn,
                    &principal,
                    AuditAction::UserRolesRevoked,
                    Target::user(target.id.clone(), target.email.clone()),
                    format!("revoked: {}", role_names(&revoked)),
                )?;
            }
            if granted.is_empty() && revoked.is_empty() {
                audit_log::record(
                    conn,
                    &principal,
                    AuditAction::UserRolesGranted,
                    Target::user(target.id.clone(), target.email.clone()),
                    "no change",
                )?;
            }
            Ok(target)
        })
    })
    .await
}

/// Revoking the keys a person created is revoking keys: it needs `service-accounts.delete` and the
/// rank to revoke each of them. When any one is beyond the principal, the whole deactivation is
/// refused (naming the missing permission), so nothing half-happens: no person deactivated with
/// only some of their keys revoked, which the principal might not notice.
///
/// The keys are locked before their roles are read (writers of a key's roles lock its row first),
/// and the ids answered are exactly the keys checked: the caller revokes those and no others, so a
/// key promoted meanwhile waits for this transaction, and one created meanwhile is not revoked
/// unchecked.
fn lock_keys_to_revoke(
    conn: &mut DbConnection,
    principal: &Principal,
    user_id: &str,
) -> Result<Vec<String>, AppError> {
    principal.require(SERVICE_ACCOUNTS_DELETE)?;
    let key_ids = api_key::lock_active_created_by(conn, user_id)?;
    for key_id in &key_ids {
        grants::require_can_change_key(conn, principal, key_id)?;
    }
    Ok(key_ids)
}

/// Grants one role (by id or name): one row added unless the person holds it already, in one
/// transaction with the no-escalation check and the audit event.
pub async fn grant_role(
    db: &Db,
    principal: Principal,
    user_id: String,
    role_ref: String,
) -> Result<User, AppError> {
    principal.require(USERS_UPDATE)?;
    db.run(move |conn| {
        crate::db::transaction(conn, |conn| {
            let target = lock_user(conn, &user_id)?;
            grants::require_can_change_user(conn, &principal, &target.id)?;
            let held = user::role_ids(conn, &user_id)?;
            let granted = grantable_role(conn, &principal, &role_ref, &held)?;
            let summary = if user::add_role(conn, &user_id, &granted.id, principal.user_id())? {
                format!("granted: {}", granted.name)
            } else {
                format!("{} already held; no change", granted.name)
            };
            audit_log::record(
                conn,
                &principal,
                AuditAction::UserRolesGranted,
                Target::user(target.id.clone(), target.email.clone()),
                summary,
            )?;
            Ok(target)
        })
    })
    .await
}

/// Takes one role from a person: one row deleted, in one transaction with the check that the caller
/// could give that role, the last-administrator rule (under the Admin lock) and the audit event.
pub async fn revoke_role(
    db: &Db,
    principal: Principal,
    user_id: String,
    role_id: String,
) -> Result<User, AppError> {
    principal.require(USERS_UPDATE)?;
    db.run(move |conn| {
        crate::db::transaction(conn, |conn| {
            lock_admins(conn)?;
            let target = lock_user(conn, &user_id)?;
            grants::require_can_change_user(conn, &principal, &target.id)?;
            if !user::role_ids(conn, &user_id)?.contains(&role_id) {
                return Err(AppError::NotFound);
            }
            require_may_take(conn, &principal, std::slice::from_ref(&role_id))?;
            if role_id == ADMIN_ROLE_ID && is_last_admin(conn, &target)? {
                return Err(AppError::validation(
                    field::ROLES,
                    format!("{} {LAST_ADMIN}", target.email),
                ));
            }
            let taken = role::find(conn, &role_id)?.ok_or(AppError::NotFound)?;
            user::remove_role(conn, &user_id, &role_id)?;
            audit_log::record(
                conn,
                &principal,
                AuditAction::UserRolesRevoked,
                Target::user(target.id.clone(), target.email.clone()),
                format!("revoked: {}", taken.name),
            )?;
            Ok(target)
        })
    })
    .await
}

/// Deactivates a person: signed out at their next request, unable to sign in. Their keys keep working
/// (keys belong to the organisation) unless `revoke_keys` asks to revoke the ones they created.
pub async fn deactivate(
    db: &Db,
    principal: Principal,
    user_id: String,
    revoke_keys: bool,
) -> Result<(User, usize), AppError> {
    principal.require(USERS_DELETE)?;
    if revoke_keys {
        principal.require(SERVICE_ACCOUNTS_DELETE)?;
    }
    in_authz_transaction(db, move |conn| {
        lock_admins(conn)?;
        let target = lock_user(conn, &user_id)?;
        if principal.user_id() == Some(target.id.as_str()) {
            return Err(AppError::Conflict(
                "You cannot deactivate your own account. Ask another administrator.".into(),
            ));
        }
        if target.status == UserStatus::Deactivated.as_str() {
            return Err(AppError::Conflict(format!(
                "{} is already deactivated.",
                target.email
            )));
        }
        grants::require_can_change_user(conn, &principal, &target.id)?;
        let keys_to_revoke = if revoke_keys {
            lock_keys_to_revoke(conn, &principal, &target.id)?
        } else {
            Vec::new()
        };
        if is_last_admin(conn, &target)? {
            return Err(AppError::Conflict(format!("{} {LAST_ADMIN}", target.email)));
        }
        user::set_status(conn, &user_id, UserStatus::Deactivated)?;
        user_token::retire_unused(conn, &user_id)?;
        let revoked = api_key::revoke_many(conn, &keys_to_revoke)?;
        let summary = if revoke_keys {
            format!("signed out; {revoked} API keys they created were revoked")
        } else {
            "signed out; API keys they created keep working".to_string()
        };
        audit_log::record(
            conn,
            &principal,
            AuditAction::UserDeactivated,
            Target::user(target.id.clone(), target.email.clone()),
            summary,
        )?;
        Ok((target, revoked))
    })
    .await
}

pub async fn reactivate(db: &Db, principal: Principal, user_id: String) -> Result<User, AppError> {
    principal.require(USERS_DELETE)?;
    db.run(move |conn| {
        crate::db::transaction(conn, |conn| {
            let target = lock_user(conn, &user_id)?;
            if target.status != UserStatus::Deactivated.as_str() {
                return Err(AppError::Conflict(format!(
                    "{} is not deactivated.",
                    target.email
                )));
            }
            grants::require_can_change_user(conn, &principal, &target.id)?;
            let status = if target.password_hash.is_some() {
                UserStatus::Active
            } else {
                UserStatus::Invited
            };
            user::set_status(conn, &user_id, status)?;
            audit_log::record(
                conn,
                &principal,
                AuditAction::UserReactivated,
                Target::user(target.id.clone(), target.email.clone()),
                format!("status: {status}"),
            )?;
            Ok(target)
        })
    })
    .await
}

/// Why nobody issues a reset link for their own account: a signed-in session (perhaps someone
/// else's, left open) would otherwise set a new password without knowing the current one.
pub const OWN_RESET_LINK: &str = "You cannot issue a password link for your own account. Change your password on your Account page: it asks for your current one.";

/// A one-time link (24 hours) that lets the person choose a new password.
pub async fn issue_reset_link(
    db: &Db,
    principal: Principal,
    user_id: String,
) -> Result<IssuedLink, AppError> {
    principal.require(USERS_UPDATE)?;
    db.run(move |conn| {
        crate::db::transaction(conn, |conn| {
            let target = user::find(conn, &user_id)?.ok_or(AppError::NotFound)?;
            if principal.user_id() == Some(target.id.as_str()) {
                return Err(AppError::Conflict(OWN_RESET_LINK.into()));
            }
            if target.status == UserStatus::Deactivated.as_str() {
                return Err(AppError::Conflict(format!(
                    "{} is deactivated. Reactivate them first.",
                    target.email
                )));
            }
            grants::require_can_change_user(conn, &principal, &target.id)?;
            let token = random_hex(32);
            let (purpose, expires) = if target.status == UserStatus::Invited.as_str() {
                (
                    user_token::PURPOSE_INVITE,
                    now() + Duration::days(INVITE_DAYS),
                )
            } else {
                (
                    user_token::PURPOSE_RESET,
                    now() + Duration::hours(RESET_HOURS),
                )
            };
            user_token::issue(
                conn,
                &user_id,
                purpose,
                &sha256_hex(&token),
                principal.user_id(),
                expires,
            )?;
            audit_log::record(
                conn,
                &principal,
                AuditAction::PasswordLinkIssued,
                Target::user(target.id.clone(), target.email.clone()),
                format!("{purpose} link"),
            )?;
            Ok(IssuedLink {
                user: target,
                token,
            })
        })
    })
    .await
}
