//! Inviting someone, and the one-time set-password links handed over to people.

use actix_session::Session;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use crate::auth::session::{stash_once, take_once, OneTimeSlot};
use crate::auth::Principal;
use crate::error::AppError;
use crate::routes::web::form::FormFields;
use crate::routes::web::layout::{Layout, Section, ASSET_VERSION};
use crate::routes::web::pickers::{self, RoleChecklist};
use crate::routes::web::{public_origin, render, see_other};
use crate::services::notify::{self, Delivery};
use crate::services::roles as role_service;
use crate::services::team::{self, InviteInput, LinkKind, INVITE_DAYS};
use crate::services::{FieldErrors, FormError};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "pages/invite_form.html")]
struct InvitePage {
    asset_version: &'static str,
    layout: Layout,
    email: String,
    display_name: String,
    errors: FieldErrors,
    checklist: RoleChecklist,
    invite_days: i64,
}

async fn invite_page(
    principal: &Principal,
    session: &Session,
    state: &web::Data<AppState>,
    input: InviteInput,
    errors: FieldErrors,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let catalog = state.db.run(role_service::catalog).await?;
    let checklist = RoleChecklist::new(
        &catalog,
        principal,
        &input.roles,
        errors.get(pickers::ROLE_IDS).map(str::to_string),
    );
    render(
        InvitePage {
            asset_version: ASSET_VERSION,
            layout: Layout::new(principal, session, Section::Team, "Invite a team member"),
            email: input.email,
            display_name: input.display_name,
            errors,
            checklist,
            invite_days: INVITE_DAYS,
        },
        status,
    )
}

pub async fn invite_form(
    principal: Principal,
    session: Session,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    invite_page(
        &principal,
        &session,
        &state,
        InviteInput::default(),
        FieldErrors::default(),
        StatusCode::OK,
    )
    .await
}

pub async fn invite(
    principal: Principal,
    session: Session,
    state: web::Data<AppState>,
    fields: FormFields,
) -> Result<HttpResponse, AppError> {
    let input = InviteInput {
        email: fields.text("email"),
        display_name: fields.text("display_name"),
        roles: fields.all(pickers::ROLE_IDS),
    };
    match team::invite(&state.db, principal.clone(), input.clone())
        .await
        .map_err(|e| e.renamed(pickers::MEMBER_FORM_FIELDS))
    {
        Ok(issued) => {
            stash_once(
                &session,
                OneTimeSlot::PasswordLink,
                &issued.user.id,
                &issued.token,
            )?;
            Ok(see_other(&format!("/team/{}/link", issued.user.id)))
        }
        Err(FormError::Invalid(errors)) => {
            invite_page(
                &principal,
                &session,
                &state,
                input,
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(FormError::Failed(err)) => Err(err),
    }
}

pub async fn password_link(
    principal: Principal,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let issued = team::issue_reset_link(&state.db, principal, path.into_inner()).await?;
    stash_once(
        &session,
        OneTimeSlot::PasswordLink,
        &issued.user.id,
        &issued.token,
    )?;
    Ok(see_other(&format!("/team/{}/link", issued.user.id)))
}

#[derive(Template)]
#[template(path = "pages/password_link.html")]
struct PasswordLinkPage {
    asset_version: &'static str,
    layout: Layout,
    user_id: String,
    email: String,
    link: Option<String>,
    invited: bool,
    valid_for: String,
}

/// Shows a just-issued set-password link once, for the inviter to hand over.
pub async fn issued_link(
    req: HttpRequest,
    principal: Principal,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let user_id = path.into_inner();
    let token = take_once(&session, OneTimeSlot::PasswordLink, &user_id);
    let person = team::person(&state.db, &principal, user_id.clone()).await?;
    let origin = public_origin(&req, state.public_origin.as_deref());
    let kind = LinkKind::for_person(&person);
    let link = token.map(|t| {
        match notify::deliver_password_link(
            &person.email,
            format!("{origin}/set-password?token={t}"),
        ) {
            Delivery::HandOver { link } => link,
        }
    });
    let page = PasswordLinkPage {
        asset_version: ASSET_VERSION,
        layout: Layout::new(
            &principal,
            &session,
            Section::Team,
            format!("Link for {}", person.email),
        ),
        user_id,
        email: person.email,
        link,
        invited: kind == LinkKind::Invitation,
        valid_for: kind.valid_for(),
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .content_type("text/html; charset=utf-8")
        .body(page.render()?))
}
