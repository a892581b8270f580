//! Giving a key one role and taking one away.

use actix_web::{web, HttpResponse};

use super::{detail_out, KeyOut};
use crate::auth::Principal;
use crate::error::AppError;
use crate::routes::api::responses::{Conflict, NotFound, ValidationFailed};
use crate::services::api_keys;
use crate::state::AppState;

/// Give an API key a role
///
/// Needs every permission of that role and of each role the key already holds.
#[utoipa::path(
    put,
    path = "/api/v1/service-accounts/{id}/roles/{role_id}",
    operation_id = "addServiceAccountRole",
    tag = "service-accounts",
    params(
        ("id" = String, Path, description = "The key's id."),
        ("role_id" = String, Path, description = "The role's id or name."),
    ),
    responses(
        (status = 200, description = "The key as saved.", body = KeyOut),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = ValidationFailed),
    )
)]
pub async fn add_role(
    principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (id, role_id) = path.into_inner();
    let saved = api_keys::grant_role(&state.db, principal, id, role_id).await?;
    Ok(HttpResponse::Ok().json(detail_out(saved)))
}

/// Take a role from an API key
///
/// Needs every permission of each role the key holds.
#[utoipa::path(
    delete,
    path = "/api/v1/service-accounts/{id}/roles/{role_id}",
    operation_id = "removeServiceAccountRole",
    tag = "service-accounts",
    params(
        ("id" = String, Path, description = "The key's id."),
        ("role_id" = String, Path, description = "The role's id."),
    ),
    responses(
        (status = 200, description = "The key as saved.", body = KeyOut),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = ValidationFailed),
    )
)]
pub async fn remove_role(
    principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (id, role_id) = path.into_inner();
    let saved = api_keys::revoke_role(&state.db, principal, id, role_id).await?;
    Ok(HttpResponse::Ok().json(detail_out(saved)))
}
