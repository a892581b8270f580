//! The Team tab: the list of people ([`list`]), a person's page and what may be done to them
//! ([`members`]), and invitations and password links ([`invitations`]).

pub mod invitations;
pub mod members;

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;

use crate::auth::Principal;
use crate::authz::catalog::USERS_CREATE;
use crate::error::{forbidden_sentence, AppError};
use crate::routes::web::layout::{Layout, Section, ASSET_VERSION};
use crate::routes::web::render;
use crate::routes::web::views::{format_optional, PageQuery, PageWindow, PAGE_SIZE};
use crate::services::team;
use crate::state::AppState;

pub struct MemberRow {
    pub id: String,
    pub email: String,
    pub display_name: String,
    pub roles: Vec<String>,
    pub status: String,
    pub last_sign_in: String,
}

#[derive(Template)]
#[template(path = "pages/team.html")]
struct TeamPage {
    asset_version: &'static str,
    layout: Layout,
    rows: Vec<MemberRow>,
    page: i64,
    pages: i64,
    total: i64,
    can_invite: bool,
    invite_reason: String,
}

pub async fn list(
    principal: Principal,
    session: Session,
    state: web::Data<AppState>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let total = team::count(&state.db, &principal).await?;
    let window = PageWindow::new(total, query.requested(), PAGE_SIZE);
    let members = team::page(&state.db, &principal, PAGE_SIZE, window.offset).await?;
    let rows = members
        .into_iter()
        .map(|member| MemberRow {
            roles: member.roles.into_iter().map(|(_, name)| name).collect(),
            last_sign_in: format_optional(member.user.last_sign_in_at, "Never"),
            id: member.user.id,
            email: member.user.email,
            display_name: member.user.display_name,
            status: member.user.status,
        })
        .collect();
    render(
        TeamPage {
            asset_version: ASSET_VERSION,
            layout: Layout::new(&principal, &session, Section::Team, "Team"),
            rows,
            page: window.page,
            pages: window.pages,
            total,
            can_invite: principal.can(USERS_CREATE),
            invite_reason: forbidden_sentence(USERS_CREATE),
        },
        StatusCode::OK,
    )
}
