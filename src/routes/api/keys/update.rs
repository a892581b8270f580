//! Changing a key's details and roles.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{detail_out, expires_at, KeyOut};
use crate::auth::Principal;
use crate::error::AppError;
use crate::routes::api::responses::{Conflict, NotFound};
use crate::routes::api::{double_option, ApiJson};
use crate::services::api_keys::{self, Expiry, KeyChange};
use crate::state::AppState;

/// Absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ServiceAccountPatch)]
pub struct KeyPatch {
    /// Not blank.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub name: Option<String>,
    #[schema(
        max_length = 500,
        pattern = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$"
    )]
    pub description: Option<String>,
    /// Absent: unchanged; null: never expires; a time (RFC 3339, in the future): expires then.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(format = DateTime)]
    pub expires_at: Option<Option<String>>,
    /// Replaces the key's roles (ids or names); at most 100 besides those the key holds.
    #[schema(max_items = 100)]
    pub roles: Option<Vec<String>>,
}

/// Change an API key
///
/// Needs every permission of each role the key holds: you change only what you could have given.
/// A calling key that expires cannot set an `expires_at` later than its own, or null (422).
#[utoipa::path(
    patch,
    path = "/api/v1/service-accounts/{id}",
    operation_id = "updateServiceAccount",
    tag = "service-accounts",
    params(("id" = String, Path, description = "The key's id.")),
    request_body = KeyPatch,
    responses(
        (status = 200, description = "The key as saved.", body = KeyOut),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
pub async fn update(
    principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: ApiJson<KeyPatch>,
) -> Result<HttpResponse, AppError> {
    let patch = body.into_inner();
    let expiry = match patch.expires_at {
        None => Expiry::Keep,
        Some(None) => Expiry::Never,
        Some(Some(text)) => expires_at(&text)?,
    };
    let change = KeyChange {
        name: patch.name,
        description: patch.description,
        expiry,
        roles: patch.roles,
        new_roles: Vec::new(),
    };
    let saved = api_keys::update(&state.db, principal, path.into_inner(), change)
        .await
        .map_err(|e| e.into_app_error())?;
    Ok(HttpResponse::Ok().json(detail_out(saved)))
}
