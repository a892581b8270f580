//! Creating, changing and deleting roles, each in one transaction with its audit event.

use super::{CHANGE_ROLE, DELETE_ROLE};
use crate::auth::Principal;
use crate::authz::catalog::{ROLES_CREATE, ROLES_DELETE, ROLES_UPDATE};
use crate::authz::AuditAction;
use crate::db::{new_id, Db, DbConnection};
use crate::error::AppError;
use crate::models::audit::Target;
use crate::models::role::{self, Role};
use crate::services::audit_log;
use crate::services::roles::input::{check_input, check_permission_count, name_taken};
use crate::services::roles::{can_delete, can_edit, RoleFields, RoleInput};
use crate::services::{grants, in_authz_transaction, FieldErrors, FormError};

/// Creates a role inside the caller's transaction (the role form, or a key created with an inline role).
/// Field errors are added to `errors`; the role is only written when there are none.
pub fn create_in(
    conn: &mut DbConnection,
    principal: &Principal,
    input: &RoleInput,
    fields: &RoleFields,
    errors: &mut FieldErrors,
) -> Result<Option<Role>, AppError> {
    principal.require(ROLES_CREATE)?;
    let permissions = check_input(conn, principal, input, fields, None, &[], errors)?;
    if !errors.is_empty() {
        return Ok(None);
    }
    let id = new_id();
    role::insert(conn, &id, &input.name, &input.description, &permissions)
        .map_err(|e| name_taken(e, fields, &input.name))?;
    audit_log::record(
        conn,
        principal,
        AuditAction::RoleCreated,
        Target::role(id.clone(), input.name.trim().to_string()),
        format!("permissions: {}", list_or_none(&permissions)),
    )?;
    Ok(role::find(conn, &id)?)
}

/// Creates a role on its own.
pub async fn create(db: &Db, principal: Principal, input: RoleInput) -> Result<Role, FormError> {
    principal.require(ROLES_CREATE)?;
    db.run(move |conn| {
        crate::db::transaction(conn, |conn| {
            let mut errors = FieldErrors::default();
            match create_in(conn, &principal, &input, &RoleFields::role(), &mut errors)? {
                Some(created) => Ok(created),
                None => Err(FormError::Invalid(errors)),
            }
        })
    })
    .await
}

/// A change to a role: absent fields stay as they are (the API's PATCH); the role form gives them all.
#[derive(Debug, Clone, Default)]
pub struct RoleChange {
    pub name: Option<String>,
    pub description: Option<String>,
    /// The whole new set of permissions.
    pub permissions: Option<Vec<String>>,
}

impl From<RoleInput> for RoleChange {
    fn from(input: RoleInput) -> Self {
        Self {
            name: Some(input.name),
            description: Some(input.description),
            permissions: Some(input.permissions),
        }
    }
}

/// Changes a role. The role's row is locked first and everything the change depends on is read
/// after, in the same transaction, so concurrent edits of one role take turns instead of writing back
/// what they read before another edit committed.
pub async fn update(
    db: &Db,
    principal: Principal,
    role_id: String,
    change: impl Into<RoleChange>,
) -> Result<Role, FormError> {
    principal.require(ROLES_UPDATE)?;
    let change = change.into();
    if let Some(permissions) = &change.permissions {
        check_permission_count(permissions, &RoleFields::role().permissions())?;
    }
    in_authz_transaction(db, move |conn| {
        let existing = role::find_for_update(conn, &role_id)?.ok_or(AppError::NotFound)?;
        can_edit(&existing)?;
        grants::require_can_change_role(conn, &principal, &role_id, CHANGE_ROLE)?;
        let before = role::permissions_of(conn, &role_id)?;
        let input = RoleInput {
            name: change.name.unwrap_or_else(|| existing.name.clone()),
            description: change
                .description
                .unwrap_or_else(|| existing.description.clone()),
            permissions: change.permissions.unwrap_or_else(|| before.clone()),
        };
        // Permissions the editor does not hold may stay (the form sends them as they are), but
        // leaving one out asks to take it away, which only someone holding it may do.
        let kept: Vec<String> = before
            .iter()
            .filter(|p| !principal.can(p))
            .cloned()
            .collect();
        if let Some(taken) = kept
            .iter()
            .find(|p| !input.permissions.iter().any(|q| q.trim() == p.as_str()))
        {
            return Err(AppError::forbidden(taken).into());
        }
        let mut errors = FieldErrors::default();
        let mut permissions = check_input(
            conn,
            &principal,
            &input,
            &RoleFields::role(),
            Some(&role_id),
            &kept,
            &mut errors,
        )?;
        if !errors.is_empty() {
            return Err(FormError::Invalid(errors));
        }
        permissions.extend(kept);
        permissions.sort();
        permissions.dedup();
        role::update(
            conn,
            &role_id,
            &input.name,
            &input.description,
            &permissions,
        )
        .map_err(|e| name_taken(e, &RoleFields::role(), &input.name))?;
        audit_log::record(
            conn,
            &principal,
            AuditAction::RoleUpdated,
            Target::role(role_id.clone(), input.name.trim().to_string()),
            change_summary(&existing.name, input.name.trim(), &before, &permissions),
        )?;
        Ok(role::find(conn, &role_id)?.ok_or(AppError::NotFound)?)
    })
    .await
}

/// Deletes a role. Holders lose it at once; deleting a role you could not have created is refused.
pub async fn delete(db: &Db, principal: Principal, role_id: String) -> Result<Role, AppError> {
    principal.require(ROLES_DELETE)?;
    in_authz_transaction(db, move |conn| {
        let existing = role::find_for_update(conn, &role_id)?.ok_or(AppError::NotFound)?;
        can_delete(&existing)?;
        grants::require_can_change_role(conn, &principal, &role_id, DELETE_ROLE)?;
        let permissions = role::permissions_of(conn, &role_id)?;
        let counts = role::holder_counts(conn, &role_id)?;
        role::delete(conn, &role_id)?;
        audit_log::record(
            conn,
            &principal,
            AuditAction::RoleDeleted,
            Target::role(role_id.clone(), existing.name.clone()),
            format!(
                "held by {} keys and {} users; permissions: {}",
                counts.keys,
                counts.users,
                list_or_none(&permissions)
            ),
        )?;
        Ok(existing)
    })
    .await
}

fn list_or_none(names: &[String]) -> String {
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

fn change_summary(old_name: &str, new_name: &str, before: &[String], after: &[String]) -> String {
    let added: Vec<&str> = after
        .iter()
        .filter(|p| !before.contains(p))
        .map(String::as_str)
        .collect();
    let removed: Vec<&str> = before
        .iter()
        .filter(|p| !after.contains(p))
        .map(String::as_str)
        .collect();
    let mut parts = Vec::new();
    if old_name != new_name {
        parts.push(format!("renamed from “{old_name}”"));
    }
    if !added.is_empty() {
        parts.push(format!("added {}", added.join(", ")));
    }
    if !removed.is_empty() {
        parts.push(format!("removed {}", removed.join(", ")));
    }
    if parts.is_empty() {
        "no change to name or permissions".into()
    } else {
        parts.join("; ")
    }
}
