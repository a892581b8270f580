//! The Development tab's list of keys.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;

use crate::auth::Principal;
use crate::authz::catalog::{SERVICE_ACCOUNTS_CREATE, SERVICE_ACCOUNTS_UPDATE};
use crate::db::now;
use crate::error::{forbidden_sentence, AppError};
use crate::routes::web::layout::{Layout, Section, ASSET_VERSION};
use crate::routes::web::render;
use crate::routes::web::views::{format_optional, format_time, PageQuery, PageWindow, PAGE_SIZE};
use crate::services::api_keys;
use crate::services::refusal_reason;
use crate::state::AppState;

pub struct KeyRow {
    pub id: String,
    pub name: String,
    pub public_id: String,
    pub roles: Vec<String>,
    pub created_by: String,
    pub created: String,
    pub expires: String,
    pub last_used: String,
    pub status: &'static str,
    /// Why the viewer may not edit this key.
    pub edit_refusal: Option<String>,
}

#[derive(Template)]
#[template(path = "pages/development.html")]
struct DevelopmentPage {
    asset_version: &'static str,
    layout: Layout,
    rows: Vec<KeyRow>,
    total: i64,
    page: i64,
    pages: i64,
    can_create: bool,
    create_reason: String,
    can_update: bool,
    update_reason: String,
}

pub async fn list(
    principal: Principal,
    session: Session,
    state: web::Data<AppState>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let requested = query.requested();
    let listed = api_keys::page(&state.db, &principal, PAGE_SIZE, move |total| {
        PageWindow::new(total, requested, PAGE_SIZE).offset
    })
    .await?;
    let window = PageWindow::new(listed.total, requested, PAGE_SIZE);
    let at = now();
    let rows = listed
        .keys
        .into_iter()
        .map(|api_keys::ListedKey { listing, edit }| KeyRow {
            edit_refusal: refusal_reason(edit),
            status: listing.key.status_at(at).as_str(),
            id: listing.key.id,
            name: listing.key.name,
            public_id: listing.key.public_id,
            roles: listing.roles.into_iter().map(|(_, name)| name).collect(),
            created_by: listing.creator_email.unwrap_or_else(|| "—".into()),
            created: format_time(&listing.key.created_at),
            expires: format_optional(listing.key.expires_at, "Never"),
            last_used: format_optional(listing.key.last_used_at, "—"),
        })
        .collect();
    render(
        DevelopmentPage {
            asset_version: ASSET_VERSION,
            layout: Layout::new(&principal, &session, Section::Development, "Development"),
            rows,
            total: listed.total,
            page: window.page,
            pages: window.pages,
            can_create: principal.can(SERVICE_ACCOUNTS_CREATE),
            create_reason: forbidden_sentence(SERVICE_ACCOUNTS_CREATE),
            can_update: principal.can(SERVICE_ACCOUNTS_UPDATE),
            update_reason: forbidden_sentence(SERVICE_ACCOUNTS_UPDATE),
        },
        StatusCode::OK,
    )
}
