//! Creating a key, with roles and roles made with it.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{detail_out, expires_at, KeyOut};
use crate::auth::Principal;
use crate::error::AppError;
use crate::routes::api::responses::Conflict;
use crate::routes::api::{created, ApiJson};
use crate::services::api_keys::{self, Expiry, KeyInput};
use crate::services::roles::RoleInput;
use crate::state::AppState;

/// A role created together with the key.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = NewInlineRole)]
pub struct NewRoleIn {
    /// Empty or absent: the role is named after the key ("one role per system").
    #[serde(default)]
    #[schema(max_length = 100, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    pub name: String,
    #[serde(default)]
    #[schema(
        max_length = 500,
        pattern = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$"
    )]
    pub description: String,
    /// At most 500.
    #[serde(default)]
    #[schema(max_items = 500)]
    pub permissions: Vec<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = NewServiceAccount)]
pub struct NewKey {
    /// Not blank.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub name: String,
    #[serde(default)]
    #[schema(
        max_length = 500,
        pattern = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$"
    )]
    pub description: String,
    /// RFC 3339, in the future; absent or null: never expires.
    #[serde(default)]
    #[schema(format = DateTime)]
    pub expires_at: Option<String>,
    /// Role ids or names, at most 100.
    #[serde(default)]
    #[schema(max_items = 100)]
    pub roles: Vec<String>,
    /// Roles created with the key, in the same transaction (needs `roles.create`), at most 20.
    #[serde(default)]
    #[schema(max_items = 20)]
    pub new_roles: Vec<NewRoleIn>,
}

/// A key just created, with its secret.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = CreatedServiceAccount)]
pub struct CreatedKeyOut {
    #[serde(flatten)]
    pub key: KeyOut,
    /// The full key, shown this once; Latchkey keeps only its hash.
    pub secret: String,
}

/// Create an API key
///
/// The answer holds the full key (`secret`) this once. Giving the key a role needs every permission
/// of that role; `new_roles` also needs `roles.create`. A calling key that expires can only create
/// keys that expire no later than itself (422 on `expires_at`).
#[utoipa::path(
    post,
    path = "/api/v1/service-accounts",
    operation_id = "createServiceAccount",
    tag = "service-accounts",
    request_body = NewKey,
    responses(
        (status = 201, description = "The key was created; `secret` is shown this once.", body = CreatedKeyOut),
        (status = 409, response = Conflict),
    )
)]
pub async fn create(
    principal: Principal,
    state: web::Data<AppState>,
    body: ApiJson<NewKey>,
) -> Result<HttpResponse, AppError> {
    let body = body.into_inner();
    let input = KeyInput {
        name: body.name,
        description: body.description,
        expiry: match body.expires_at {
            None => Expiry::Never,
            Some(text) => expires_at(&text)?,
        },
        roles: body.roles,
        new_roles: body
            .new_roles
            .into_iter()
            .map(|r| RoleInput {
                name: r.name,
                description: r.description,
                permissions: r.permissions,
            })
            .collect(),
    };
    let made = api_keys::create(&state.db, principal, input)
        .await
        .map_err(|e| e.into_app_error())?;
    Ok(created(&CreatedKeyOut {
        key: detail_out(made.detail),
        secret: made.secret,
    }))
}
