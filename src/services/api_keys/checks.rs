//! The checks a key's details and roles pass before they are written.

use chrono::NaiveDateTime;

use super::{KeyInput, DESCRIPTION_MAX, NAME_MAX};
use crate::auth::Principal;
use crate::db::DbConnection;
use crate::error::AppError;
use crate::models::role::Role;
use crate::services::grants;
use crate::services::roles::{self as role_service, RoleFields, RoleInput};
use crate::services::{field, FieldErrors};

/// Checks the name, the description and the expiry; returns the time the key expires at.
pub(super) fn check_details(
    input: &KeyInput,
    current_expiry: Option<NaiveDateTime>,
    errors: &mut FieldErrors,
) -> Option<NaiveDateTime> {
    check_name_and_description(&input.name, &input.description, errors);
    match input.expiry.resolve(current_expiry) {
        Ok(expires_at) => expires_at,
        // The same time was fine a moment ago: a conflict with the clock, not a malformed input.
        Err(message) => {
            errors.add_conflict(field::EXPIRES_AT, message);
            None
        }
    }
}

/// The problems of a key's name and description, for a form that cannot submit the key yet (its
/// expiry could not be read) but shows every problem at once.
pub fn name_and_description_problems(name: &str, description: &str) -> FieldErrors {
    let mut errors = FieldErrors::default();
    check_name_and_description(name, description, &mut errors);
    errors
}

fn check_name_and_description(name: &str, description: &str, errors: &mut FieldErrors) {
    let name = name.trim();
    let length = name.chars().count();
    if length == 0 {
        errors.add(
            field::NAME,
            "Enter a name, for example the system that will use this key.",
        );
    } else if length > NAME_MAX {
        errors.add(
            field::NAME,
            format!("Use at most {NAME_MAX} characters (this name has {length})."),
        );
    }
    if let Some(problem) = crate::limits::line_problem(name) {
        errors.add(field::NAME, problem);
    }
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

/// A key that expires gives no key (itself included) a later expiry than its own, or none. Only
/// checked when the expiry was read without error (a bad date has its own message).
pub(super) fn check_expiry_within_caller(
    conn: &mut DbConnection,
    principal: &Principal,
    expires_at: Option<NaiveDateTime>,
    errors: &mut FieldErrors,
) -> Result<(), AppError> {
    if errors.get(field::EXPIRES_AT).is_some() {
        return Ok(());
    }
    if let Some(message) = grants::expiry_beyond_caller(conn, principal, expires_at)? {
        errors.add(field::EXPIRES_AT, message);
    }
    Ok(())
}

/// Refuses, before any lookup, more roles named or created in one request than the limits allow.
pub(super) fn check_role_counts(
    roles: Option<&[String]>,
    new_roles: &[RoleInput],
) -> Result<(), AppError> {
    use crate::limits::NEW_ROLES_MAX;
    if let Some(roles) = roles {
        role_service::check_role_count(roles, &[])?;
    }
    if new_roles.len() > NEW_ROLES_MAX {
        return Err(AppError::validation(
            field::NEW_ROLES,
            format!(
                "Create at most {NEW_ROLES_MAX} roles with one key ({} were given).",
                new_roles.len()
            ),
        ));
    }
    for (index, new_role) in new_roles.iter().enumerate() {
        role_service::check_permission_count(
            &new_role.permissions,
            &RoleFields::new_role(index).permissions(),
        )?;
    }
    Ok(())
}

/// A role created with a key and left without a name is named after the key ("one role per
/// system").
pub(super) fn named_after_key(mut new_role: RoleInput, key_name: &str) -> RoleInput {
    if new_role.name.trim().is_empty() {
        new_role.name = key_name.trim().to_string();
    }
    new_role
}

/// Creates the inline roles inside the key's transaction and adds them to `roles`.
pub(super) fn create_inline_roles(
    conn: &mut DbConnection,
    principal: &Principal,
    input: &KeyInput,
    roles: &mut Vec<Role>,
    errors: &mut FieldErrors,
) -> Result<(), AppError> {
    for (index, new_role) in input.new_roles.iter().enumerate() {
        let new_role = named_after_key(new_role.clone(), &input.name);
        let fields = RoleFields::new_role(index);
        if let Some(created) = role_service::create_in(conn, principal, &new_role, &fields, errors)?
        {
            roles.push(created);
        }
    }
    Ok(())
}
