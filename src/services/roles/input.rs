//! What a role form or body submits, where its fields sit in the request, and the checks of name,
//! description and permissions shared by creating and changing a role.

use std::collections::BTreeSet;

use crate::auth::Principal;
use crate::db::DbConnection;
use crate::error::AppError;
use crate::models::permission;
use crate::models::role;
use crate::services::{field, FieldErrors};

pub const NAME_MAX: usize = crate::limits::ROLE_NAME_MAX;
pub const DESCRIPTION_MAX: usize = crate::limits::ROLE_DESCRIPTION_MAX;

/// The field role choices are reported against.
pub const ROLES_FIELD: &str = field::ROLES;

/// What the role form (and the inline role sub-form) submits.
#[derive(Debug, Clone, Default)]
pub struct RoleInput {
    pub name: String,
    pub description: String,
    pub permissions: Vec<String>,
}

/// Where a role's fields sit in a request, for the problems reported against them: at the top
/// (`name`), or as a key's `i`-th new role (`new_roles[0].name`).
#[derive(Debug, Clone, Default)]
pub struct RoleFields {
    prefix: String,
}

impl RoleFields {
    /// A role on its own.
    pub fn role() -> Self {
        Self::default()
    }

    /// The `index`-th role created with a key.
    pub fn new_role(index: usize) -> Self {
        Self {
            prefix: format!("{}[{index}].", field::NEW_ROLES),
        }
    }

    pub fn name(&self) -> String {
        format!("{}{}", self.prefix, field::NAME)
    }

    pub fn description(&self) -> String {
        format!("{}{}", self.prefix, field::DESCRIPTION)
    }

    pub fn permissions(&self) -> String {
        format!("{}{}", self.prefix, field::PERMISSIONS)
    }
}

fn dedupe(values: &[String]) -> Vec<String> {
    values
        .iter()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// Refuses a role that names more than [`ROLE_PERMISSIONS_MAX`] permissions, before any of them is
/// looked at.
///
/// [`ROLE_PERMISSIONS_MAX`]: crate::limits::ROLE_PERMISSIONS_MAX
pub fn check_permission_count(permissions: &[String], field: &str) -> Result<(), AppError> {
    use crate::limits::ROLE_PERMISSIONS_MAX;
    if permissions.len() > ROLE_PERMISSIONS_MAX {
        return Err(AppError::validation(
            field,
            format!(
                "A role holds at most {ROLE_PERMISSIONS_MAX} permissions ({} were given).",
                permissions.len()
            ),
        ));
    }
    Ok(())
}

/// Refuses more than [`ROLE_REFERENCES_MAX`] role references in one request (besides the ids of
/// roles held already, which an edit form sends back as they are), before any of them is looked up.
///
/// [`ROLE_REFERENCES_MAX`]: crate::limits::ROLE_REFERENCES_MAX
pub fn check_role_count(references: &[String], already_held: &[String]) -> Result<(), AppError> {
    use crate::limits::ROLE_REFERENCES_MAX;
    let named = references
        .iter()
        .filter(|r| !already_held.iter().any(|held| held == r.trim()))
        .count();
    if named > ROLE_REFERENCES_MAX {
        return Err(AppError::validation(
            ROLES_FIELD,
            format!("Choose at most {ROLE_REFERENCES_MAX} roles at once ({named} were given)."),
        ));
    }
    Ok(())
}

/// Checks name, description and permissions; returns the clean permission list.
/// `keep` are permissions already on the role that the principal may keep without holding them.
pub(super) fn check_input(
    conn: &mut DbConnection,
    principal: &Principal,
    input: &RoleInput,
    fields: &RoleFields,
    existing_role_id: Option<&str>,
    keep: &[String],
    errors: &mut FieldErrors,
) -> Result<Vec<String>, AppError> {
    check_permission_count(&input.permissions, &fields.permissions())?;
    check_name(conn, &input.name, fields, existing_role_id, errors)?;
    if input.description.chars().count() > DESCRIPTION_MAX {
        errors.add(
            &fields.description(),
            format!("Use at most {DESCRIPTION_MAX} characters."),
        );
    }
    if let Some(problem) = crate::limits::text_problem(&input.description) {
        errors.add(&fields.description(), problem);
    }
    let requested = dedupe(&input.permissions);
    let catalog: BTreeSet<String> = permission::list(conn)?
        .into_iter()
        .map(|p| p.name)
        .collect();
    let unknown: Vec<&String> = requested.iter().filter(|p| !catalog.contains(*p)).collect();
    let beyond: Vec<&String> = requested
        .iter()
        .filter(|p| catalog.contains(*p) && !principal.can(p) && !keep.contains(p))
        .collect();
    if !unknown.is_empty() {
        errors.add_conflict(
            &fields.permissions(),
            format!("These permissions do not exist: {}.", join(&unknown)),
        );
    } else if !beyond.is_empty() {
        errors.add(
            &fields.permissions(),
            format!(
                "You can only give permissions you hold yourself. You do not hold {}.",
                join(&beyond)
            ),
        );
    }
    Ok(requested)
}

fn check_name(
    conn: &mut DbConnection,
    name: &str,
    fields: &RoleFields,
    existing_role_id: Option<&str>,
    errors: &mut FieldErrors,
) -> Result<(), AppError> {
    let name = name.trim();
    let length = name.chars().count();
    if length == 0 {
        errors.add(&fields.name(), "Enter a name for the role.");
    } else if length > NAME_MAX {
        errors.add(
            &fields.name(),
            format!("Use at most {NAME_MAX} characters (this name has {length})."),
        );
    } else if let Some(problem) = crate::limits::line_problem(name) {
        errors.add(&fields.name(), problem);
    } else if crate::limits::is_builtin_role_name(name)
        && existing_role_id != Some(crate::authz::catalog::ADMIN_ROLE_ID)
    {
        // Taken, like any existing role's name (409 in the API), by the role that is always there.
        errors.add_conflict(
            &fields.name(),
            "This name belongs to the built-in Admin role. Choose another name.",
        );
    } else if let Some(other) = role::find_by_name(conn, name)? {
        if Some(other.id.as_str()) != existing_role_id {
            errors.add_conflict(&fields.name(), name_taken_sentence(&other.name));
        }
    }
    Ok(())
}

fn name_taken_sentence(name: &str) -> String {
    format!("A role named “{name}” already exists. Choose another name.")
}

fn join(names: &[&String]) -> String {
    names
        .iter()
        .map(|n| n.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// A role name taken by a concurrent writer (the unique index caught what the check above could not
/// see yet) is a message beside the name field, never a 500. The error ends the transaction: on
/// PostgreSQL a failed statement aborts it, so nothing more may run in it.
pub(super) fn name_taken(err: diesel::result::Error, fields: &RoleFields, name: &str) -> AppError {
    if crate::db::is_unique_violation(&err) {
        AppError::FieldConflict {
            field: fields.name(),
            message: name_taken_sentence(name.trim()),
        }
    } else {
        err.into()
    }
}
