//! `/api/v1/roles`

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::responses::{Conflict, NotFound, ValidationFailed};
use super::{created, rfc3339, ApiJson, ListResponse, PageQuery};
use crate::auth::Principal;
use crate::error::AppError;
use crate::services::roles::{self as role_service, RoleChange, RoleDetail, RoleInput};
use crate::state::AppState;

/// A named set of permissions.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Role)]
pub struct RoleOut {
    pub id: String,
    pub name: String,
    pub description: String,
    /// True for the built-in Admin role, which cannot be changed or deleted.
    pub builtin: bool,
    /// True for the Admin role: every permission, including ones added later.
    pub all_permissions: bool,
    /// The permission names the role holds.
    pub permissions: Vec<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

impl From<RoleDetail> for RoleOut {
    fn from(RoleDetail { role, permissions }: RoleDetail) -> Self {
        Self {
            created_at: rfc3339(&role.created_at),
            updated_at: rfc3339(&role.updated_at),
            id: role.id,
            name: role.name,
            description: role.description,
            builtin: role.is_builtin,
            all_permissions: role.grants_all,
            permissions,
        }
    }
}

/// List roles
#[utoipa::path(
    get,
    path = "/api/v1/roles",
    operation_id = "listRoles",
    tag = "roles",
    params(PageQuery),
    responses(
        (status = 200, description = "A page of roles, by id.", body = ListResponse<RoleOut>),
        (status = 422, response = ValidationFailed),
    )
)]
pub async fn list(
    principal: Principal,
    state: web::Data<AppState>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let limit = query.limit()?;
    let roles: Vec<RoleOut> = role_service::page(&state.db, &principal, query.cursor(), limit + 1)
        .await?
        .into_iter()
        .map(RoleOut::from)
        .collect();
    Ok(HttpResponse::Ok().json(ListResponse::from_fetched(roles, limit, |r| r.id.clone())))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRole {
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
    /// At most 500.
    #[serde(default)]
    #[schema(max_items = 500)]
    pub permissions: Vec<String>,
}

/// Create a role
///
/// The caller may only put into a role permissions they hold themselves.
#[utoipa::path(
    post,
    path = "/api/v1/roles",
    operation_id = "createRole",
    tag = "roles",
    request_body = NewRole,
    responses(
        (status = 201, description = "The role was created.", body = RoleOut),
        (status = 409, response = Conflict),
    )
)]
pub async fn create(
    principal: Principal,
    state: web::Data<AppState>,
    body: ApiJson<NewRole>,
) -> Result<HttpResponse, AppError> {
    let body = body.into_inner();
    let input = RoleInput {
        name: body.name,
        description: body.description,
        permissions: body.permissions,
    };
    let saved = role_service::create(&state.db, principal, input)
        .await
        .map_err(|e| e.into_app_error())?;
    let detail = role_service::with_permissions(&state.db, saved).await?;
    Ok(created(&RoleOut::from(detail)))
}

/// Get a role
#[utoipa::path(
    get,
    path = "/api/v1/roles/{id}",
    operation_id = "getRole",
    tag = "roles",
    params(("id" = String, Path, description = "The role's id.")),
    responses(
        (status = 200, description = "The role.", body = RoleOut),
        (status = 404, response = NotFound),
    )
)]
pub async fn show(
    principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let detail = role_service::detail(&state.db, &principal, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(RoleOut::from(detail)))
}

/// Absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RolePatch {
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
    /// Replaces the role's permissions. Leaving out one the caller does not hold (taking it away)
    /// is refused with 403. At most 500.
    #[schema(max_items = 500)]
    pub permissions: Option<Vec<String>>,
}

/// Change a role
///
/// Needs every permission the role holds (the Admin role cannot be changed): you change only a role
/// you could have given.
#[utoipa::path(
    patch,
    path = "/api/v1/roles/{id}",
    operation_id = "updateRole",
    tag = "roles",
    params(("id" = String, Path, description = "The role's id.")),
    request_body = RolePatch,
    responses(
        (status = 200, description = "The role as saved.", body = RoleOut),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
pub async fn update(
    principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: ApiJson<RolePatch>,
) -> Result<HttpResponse, AppError> {
    let patch = body.into_inner();
    let change = RoleChange {
        name: patch.name,
        description: patch.description,
        permissions: patch.permissions,
    };
    let saved = role_service::update(&state.db, principal, path.into_inner(), change)
        .await
        .map_err(|e| e.into_app_error())?;
    let detail = role_service::with_permissions(&state.db, saved).await?;
    Ok(HttpResponse::Ok().json(RoleOut::from(detail)))
}

/// Delete a role
///
/// Keys and people holding the role lose it at once. Needs every permission the role holds.
#[utoipa::path(
    delete,
    path = "/api/v1/roles/{id}",
    operation_id = "deleteRole",
    tag = "roles",
    params(("id" = String, Path, description = "The role's id.")),
    responses(
        (status = 204, description = "The role was deleted."),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
pub async fn delete(
    principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    role_service::delete(&state.db, principal, path.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}
