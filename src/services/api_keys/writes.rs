//! Creating, changing and revoking a key, each in one transaction with its checks and audit event.

use super::checks::create_inline_roles;
use super::checks::{check_details, check_expiry_within_caller, check_role_counts};
use super::reads::read_detail;
use super::summary::{describe_expiry, key_change_summary, role_names};
use super::{can_edit, can_revoke, CreatedKey, KeyChange, KeyDetail, KeyInput};
use super::{CHANGE_KEY, REVOKE_KEY};
use crate::auth::api_key as key_format;
use crate::auth::Principal;
use crate::authz::catalog::{
    ROLES_CREATE, SERVICE_ACCOUNTS_CREATE, SERVICE_ACCOUNTS_DELETE, SERVICE_ACCOUNTS_UPDATE,
};
use crate::authz::AuditAction;
use crate::db::{new_id, now, Db, DbConnection};
use crate::error::AppError;
use crate::models::api_key::{self, ApiKey, NewApiKey};
use crate::models::audit::Target;
use crate::models::role;
use crate::services::grants::{self, check_grantable_roles, resolve_requested_roles};
use crate::services::{audit_log, in_authz_transaction, FieldErrors, FormError};

pub async fn create(
    db: &Db,
    principal: Principal,
    input: KeyInput,
) -> Result<CreatedKey, FormError> {
    principal.require(SERVICE_ACCOUNTS_CREATE)?;
    if !input.new_roles.is_empty() {
        principal.require(ROLES_CREATE)?;
    }
    check_role_counts(Some(&input.roles), &input.new_roles)?;
    in_authz_transaction(db, move |conn| {
        let mut errors = FieldErrors::default();
        let expires_at = check_details(&input, None, &mut errors);
        check_expiry_within_caller(conn, &principal, expires_at, &mut errors)?;
        let mut roles = check_grantable_roles(conn, &principal, &input.roles, &[], &mut errors)?;
        create_inline_roles(conn, &principal, &input, &mut roles, &mut errors)?;
        if !errors.is_empty() {
            return Err(FormError::Invalid(errors));
        }
        let generated = key_format::generate();
        let id = new_id();
        let at = now();
        let name = input.name.trim();
        api_key::insert(
            conn,
            &NewApiKey {
                id: &id,
                public_id: &generated.public_id,
                name,
                description: input.description.trim(),
                secret_hash: &generated.secret_hash,
                created_by: principal.user_id(),
                created_at: at,
                updated_at: at,
                expires_at,
            },
        )?;
        let role_ids: Vec<String> = roles.iter().map(|r| r.id.clone()).collect();
        api_key::set_roles(conn, &id, &role_ids)?;
        audit_log::record(
            conn,
            &principal,
            AuditAction::KeyCreated,
            Target::key(id.clone(), name.to_string()),
            format!(
                "roles: {}; expires: {}",
                role_names(&roles),
                describe_expiry(expires_at)
            ),
        )?;
        Ok(CreatedKey {
            detail: read_detail(conn, &id)?,
            secret: generated.full_key,
        })
    })
    .await
}

/// Creates a key as Latchkey itself (`latchkey create-key` on the server): the same operation as
/// [`create`], with every permission, recorded with the actor `system`.
pub async fn create_as_system(db: &Db, input: KeyInput) -> Result<CreatedKey, FormError> {
    create(db, Principal::system(), input).await
}

/// Locks the key for the rest of the transaction (writers of one key take turns) and refuses one
/// that [`can_edit`] refuses.
pub(super) fn lock_open_key(conn: &mut DbConnection, key_id: &str) -> Result<ApiKey, AppError> {
    let existing = api_key::find_for_update(conn, key_id)?.ok_or(AppError::NotFound)?;
    can_edit(&existing)?;
    Ok(existing)
}

/// Changes a key. Its row is locked first and the current details and roles are read after, in the
/// same transaction, so a concurrent grant or edit is never overwritten with what was read before it.
pub async fn update(
    db: &Db,
    principal: Principal,
    key_id: String,
    change: impl Into<KeyChange>,
) -> Result<KeyDetail, FormError> {
    let change = change.into();
    principal.require(SERVICE_ACCOUNTS_UPDATE)?;
    if !change.new_roles.is_empty() {
        principal.require(ROLES_CREATE)?;
    }
    // The roles named are counted against those the key holds already, once those are read.
    check_role_counts(None, &change.new_roles)?;
    in_authz_transaction(db, move |conn| {
        let existing = lock_open_key(conn, &key_id)?;
        grants::require_can_change_key(conn, &principal, &key_id, CHANGE_KEY)?;
        let held_before = api_key::role_ids(conn, &key_id)?;
        let input = KeyInput {
            name: change.name.unwrap_or_else(|| existing.name.clone()),
            description: change
                .description
                .unwrap_or_else(|| existing.description.clone()),
            expiry: change.expiry,
            roles: change.roles.unwrap_or_else(|| held_before.clone()),
            new_roles: change.new_roles,
        };
        let mut errors = FieldErrors::default();
        let expires_at = check_details(&input, existing.expires_at, &mut errors);
        if expires_at != existing.expires_at {
            check_expiry_within_caller(conn, &principal, expires_at, &mut errors)?;
        }
        let mut roles =
            resolve_requested_roles(conn, &principal, &input.roles, &held_before, &mut errors)?;
        create_inline_roles(conn, &principal, &input, &mut roles, &mut errors)?;
        if !errors.is_empty() {
            return Err(FormError::Invalid(errors));
        }
        let name = input.name.trim();
        api_key::update_details(conn, &key_id, name, input.description.trim(), expires_at)?;
        let role_ids: Vec<String> = roles.iter().map(|r| r.id.clone()).collect();
        api_key::set_roles(conn, &key_id, &role_ids)?;
        let before_names = role::find_many(conn, &held_before)?;
        audit_log::record(
            conn,
            &principal,
            AuditAction::KeyUpdated,
            Target::key(key_id.clone(), name.to_string()),
            key_change_summary(&existing, name, expires_at, &before_names, &roles),
        )?;
        Ok(read_detail(conn, &key_id)?)
    })
    .await
}

/// Revokes a key for good: it stays listed, and never authenticates again.
pub async fn revoke(db: &Db, principal: Principal, key_id: String) -> Result<KeyDetail, AppError> {
    principal.require(SERVICE_ACCOUNTS_DELETE)?;
    in_authz_transaction(db, move |conn| {
        let existing = api_key::find_for_update(conn, &key_id)?.ok_or(AppError::NotFound)?;
        can_revoke(&existing)?;
        grants::require_can_change_key(conn, &principal, &key_id, REVOKE_KEY)?;
        api_key::revoke(conn, &key_id)?;
        audit_log::record(
            conn,
            &principal,
            AuditAction::KeyRevoked,
            Target::key(key_id.clone(), existing.name.clone()),
            format!("public id {}", existing.public_id),
        )?;
        read_detail(conn, &key_id)
    })
    .await
}
