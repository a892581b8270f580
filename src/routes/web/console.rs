//! The overview, the page after sign-in: what the signed-in person may do and where to go.

use actix_session::Session;
use askama::Template;
use askama_web::WebTemplate;

use crate::auth::Principal;
use crate::routes::web::layout::{Layout, Section, ASSET_VERSION};

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
