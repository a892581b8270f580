//! A person's own account: what they may do and why, their password, and set-password links.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::auth::session::{self as auth_session, flash, FlashKind};
use crate::auth::Principal;
use crate::error::AppError;
use crate::routes::web::form::FormFields;
use crate::routes::web::layout::{Layout, Section, ASSET_VERSION};
use crate::routes::web::{client_ip, render, see_other, user_agent};
use crate::services::account::{self, ActiveSession};
use crate::services::grants::EffectivePermission;
use crate::services::{FieldErrors, FormError};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "pages/account.html")]
struct AccountPage {
    asset_version: &'static str,
    layout: Layout,
    email: String,
    roles: Vec<String>,
    effective: Vec<EffectivePermission>,
    sessions: Vec<ActiveSession>,
}

/// "Why can't I create API keys?": the user's roles and, for each permission, the role granting it;
/// and where the person is signed in.
pub async fn show(
    principal: Principal,
    session: Session,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let holdings = account::holdings(&state.db, &principal).await?;
    let sessions = account::active_sessions(
        &state.db,
        &principal,
        auth_session::current_id_hash(&session),
    )
    .await?;
    render(
        AccountPage {
            asset_version: ASSET_VERSION,
            layout: Layout::new(&principal, &session, Section::Overview, "Your account"),
            email: principal.label.clone(),
            roles: holdings.roles,
            effective: holdings.effective,
            sessions,
        },
        StatusCode::OK,
    )
}

/// "Sign out everywhere else": ends the person's other sessions; this one stays.
pub async fn end_other_sessions(
    principal: Principal,
    session: Session,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let ended = account::end_other_sessions(
        &state.db,
        principal,
        auth_session::current_id_hash(&session),
    )
    .await?;
    let message = match ended {
        0 => "You were signed in nowhere else.".to_string(),
        1 => "Your other session has been signed out.".to_string(),
        n => format!("Your {n} other sessions have been signed out."),
    };
    flash(&session, FlashKind::Success, message)?;
    Ok(see_other("/account"))
}

#[derive(Template)]
#[template(path = "pages/password_form.html")]
struct PasswordPage {
    asset_version: &'static str,
    layout: Layout,
    errors: FieldErrors,
}

pub async fn password_form(
    principal: Principal,
    session: Session,
) -> Result<HttpResponse, AppError> {
    render(
        PasswordPage {
            asset_version: ASSET_VERSION,
            layout: Layout::new(
                &principal,
                &session,
                Section::Overview,
                "Change your password",
            ),
            errors: FieldErrors::default(),
        },
        StatusCode::OK,
    )
}

pub async fn change_password(
    req: HttpRequest,
    principal: Principal,
    session: Session,
    state: web::Data<AppState>,
    fields: FormFields,
) -> Result<HttpResponse, AppError> {
    let outcome = account::change_password(
        &state.db,
        principal.clone(),
        fields.text("current_password"),
        fields.text("password"),
        fields.text("password_confirmation"),
    )
    .await;
    match outcome {
        Ok(updated) => {
            auth_session::start(&session, &updated, client_ip(&req), user_agent(&req))?;
            flash(
                &session,
                FlashKind::Success,
                "Password changed. Your other sessions have been signed out.",
            )?;
            Ok(see_other("/account"))
        }
        Err(FormError::Invalid(errors)) => render(
            PasswordPage {
                asset_version: ASSET_VERSION,
                layout: Layout::new(
                    &principal,
                    &session,
                    Section::Overview,
                    "Change your password",
                ),
                errors,
            },
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Err(FormError::Failed(err)) => Err(err),
    }
}

#[derive(Deserialize)]
pub struct TokenQuery {
    token: Option<String>,
}

#[derive(Template)]
#[template(path = "pages/set_password.html")]
struct SetPasswordPage {
    asset_version: &'static str,
    token: String,
    email: String,
    invited: bool,
    errors: FieldErrors,
}

pub async fn set_password_form(
    state: web::Data<AppState>,
    query: web::Query<TokenQuery>,
) -> Result<HttpResponse, AppError> {
    let token = query.into_inner().token.unwrap_or_default();
    let holder = account::link_holder(&state.db, token.clone())
        .await?
        .ok_or(AppError::NotFound)?;
    render(
        SetPasswordPage {
            asset_version: ASSET_VERSION,
            token,
            email: holder.email,
            invited: holder.invited,
            errors: FieldErrors::default(),
        },
        StatusCode::OK,
    )
}

pub async fn set_password(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
    fields: FormFields,
) -> Result<HttpResponse, AppError> {
    let token = fields.text("token");
    let outcome = account::redeem_link(
        &state.db,
        token.clone(),
        fields.text("password"),
        fields.text("password_confirmation"),
        client_ip(&req),
    )
    .await;
    match outcome {
        Ok(member) => {
            auth_session::start(&session, &member, client_ip(&req), user_agent(&req))?;
            flash(
                &session,
                FlashKind::Success,
                "Your password is set. Welcome to Latchkey.",
            )?;
            Ok(see_other("/"))
        }
        Err(FormError::Invalid(errors)) => {
            let holder = account::link_holder(&state.db, token.clone())
                .await?
                .ok_or(AppError::NotFound)?;
            render(
                SetPasswordPage {
                    asset_version: ASSET_VERSION,
                    token,
                    email: holder.email,
                    invited: holder.invited,
                    errors,
                },
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
        Err(FormError::Failed(err)) => Err(err),
    }
}
