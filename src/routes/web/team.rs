//! The Team tab: people, their roles, invitations, deactivation, password links.

use actix_session::Session;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use crate::auth::session::{flash, stash_once, take_once, FlashKind, OneTimeSlot};
use crate::auth::Principal;
use crate::authz::catalog::{SERVICE_ACCOUNTS_DELETE, USERS_CREATE, USERS_DELETE, USERS_UPDATE};
use crate::authz::UserStatus;
use crate::error::{forbidden_sentence, AppError};
use crate::models::{api_key, role, user};
use crate::routes::web::form::FormFields;
use crate::routes::web::layout::{Layout, Section, ASSET_VERSION};
use crate::routes::web::pickers::{self, RoleChecklist};
use crate::routes::web::views::{
    format_time, history_rows, HistoryRow, PageQuery, PageWindow, PAGE_SIZE,
};
use crate::routes::web::{public_origin, render, see_other};
use crate::services::grants::{effective_permissions, EffectivePermission};
use crate::services::notify::{self, Delivery};
use crate::services::roles as role_service;
use crate::services::team::{self, InviteInput, INVITE_DAYS, RESET_HOURS};
use crate::services::{audit_log, grants, FieldErrors, FormError};
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
    let requested = query.requested();
    let (total, users, roles) = state
        .db
        .run(move |conn| {
            let total = user::count(conn)?;
            let window = PageWindow::new(total, requested, PAGE_SIZE);
            let users = user::list_page(conn, PAGE_SIZE, window.offset)?;
            let ids: Vec<String> = users.iter().map(|u| u.id.clone()).collect();
            let roles = user::roles_of_users(conn, &ids)?;
            Ok::<_, AppError>((total, users, roles))
        })
        .await?;
    let window = PageWindow::new(total, requested, PAGE_SIZE);
    let rows = users
        .into_iter()
        .map(|u| MemberRow {
            roles: roles
                .get(&u.id)
                .map(|r| r.iter().map(|(_, name)| name.clone()).collect())
                .unwrap_or_default(),
            last_sign_in: u
                .last_sign_in_at
                .as_ref()
                .map_or_else(|| "Never".into(), format_time),
            id: u.id,
            email: u.email,
            display_name: u.display_name,
            status: u.status,
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
        &input.role_ids,
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
        role_ids: fields.all(pickers::ROLE_IDS),
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
    let lookup = user_id.clone();
    let member = state
        .db
        .run(move |conn| user::find(conn, &lookup)?.ok_or(AppError::NotFound))
        .await?;
    let origin = public_origin(&req, state.public_origin.as_deref());
    let invited = member.status == UserStatus::Invited.as_str();
    let link = token.map(|t| {
        match notify::deliver_password_link(
            &member.email,
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
            format!("Link for {}", member.email),
        ),
        user_id,
        email: member.email,
        link,
        valid_for: if invited {
            format!("{INVITE_DAYS} days")
        } else {
            format!("{RESET_HOURS} hours")
        },
        invited,
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .content_type("text/html; charset=utf-8")
        .body(page.render()?))
}

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
    /// Why the viewer may not issue a password link for this person (their own account, or a
    /// person beyond their rank).
    link_refusal: Option<String>,
    /// Why the viewer may not deactivate or reactivate this person (beyond their rank).
    status_refusal: Option<String>,
    /// Why the viewer may not change this person's roles (beyond their rank).
    roles_refusal: Option<String>,
    is_self: bool,
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
    let lookup = user_id.clone();
    let holder = principal.permissions.clone();
    let (member, roles, catalog, beyond) = state
        .db
        .run(move |conn| {
            let member = user::find(conn, &lookup)?.ok_or(AppError::NotFound)?;
            let role_ids = user::role_ids(conn, &lookup)?;
            let roles = role::find_many(conn, &role_ids)?;
            let catalog = role_service::catalog(conn)?;
            let beyond = grants::first_missing(conn, &holder, &role_ids)?;
            Ok::<_, AppError>((member, roles, catalog, beyond))
        })
        .await?;
    let is_self = principal.user_id() == Some(member.id.as_str());
    let link_refusal = if is_self {
        Some(team::OWN_RESET_LINK.to_string())
    } else {
        beyond
            .as_deref()
            .map(|p| grants::outranked_sentence("issue a password link for this person", p))
    };
    let status_refusal = beyond.as_deref().map(|p| {
        grants::outranked_sentence(
            if member.status == UserStatus::Deactivated.as_str() {
                "reactivate this person"
            } else {
                "deactivate this person"
            },
            p,
        )
    });
    let roles_refusal = beyond
        .as_deref()
        .map(|p| grants::outranked_sentence("change their roles", p));
    let effective = {
        let held = roles.clone();
        state
            .db
            .run(move |conn| effective_permissions(conn, &held))
            .await?
    };
    let history = history_rows(audit_log::history(&state.db, principal, user_id.clone()).await?);
    let checked = checked.unwrap_or_else(|| roles.iter().map(|r| r.id.clone()).collect());
    let checklist = RoleChecklist::new(
        &catalog,
        principal,
        &checked,
        errors.get(pickers::ROLE_IDS).map(str::to_string),
    );
    render(
        MemberPage {
            asset_version: ASSET_VERSION,
            layout: Layout::new(principal, session, Section::Team, member.email.clone()),
            is_self,
            link_refusal,
            status_refusal,
            roles_refusal,
            user_id,
            created: format_time(&member.created_at),
            last_sign_in: member
                .last_sign_in_at
                .as_ref()
                .map_or_else(|| "Never".into(), format_time),
            email: member.email,
            display_name: member.display_name,
            status: member.status,
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
    let lookup = user_id.clone();
    let viewer = principal.clone();
    let (member, active_keys, beyond_key) = state
        .db
        .run(move |conn| {
            let member = user::find(conn, &lookup)?.ok_or(AppError::NotFound)?;
            grants::require_can_change_user(conn, &viewer, &lookup)?;
            let keys = api_key::active_ids_created_by(conn, &lookup)?;
            let mut beyond_key = None;
            for key_id in &keys {
                if let Some(missing) = grants::missing_for_key(conn, &viewer.permissions, key_id)? {
                    beyond_key = Some(missing);
                    break;
                }
            }
            Ok::<_, AppError>((member, keys.len() as i64, beyond_key))
        })
        .await?;
    let revoke_refusal = if !principal.can(SERVICE_ACCOUNTS_DELETE) {
        Some(forbidden_sentence(SERVICE_ACCOUNTS_DELETE))
    } else {
        beyond_key
            .as_deref()
            .map(|p| grants::outranked_sentence("revoke every key they created", p))
    };
    render(
        DeactivatePage {
            asset_version: ASSET_VERSION,
            layout: Layout::new(
                &principal,
                &session,
                Section::Team,
                format!("Deactivate {}", member.email),
            ),
            user_id,
            email: member.email,
            active_keys,
            revoke_refusal,
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
