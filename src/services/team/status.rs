//! Deactivating and reactivating people.

use super::MemberAction;
use super::{can_deactivate, can_lose_admin, can_reactivate, lock_admins, lock_member, User};
use crate::auth::Principal;
use crate::authz::catalog::{SERVICE_ACCOUNTS_DELETE, USERS_DELETE};
use crate::authz::{AuditAction, PermissionSet, UserStatus};
use crate::db::{Db, DbConnection};
use crate::error::AppError;
use crate::models::audit::Target;
use crate::models::{api_key, user, user_token};
use crate::services::{audit_log, grants, in_authz_transaction};

/// The first permission the holder lacks to revoke one of these keys, if any.
pub(super) fn first_key_beyond(
    conn: &mut DbConnection,
    holder: &PermissionSet,
    key_ids: &[String],
) -> Result<Option<String>, AppError> {
    for key_id in key_ids {
        if let Some(missing) = grants::missing_for_key(conn, holder, key_id)? {
            return Ok(Some(missing));
        }
    }
    Ok(None)
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
    if let Some(missing) = first_key_beyond(conn, &principal.permissions, &key_ids)? {
        return Err(AppError::forbidden(&missing));
    }
    Ok(key_ids)
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
        let member = lock_member(conn, &principal, &user_id)?;
        can_deactivate(&member)?;
        member.require_rank(MemberAction::Deactivate)?;
        let keys_to_revoke = if revoke_keys {
            lock_keys_to_revoke(conn, &principal, &member.user.id)?
        } else {
            Vec::new()
        };
        can_lose_admin(&member)?;
        let target = member.user;
        user::set_status(conn, &target.id, UserStatus::Deactivated)?;
        user_token::retire_unused(conn, &target.id)?;
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
            let member = lock_member(conn, &principal, &user_id)?;
            can_reactivate(&member)?;
            member.require_rank(MemberAction::Reactivate)?;
            let target = member.user;
            let status = if target.password_hash.is_some() {
                UserStatus::Active
            } else {
                UserStatus::Invited
            };
            user::set_status(conn, &target.id, status)?;
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
