//! `/api/v1/users`: team members and their roles.

use actix_web::{web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use super::responses::{user_status_schema, Conflict, NotFound, ValidationFailed};
use super::{rfc3339, ListResponse, PageQuery, RoleRef};
use crate::auth::Principal;
use crate::error::AppError;
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

fn user_out(member: team::MemberSummary) -> UserOut {
    let person = member.user;
    UserOut {
        last_sign_in_at: person.last_sign_in_at.as_ref().map(rfc3339),
        id: person.id,
        email: person.email,
        display_name: person.display_name,
        status: person.status,
        roles: member.roles.into_iter().map(RoleRef::from).collect(),
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
    principal: Principal,
    state: web::Data<AppState>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let limit = query.limit()?;
    let cursor = query.cursor();
    let items: Vec<UserOut> = team::list_after(&state.db, &principal, cursor, limit + 1)
        .await?
        .into_iter()
        .map(user_out)
        .collect();
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
    let saved = team::grant_role(&state.db, principal, id, role_id).await?;
    Ok(HttpResponse::Ok().json(user_out(saved)))
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
    let saved = team::revoke_role(&state.db, principal, id, role_id).await?;
    Ok(HttpResponse::Ok().json(user_out(saved)))
}
