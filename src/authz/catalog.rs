//! Latchkey's own permissions. They are seeded into the `permissions` table at start and are read-only;
//! operators add permissions for their own systems beside them.

/// One built-in permission.
#[derive(Debug, Clone, Copy)]
pub struct CatalogEntry {
    pub name: &'static str,
    /// One line shown beside the checkbox in the role form.
    pub description: &'static str,
    /// Completes "You need the `…` permission to …".
    pub action_phrase: &'static str,
}

pub const ROLES_CREATE: &str = "roles.create";
pub const ROLES_RETRIEVE: &str = "roles.retrieve";
pub const ROLES_UPDATE: &str = "roles.update";
pub const ROLES_DELETE: &str = "roles.delete";
pub const SERVICE_ACCOUNTS_CREATE: &str = "service-accounts.create";
pub const SERVICE_ACCOUNTS_RETRIEVE: &str = "service-accounts.retrieve";
pub const SERVICE_ACCOUNTS_UPDATE: &str = "service-accounts.update";
pub const SERVICE_ACCOUNTS_DELETE: &str = "service-accounts.delete";
pub const USERS_CREATE: &str = "users.create";
pub const USERS_RETRIEVE: &str = "users.retrieve";
pub const USERS_UPDATE: &str = "users.update";
pub const USERS_DELETE: &str = "users.delete";
pub const PERMISSIONS_CREATE: &str = "permissions.create";
pub const PERMISSIONS_RETRIEVE: &str = "permissions.retrieve";
pub const PERMISSIONS_UPDATE: &str = "permissions.update";
pub const PERMISSIONS_DELETE: &str = "permissions.delete";
pub const ACCOUNTS_RETRIEVE: &str = "accounts.retrieve";
pub const ACCOUNTS_UPDATE: &str = "accounts.update";
pub const AUDIT_LOG_RETRIEVE: &str = "audit-log.retrieve";

const fn entry(
    name: &'static str,
    description: &'static str,
    action_phrase: &'static str,
) -> CatalogEntry {
    CatalogEntry {
        name,
        description,
        action_phrase,
    }
}

pub const BUILTIN: &[CatalogEntry] = &[
    entry(ROLES_CREATE, "Create roles", "create roles"),
    entry(
        ROLES_RETRIEVE,
        "See roles and their permissions",
        "see roles",
    ),
    entry(
        ROLES_UPDATE,
        "Change a role's name and permissions",
        "change roles",
    ),
    entry(ROLES_DELETE, "Delete roles", "delete roles"),
    entry(
        SERVICE_ACCOUNTS_CREATE,
        "Create API keys",
        "create API keys",
    ),
    entry(
        SERVICE_ACCOUNTS_RETRIEVE,
        "See API keys (never their secrets)",
        "see API keys",
    ),
    entry(
        SERVICE_ACCOUNTS_UPDATE,
        "Change an API key's details and roles",
        "edit API keys",
    ),
    entry(
        SERVICE_ACCOUNTS_DELETE,
        "Revoke API keys",
        "revoke API keys",
    ),
    entry(USERS_CREATE, "Invite team members", "invite team members"),
    entry(USERS_RETRIEVE, "See team members", "see team members"),
    entry(
        USERS_UPDATE,
        "Grant and revoke team members' roles",
        "change team members' roles",
    ),
    entry(
        USERS_DELETE,
        "Deactivate team members",
        "deactivate team members",
    ),
    entry(
        PERMISSIONS_CREATE,
        "Define permissions for your own systems",
        "define permissions",
    ),
    entry(
        PERMISSIONS_RETRIEVE,
        "See the permission catalog",
        "see the permission catalog",
    ),
    entry(
        PERMISSIONS_UPDATE,
        "Change permission descriptions",
        "change permissions",
    ),
    entry(
        PERMISSIONS_DELETE,
        "Delete permissions you defined",
        "delete permissions",
    ),
    entry(
        ACCOUNTS_RETRIEVE,
        "See the account's settings",
        "see the account settings",
    ),
    entry(
        ACCOUNTS_UPDATE,
        "Change the account's settings",
        "change the account settings",
    ),
    entry(
        AUDIT_LOG_RETRIEVE,
        "Read and export the audit log",
        "read the audit log",
    ),
];

/// The built-in entry for a permission name, if it is one of Latchkey's own.
pub fn builtin(name: &str) -> Option<&'static CatalogEntry> {
    BUILTIN.iter().find(|entry| entry.name == name)
}

/// The id and name of the built-in role that holds every permission, present and future.
pub const ADMIN_ROLE_ID: &str = "role-admin";
pub const ADMIN_ROLE_NAME: &str = "Admin";
