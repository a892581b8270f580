//! The team: inviting people, granting and revoking their roles within the granter's own rights,
//! deactivating and reactivating them, and issuing password-reset links.

use chrono::Duration;

use crate::auth::catalog::{ADMIN_ROLE_ID, USERS_CREATE, USERS_DELETE, USERS_UPDATE};
use crate::auth::token::{random_hex, sha256_hex};
use crate::auth::Principal;
use crate::db::{new_id, now, Db, DbConnection};
use crate::error::AppError;
use crate::models::audit::{self, Target};
use crate::models::role::{self, Role};
use crate::models::user::{self, NewUser, User, STATUS_ACTIVE, STATUS_DEACTIVATED, STATUS_INVITED};
use crate::models::{api_key, user_token};
use crate::services::roles::{check_grantable_roles, ungrantable};
use crate::services::{in_authz_transaction, FieldErrors, FormError};

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

/// Records a successful change to a person in the audit log.
fn record(
    conn: &mut DbConnection,
    principal: &Principal,
    action: &str,
    target: &User,
    summary: String,
) -> Result<(), AppError> {
    audit::record(
        conn,
        audit::NewEvent {
            actor: &principal.actor(),
            action,
            target: Target {
                kind: "user",
                id: Some(target.id.clone()),
                label: target.email.clone(),
            },
            summary,
            ip_address: principal.ip.as_deref(),
            outcome: audit::OUTCOME_SUCCESS,
        },
    )?;
    Ok(())
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
                    status: STATUS_INVITED,
                    auth_version: 1,
                    created_at: at,
                    updated_at: at,
                },
            )?;
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
            record(
                conn,
                &principal,
                "user.invited",
                &invited,
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

/// Refuses to act on someone who holds a role the principal could not give: that would take away (or
/// take over) more than the principal could grant.
fn require_outranks(
    conn: &mut DbConnection,
    principal: &Principal,
    target: &User,
    what: &str,
) -> Result<(), AppError> {
    let held = user::role_ids(conn, &target.id)?;
    let beyond = ungrantable(conn, principal, &held)?;
    if beyond.is_empty() {
        return Ok(());
    }
    let names = role::find_many(conn, &beyond)?;
    Err(AppError::Conflict(format!(
        "You cannot {what} {}: they hold {}, which holds permissions you do not have.",
        target.email,
        role_names(&names)
    )))
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

const LAST_ADMIN: &str = "is the last active administrator. Give the Admin role to someone else first, so that someone can always manage Latchkey.";

/// Grants and revokes a user's roles. Roles the granter could not give are kept as they are.
pub async fn set_roles(
    db: &Db,
    principal: Principal,
    user_id: String,
    requested: Vec<String>,
) -> Result<User, FormError> {
    principal.require(USERS_UPDATE)?;
    db.run(move |conn| {
        crate::db::transaction(conn, |conn| {
            let target = user::find(conn, &user_id)?.ok_or(AppError::NotFound)?;
            let before = user::role_ids(conn, &user_id)?;
            let mut errors = FieldErrors::default();
            let mut roles =
                check_grantable_roles(conn, &principal, &requested, &before, &mut errors)?;
            let kept_ids = ungrantable(conn, &principal, &before)?;
            let kept = role::find_many(conn, &kept_ids)?;
            for role_kept in kept {
                if !roles.iter().any(|r| r.id == role_kept.id) {
                    roles.push(role_kept);
                }
            }
            let after: Vec<String> = roles.iter().map(|r| r.id.clone()).collect();
            if before.iter().any(|r| r == ADMIN_ROLE_ID)
                && !after.iter().any(|r| r == ADMIN_ROLE_ID)
                && is_last_admin(conn, &target)?
            {
                errors.add("role_ids", format!("{} {LAST_ADMIN}", target.email));
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
                record(
                    conn,
                    &principal,
                    "user.roles-granted",
                    &target,
                    format!("granted: {}", role_names(&granted)),
                )?;
            }
            if !revoked.is_empty() {
                record(
                    conn,
                    &principal,
                    "user.roles-revoked",
                    &target,
                    format!("revoked: {}", role_names(&revoked)),
                )?;
            }
            if granted.is_empty() && revoked.is_empty() {
                record(
                    conn,
                    &principal,
                    "user.roles-granted",
                    &target,
                    "no change".into(),
                )?;
            }
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
    in_authz_transaction(db, move |conn| {
        let target = user::find(conn, &user_id)?.ok_or(AppError::NotFound)?;
        if principal.user_id() == Some(target.id.as_str()) {
            return Err(AppError::Conflict(
                "You cannot deactivate your own account. Ask another administrator.".into(),
            ));
        }
        if target.status == STATUS_DEACTIVATED {
            return Err(AppError::Conflict(format!(
                "{} is already deactivated.",
                target.email
            )));
        }
        require_outranks(conn, &principal, &target, "deactivate")?;
        if is_last_admin(conn, &target)? {
            return Err(AppError::Conflict(format!("{} {LAST_ADMIN}", target.email)));
        }
        user::set_status(conn, &user_id, STATUS_DEACTIVATED)?;
        user_token::retire_unused(conn, &user_id)?;
        let revoked = if revoke_keys {
            api_key::revoke_created_by(conn, &user_id)?
        } else {
            0
        };
        let summary = if revoke_keys {
            format!("signed out; {revoked} API keys they created were revoked")
        } else {
            "signed out; API keys they created keep working".to_string()
        };
        record(conn, &principal, "user.deactivated", &target, summary)?;
        Ok((target, revoked))
    })
    .await
}

pub async fn reactivate(db: &Db, principal: Principal, user_id: String) -> Result<User, AppError> {
    principal.require(USERS_DELETE)?;
    db.run(move |conn| {
        crate::db::transaction(conn, |conn| {
            let target = user::find(conn, &user_id)?.ok_or(AppError::NotFound)?;
            if target.status != STATUS_DEACTIVATED {
                return Err(AppError::Conflict(format!(
                    "{} is not deactivated.",
                    target.email
                )));
            }
            require_outranks(conn, &principal, &target, "reactivate")?;
            let status = if target.password_hash.is_some() {
                STATUS_ACTIVE
            } else {
                STATUS_INVITED
            };
            user::set_status(conn, &user_id, status)?;
            record(
                conn,
                &principal,
                "user.reactivated",
                &target,
                format!("status: {status}"),
            )?;
            Ok(target)
        })
    })
    .await
}

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
            if target.status == STATUS_DEACTIVATED {
                return Err(AppError::Conflict(format!(
                    "{} is deactivated. Reactivate them first.",
                    target.email
                )));
            }
            require_outranks(conn, &principal, &target, "reset the password of")?;
            let token = random_hex(32);
            let (purpose, expires) = if target.status == STATUS_INVITED {
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
            record(
                conn,
                &principal,
                "user.password-link-issued",
                &target,
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
