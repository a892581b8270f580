//! Permissions the operator defines for their own systems (`documents.render`, `billing.refund`, …).
//! Latchkey's own permissions are built in and read-only.

use crate::auth::Principal;
use crate::authz::catalog::{PERMISSIONS_CREATE, PERMISSIONS_DELETE, PERMISSIONS_UPDATE};
use crate::authz::AuditAction;
use crate::db::Db;
use crate::error::AppError;
use crate::models::audit::Target;
use crate::models::permission::{self, Permission};
use crate::services::audit_log;
use crate::services::{in_authz_transaction, FieldErrors, FormError};

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

fn check_description(description: &str, errors: &mut FieldErrors) {
    if description.chars().count() > DESCRIPTION_MAX {
        errors.add(
            "description",
            format!("Use at most {DESCRIPTION_MAX} characters."),
        );
    }
    if let Some(problem) = crate::limits::text_problem(description) {
        errors.add("description", problem);
    }
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
                errors.add(
                    "name",
                    "Use the form resource.action: lower-case letters, digits, - and _, with one dot (for example documents.render).",
                );
            } else if permission::find(conn, &name)?.is_some() {
                errors.add_conflict("name", format!("The permission {name} already exists."));
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
                        field: "name".into(),
                        message: format!("The permission {name} already exists."),
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
description.trim().to_string())?;
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
            if existing.is_builtin {
                return Err(
                    AppError::Conflict("Latchkey's own permissions are read-only.".into()).into(),
                );
            }
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
        if existing.is_builtin {
            return Err(AppError::Conflict(
                "Latchkey's own permissions cannot be deleted.".into(),
            ));
        }
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
