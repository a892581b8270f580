//! A person's page: their roles, what they may do, and deactivating or reactivating them.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;

use crate::auth::session::{flash, FlashKind};
use crate::auth::Principal;
use crate::authz::catalog::{USERS_DELETE, USERS_UPDATE};
use crate::error::{forbidden_sentence, AppError};
use crate::routes::web::form::FormFields;
use crate::routes::web::layout::{Layout, Section, ASSET_VERSION};
use crate::routes::web::pickers::{self, RoleChecklist};
use crate::routes::web::views::{format_optional, format_time, history_rows, HistoryRow};
use crate::routes::web::{render, see_other};
use crate::services::grants::EffectivePermission;
use crate::services::roles as role_service;
use crate::services::team::{self, MemberAction};
use crate::services::{audit_log, refusal_reason, FieldErrors, FormError};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "pages/member.html")]
struct MemberPage {
    asset_version: &'static str,
    layout: Layout,
    user_id: String,
    email: String,
    display_name: String,
    status: String,
    created: String,
    last_sign_in: String,
    checklist: RoleChecklist,
    effective: Vec<EffectivePermission>,
    can_update: bool,
    update_reason: String,
    can_deactivate: bool,
    deactivate_reason: String,
    /// Why the viewer may not issue a password link for this person.
    link_refusal: Option<String>,
    /// Why the viewer may not deactivate or reactivate this person.
    status_refusal: Option<String>,
    /// Why the viewer may not change this person's roles.
    roles_refusal: Option<String>,
    deactivated: bool,
    /// "New invitation link" for someone invited, "Password reset link" otherwise.
    link_label: &'static str,
    /// "Reactivate" for someone deactivated, "Deactivate…" otherwise, and its button's look.
    status_label: &'static str,
    status_class: &'static str,
    history: Vec<HistoryRow>,
}

async fn member_page(
    principal: &Principal,
    session: &Session,
    state: &web::Data<AppState>,
    user_id: String,
    checked: Option<Vec<String>>,
    errors: FieldErrors,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let team::MemberDetail { member, effective } =
        team::member(&state.db, principal, user_id.clone()).await?;
    let catalog = state.db.run(role_service::catalog).await?;
    let history = history_rows(audit_log::history(&state.db, principal, user_id.clone()).await?);
    let checklist = RoleChecklist::new(
        &catalog,
        principal,
        checked.as_deref().unwrap_or(&member.role_ids),
        errors.get(pickers::ROLE_IDS).map(str::to_string),
    );
    let link_refusal = refusal_reason(team::can_send_link(&member));
    let status_refusal = refusal_reason(team::can_change_status(&member));
    let roles_refusal = refusal_reason(team::can_act_on(&member, MemberAction::ChangeRoles));
    let deactivated = member.is_deactivated();
    let invited = member.is_invited();
    let person = member.user;
    render(
        MemberPage {
            asset_version: ASSET_VERSION,
            layout: Layout::new(principal, session, Section::Team, person.email.clone()),
            deactivated,
            link_label: if invited {
                "New invitation link"
            } else {
                "Password reset link"
            },
            status_label: if deactivated {
                "Reactivate"
            } else {
                "Deactivate…"
            },
            status_class: if deactivated {
                "button"
            } else {
                "button button-danger-outline"
            },
            link_refusal,
            status_refusal,
            roles_refusal,
            user_id,
            created: format_time(&person.created_at),
            last_sign_in: format_optional(person.last_sign_in_at, "Never"),
            email: person.email,
            display_name: person.display_name,
            status: person.status,
            checklist,
            effective,
            can_update: principal.can(USERS_UPDATE),
            update_reason: forbidden_sentence(USERS_UPDATE),
            can_deactivate: principal.can(USERS_DELETE),
            deactivate_reason: forbidden_sentence(USERS_DELETE),
            history,
        },
        status,
    )
}

pub async fn show(
    principal: Principal,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    member_page(
        &principal,
        &session,
        &state,
        path.into_inner(),
        None,
        FieldErrors::default(),
        StatusCode::OK,
    )
    .await
}

pub async fn update_roles(
    principal: Principal,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<String>,
    fields: FormFields,
) -> Result<HttpResponse, AppError> {
    let user_id = path.into_inner();
    let requested = fields.all(pickers::ROLE_IDS);
    match team::set_roles(
        &state.db,
        principal.clone(),
        user_id.clone(),
        requested.clone(),
    )
    .await
    .map_err(|e| e.renamed(pickers::MEMBER_FORM_FIELDS))
    {
        Ok(member) => {
            flash(
                &session,
                FlashKind::Success,
                format!("Roles of {} saved.", member.email),
            )?;
            Ok(see_other(&format!("/team/{user_id}")))
        }
        Err(FormError::Invalid(errors)) => {
            member_page(
                &principal,
                &session,
                &state,
                user_id,
                Some(requested),
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(FormError::Failed(err)) => Err(err),
    }
}

#[derive(Template)]
#[template(path = "pages/member_deactivate.html")]
struct DeactivatePage {
    asset_version: &'static str,
    layout: Layout,
    user_id: String,
    email: String,
    active_keys: i64,
    /// Why the viewer may not also revoke the keys this person created.
    revoke_refusal: Option<String>,
}

pub async fn confirm_deactivate(
    principal: Principal,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let user_id = path.into_inner();
    let preview = team::deactivation_preview(&state.db, &principal, user_id.clone()).await?;
    render(
        DeactivatePage {
            asset_version: ASSET_VERSION,
            layout: Layout::new(
                &principal,
                &session,
                Section::Team,
                format!("Deactivate {}", preview.user.email),
            ),
            user_id,
            email: preview.user.email,
            active_keys: i64::try_from(preview.active_keys).unwrap_or(i64::MAX),
            revoke_refusal: refusal_reason(preview.revoke_keys),
        },
        StatusCode::OK,
    )
}

pub async fn deactivate(
    principal: Principal,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<String>,
    fields: FormFields,
) -> Result<HttpResponse, AppError> {
    let user_id = path.into_inner();
    let revoke_keys = fields.text("revoke_keys") == "yes";
    let (member, revoked) =
        team::deactivate(&state.db, principal, user_id.clone(), revoke_keys).await?;
    let message = if revoke_keys {
        format!(
            "{} is deactivated and signed out; {revoked} of their API keys were revoked.",
            member.email
        )
    } else {
        format!(
            "{} is deactivated and signed out. The API keys they created keep working.",
            member.email
        )
    };
    flash(&session, FlashKind::Success, message)?;
    Ok(see_other(&format!("/team/{user_id}")))
}

pub async fn reactivate(
    principal: Principal,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let user_id = path.into_inner();
    let member = team::reactivate(&state.db, principal, user_id.clone()).await?;
    flash(
        &session,
        FlashKind::Success,
        format!("{} is active again.", member.email),
    )?;
    Ok(see_other(&format!("/team/{user_id}")))
}
