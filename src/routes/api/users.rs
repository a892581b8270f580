//! `/api/v1/users`: team members and their roles.

use actix_web::{web, HttpResponse};
use serde::Serialize;

use super::{rfc3339, ListResponse, PageQuery, RoleRef};
use crate::auth::Principal;
use crate::error::AppError;
use crate::models::user;
use crate::services::team;
use crate::startup::AppState;

#[derive(Debug, Serialize)]
pub struct UserOut {
    pub id: String,
    pub email: String,
    pub display_name: String,
    /// `active`, `invited` or `deactivated`.
    pub status: String,
    pub roles: Vec<RoleRef>,
    pub last_sign_in_at: Option<String>,
}

async fn load(state: &AppState, id: String) -> Result<UserOut, AppError> {
    state
        .db
        .run(move |conn| {
            let found = user::find(conn, &id)?.ok_or(AppError::NotFound)?;
            let mut roles = user::roles_of_users(conn, std::slice::from_ref(&id))?;
            Ok(user_out(found, roles.remove(&id).unwrap_or_default()))
        })
        .await
}

fn user_out(u: user::User, roles: Vec<(String, String)>) -> UserOut {
    UserOut {
        last_sign_in_at: u.last_sign_in_at.as_ref().map(rfc3339),
        id: u.id,
        email: u.email,
        display_name: u.display_name,
        status: u.status,
        roles: roles.into_iter().map(RoleRef::from).collect(),
    }
}

pub async fn list(
    state: web::Data<AppState>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let limit = query.limit()?;
    let cursor = query.cursor();
    let items = state
        .db
        .run(move |conn| {
            let users = user::list_after(conn, cursor.as_deref(), limit + 1)?;
            let ids: Vec<String> = users.iter().map(|u| u.id.clone()).collect();
            let mut roles = user::roles_of_users(conn, &ids)?;
            Ok::<_, AppError>(
                users
                    .into_iter()
                    .map(|u| {
                        let held = roles.remove(&u.id).unwrap_or_default();
                        user_out(u, held)
                    })
                    .collect::<Vec<_>>(),
            )
        })
        .await?;
    Ok(HttpResponse::Ok().json(ListResponse::from_fetched(items, limit, |u| u.id.clone())))
}

/// Grants a role, through the same rule as the Team tab (only roles the caller could give).
pub async fn grant_role(
    principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (id, role_id) = path.into_inner();
    let mut roles: Vec<String> = load(&state, id.clone())
        .await?
        .roles
        .into_iter()
        .map(|r| r.id)
        .collect();
    roles.push(role_id);
    team::set_roles(&state.db, principal, id.clone(), roles)
        .await
        .map_err(|e| e.into_app_error())?;
    Ok(HttpResponse::Ok().json(load(&state, id).await?))
}

pub async fn revoke_role(
    principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (id, role_id) = path.into_inner();
    let current = load(&state, id.clone()).await?;
    if !current.roles.iter().any(|r| r.id == role_id) {
        return Err(AppError::NotFound);
    }
    let roles: Vec<String> = current
        .roles
        .into_iter()
        .map(|r| r.id)
        .filter(|r| *r != role_id)
        .collect();
    team::set_roles(&state.db, principal, id.clone(), roles)
        .await
        .map_err(|e| e.into_app_error())?;
    Ok(HttpResponse::Ok().json(load(&state, id).await?))
}
