//! The Roles tab: list, create (optionally from a template), edit, delete with confirmation.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::auth::session::{flash, FlashKind};
use crate::auth::Principal;
use crate::authz::catalog::{ROLES_CREATE, ROLES_DELETE, ROLES_UPDATE};
use crate::error::{forbidden_sentence, AppError};
use crate::models::role::{self, Role};
use crate::routes::web::form::FormFields;
use crate::routes::web::layout::{Layout, Section, ASSET_VERSION};
use crate::routes::web::pickers::PermissionPicker;
use crate::routes::web::{render, see_other};
use crate::services::field;
use crate::services::roles::{self as role_service, RoleInput, TEMPLATES};
use crate::services::{grants, FieldErrors, FormError};
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
    let catalog = state.db.run(role_service::catalog).await?;
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

pub struct TemplateLink {
    pub slug: &'static str,
    pub name: &'static str,
    pub description: &'static str,
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
    templates: Vec<TemplateLink>,
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

#[allow(clippy::too_many_arguments)]
async fn form_page(
    state: &web::Data<AppState>,
    principal: &Principal,
    session: &Session,
    existing: Option<&Role>,
    input: RoleInput,
    errors: FieldErrors,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let catalog = state.db.run(role_service::catalog).await?;
    // A role the viewer could not give is beyond their rank: they may neither change nor delete it.
    let beyond = match existing {
        Some(role) if !role.is_builtin => {
            let holder = principal.permissions.clone();
            let ids = vec![role.id.clone()];
            state
                .db
                .run(move |conn| grants::first_missing(conn, &holder, &ids))
                .await?
        }
        _ => None,
    };
    let (heading, action, submit_label, read_only) = match existing {
        None => (
            "New role".to_string(),
            "/roles".to_string(),
            "Create role",
            None,
        ),
        Some(role) => {
            let read_only = if role.is_builtin {
                Some("The built-in Admin role always holds every permission, including ones added later. It cannot be changed.".to_string())
            } else if !principal.can(ROLES_UPDATE) {
                Some(forbidden_sentence(ROLES_UPDATE))
            } else {
                beyond
                    .as_deref()
                    .map(|p| grants::outranked_sentence("change this role", p))
            };
            (
                format!("Role “{}”", role.name),
                format!("/roles/{}", role.id),
                "Save",
                read_only,
            )
        }
    };
    let checked = match existing {
        Some(role) if role.grants_all => {
            catalog.permissions.iter().map(|p| p.name.clone()).collect()
        }
        _ => input.permissions.clone(),
    };
    let mut picker = PermissionPicker::new(
        field::PERMISSIONS,
        "perm",
        "Permissions",
        &catalog.permissions,
        principal,
        &checked,
        errors.get(field::PERMISSIONS).map(str::to_string),
    );
    if read_only.is_some() {
        picker = picker.read_only();
    }
    let templates = if existing.is_none() {
        TEMPLATES
            .iter()
            .map(|t| TemplateLink {
                slug: t.slug,
                name: t.name,
                description: t.description,
            })
            .collect()
    } else {
        Vec::new()
    };
    render(
        RoleFormPage {
            asset_version: ASSET_VERSION,
            layout: Layout::new(principal, session, Section::Roles, heading.clone()),
            heading,
            action,
            role_id: existing.map(|r| r.id.clone()),
            name: input.name,
            description: input.description,
            picker,
            errors,
            templates,
            read_only,
            submit_label,
            can_delete: existing.is_some_and(|r| !r.is_builtin)
                && principal.can(ROLES_DELETE)
                && beyond.is_none(),
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
    let mut input = RoleInput::default();
    if let Some(template) = query
        .template
        .as_deref()
        .and_then(|slug| TEMPLATES.iter().find(|t| t.slug == slug))
    {
        let catalog = state.db.run(role_service::catalog).await?;
        input = RoleInput {
            name: template.name.to_string(),
            description: template.description.to_string(),
            permissions: role_service::template_permissions(
                template,
                &principal,
                &catalog.permissions,
            ),
        };
    }
    form_page(
        &state,
        &principal,
        &session,
        None,
        input,
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
            form_page(
                &state,
                &principal,
                &session,
                None,
                input,
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(FormError::Failed(err)) => Err(err),
    }
}

async fn load_role(
    state: &web::Data<AppState>,
    id: String,
) -> Result<(Role, Vec<String>), AppError> {
    state
        .db
        .run(move |conn| {
            let found = role::find(conn, &id)?.ok_or(AppError::NotFound)?;
            let permissions = role::permissions_of(conn, &id)?;
            Ok((found, permissions))
        })
        .await
}

pub async fn show(
    principal: Principal,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let (existing, permissions) = load_role(&state, path.into_inner()).await?;
    let input = RoleInput {
        name: existing.name.clone(),
        description: existing.description.clone(),
        permissions,
    };
    form_page(
        &state,
        &principal,
        &session,
        Some(&existing),
        input,
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
            let (existing, _) = load_role(&state, role_id).await?;
            form_page(
                &state,
                &principal,
                &session,
                Some(&existing),
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
    let id = path.into_inner();
    let viewer = principal.clone();
    let (existing, counts) = state
        .db
        .run(move |conn| {
            let found = role::find(conn, &id)?.ok_or(AppError::NotFound)?;
            if !found.is_builtin {
                grants::require_can_change_role(conn, &viewer, &id)?;
            }
            let counts = role::holder_counts(conn, &id)?;
            Ok::<_, AppError>((found, counts))
        })
        .await?;
    if existing.is_builtin {
        return Err(AppError::Conflict(
            "The built-in Admin role cannot be deleted.".into(),
        ));
    }
    render(
        RoleDeletePage {
            asset_version: ASSET_VERSION,
            layout: Layout::new(
                &principal,
                &session,
                Section::Roles,
                format!("Delete role “{}”", existing.name),
            ),
            role_id: existing.id,
            name: existing.name,
            keys: counts.keys,
            users: counts.users,
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
