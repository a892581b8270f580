//! The Audit log tab: newest first, filters, keyset pages, CSV and JSON exports.

use actix_session::Session;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse};
use askama::Template;

use crate::auth::Principal;
use crate::authz::ActorKind;
use crate::error::AppError;
use crate::routes::web::layout::{Layout, Section, ASSET_VERSION};
use crate::routes::web::render;
use crate::routes::web::views::{format_time, succeeded};
use crate::services::audit_log::{self, AuditQuery, Cursor};
use crate::services::FieldErrors;
use crate::state::AppState;

pub struct EventRow {
    pub at: String,
    pub actor: String,
    pub actor_kind: String,
    pub action: String,
    pub target: String,
    pub target_kind: String,
    pub summary: String,
    pub ip: String,
    pub outcome: String,
    pub succeeded: bool,
    /// Whether the actor's kind is worth a badge (anything but a person, named by more than it).
    pub show_kind: bool,
    /// For an event that repeated (refusals are counted on one row): how often, and the latest time.
    pub repeats: Option<String>,
}

#[derive(Template)]
#[template(path = "pages/audit.html")]
struct AuditPage {
    asset_version: &'static str,
    layout: Layout,
    query: AuditQuery,
    errors: FieldErrors,
    rows: Vec<EventRow>,
    next: Option<String>,
    is_first_page: bool,
    filters: String,
    actions: Vec<&'static str>,
}

pub async fn list(
    principal: Principal,
    session: Session,
    state: web::Data<AppState>,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    let (rows, next, errors) = match query.filter() {
        Ok(filter) => {
            let (events, next) = audit_log::page(
                &state.db,
                &principal,
                filter,
                Cursor::decode(&query.after),
                audit_log::PAGE_SIZE,
            )
            .await?;
            let rows = events
                .into_iter()
                .map(|e| EventRow {
                    at: format_time(&e.occurred_at),
                    show_kind: e.actor_kind != ActorKind::User.as_str()
                        && e.actor_label != e.actor_kind,
                    actor: e.actor_label,
                    actor_kind: e.actor_kind,
                    action: e.action,
                    target: e.target_label,
                    target_kind: e.target_kind,
                    summary: e.summary,
                    ip: e.ip_address.unwrap_or_default(),
                    succeeded: succeeded(&e.outcome),
                    outcome: e.outcome,
                    repeats: (e.repeat_count > 1).then(|| match &e.last_occurred_at {
                        Some(last) => format!(
                            "{} times, the last at {}",
                            e.repeat_count,
                            format_time(last)
                        ),
                        None => format!("{} times", e.repeat_count),
                    }),
                })
                .collect();
            (rows, next, FieldErrors::default())
        }
        Err(errors) => (Vec::new(), None, errors),
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    render(
        AuditPage {
            asset_version: ASSET_VERSION,
            layout: Layout::new(&principal, &session, Section::Audit, "Audit log"),
            filters: query.to_query_string(),
            is_first_page: query.after.is_empty(),
            query,
            errors,
            rows,
            next,
            actions: audit_log::known_actions(),
        },
        status,
    )
}

pub async fn export_csv(
    principal: Principal,
    state: web::Data<AppState>,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, AppError> {
    let filter = query.filter().map_err(AppError::from)?;
    let events = audit_log::export(&state.db, &principal, filter).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"latchkey-audit.csv\"",
        ))
        .body(audit_log::to_csv(&events)))
}

pub async fn export_json(
    principal: Principal,
    state: web::Data<AppState>,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, AppError> {
    let filter = query.filter().map_err(AppError::from)?;
    let events = audit_log::export(&state.db, &principal, filter).await?;
    Ok(HttpResponse::Ok()
        .insert_header((
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"latchkey-audit.json\"",
        ))
        .json(events))
}
