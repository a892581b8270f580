//! `/api/v1/permissions`: the catalog.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

use super::{created, ListResponse, PageQuery};
use crate::auth::Principal;
use crate::error::AppError;
use crate::models::permission::{self, Permission};
use crate::services::permission_catalog;
use crate::startup::AppState;

#[derive(Debug, Serialize)]
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

pub async fn list(
    state: web::Data<AppState>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let limit = query.limit()?;
    let cursor = query.cursor();
    let items: Vec<PermissionOut> = state
        .db
        .run(move |conn| {
            Ok::<_, AppError>(permission::list_after(conn, cursor.as_deref(), limit + 1)?)
        })
        .await?
        .into_iter()
        .map(PermissionOut::from)
        .collect();
    Ok(HttpResponse::Ok().json(ListResponse::from_fetched(items, limit, |p| p.name.clone())))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewPermission {
    pub name: String,
    #[serde(default)]
    pub description: String,
}

pub async fn create(
    principal: Principal,
    state: web::Data<AppState>,
    body: web::Json<NewPermission>,
) -> Result<HttpResponse, AppError> {
    let body = body.into_inner();
    let made = permission_catalog::create(&state.db, principal, body.name, body.description)
        .await
        .map_err(|e| e.into_app_error())?;
    Ok(created(&PermissionOut::from(made)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PermissionPatch {
    pub description: String,
}

pub async fn update(
    principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<PermissionPatch>,
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

/// Deletes the permission and removes it from every role that uses it.
pub async fn delete(
    principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    permission_catalog::delete(&state.db, principal, path.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}
