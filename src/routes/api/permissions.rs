//! `/api/v1/permissions`: the catalog.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::responses::{Conflict, NotFound, ValidationFailed};
use super::{created, ApiJson, ListResponse, PageQuery};
use crate::auth::Principal;
use crate::error::AppError;
use crate::services::permission_catalog::{self, Permission};
use crate::state::AppState;

/// A permission of the catalog: `resource.action`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Permission)]
pub struct PermissionOut {
    pub name: String,
    pub description: String,
    /// Latchkey's own permissions are built in and read-only.
    pub builtin: bool,
}

impl From<Permission> for PermissionOut {
    fn from(p: Permission) -> Self {
        Self {
            name: p.name,
            description: p.description,
            builtin: p.is_builtin,
        }
    }
}

/// List the permission catalog
#[utoipa::path(
    get,
    path = "/api/v1/permissions",
    operation_id = "listPermissions",
    tag = "permissions",
    params(PageQuery),
    responses(
        (status = 200, description = "A page of permissions, by name.", body = ListResponse<PermissionOut>),
        (status = 422, response = ValidationFailed),
    )
)]
pub async fn list(
    principal: Principal,
    state: web::Data<AppState>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let limit = query.limit()?;
    let items: Vec<PermissionOut> =
        permission_catalog::page(&state.db, &principal, query.cursor(), limit + 1)
            .await?
            .into_iter()
            .map(PermissionOut::from)
            .collect();
    Ok(HttpResponse::Ok().json(ListResponse::from_fetched(items, limit, |p| p.name.clone())))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPermission {
    /// `resource.action`: lower-case letters, digits, `-` and `_`, with one dot (e.g. `documents.render`).
    #[schema(pattern = r"^[a-z0-9_-]+\.[a-z0-9_-]+$", max_length = 100)]
    pub name: String,
    #[serde(default)]
    #[schema(
        max_length = 200,
        pattern = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$"
    )]
    pub description: String,
}

/// Add a permission to the catalog
#[utoipa::path(
    post,
    path = "/api/v1/permissions",
    operation_id = "createPermission",
    tag = "permissions",
    request_body = NewPermission,
    responses(
        (status = 201, description = "The permission was added.", body = PermissionOut),
        (status = 409, response = Conflict),
    )
)]
pub async fn create(
    principal: Principal,
    state: web::Data<AppState>,
    body: ApiJson<NewPermission>,
) -> Result<HttpResponse, AppError> {
    let body = body.into_inner();
    let made = permission_catalog::create(&state.db, principal, body.name, body.description)
        .await
        .map_err(|e| e.into_app_error())?;
    Ok(created(&PermissionOut::from(made)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PermissionPatch {
    #[schema(
        max_length = 200,
        pattern = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$"
    )]
    pub description: String,
}

/// Change a permission's description
///
/// Latchkey's own permissions are read-only (409).
#[utoipa::path(
    patch,
    path = "/api/v1/permissions/{name}",
    operation_id = "updatePermission",
    tag = "permissions",
    params(("name" = String, Path, description = "The permission's name.")),
    request_body = PermissionPatch,
    responses(
        (status = 200, description = "The permission as saved.", body = PermissionOut),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
pub async fn update(
    principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: ApiJson<PermissionPatch>,
) -> Result<HttpResponse, AppError> {
    let saved = permission_catalog::update(
        &state.db,
        principal,
        path.into_inner(),
        body.into_inner().description,
    )
    .await
    .map_err(|e| e.into_app_error())?;
    Ok(HttpResponse::Ok().json(PermissionOut::from(saved)))
}

/// Delete a permission
///
/// Removes it from every role that uses it. Only someone holding the permission may delete it.
#[utoipa::path(
    delete,
    path = "/api/v1/permissions/{name}",
    operation_id = "deletePermission",
    tag = "permissions",
    params(("name" = String, Path, description = "The permission's name.")),
    responses(
        (status = 204, description = "The permission was deleted."),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
pub async fn delete(
    principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    permission_catalog::delete(&state.db, principal, path.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}
