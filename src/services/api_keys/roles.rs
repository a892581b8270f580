//! A key's roles one at a time (the API's PUT and DELETE), and the role the key form creates on
//! its own before the key exists.

use super::checks::named_after_key;
use super::reads::read_detail;
use super::writes::lock_open_key;
use super::KeyDetail;
use super::CHANGE_KEY;
use crate::auth::Principal;
use crate::authz::catalog::SERVICE_ACCOUNTS_UPDATE;
use crate::authz::AuditAction;
use crate::db::{Db, DbConnection};
use crate::error::AppError;
use crate::models::api_key::{self, ApiKey};
use crate::models::audit::Target;
use crate::models::role::{self, Role};
use crate::services::grants::{self, grantable_role, require_may_take};
use crate::services::roles::{self as role_service, RoleInput};
use crate::services::{audit_log, in_authz_transaction, FormError};

/// Gives a key one role (by id or name): one row added unless the key holds it already, in one
/// transaction with the no-escalation check and the audit event. Concurrent grants never lose each
/// other, as a read-modify-write of the whole set would.
pub async fn grant_role(
    db: &Db,
    principal: Principal,
    key_id: String,
    role_ref: String,
) -> Result<KeyDetail, AppError> {
    principal.require(SERVICE_ACCOUNTS_UPDATE)?;
    in_authz_transaction(db, move |conn| {
        let existing = lock_open_key(conn, &key_id)?;
        grants::require_can_change_key(conn, &principal, &key_id, CHANGE_KEY)?;
        let held = api_key::role_ids(conn, &key_id)?;
        let granted = grantable_role(conn, &principal, &role_ref, &held)?;
        let added = api_key::add_role(conn, &key_id, &granted.id)?;
        record_role_change(conn, &principal, &existing, &granted, added, "added")?;
        read_detail(conn, &key_id)
    })
    .await
}

/// Takes one role from a key: one row deleted, in one transaction with the check that the caller
/// could give that role (taking it away is as strong as giving it) and the audit event.
pub async fn revoke_role(
    db: &Db,
    principal: Principal,
    key_id: String,
    role_id: String,
) -> Result<KeyDetail, AppError> {
    principal.require(SERVICE_ACCOUNTS_UPDATE)?;
    in_authz_transaction(db, move |conn| {
        let existing = lock_open_key(conn, &key_id)?;
        grants::require_can_change_key(conn, &principal, &key_id, CHANGE_KEY)?;
        let held = api_key::role_ids(conn, &key_id)?;
        if !held.contains(&role_id) {
            return Err(AppError::NotFound);
        }
        require_may_take(conn, &principal, std::slice::from_ref(&role_id))?;
        let taken = role::find(conn, &role_id)?.ok_or(AppError::NotFound)?;
        let removed = api_key::remove_role(conn, &key_id, &role_id)?;
        record_role_change(conn, &principal, &existing, &taken, removed, "removed")?;
        read_detail(conn, &key_id)
    })
    .await
}

fn record_role_change(
    conn: &mut DbConnection,
    principal: &Principal,
    key: &ApiKey,
    changed: &Role,
    did_change: bool,
    verb: &str,
) -> Result<(), AppError> {
    let summary = if did_change {
        format!("roles {verb}: {}", changed.name)
    } else {
        format!("role {} already held; no change", changed.name)
    };
    audit_log::record(
        conn,
        principal,
        AuditAction::KeyUpdated,
        Target::key(key.id.clone(), key.name.clone()),
        summary,
    )?;
    Ok(())
}

/// Creates the role of the key form's "Roles & access" sub-form at once, before the key is saved:
/// left without a name, it is named after the key being written, as when it is created with the key.
/// Its problems are reported against the role's own fields.
pub async fn create_inline_role(
    db: &Db,
    principal: Principal,
    key_name: &str,
    new_role: RoleInput,
) -> Result<Role, FormError> {
    role_service::create(db, principal, named_after_key(new_role, key_name)).await
}
