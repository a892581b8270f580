//! Creating, changing and deleting roles, with the no-escalation rule: nobody puts into a role (or onto
//! a key) a permission they do not hold themselves.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::auth::Principal;
use crate::authz::catalog::{ROLES_CREATE, ROLES_DELETE, ROLES_UPDATE};
use crate::authz::{AuditAction, PermissionSet};
use crate::db::{new_id, Db, DbConnection};
use crate::error::AppError;
use crate::models::audit::Target;
use crate::models::permission::{self, Permission};
use crate::models::role::{self, Role, RoleCounts};
use crate::services::audit_log;
use crate::services::{grants, in_authz_transaction, FieldErrors, FormError};

pub const NAME_MAX: usize = crate::limits::ROLE_NAME_MAX;
pub const DESCRIPTION_MAX: usize = crate::limits::ROLE_DESCRIPTION_MAX;

/// What the role form (and the inline role sub-form) submits.
#[derive(Debug, Clone, Default)]
pub struct RoleInput {
    pub name: String,
    pub description: String,
    pub permissions: Vec<String>,
}

/// Form field names: the role form uses `name`…, the inline sub-form of the key form `new_role_name`….
#[derive(Debug, Clone, Copy)]
pub struct RoleFields {
    pub name: &'static str,
    pub description: &'static str,
    pub permissions: &'static str,
}

pub const ROLE_FORM_FIELDS: RoleFields = RoleFields {
    name: "name",
    description: "description",
    permissions: "permissions",
};
pub const INLINE_ROLE_FIELDS: RoleFields = RoleFields {
    name: "new_role_name",
    description: "new_role_description",
    permissions: "new_role_permissions",
};

/// Whether `holder` may hand out a role with these permissions (or, for Admin, every permission).
pub fn can_grant(holder: &PermissionSet, role: &Role, permissions: &[String]) -> bool {
    if role.grants_all {
        return holder.holds_all();
    }
    permissions.iter().all(|p| holder.can(p))
}

