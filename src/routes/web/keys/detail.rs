//! A key's page, and the page that shows a new key's secret once.

use actix_session::Session;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse};
use askama::Template;

use crate::auth::session::{take_once, OneTimeSlot};
use crate::auth::Principal;
use crate::error::AppError;
use crate::routes::web::layout::{Layout, Section, ASSET_VERSION};
use crate::routes::web::render;
use crate::routes::web::views::{format_optional, format_time, history_rows, HistoryRow};
use crate::services::grants::EffectivePermission;
use crate::services::{api_keys, audit_log, refusal_reason};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "pages/key_created.html")]
struct KeyCreatedPage {
    asset_version: &'static str,
    layout: Layout,
    key_id: String,
    name: String,
    secret: Option<String>,
}

/// Shows the new key's secret exactly once; reloading shows that it cannot be shown again.
pub async fn created(
    principal: Principal,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let key_id = path.into_inner();
    let secret = take_once(&session, OneTimeSlot::NewKey, &key_id);
    let key = api_keys::just_created(&state.db, &principal, key_id.clone()).await?;
    let page = KeyCreatedPage {
        asset_version: ASSET_VERSION,
        layout: Layout::new(
            &principal,
            &session,
            Section::Development,
            "API key created",
        ),
        key_id,
        name: key.name,
        secret,
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .content_type("text/html; charset=utf-8")
        .body(page.render()?))
}

#[derive(Template)]
#[template(path = "pages/key_detail.html")]
struct KeyDetailPage {
    asset_version: &'static str,
    layout: Layout,
    key_id: String,
    name: String,
    description: String,
    public_id: String,
    status: &'static str,
    created_by: String,
    created: String,
    expires: String,
    last_used: String,
    revoked: String,
    roles: Vec<(String, String)>,
    effective: Vec<EffectivePermission>,
    holds_all: bool,
    can_update: bool,
    update_reason: String,
    can_revoke: bool,
    revoke_reason: String,
    history: Vec<HistoryRow>,
}

pub async fn show(
    principal: Principal,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let key_id = path.into_inner();
    let history = history_rows(audit_log::history(&state.db, &principal, key_id.clone()).await?);
    let (detail, actions) = api_keys::detail_and_actions(&state.db, &principal, key_id).await?;
    let key = detail.key;
    render(
        KeyDetailPage {
            asset_version: ASSET_VERSION,
            layout: Layout::new(&principal, &session, Section::Development, key.name.clone()),
            status: detail.status.as_str(),
            created_by: detail.creator_email.unwrap_or_else(|| "—".into()),
            created: format_time(&key.created_at),
            expires: format_optional(key.expires_at, "Never"),
            last_used: format_optional(key.last_used_at, "Not used yet"),
            revoked: format_optional(key.revoked_at, ""),
            key_id: key.id,
            name: key.name,
            description: key.description,
            public_id: key.public_id,
            holds_all: detail.roles.iter().any(|r| r.grants_all),
            roles: detail.roles.into_iter().map(|r| (r.id, r.name)).collect(),
            effective: detail.effective,
            can_update: actions.edit.is_ok(),
            update_reason: refusal_reason(actions.edit).unwrap_or_default(),
            can_revoke: actions.revoke.is_ok(),
            revoke_reason: refusal_reason(actions.revoke).unwrap_or_default(),
            history,
        },
        StatusCode::OK,
    )
}
