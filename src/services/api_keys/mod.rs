//! Issuing, editing and revoking API keys. A key holds roles; it may do what their permissions allow.
//! Nobody puts on a key a role whose permissions they do not hold themselves.

mod checks;
mod expiry;
mod reads;
mod roles;
mod summary;
mod writes;

pub use self::checks::name_and_description_problems;
pub use self::expiry::Expiry;
pub use self::reads::{
    detail, detail_and_actions, for_edit, for_revoke, just_created, list_after, page, EditableKey,
    KeyActions, KeyDetail, KeyPage, ListedKey,
};
pub use self::roles::{create_inline_role, grant_role, revoke_role};
pub use self::writes::{create, create_as_system, revoke, update};
pub use crate::models::api_key::{ApiKey, KeyListing, KeyStatus};

use crate::services::roles::RoleInput;
use crate::services::Refusal;

/// What a refusal by rank says was refused (see [`crate::services::grants::outranked_sentence`]).
pub(crate) const CHANGE_KEY: &str = "change this key";
pub(crate) const REVOKE_KEY: &str = "revoke this key";

pub const NAME_MAX: usize = crate::limits::KEY_NAME_MAX;
pub const DESCRIPTION_MAX: usize = crate::limits::KEY_DESCRIPTION_MAX;

/// A new key, as the console's form, the API and `latchkey create-key` give it.
#[derive(Debug, Clone)]
pub struct KeyInput {
    pub name: String,
    pub description: String,
    pub expiry: Expiry,
    /// The roles to give the key, by id (or, in the API, by name).
    pub roles: Vec<String>,
    /// Roles to create with the key (the "Roles & access" inline sub-form, or the API's `new_roles`).
    pub new_roles: Vec<RoleInput>,
}

/// A key just created: `secret` is the full key, shown once and never stored.
#[derive(Debug, Clone)]
pub struct CreatedKey {
    pub detail: KeyDetail,
    pub secret: String,
}

/// A change to a key: absent fields stay as they are (the API's PATCH); the edit form gives them all.
#[derive(Debug, Clone)]
pub struct KeyChange {
    pub name: Option<String>,
    pub description: Option<String>,
    /// [`Expiry::Keep`] leaves it as it is.
    pub expiry: Expiry,
    /// The whole new set of roles (ids or names).
    pub roles: Option<Vec<String>>,
    pub new_roles: Vec<RoleInput>,
}

impl From<KeyInput> for KeyChange {
    fn from(input: KeyInput) -> Self {
        Self {
            name: Some(input.name),
            description: Some(input.description),
            expiry: input.expiry,
            roles: Some(input.roles),
            new_roles: input.new_roles,
        }
    }
}

/// A revoked key never changes again.
pub fn can_edit(key: &ApiKey) -> Result<(), Refusal> {
    if key.revoked_at.is_some() {
        Err(Refusal::new(
            "This key is revoked; it can no longer be changed.",
        ))
    } else {
        Ok(())
    }
}

/// A key is revoked once.
pub fn can_revoke(key: &ApiKey) -> Result<(), Refusal> {
    if key.revoked_at.is_some() {
        Err(Refusal::new("This key is already revoked."))
    } else {
        Ok(())
    }
}
