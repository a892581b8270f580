//! `/api/v1/users`: team members and their roles.

use actix_web::{web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use super::responses::{user_status_schema, Conflict, NotFound, ValidationFailed};
use super::{rfc3339, ListResponse, PageQuery, RoleRef};
use crate::auth::Principal;
use crate::error::AppError;
use crate::models::user;
use crate::services::team;
use crate::state::AppState;

/// A person who signs in to the console.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = User)]
pub struct UserOut {
    pub id: String,
    pub email: String,
    pub display_name: String,
    /// `active`, `invited` or `deactivated`.
    #[schema(schema_with = user_status_schema)]
    pub status: String,
    pub roles: Vec<RoleRef>,
    /// Null: never signed in.
    #[schema(required = true, format = DateTime)]
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

/// List team members
#[utoipa::path(
    get,
    path = "/api/v1/users",
    operation_id = "listUsers",
    tag = "users",
    params(PageQuery),
    responses(
        (status = 200, description = "A page of team members, by id.", body = ListResponse<UserOut>),
        (status = 422, response = ValidationFailed),
    )
)]
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

/// Grant a role to a team member
///
/// The same rule as the Team tab: only roles whose permissions the caller holds.
#[utoipa::path(
    put,
    path = "/api/v1/users/{id}/roles/{role_id}",
    operation_id = "grantUserRole",
    tag = "users",
    params(
        ("id" = String, Path, description = "The user's id."),
        ("role_id" = String, Path, description = "The role's id."),
    ),
    responses(
        (status = 200, description = "The user as saved.", body = UserOut),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = ValidationFailed),
    )
)]
pub async fn grant_role(
    principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (id, role_id) = path.into_inner();
    team::grant_role(&state.db, principal, id.clone(), role_id).await?;
    Ok(HttpResponse::Ok().json(load(&state, id).await?))
}

/// Take a role from a team member
#[utoipa::path(
    delete,
    path = "/api/v1/users/{id}/roles/{role_id}",
    operation_id = "revokeUserRole",
    tag = "users",
    params(
        ("id" = String, Path, description = "The user's id."),
        ("role_id" = String, Path, description = "The role's id."),
    ),
    responses(
        (status = 200, description = "The user as saved.", body = UserOut),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = ValidationFailed),
    )
)]
pub async fn revoke_role(
    principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (id, role_id) = path.into_inner();
    team::revoke_role(&state.db, principal, id.clone(), role_id).await?;
    Ok(HttpResponse::Ok().json(load(&state, id).await?))
}
