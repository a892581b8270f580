//! The choosers shared by the role form and the key form: permissions grouped by resource, and the
//! "Roles & access" field with its inline role sub-form. Choices the user may not give are disabled
//! with the reason.

use askama::Template;

use crate::auth::Principal;
use crate::authz::catalog::ROLES_CREATE;
use crate::error::forbidden_sentence;
use crate::models::permission::Permission;
use crate::services::field;
use crate::services::grants::{can_grant, missing_for};
use crate::services::roles::Catalog;
use crate::services::FieldErrors;

/// The role checkboxes of the key and member forms.
pub const ROLE_IDS: &str = "role_ids";
/// The "Roles & access" sub-form that creates a role with a key.
pub const NEW_ROLE_NAME: &str = "new_role_name";
pub const NEW_ROLE_DESCRIPTION: &str = "new_role_description";
pub const NEW_ROLE_PERMISSIONS: &str = "new_role_permissions";

/// The key form's names for the fields services report problems against.
pub const KEY_FORM_FIELDS: &[(&str, &str)] = &[
    (field::ROLES, ROLE_IDS),
    (field::EXPIRES_AT, "expiry"),
    ("new_roles[0].name", NEW_ROLE_NAME),
    ("new_roles[0].description", NEW_ROLE_DESCRIPTION),
    ("new_roles[0].permissions", NEW_ROLE_PERMISSIONS),
];

/// The sub-form's names for a role's own fields, when it creates a role on its own (htmx).
pub const INLINE_ROLE_FORM_FIELDS: &[(&str, &str)] = &[
    (field::NAME, NEW_ROLE_NAME),
    (field::DESCRIPTION, NEW_ROLE_DESCRIPTION),
    (field::PERMISSIONS, NEW_ROLE_PERMISSIONS),
];

/// The member form's names for the fields services report problems against.
pub const MEMBER_FORM_FIELDS: &[(&str, &str)] = &[(field::ROLES, ROLE_IDS)];

#[derive(Debug, Clone)]
pub struct PermissionChoice {
    pub name: String,
    pub description: String,
    pub checked: bool,
    pub grantable: bool,
}

#[derive(Debug, Clone)]
pub struct PermissionGroup {
    pub resource: String,
    pub choices: Vec<PermissionChoice>,
}

#[derive(Template)]
#[template(path = "partials/permission_picker.html")]
pub struct PermissionPicker {
    pub field: &'static str,
    pub id_prefix: &'static str,
    pub legend: &'static str,
    pub groups: Vec<PermissionGroup>,
    pub error: Option<String>,
    pub read_only: bool,
}

impl PermissionPicker {
    pub fn new(
        field: &'static str,
        id_prefix: &'static str,
        legend: &'static str,
        catalog: &[Permission],
        principal: &Principal,
        checked: &[String],
        error: Option<String>,
    ) -> Self {
        let mut groups: Vec<PermissionGroup> = Vec::new();
        for permission in catalog {
            let resource = permission
                .name
                .split('.')
                .next()
                .unwrap_or_default()
                .to_string();
            let choice = PermissionChoice {
                name: permission.name.clone(),
                description: permission.description.clone(),
                checked: checked.contains(&permission.name),
                grantable: principal.can(&permission.name),
            };
            match groups.iter_mut().find(|g| g.resource == resource) {
                Some(group) => group.choices.push(choice),
                None => groups.push(PermissionGroup {
                    resource,
                    choices: vec![choice],
                }),
            }
        }
        Self {
            field,
            id_prefix,
            legend,
            groups,
            error,
            read_only: false,
        }
    }

    pub fn read_only(mut self) -> Self {
        self.read_only = true;
        self
    }
}

#[derive(Debug, Clone)]
pub struct RoleChoice {
    pub id: String,
    pub name: String,
    pub summary: String,
    pub checked: bool,
    pub grantable: bool,
    pub missing: String,
}

/// The list of roles to tick, shared by the key form and a team member's roles. Roles the user may
/// not give are disabled with the reason.
#[derive(Template)]
#[template(path = "partials/role_checklist.html")]
pub struct RoleChecklist {
    pub roles: Vec<RoleChoice>,
    pub error: Option<String>,
}

impl RoleChecklist {
    pub fn new(
        catalog: &Catalog,
        principal: &Principal,
        checked_roles: &[String],
        error: Option<String>,
    ) -> Self {
        let roles = catalog
            .roles
            .iter()
            .map(|role| {
                let permissions = catalog.permissions_of(&role.id);
                let summary = if role.grants_all {
                    "Every permission".to_string()
                } else if !role.description.is_empty() {
                    role.description.clone()
                } else {
                    match permissions.len() {
                        0 => "No permissions".to_string(),
                        1 => "1 permission".to_string(),
                        n => format!("{n} permissions"),
                    }
                };
                RoleChoice {
                    id: role.id.clone(),
                    name: role.name.clone(),
                    summary,
                    checked: checked_roles.contains(&role.id),
                    grantable: can_grant(&principal.permissions, role, permissions),
                    missing: missing_for(&principal.permissions, role, permissions).join(", "),
                }
            })
            .collect();
        Self { roles, error }
    }
}

/// The "Roles & access" field of the key form; also the htmx fragment answered by inline role creation.
#[derive(Template)]
#[template(path = "partials/roles_access.html")]
pub struct RolesAccessField {
    pub checklist: RoleChecklist,
    pub can_create_role: bool,
    pub create_role_reason: String,
    pub new_role_open: bool,
    pub new_role_name: String,
    pub new_role_description: String,
    pub new_role_name_error: Option<String>,
    pub new_role_description_error: Option<String>,
    pub new_role_permissions: PermissionPicker,
    pub notice: Option<String>,
}

/// What the user has entered in the inline role sub-form.
#[derive(Debug, Clone, Default)]
pub struct InlineRoleDraft {
    pub name: String,
    pub description: String,
    pub permissions: Vec<String>,
    pub open: bool,
}

impl RolesAccessField {
    pub fn new(
        catalog: &Catalog,
        principal: &Principal,
        checked_roles: &[String],
        draft: &InlineRoleDraft,
        errors: &FieldErrors,
        notice: Option<String>,
    ) -> Self {
        let has_inline_error = [NEW_ROLE_NAME, NEW_ROLE_DESCRIPTION, NEW_ROLE_PERMISSIONS]
            .iter()
            .any(|f| errors.get(f).is_some());
        Self {
            checklist: RoleChecklist::new(
                catalog,
                principal,
                checked_roles,
                errors.get(ROLE_IDS).map(str::to_string),
            ),
            can_create_role: principal.can(ROLES_CREATE),
            create_role_reason: forbidden_sentence(ROLES_CREATE),
            new_role_open: draft.open || has_inline_error,
            new_role_name: draft.name.clone(),
            new_role_description: draft.description.clone(),
            new_role_name_error: errors.get(NEW_ROLE_NAME).map(str::to_string),
            new_role_description_error: errors.get(NEW_ROLE_DESCRIPTION).map(str::to_string),
            new_role_permissions: PermissionPicker::new(
                NEW_ROLE_PERMISSIONS,
                "new-role-perm",
                "Permissions of the new role",
                &catalog.permissions,
                principal,
                &draft.permissions,
                errors.get(NEW_ROLE_PERMISSIONS).map(str::to_string),
            ),
            notice,
        }
    }
}
