//! Revoking a key, after a confirmation page.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;

use crate::auth::session::{flash, FlashKind};
use crate::auth::Principal;
use crate::error::AppError;
use crate::routes::web::layout::{Layout, Section, ASSET_VERSION};
use crate::routes::web::{render, see_other};
use crate::services::api_keys;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "pages/key_revoke.html")]
struct KeyRevokePage {
    asset_version: &'static str,
    layout: Layout,
    key_id: String,
    name: String,
    public_id: String,
}

/// Asks before revoking; refuses up front what revoking would refuse.
pub async fn confirm_revoke(
    principal: Principal,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let key = api_keys::for_revoke(&state.db, &principal, path.into_inner()).await?;
    render(
        KeyRevokePage {
            asset_version: ASSET_VERSION,
            layout: Layout::new(
                &principal,
                &session,
                Section::Development,
                format!("Revoke “{}”", key.name),
            ),
            key_id: key.id,
            name: key.name,
            public_id: key.public_id,
        },
        StatusCode::OK,
    )
}

pub async fn revoke(
    principal: Principal,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let revoked = api_keys::revoke(&state.db, principal, path.into_inner()).await?;
    flash(
        &session,
        FlashKind::Success,
        format!(
            "API key “{}” revoked. It can never authenticate again.",
            revoked.key.name
        ),
    )?;
    Ok(see_other("/development"))
}
