//! Permissions the operator defines for their own systems (`documents.render`, `billing.refund`, …).
//! Latchkey's own permissions are built in and read-only.

use crate::auth::Principal;
use crate::authz::catalog::{
    PERMISSIONS_CREATE, PERMISSIONS_DELETE, PERMISSIONS_RETRIEVE, PERMISSIONS_UPDATE,
};
use crate::authz::AuditAction;
use crate::db::{Db, DbConnection};
use crate::error::AppError;
use crate::models::audit::Target;
use crate::models::permission;
use crate::services::audit_log;
use crate::services::{
    field, in_authz_transaction, require_either, FieldErrors, FormError, Refusal,
};

pub use crate::models::permission::Permission;

pub const DESCRIPTION_MAX: usize = crate::limits::PERMISSION_DESCRIPTION_MAX;
pub const NAME_MAX: usize = crate::limits::PERMISSION_NAME_MAX;

/// `resource.action`: lower-case letters, digits, `-` and `_`, exactly one dot.
pub fn is_valid_name(name: &str) -> bool {
    let part_ok = |part: &str| {
        !part.is_empty()
            && part
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
    };
    match name.split_once('.') {
        Some((resource, action)) => part_ok(resource) && part_ok(action) && name.len() <= NAME_MAX,
        None => false,
    }
}

/// Latchkey's own permissions are read-only: its routes depend on them.
pub fn can_edit(permission: &Permission) -> Result<(), Refusal> {
    if permission.is_builtin {
        return Err(Refusal::new(
            "This is one of Latchkey's own permissions; it cannot be changed or deleted.",
        ));
    }
    Ok(())
}

/// Latchkey's own permissions cannot be deleted, as they cannot be changed.
pub fn can_delete(permission: &Permission) -> Result<(), Refusal> {
    can_edit(permission)
}

fn check_description(description: &str, errors: &mut FieldErrors) {
    if description.chars().count() > DESCRIPTION_MAX {
        errors.add(
            field::DESCRIPTION,
            format!("Use at most {DESCRIPTION_MAX} characters."),
        );
    }
    if let Some(problem) = crate::limits::text_problem(description) {
        errors.add(field::DESCRIPTION, problem);
    }
}

const NAME_FORM: &str = "Use the form resource.action: lower-case letters, digits, - and _, with one dot (for example documents.render).";

fn already_exists(name: &str) -> String {
    format!("The permission {name} already exists.")
}

pub async fn create(
    db: &Db,
    principal: Principal,
    name: String,
    description: String,
) -> Result<Permission, FormError> {
    principal.require(PERMISSIONS_CREATE)?;
    in_authz_transaction(db, move |conn| {
        let name = name.trim().to_string();
        let mut errors = FieldErrors::default();
        if !is_valid_name(&name) {
            errors.add(field::NAME, NAME_FORM);
        } else if permission::find(conn, &name)?.is_some() {
            errors.add_conflict(field::NAME, already_exists(&name));
        }
        check_description(&description, &mut errors);
        if !errors.is_empty() {
            return Err(FormError::Invalid(errors));
        }
        // Created at the same moment by someone else: the unique index decides, and the error
        // ends the transaction (on PostgreSQL a failed statement aborts it).
        permission::insert_custom(conn, &name, description.trim()).map_err(|e| {
            if crate::db::is_unique_violation(&e) {
                AppError::FieldConflict {
                    field: field::NAME.into(),
                    message: already_exists(&name),
                }
            } else {
                e.into()
            }
        })?;
        audit_log::record(
            conn,
            &principal,
            AuditAction::PermissionCreated,
            Target::permission(&name),
            description.trim().to_string(),
        )?;
        Ok(permission::find(conn, &name)?.ok_or(AppError::NotFound)?)
    })
    .await
}

