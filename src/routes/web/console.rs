//! The console shell: the overview and the tabs whose full pages arrive with later work.

use actix_session::Session;
use askama::Template;
use askama_web::WebTemplate;

use crate::auth::catalog;
use crate::auth::Principal;
use crate::templates::{Layout, Section, ASSET_VERSION};

#[derive(Template, WebTemplate)]
#[template(path = "pages/overview.html")]
pub struct OverviewPage {
    asset_version: &'static str,
    layout: Layout,
    holds_all: bool,
    permissions: Vec<String>,
}

pub async fn overview(principal: Principal, session: Session) -> OverviewPage {
    OverviewPage {
        asset_version: ASSET_VERSION,
        layout: Layout::new(&principal, &session, Section::Overview, "Overview"),
        holds_all: principal.permissions.holds_all(),
        permissions: principal.permissions.names().map(str::to_string).collect(),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/coming_soon.html")]
pub struct ComingSoonPage {
    asset_version: &'static str,
    layout: Layout,
    heading: &'static str,
    summary: &'static str,
    permission: &'static str,
}

fn coming_soon(
    principal: &Principal,
    session: &Session,
    section: Section,
    heading: &'static str,
    summary: &'static str,
    permission: &'static str,
) -> ComingSoonPage {
    ComingSoonPage {
        asset_version: ASSET_VERSION,
        layout: Layout::new(principal, session, section, heading),
        heading,
        summary,
        permission,
    }
}

pub async fn team(principal: Principal, session: Session) -> ComingSoonPage {
    coming_soon(
        &principal,
        &session,
        Section::Team,
        "Team",
        "The people who sign in to this console and the roles their superiors granted them.",
        catalog::USERS_RETRIEVE,
    )
}

pub async fn audit(principal: Principal, session: Session) -> ComingSoonPage {
    coming_soon(
        &principal,
        &session,
        Section::Audit,
        "Audit log",
        "Who did what, to which object, when and from where.",
        catalog::AUDIT_LOG_RETRIEVE,
    )
}
