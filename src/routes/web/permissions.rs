//! The permission catalog (under Roles): Latchkey's own permissions, read-only, and the ones the
//! operator defines for their own systems.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;

use crate::auth::session::{flash, FlashKind};
use crate::auth::Principal;
use crate::authz::catalog::{PERMISSIONS_CREATE, PERMISSIONS_DELETE, PERMISSIONS_UPDATE};
use crate::error::{forbidden_sentence, AppError};
use crate::routes::web::form::FormFields;
use crate::routes::web::layout::{Layout, Section, ASSET_VERSION};
use crate::routes::web::{render, see_other};
use crate::services::permission_catalog::{self, Permission, PermissionDetail};
use crate::services::{field, permitted, refusal_reason, FieldErrors, FormError};
use crate::state::AppState;

pub struct PermissionRow {
    pub name: String,
    pub description: String,
    pub builtin: bool,
    pub roles: i64,
}

#[derive(Template)]
#[template(path = "pages/permissions.html")]
struct PermissionsPage {
    asset_version: &'static str,
    layout: Layout,
    custom: Vec<PermissionRow>,
    builtin: Vec<PermissionRow>,
    name: String,
    description: String,
    errors: FieldErrors,
    can_create: bool,
    create_reason: String,
}

async fn page(
    principal: &Principal,
    session: &Session,
    state: &web::Data<AppState>,
    name: String,
    description: String,
    errors: FieldErrors,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let all = permission_catalog::all(&state.db, principal).await?;
    let rows = |builtin: bool| -> Vec<PermissionRow> {
        all.iter()
            .filter(|usage| usage.permission.is_builtin == builtin)
            .map(|usage| PermissionRow {
                name: usage.permission.name.clone(),
                description: usage.permission.description.clone(),
                builtin: usage.permission.is_builtin,
                roles: usage.roles,
            })
            .collect()
    };
    render(
        PermissionsPage {
            asset_version: ASSET_VERSION,
            layout: Layout::new(principal, session, Section::Roles, "Permissions"),
            custom: rows(false),
            builtin: rows(true),
            name,
            description,
            errors,
            can_create: principal.can(PERMISSIONS_CREATE),
            create_reason: forbidden_sentence(PERMISSIONS_CREATE),
        },
        status,
    )
}

pub async fn list(
    principal: Principal,
    session: Session,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    page(
        &principal,
        &session,
        &state,
        String::new(),
        String::new(),
        FieldErrors::default(),
        StatusCode::OK,
    )
    .await
}

pub async fn create(
    principal: Principal,
    session: Session,
    state: web::Data<AppState>,
    fields: FormFields,
) -> Result<HttpResponse, AppError> {
    let (name, description) = (fields.text(field::NAME), fields.text(field::DESCRIPTION));
    match permission_catalog::create(
        &state.db,
        principal.clone(),
        name.clone(),
        description.clone(),
    )
    .await
    {
        Ok(created) => {
            flash(
                &session,
                FlashKind::Success,
                format!(
                    "Permission {} added. Give it to roles on the Roles tab.",
                    created.name
                ),
            )?;
            Ok(see_other("/roles/permissions"))
        }
        Err(FormError::Invalid(errors)) => {
            page(
                &principal,
                &session,
                &state,
                name,
                description,
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(FormError::Failed(err)) => Err(err),
    }
}

#[derive(Template)]
#[template(path = "pages/permission_form.html")]
struct PermissionFormPage {
    asset_version: &'static str,
    layout: Layout,
    permission: Permission,
    description: String,
    roles: Vec<String>,
    errors: FieldErrors,
    read_only: Option<String>,
    can_delete: bool,
}

async fn form_page(
    principal: &Principal,
    session: &Session,
    state: &web::Data<AppState>,
    name: String,
    description: Option<String>,
    errors: FieldErrors,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let PermissionDetail {
        permission: found,
        roles,
    } = permission_catalog::detail(&state.db, principal, name).await?;
    let read_only = refusal_reason(
        permission_catalog::can_edit(&found)
            .and_then(|()| permitted(principal, PERMISSIONS_UPDATE)),
    );
    render(
        PermissionFormPage {
            asset_version: ASSET_VERSION,
            layout: Layout::new(principal, session, Section::Roles, found.name.clone()),
            description: description.unwrap_or_else(|| found.description.clone()),
            can_delete: permission_catalog::can_delete(&found).is_ok()
                && principal.can(PERMISSIONS_DELETE),
            permission: found,
            roles,
            errors,
            read_only,
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
    form_page(
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

pub async fn update(
    principal: Principal,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<String>,
    fields: FormFields,
) -> Result<HttpResponse, AppError> {
    let name = path.into_inner();
    let description = fields.text(field::DESCRIPTION);
    match permission_catalog::update(
        &state.db,
        principal.clone(),
        name.clone(),
        description.clone(),
    )
    .await
    {
        Ok(saved) => {
            flash(
                &session,
                FlashKind::Success,
                format!("Permission {} saved.", saved.name),
            )?;
            Ok(see_other("/roles/permissions"))
        }
        Err(FormError::Invalid(errors)) => {
            form_page(
                &principal,
                &session,
                &state,
                name,
                Some(description),
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(FormError::Failed(err)) => Err(err),
    }
}

#[derive(Template)]
#[template(path = "pages/permission_delete.html")]
struct PermissionDeletePage {
    asset_version: &'static str,
    layout: Layout,
    name: String,
    roles: Vec<String>,
}

pub async fn confirm_delete(
    principal: Principal,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let PermissionDetail {
        permission: found,
        roles,
    } = permission_catalog::deletion(&state.db, &principal, path.into_inner()).await?;
    render(
        PermissionDeletePage {
            asset_version: ASSET_VERSION,
            layout: Layout::new(
                &principal,
                &session,
                Section::Roles,
                format!("Delete {}", found.name),
            ),
            name: found.name,
            roles,
        },
        StatusCode::OK,
    )
}

pub async fn delete(
    principal: Principal,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let name = path.into_inner();
    let roles = permission_catalog::delete(&state.db, principal, name.clone()).await?;
    let message = if roles.is_empty() {
        format!("Permission {name} deleted.")
    } else {
        format!(
            "Permission {name} deleted and removed from {} role(s): {}.",
            roles.len(),
            roles.join(", ")
        )
    };
    flash(&session, FlashKind::Success, message)?;
    Ok(see_other("/roles/permissions"))
}
