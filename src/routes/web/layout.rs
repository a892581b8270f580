//! What every console page shows around its content: the tabs the user may open, who is signed in,
//! and the flash message from the previous action.

use actix_session::Session;

use crate::auth::session::{take_flash, Flash};
use crate::auth::Principal;
use crate::authz::catalog;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Overview,
    Development,
    Roles,
    Team,
    Audit,
}

/// The console's tabs and the permission each needs to be shown (`None`: every signed-in user).
pub const TABS: &[(Section, &str, &str, Option<&str>)] = &[
    (Section::Overview, "Overview", "/", None),
    (
        Section::Development,
        "Development",
        "/development",
        Some(catalog::SERVICE_ACCOUNTS_RETRIEVE),
    ),
    (
        Section::Roles,
        "Roles",
        "/roles",
        Some(catalog::ROLES_RETRIEVE),
    ),
    (
        Section::Team,
        "Team",
        "/team",
        Some(catalog::USERS_RETRIEVE),
    ),
    (
        Section::Audit,
        "Audit log",
        "/audit",
        Some(catalog::AUDIT_LOG_RETRIEVE),
    ),
];

#[derive(Debug, Clone)]
pub struct Tab {
    pub label: &'static str,
    pub href: &'static str,
    pub active: bool,
}

#[derive(Debug, Clone)]
pub struct Layout {
    pub title: String,
    pub user_name: String,
    pub user_email: String,
    pub tabs: Vec<Tab>,
    pub flash: Option<Flash>,
}

impl Layout {
    pub fn new(
        principal: &Principal,
        session: &Session,
        section: Section,
        title: impl Into<String>,
    ) -> Self {
        let tabs = TABS
            .iter()
            .filter(|(_, _, _, needs)| needs.is_none_or(|permission| principal.can(permission)))
            .map(|(tab_section, label, href, _)| Tab {
                label,
                href,
                active: *tab_section == section,
            })
            .collect();
        Self {
            title: title.into(),
            user_name: principal.display_name.clone(),
            user_email: principal.label.clone(),
            tabs,
            flash: take_flash(session),
        }
    }
}

/// Version tag appended to asset URLs so browsers fetch new files after an upgrade.
pub const ASSET_VERSION: &str = env!("CARGO_PKG_VERSION");
