//! `/api/v1/audit-events`: the audit log, with the tab's filters.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use super::responses::ValidationFailed;
use super::{ListResponse, PageQuery};
use crate::auth::Principal;
use crate::error::AppError;
use crate::services::audit_log::{self, AuditEvent, AuditQuery, Cursor};
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditEventsQuery {
    /// An actor's email (or key name), or their id; exact match.
    #[serde(default)]
    pub actor: String,
    /// An action such as `role.created`; exact match.
    #[serde(default)]
    pub action: String,
    /// A target's name or id; exact match.
    #[serde(default)]
    pub target: String,
    /// YYYY-MM-DD, inclusive.
    #[param(format = Date)]
    pub from: Option<String>,
    /// YYYY-MM-DD, inclusive.
    #[param(format = Date)]
    pub until: Option<String>,
    /// How many events to answer (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page; absent or empty: the first page.
    #[param(pattern = r"^([0-9]{1,16}_[0-9A-Za-z-]{1,64})?$")]
    pub cursor: Option<String>,
}

/// Search the audit log
///
/// Newest first, with the Audit log tab's filters.
#[utoipa::path(
    get,
    path = "/api/v1/audit-events",
    operation_id = "listAuditEvents",
    tag = "audit-log",
    params(AuditEventsQuery),
    responses(
        (status = 200, description = "A page of events, newest first.", body = ListResponse<AuditEvent>),
        (status = 422, response = ValidationFailed),
    )
)]
pub async fn list(
    principal: Principal,
    state: web::Data<AppState>,
    query: web::Query<AuditEventsQuery>,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    let page = PageQuery {
        limit: query.limit,
        cursor: query.cursor.clone(),
    };
    let limit = page.limit()?;
    let cursor = match page.cursor() {
        None => None,
        Some(text) => Some(Cursor::decode(&text).ok_or_else(|| {
            AppError::validation("cursor", "This cursor is not one Latchkey gave.")
        })?),
    };
    // A date parameter that is present holds a date (the console's filter form may leave its
    // fields empty; a client sends only the bounds it means).
    for (field, value) in [("from", &query.from), ("until", &query.until)] {
        if value.as_deref() == Some("") {
            return Err(AppError::validation(field, "Give a date as YYYY-MM-DD."));
        }
    }
    let filter = AuditQuery {
        actor: query.actor,
        action: query.action,
        target: query.target,
        from: query.from.unwrap_or_default(),
        until: query.until.unwrap_or_default(),
        after: String::new(),
    }
    .filter()
    .map_err(AppError::from)?;
    let (data, next_cursor) = audit_log::page(&state.db, &principal, filter, cursor, limit).await?;
    Ok(HttpResponse::Ok().json(ListResponse { data, next_cursor }))
}
