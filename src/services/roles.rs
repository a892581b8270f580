//! Creating, changing and deleting roles, with the no-escalation rule: nobody puts into a role (or onto
//! a key) a permission they do not hold themselves.

use std::collections::{BTreeSet, HashMap};

use crate::auth::Principal;
use crate::authz::catalog::{ROLES_CREATE, ROLES_DELETE, ROLES_UPDATE};
use crate::authz::AuditAction;
use crate::db::{new_id, Db, DbConnection};
use crate::error::AppError;
use crate::models::audit::Target;
use crate::models::permission::{self, Permission};
use crate::models::role::{self, Role, RoleCounts};
use crate::services::audit_log;
use crate::services::{field, grants, in_authz_transaction, FieldErrors, FormError};

pub const NAME_MAX: usize = crate::limits::ROLE_NAME_MAX;
pub const DESCRIPTION_MAX: usize = crate::limits::ROLE_DESCRIPTION_MAX;

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

/// The field role choices are reported against.
pub const ROLES_FIELD: &str = field::ROLES;

/// Checks name, description and permissions; returns the clean permission list.
/// `keep` are permissions already on the role that the principal may keep without holding them.
fn check_input(
    conn: &mut DbConnection,
    principal: &Principal,
    input: &RoleInput,
    fields: &RoleFields,
    existing_role_id: Option<&str>,
    keep: &[String],
    errors: &mut FieldErrors,
) -> Result<Vec<String>, AppError> {
    check_permission_count(&input.permissions, &fields.permissions())?;
    let name = input.name.trim();
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
            errors.add_conflict(
                &fields.name(),
                format!(
                    "A role named “{}” already exists. Choose another name.",
                    other.name
                ),
            );
        }
    }
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
fn name_taken(err: diesel::result::Error, fields: &RoleFields, name: &str) -> AppError {
    if crate::db::is_unique_violation(&err) {
        AppError::FieldConflict {
            field: fields.name(),
            message: format!(
                "A role named “{}” already exists. Choose another name.",
                name.trim()
            ),
        }
    } else {
        err.into()
    }
}

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
        if existing.is_builtin {
            return Err(AppError::Conflict(
                "The built-in Admin role always holds every permission; it cannot be changed."
                    .into(),
            )
            .into());
        }
        grants::require_can_change_role(conn, &principal, &role_id)?;
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
        if existing.is_builtin {
            return Err(AppError::Conflict(
                "The built-in Admin role cannot be deleted.".into(),
            ));
        }
        grants::require_can_change_role(conn, &principal, &role_id)?;
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

/// Everything the role pickers need: the permission catalog, the roles, and each role's permissions.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    pub permissions: Vec<Permission>,
    pub roles: Vec<Role>,
    pub role_permissions: HashMap<String, Vec<String>>,
    pub counts: HashMap<String, RoleCounts>,
}

impl Catalog {
    pub fn permissions_of(&self, role_id: &str) -> &[String] {
        self.role_permissions
            .get(role_id)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }
}

pub fn catalog(conn: &mut DbConnection) -> Result<Catalog, AppError> {
    let permissions = permission::list(conn)?;
    let roles = role::list(conn)?;
    let ids: Vec<String> = roles.iter().map(|r| r.id.clone()).collect();
    let role_permissions = role::permissions_by_role(conn, &ids)?;
    let counts = role::counts(conn)?;
    Ok(Catalog {
        permissions,
        roles,
        role_permissions,
        counts,
    })
}

/// A generic role offered as a starting point on the role form.
#[derive(Debug, Clone, Copy)]
pub struct RoleTemplate {
    pub slug: &'static str,
    pub name: &'static str,
    pub description: &'static str,
}

pub const TEMPLATES: &[RoleTemplate] = &[
    RoleTemplate {
        slug: "read-only",
        name: "Read-only",
        description: "Can see everything you can see, change nothing.",
    },
    RoleTemplate {
        slug: "full-access",
        name: "Full access",
        description: "Every permission you hold.",
    },
];

/// The permissions a template selects, limited to what `principal` holds.
pub fn template_permissions(
    template: &RoleTemplate,
    principal: &Principal,
    catalog: &[Permission],
) -> Vec<String> {
    catalog
        .iter()
        .filter(|p| principal.can(&p.name))
        .filter(|p| template.slug != "read-only" || p.name.ends_with(".retrieve"))
        .map(|p| p.name.clone())
        .collect()
}
