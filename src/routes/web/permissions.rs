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
use crate::models::permission::{self, Permission};
use crate::routes::web::form::FormFields;
use crate::routes::web::layout::{Layout, Section, ASSET_VERSION};
use crate::routes::web::{render, see_other};
use crate::services::permission_catalog;
use crate::services::{FieldErrors, FormError};
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
    let (all, usage) = state
        .db
        .run(|conn| Ok::<_, AppError>((permission::list(conn)?, permission::usage_counts(conn)?)))
        .await?;
    let rows = |builtin: bool| -> Vec<PermissionRow> {
        all.iter()
            .filter(|p| p.is_builtin == builtin)
            .map(|p| PermissionRow {
                name: p.name.clone(),
                description: p.description.clone(),
                builtin: p.is_builtin,
                roles: usage.get(&p.name).copied().unwrap_or(0),
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
    let (name, description) = (fields.text("name"), fields.text("description"));
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

async fn load(
    state: &web::Data<AppState>,
    name: String,
) -> Result<(Permission, Vec<String>), AppError> {
    state
        .db
        .run(move |conn| {
            let found = permission::find(conn, &name)?.ok_or(AppError::NotFound)?;
            let roles = permission::roles_using(conn, &name)?;
            Ok((found, roles))
        })
        .await
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
    let (found, roles) = load(state, name).await?;
    let read_only = if found.is_builtin {
        Some(
            "This is one of Latchkey's own permissions; it cannot be changed or deleted."
                .to_string(),
        )
    } else if !principal.can(PERMISSIONS_UPDATE) {
        Some(forbidden_sentence(PERMISSIONS_UPDATE))
    } else {
        None
    };
    render(
        PermissionFormPage {
            asset_version: ASSET_VERSION,
            layout: Layout::new(principal, session, Section::Roles, found.name.clone()),
            description: description.unwrap_or_else(|| found.description.clone()),
            can_delete: !found.is_builtin && principal.can(PERMISSIONS_DELETE),
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
    let description = fields.text("description");
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
    let (found, roles) = load(&state, path.into_inner()).await?;
    if found.is_builtin {
        return Err(AppError::Conflict(
            "Latchkey's own permissions cannot be deleted.".into(),
        ));
    }
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
