//! Revoking a key.

use actix_web::{web, HttpResponse};

use super::{detail_out, KeyOut};
use crate::auth::Principal;
use crate::error::AppError;
use crate::routes::api::responses::{Conflict, NotFound};
use crate::services::api_keys;
use crate::state::AppState;

/// Revoke an API key
///
/// The key stops working at once and stays listed as revoked. Needs every permission of each role
/// the key holds: you revoke only what you could have given.
#[utoipa::path(
    delete,
    path = "/api/v1/service-accounts/{id}",
    operation_id = "revokeServiceAccount",
    tag = "service-accounts",
    params(("id" = String, Path, description = "The key's id.")),
    responses(
        (status = 200, description = "The revoked key.", body = KeyOut),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
pub async fn delete(
    principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let revoked = api_keys::revoke(&state.db, principal, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(detail_out(revoked)))
}
