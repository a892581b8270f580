//! Listing keys and reading one.

use actix_web::{web, HttpResponse};

use super::{detail_out, key_out, KeyOut};
use crate::auth::Principal;
use crate::error::AppError;
use crate::routes::api::responses::{NotFound, ValidationFailed};
use crate::routes::api::{ListResponse, PageQuery, RoleRef};
use crate::services::api_keys;
use crate::state::AppState;

/// List API keys
///
/// Revoked keys stay listed, with status `revoked`.
#[utoipa::path(
    get,
    path = "/api/v1/service-accounts",
    operation_id = "listServiceAccounts",
    tag = "service-accounts",
    params(PageQuery),
    responses(
        (status = 200, description = "A page of keys, by id.", body = ListResponse<KeyOut>),
        (status = 422, response = ValidationFailed),
    )
)]
pub async fn list(
    principal: Principal,
    state: web::Data<AppState>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let limit = query.limit()?;
    let keys = api_keys::list_after(&state.db, &principal, query.cursor(), limit + 1)
        .await?
        .into_iter()
        .map(|l| {
            key_out(
                l.key,
                l.roles.into_iter().map(RoleRef::from).collect(),
                l.creator_email,
                None,
            )
        })
        .collect();
    Ok(HttpResponse::Ok().json(ListResponse::from_fetched(keys, limit, |k| k.id.clone())))
}

/// Get an API key
#[utoipa::path(
    get,
    path = "/api/v1/service-accounts/{id}",
    operation_id = "getServiceAccount",
    tag = "service-accounts",
    params(("id" = String, Path, description = "The key's id.")),
    responses(
        (status = 200, description = "The key, with its effective permissions.", body = KeyOut),
        (status = 404, response = NotFound),
    )
)]
pub async fn show(
    principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let detail = api_keys::detail(&state.db, &principal, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(detail_out(detail)))
}
