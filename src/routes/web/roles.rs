//! The Roles tab: list, create (optionally from a template), edit, delete with confirmation.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::auth::session::{flash, FlashKind};
use crate::auth::Principal;
use crate::authz::catalog::ROLES_CREATE;
use crate::error::{forbidden_sentence, AppError};
use crate::routes::web::form::FormFields;
use crate::routes::web::layout::{Layout, Section, ASSET_VERSION};
use crate::routes::web::pickers::PermissionPicker;
use crate::routes::web::{render, see_other};
use crate::services::field;
use crate::services::roles::{
    self as role_service, EditedRole, RoleInput, RoleTemplate, TEMPLATES,
};
use crate::services::{refusal_reason, FieldErrors, FormError};
use crate::state::AppState;

pub struct RoleRow {
    pub id: String,
    pub name: String,
    pub description: String,
    pub permissions: String,
    pub keys: i64,
    pub users: i64,
    pub builtin: bool,
}

#[derive(Template)]
#[template(path = "pages/roles.html")]
struct RolesPage {
    asset_version: &'static str,
    layout: Layout,
    rows: Vec<RoleRow>,
    can_create: bool,
    create_reason: String,
}

pub async fn list(
    principal: Principal,
    session: Session,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let catalog = role_service::all(&state.db, &principal).await?;
    let rows = catalog
        .roles
        .iter()
        .map(|r| {
            let counts = catalog.counts.get(&r.id).copied().unwrap_or_default();
            RoleRow {
                id: r.id.clone(),
                name: r.name.clone(),
                description: r.description.clone(),
                permissions: if r.grants_all {
                    "All".to_string()
                } else {
                    counts.permissions.to_string()
                },
                keys: counts.keys,
                users: counts.users,
                builtin: r.is_builtin,
            }
        })
        .collect();
    render(
        RolesPage {
            asset_version: ASSET_VERSION,
            layout: Layout::new(&principal, &session, Section::Roles, "Roles"),
            rows,
            can_create: principal.can(ROLES_CREATE),
            create_reason: forbidden_sentence(ROLES_CREATE),
        },
        StatusCode::OK,
    )
}

#[derive(Template)]
#[template(path = "pages/role_form.html")]
struct RoleFormPage {
    asset_version: &'static str,
    layout: Layout,
    heading: String,
    action: String,
    role_id: Option<String>,
    name: String,
    description: String,
    picker: PermissionPicker,
    errors: FieldErrors,
    templates: &'static [RoleTemplate],
    read_only: Option<String>,
    submit_label: &'static str,
    can_delete: bool,
}

#[derive(Deserialize)]
pub struct NewRoleQuery {
    template: Option<String>,
}

fn input_from(fields: &FormFields) -> RoleInput {
    RoleInput {
        name: fields.text(field::NAME),
        description: fields.text(field::DESCRIPTION),
        permissions: fields.all(field::PERMISSIONS),
    }
}

fn form_page(
    principal: &Principal,
    session: &Session,
    form: role_service::RoleForm,
    input: RoleInput,
    errors: FieldErrors,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let (heading, action, submit_label) = match &form.role {
        None => ("New role".to_string(), "/roles".to_string(), "Create role"),
        Some(EditedRole { role, .. }) => (
            format!("Role “{}”", role.name),
            format!("/roles/{}", role.id),
            "Save",
        ),
    };
    let read_only = form
        .role
        .as_ref()
        .and_then(|edited| refusal_reason(edited.edit.clone()));
    let mut picker = PermissionPicker::new(
        field::PERMISSIONS,
        "perm",
        "Permissions",
        &form.catalog,
        principal,
        &input.permissions,
        errors.get(field::PERMISSIONS).map(str::to_string),
    );
    if read_only.is_some() {
        picker = picker.read_only();
    }
    render(
        RoleFormPage {
            asset_version: ASSET_VERSION,
            layout: Layout::new(principal, session, Section::Roles, heading.clone()),
            heading,
            action,
            role_id: form.role.as_ref().map(|edited| edited.role.id.clone()),
            name: input.name,
            description: input.description,
            picker,
            errors,
            templates: if form.role.is_none() { TEMPLATES } else { &[] },
            read_only,
            submit_label,
            can_delete: form
                .role
                .as_ref()
                .is_some_and(|edited| edited.delete.is_ok()),
        },
        status,
    )
}