/// The permissions of a role that `holder` lacks, for the "you cannot give this role" message.
pub fn missing_for(holder: &PermissionSet, role: &Role, permissions: &[String]) -> Vec<String> {
    if role.grants_all && !holder.holds_all() {
        return vec!["every permission (Admin)".to_string()];
    }
    permissions
        .iter()
        .filter(|p| !holder.can(p))
        .cloned()
        .collect()
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

/// The field role choices are reported against (the forms' checkboxes; the API answers it for
/// its `roles`, as for every other problem with the roles named).
pub const ROLES_FIELD: &str = "role_ids";

/// Checks name, description and permissions; returns the clean permission list.
/// `keep` are permissions already on the role that the principal may keep without holding them.
fn check_input(
    conn: &mut DbConnection,
    principal: &Principal,
    input: &RoleInput,
    fields: RoleFields,
    existing_role_id: Option<&str>,
    keep: &[String],
    errors: &mut FieldErrors,
) -> Result<Vec<String>, AppError> {
    check_permission_count(&input.permissions, fields.permissions)?;
    let name = input.name.trim();
    let length = name.chars().count();
    if length == 0 {
        errors.add(fields.name, "Enter a name for the role.");
    } else if length > NAME_MAX {
        errors.add(
            fields.name,
            format!("Use at most {NAME_MAX} characters (this name has {length})."),
        );
    } else if let Some(problem) = crate::limits::line_problem(name) {
        errors.add(fields.name, problem);
    } else if crate::limits::is_builtin_role_name(name)
        && existing_role_id != Some(crate::authz::catalog::ADMIN_ROLE_ID)
    {
        // Taken, like any existing role's name (409 in the API), by the role that is always there.
        errors.add_conflict(
            fields.name,
            "This name belongs to the built-in Admin role. Choose another name.",
        );
    } else if let Some(other) = role::find_by_name(conn, name)? {
        if Some(other.id.as_str()) != existing_role_id {
            errors.add_conflict(
                fields.name,
                format!(
                    "A role named “{}” already exists. Choose another name.",
                    other.name
                ),
            );
        }
    }
    if input.description.chars().count() > DESCRIPTION_MAX {
        errors.add(
            fields.description,
            format!("Use at most {DESCRIPTION_MAX} characters."),
        );
    }
    if let Some(problem) = crate::limits::text_problem(&input.description) {
        errors.add(fields.description, problem);
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
            fields.permissions,
            format!("These permissions do not exist: {}.", join(&unknown)),
        );
    } else if !beyond.is_empty() {
        errors.add(
            fields.permissions,
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
fn name_taken(err: diesel::result::Error, fields: RoleFields, name: &str) -> AppError {
    if crate::db::is_unique_violation(&err) {
        AppError::FieldConflict {
            field: fields.name.into(),
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
    fields: RoleFields,
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

/// Creates a role on its own; `fields` names the form fields that errors are reported against.
pub async fn create(
    db: &Db,
    principal: Principal,
    input: RoleInput,
    fields: RoleFields,
) -> Result<Role, FormError> {
    principal.require(ROLES_CREATE)?;
    db.run(move |conn| {
        crate::db::transaction(conn, |conn| {
            let mut errors = FieldErrors::default();
            match create_in(conn, &principal, &input, fields, &mut errors)? {
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
        check_permission_count(permissions, ROLE_FORM_FIELDS.permissions)?;
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
            ROLE_FORM_FIELDS,
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
        .map_err(|e| name_taken(e, ROLE_FORM_FIELDS, &input.name))?;
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

/// The one role (by id or name) that `principal` asks to give, when they may: a single grant's
/// check, for keys and people alike. `held` are the roles the holder has already.
pub fn grantable_role(
    conn: &mut DbConnection,
    principal: &Principal,
    role_ref: &str,
    held: &[String],
) -> Result<Role, AppError> {
    let mut errors = FieldErrors::default();
    let found = check_grantable_roles(conn, principal, &[role_ref.to_string()], held, &mut errors)?;
    errors.into_result()?;
    // A blank reference names no role: like an unknown one, there is nothing to give.
    found.into_iter().next().ok_or(AppError::NotFound)
}

/// Loads the chosen roles and checks that each exists and may be given by `principal`. Roles already
/// on the key (`already_held`) may stay even when the principal could not give them.
pub fn check_grantable_roles(
    conn: &mut DbConnection,
    principal: &Principal,
    requested: &[String],
    already_held: &[String],
    errors: &mut FieldErrors,
) -> Result<Vec<Role>, AppError> {
    check_role_count(requested, already_held)?;
    // Roles are named by id (forms) or by id or name (the API); each distinct reference is looked
    // up once.
    let references: BTreeSet<&str> = requested
        .iter()
        .map(|r| r.trim())
        .filter(|r| !r.is_empty())
        .collect();
    let mut ids: Vec<String> = Vec::new();
    let mut unknown: Vec<String> = Vec::new();
    for reference in references {
        let found = match role::find(conn, reference)? {
            Some(by_id) => Some(by_id),
            None => role::find_by_name(conn, reference)?,
        };
        match found {
            Some(found) => ids.push(found.id),
            None => unknown.push(reference.to_string()),
        }
    }
    if !unknown.is_empty() {
        errors.add_conflict(
            ROLES_FIELD,
            format!(
                "These roles do not exist (any more): {}. Reload the page and choose again.",
                unknown.join(", ")
            ),
        );
    }
    ids.sort();
    ids.dedup();
    let found = role::find_many(conn, &ids)?;
    let role_ids: Vec<String> = found.iter().map(|r| r.id.clone()).collect();
    let permissions = role::permissions_by_role(conn, &role_ids)?;
    let refused: Vec<String> = found
        .iter()
        .filter(|r| !already_held.contains(&r.id))
        .filter_map(|r| {
            let perms = permissions.get(&r.id).map(Vec::as_slice).unwrap_or(&[]);
            (!can_grant(&principal.permissions, r, perms)).then(|| {
                format!(
                    "“{}” (needs {})",
                    r.name,
                    missing_for(&principal.permissions, r, perms).join(", ")
                )
            })
        })
        .collect();
    if !refused.is_empty() {
        errors.add(
            ROLES_FIELD,
            format!(
                "You can only give roles whose permissions you hold yourself. Not allowed: {}.",
                refused.join("; ")
            ),
        );
    }
    Ok(found)
}

/// Refuses (403, naming a permission the principal lacks) to take away any of these roles unless
/// the principal could give it: removing a role is as strong as granting it.
pub fn require_may_take(
    conn: &mut DbConnection,
    principal: &Principal,
    role_ids: &[String],
) -> Result<(), AppError> {
    let roles = role::find_many(conn, role_ids)?;
    let permissions = role::permissions_by_role(conn, role_ids)?;
    for taken in &roles {
        let perms = permissions.get(&taken.id).map(Vec::as_slice).unwrap_or(&[]);
        if can_grant(&principal.permissions, taken, perms) {
            continue;
        }
        let missing = if taken.grants_all {
            permission::names(conn)?
                .into_iter()
                .find(|p| !principal.can(p))
        } else {
            perms.iter().find(|p| !principal.can(p)).cloned()
        };
        return Err(AppError::forbidden(
            missing.as_deref().unwrap_or("every permission (Admin)"),
        ));
    }
    Ok(())
}

/// One permission held through roles, and the roles that give it.
#[derive(Debug, Clone)]
pub struct EffectivePermission {
    pub name: String,
    pub description: String,
    pub granted_by: Vec<String>,
}

/// The union of the roles' permissions (Admin: the whole catalog), each with the roles granting it.
pub fn effective_permissions(
    conn: &mut DbConnection,
    roles: &[Role],
) -> Result<Vec<EffectivePermission>, AppError> {
    let role_ids: Vec<String> = roles.iter().map(|r| r.id.clone()).collect();
    let by_role = role::permissions_by_role(conn, &role_ids)?;
    let catalog = permission::list(conn)?;
    let mut effective: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for held in roles {
        let names: Vec<String> = if held.grants_all {
            catalog.iter().map(|p| p.name.clone()).collect()
        } else {
            by_role.get(&held.id).cloned().unwrap_or_default()
        };
        for name in names {
            effective.entry(name).or_default().push(held.name.clone());
        }
    }
    Ok(effective
        .into_iter()
        .map(|(name, granted_by)| EffectivePermission {
            description: catalog
                .iter()
                .find(|p| p.name == name)
                .map(|p| p.description.clone())
                .unwrap_or_default(),
            name,
            granted_by,
        })
        .collect())
}
