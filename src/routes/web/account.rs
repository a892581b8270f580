//! A person's own account: what they may do and why, their password, and set-password links.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::auth::session::{self as auth_session, flash, FlashKind};
use crate::auth::Principal;
use crate::error::AppError;
use crate::models::{role, user};
use crate::routes::web::form::FormFields;
use crate::routes::web::{client_ip, render, see_other};
use crate::services::account;
use crate::services::roles::{effective_permissions, EffectivePermission};
use crate::services::{FieldErrors, FormError};
use crate::startup::AppState;
use crate::templates::{Layout, Section, ASSET_VERSION};

#[derive(Template)]
#[template(path = "pages/account.html")]
struct AccountPage {
    asset_version: &'static str,
    layout: Layout,
    email: String,
    roles: Vec<String>,
    effective: Vec<EffectivePermission>,
}

/// "Why can't I create API keys?": the user's roles and, for each permission, the role granting it.
pub async fn show(
    principal: Principal,
    session: Session,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let user_id = principal.id.clone();
    let (roles, effective) = state
        .db
        .run(move |conn| {
            let role_ids = user::role_ids(conn, &user_id)?;
            let roles = role::find_many(conn, &role_ids)?;
            let effective = effective_permissions(conn, &roles)?;
            Ok::<_, AppError>((roles, effective))
        })
        .await?;
    render(
        AccountPage {
            asset_version: ASSET_VERSION,
            layout: Layout::new(&principal, &session, Section::Overview, "Your account"),
            email: principal.label.clone(),
            roles: roles.into_iter().map(|r| r.name).collect(),
            effective,
        },
        StatusCode::OK,
    )
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
            auth_session::start(&session, &updated)?;
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
    let (link, holder) = account::link_holder(&state.db, token.clone())
        .await?
        .ok_or(AppError::NotFound)?;
    render(
        SetPasswordPage {
            asset_version: ASSET_VERSION,
            token,
            email: holder.email,
            invited: link.purpose == crate::models::user_token::PURPOSE_INVITE,
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
            auth_session::start(&session, &member)?;
            flash(
                &session,
                FlashKind::Success,
                "Your password is set. Welcome to Latchkey.",
            )?;
            Ok(see_other("/"))
        }
        Err(FormError::Invalid(errors)) => {
            let (link, holder) = account::link_holder(&state.db, token.clone())
                .await?
                .ok_or(AppError::NotFound)?;
            render(
                SetPasswordPage {
                    asset_version: ASSET_VERSION,
                    token,
                    email: holder.email,
                    invited: link.purpose == crate::models::user_token::PURPOSE_INVITE,
                    errors,
                },
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
        Err(FormError::Failed(err)) => Err(err),
    }
}
