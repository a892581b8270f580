//! Generic roles offered as starting points on the role form.

use crate::auth::Principal;
use crate::models::permission::Permission;
use crate::services::roles::RoleInput;

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

/// The role form filled from the template named `slug`, if there is one.
pub fn from_template(
    slug: &str,
    principal: &Principal,
    catalog: &[Permission],
) -> Option<RoleInput> {
    let template = TEMPLATES.iter().find(|t| t.slug == slug)?;
    Some(RoleInput {
        name: template.name.to_string(),
        description: template.description.to_string(),
        permissions: template_permissions(template, principal, catalog),
    })
}
