//! Roles: creating, changing and deleting them with the no-escalation rule (nobody puts into a role,
//! or onto a key, a permission they do not hold themselves), what refuses a change, and reading them.

mod catalog;
mod changes;
mod input;
mod templates;

pub use catalog::{
    all, catalog, deletion, detail, form, page, with_permissions, Catalog, EditedRole,
    RoleDeletion, RoleDetail, RoleForm,
};
pub use changes::{create, create_in, delete, update, RoleChange};
pub use input::{
    check_permission_count, check_role_count, RoleFields, RoleInput, DESCRIPTION_MAX, NAME_MAX,
    ROLES_FIELD,
};
pub use templates::{from_template, template_permissions, RoleTemplate, TEMPLATES};

use crate::models::role::Role;
use crate::services::Refusal;

/// What a refusal by rank says was refused (see [`crate::services::grants::outranked_sentence`]).
pub(crate) const CHANGE_ROLE: &str = "change this role";
pub(crate) const DELETE_ROLE: &str = "delete this role";

/// The Admin role always holds every permission, so nothing about it can change.
pub fn can_edit(role: &Role) -> Result<(), Refusal> {
    if role.is_builtin {
        return Err(Refusal::new(
            "The built-in Admin role always holds every permission, including ones added later. It cannot be changed.",
        ));
    }
    Ok(())
}

/// The Admin role is always there.
pub fn can_delete(role: &Role) -> Result<(), Refusal> {
    if role.is_builtin {
        return Err(Refusal::new("The built-in Admin role cannot be deleted."));
    }
    Ok(())
}