pub async fn update(
    db: &Db,
    principal: Principal,
    name: String,
    description: String,
) -> Result<Permission, FormError> {
    principal.require(PERMISSIONS_UPDATE)?;
    db.run(move |conn| {
        crate::db::transaction(conn, |conn| {
            let existing = permission::find(conn, &name)?.ok_or(AppError::NotFound)?;
            can_edit(&existing)?;
            let mut errors = FieldErrors::default();
            check_description(&description, &mut errors);
            if !errors.is_empty() {
                return Err(FormError::Invalid(errors));
            }
            permission::update_description(conn, &name, description.trim())?;
            audit_log::record(
                conn,
                &principal,
                AuditAction::PermissionUpdated,
                Target::permission(&name),
                format!("description: {}", description.trim()),
            )?;
            Ok(permission::find(conn, &name)?.ok_or(AppError::NotFound)?)
        })
    })
    .await
}

/// Deletes a permission and removes it from every role that uses it, in one transaction. Only someone
/// who holds the permission may take it away from others.
pub async fn delete(db: &Db, principal: Principal, name: String) -> Result<Vec<String>, AppError> {
    principal.require(PERMISSIONS_DELETE)?;
    in_authz_transaction(db, move |conn| {
        let existing = permission::find(conn, &name)?.ok_or(AppError::NotFound)?;
        can_delete(&existing)?;
        if !principal.can(&name) {
            return Err(AppError::Conflict(format!(
                "You can only delete permissions you hold yourself; you do not hold {name}."
            )));
        }
        let roles = permission::roles_using(conn, &name)?;
        permission::delete(conn, &name)?;
        let summary = if roles.is_empty() {
            "used by no role".to_string()
        } else {
            format!("removed from roles: {}", roles.join(", "))
        };
        audit_log::record(
            conn,
            &principal,
            AuditAction::PermissionDeleted,
            Target::permission(&name),
            summary,
        )?;
        Ok(roles)
    })
    .await
}

/// A permission of the catalog and how many roles hold it.
#[derive(Debug, Clone)]
pub struct PermissionUsage {
    pub permission: Permission,
    pub roles: i64,
}

/// The catalog page: every permission with how many roles use it. Re-shown with the problems of a
/// permission that could not be added, to whoever may add one.
pub async fn all(db: &Db, principal: &Principal) -> Result<Vec<PermissionUsage>, AppError> {
    require_either(principal, PERMISSIONS_RETRIEVE, PERMISSIONS_CREATE)?;
    db.run(|conn| {
        let usage = permission::usage_counts(conn)?;
        Ok(permission::list(conn)?
            .into_iter()
            .map(|permission| PermissionUsage {
                roles: usage.get(&permission.name).copied().unwrap_or(0),
                permission,
            })
            .collect())
    })
    .await
}

/// A permission and the names of the roles using it.
#[derive(Debug, Clone)]
pub struct PermissionDetail {
    pub permission: Permission,
    pub roles: Vec<String>,
}

fn find_detail(conn: &mut DbConnection, name: &str) -> Result<PermissionDetail, AppError> {
    let permission = permission::find(conn, name)?.ok_or(AppError::NotFound)?;
    let roles = permission::roles_using(conn, name)?;
    Ok(PermissionDetail { permission, roles })
}

/// One permission, for its page (re-shown after a refused change to whoever may change it).
pub async fn detail(
    db: &Db,
    principal: &Principal,
    name: String,
) -> Result<PermissionDetail, AppError> {
    require_either(principal, PERMISSIONS_RETRIEVE, PERMISSIONS_UPDATE)?;
    db.run(move |conn| find_detail(conn, &name)).await
}

/// The permission about to be deleted and the roles that would lose it, refused as its deletion
/// would be.
pub async fn deletion(
    db: &Db,
    principal: &Principal,
    name: String,
) -> Result<PermissionDetail, AppError> {
    principal.require(PERMISSIONS_DELETE)?;
    db.run(move |conn| {
        let found = find_detail(conn, &name)?;
        can_delete(&found.permission)?;
        Ok(found)
    })
    .await
}

/// A page of permissions by name, after the permission `after` (the API's cursor pages).
pub async fn page(
    db: &Db,
    principal: &Principal,
    after: Option<String>,
    limit: i64,
) -> Result<Vec<Permission>, AppError> {
    principal.require(PERMISSIONS_RETRIEVE)?;
    db.run(move |conn| Ok(permission::list_after(conn, after.as_deref(), limit)?))
        .await
}