pub async fn new_form(
    principal: Principal,
    session: Session,
    state: web::Data<AppState>,
    query: web::Query<NewRoleQuery>,
) -> Result<HttpResponse, AppError> {
    let form = role_service::form(&state.db, &principal, None).await?;
    let input = query
        .template
        .as_deref()
        .and_then(|slug| role_service::from_template(slug, &principal, &form.catalog))
        .unwrap_or_default();
    form_page(
        &principal,
        &session,
        form,
        input,
        FieldErrors::default(),
        StatusCode::OK,
    )
}

pub async fn create(
    principal: Principal,
    session: Session,
    state: web::Data<AppState>,
    fields: FormFields,
) -> Result<HttpResponse, AppError> {
    let input = input_from(&fields);
    match role_service::create(&state.db, principal.clone(), input.clone()).await {
        Ok(created) => {
            flash(
                &session,
                FlashKind::Success,
                format!("Role “{}” created.", created.name),
            )?;
            Ok(see_other("/roles"))
        }
        Err(FormError::Invalid(errors)) => {
            let form = role_service::form(&state.db, &principal, None).await?;
            form_page(
                &principal,
                &session,
                form,
                input,
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
        Err(FormError::Failed(err)) => Err(err),
    }
}

pub async fn show(
    principal: Principal,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let form = role_service::form(&state.db, &principal, Some(path.into_inner())).await?;
    let input = match &form.role {
        Some(edited) => RoleInput {
            name: edited.role.name.clone(),
            description: edited.role.description.clone(),
            permissions: edited.permissions.clone(),
        },
        None => RoleInput::default(),
    };
    form_page(
        &principal,
        &session,
        form,
        input,
        FieldErrors::default(),
        StatusCode::OK,
    )
}

pub async fn update(
    principal: Principal,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<String>,
    fields: FormFields,
) -> Result<HttpResponse, AppError> {
    let role_id = path.into_inner();
    let input = input_from(&fields);
    match role_service::update(&state.db, principal.clone(), role_id.clone(), input.clone()).await {
        Ok(saved) => {
            flash(
                &session,
                FlashKind::Success,
                format!("Role “{}” saved.", saved.name),
            )?;
            Ok(see_other("/roles"))
        }
        Err(FormError::Invalid(errors)) => {
            let form = role_service::form(&state.db, &principal, Some(role_id)).await?;
            form_page(
                &principal,
                &session,
                form,
                input,
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
        Err(FormError::Failed(err)) => Err(err),
    }
}

#[derive(Template)]
#[template(path = "pages/role_delete.html")]
struct RoleDeletePage {
    asset_version: &'static str,
    layout: Layout,
    role_id: String,
    name: String,
    keys: i64,
    users: i64,
}

pub async fn confirm_delete(
    principal: Principal,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let deletion = role_service::deletion(&state.db, &principal, path.into_inner()).await?;
    render(
        RoleDeletePage {
            asset_version: ASSET_VERSION,
            layout: Layout::new(
                &principal,
                &session,
                Section::Roles,
                format!("Delete role “{}”", deletion.role.name),
            ),
            role_id: deletion.role.id,
            name: deletion.role.name,
            keys: deletion.holders.keys,
            users: deletion.holders.users,
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
    let deleted = role_service::delete(&state.db, principal, path.into_inner()).await?;
    flash(
        &session,
        FlashKind::Success,
        format!("Role “{}” deleted.", deleted.name),
    )?;
    Ok(see_other("/roles"))
}
