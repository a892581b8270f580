//! `/api/v1/audit-events`: the audit log, with the tab's filters.

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::{ListResponse, MAX_PAGE};
use crate::auth::Principal;
use crate::error::AppError;
use crate::models::audit::Cursor;
use crate::services::audit_log::{self, AuditQuery};
use crate::startup::AppState;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditEventsQuery {
    #[serde(default)]
    pub actor: String,
    #[serde(default)]
    pub action: String,
    #[serde(default)]
    pub target: String,
    /// YYYY-MM-DD, inclusive.
    #[serde(default)]
    pub from: String,
    /// YYYY-MM-DD, inclusive.
    #[serde(default)]
    pub until: String,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

pub async fn list(
    principal: Principal,
    state: web::Data<AppState>,
    query: web::Query<AuditEventsQuery>,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    let limit = match query.limit {
        None => super::DEFAULT_PAGE,
        Some(n) if (1..=MAX_PAGE).contains(&n) => n,
        Some(_) => {
            return Err(AppError::validation(
                "limit",
                format!("limit must be between 1 and {MAX_PAGE}."),
            ))
        }
    };
    let cursor = match query.cursor.as_deref().filter(|c| !c.is_empty()) {
        None => None,
        Some(text) => Some(Cursor::decode(text).ok_or_else(|| {
            AppError::validation("cursor", "This cursor is not one Latchkey gave.")
        })?),
    };
    let filter = AuditQuery {
        actor: query.actor,
        action: query.action,
        target: query.target,
        from: query.from,
        until: query.until,
        after: String::new(),
    }
    .filter()
    .map_err(AppError::from)?;
    let (data, next_cursor) = audit_log::page(&state.db, &principal, filter, cursor, limit).await?;
    Ok(HttpResponse::Ok().json(ListResponse { data, next_cursor }))
}
