//! `/api/v1/service-accounts`: API keys, one file per kind of request; and `/api/v1/whoami`.

mod create;
mod read;
mod revoke;
mod roles;
mod update;
mod whoami;

pub use self::create::*;
pub use self::read::*;
pub use self::revoke::*;
pub use self::roles::*;
pub use self::update::*;
pub use self::whoami::*;

use serde::Serialize;
use utoipa::ToSchema;

use super::responses::key_status_schema;
use super::{parse_time, rfc3339, RoleRef};
use crate::db::now;
use crate::error::AppError;
use crate::services::api_keys::{ApiKey, Expiry, KeyDetail};

/// An API key (service account). Its secret is never shown again after creation.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ServiceAccount)]
pub struct KeyOut {
    pub id: String,
    /// The non-secret part of the key (`lk_<public_id>_…`).
    pub public_id: String,
    pub name: String,
    pub description: String,
    /// `active`, `expired` or `revoked`.
    #[schema(schema_with = key_status_schema)]
    pub status: &'static str,
    pub roles: Vec<RoleRef>,
    /// Every permission the key holds through its roles (present on a single key, absent in lists).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub permissions: Option<Vec<String>>,
    /// The email of the person who created the key (null when created by a key or the system).
    #[schema(required = true)]
    pub created_by: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    /// Null: never expires.
    #[schema(required = true, format = DateTime)]
    pub expires_at: Option<String>,
    #[schema(required = true, format = DateTime)]
    pub last_used_at: Option<String>,
    #[schema(required = true, format = DateTime)]
    pub revoked_at: Option<String>,
}

fn key_out(
    key: ApiKey,
    roles: Vec<RoleRef>,
    creator: Option<String>,
    permissions: Option<Vec<String>>,
) -> KeyOut {
    KeyOut {
        status: key.status_at(now()).as_str(),
        created_at: rfc3339(&key.created_at),
        expires_at: key.expires_at.as_ref().map(rfc3339),
        last_used_at: key.last_used_at.as_ref().map(rfc3339),
        revoked_at: key.revoked_at.as_ref().map(rfc3339),
        id: key.id,
        public_id: key.public_id,
        name: key.name,
        description: key.description,
        roles,
        permissions,
        created_by: creator,
    }
}

fn detail_out(detail: KeyDetail) -> KeyOut {
    let roles = detail
        .roles
        .into_iter()
        .map(|r| RoleRef {
            id: r.id,
            name: r.name,
        })
        .collect();
    let permissions = detail.effective.into_iter().map(|p| p.name).collect();
    key_out(detail.key, roles, detail.creator_email, Some(permissions))
}

/// The body's `expires_at` time (RFC 3339).
fn expires_at(text: &str) -> Result<Expiry, AppError> {
    parse_time("expires_at", text).map(Expiry::At)
}
