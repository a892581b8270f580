//! The Development tab: API keys. List, create (with the "Roles & access" field and inline role
//! creation), show the secret once, detail with effective permissions, edit, revoke.

use actix_session::Session;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse};
use askama::Template;

use crate::auth::session::{flash, stash_once, take_once, FlashKind, OneTimeSlot};
use crate::auth::Principal;
use crate::authz::catalog::{
    SERVICE_ACCOUNTS_CREATE, SERVICE_ACCOUNTS_DELETE, SERVICE_ACCOUNTS_UPDATE,
};
use crate::db::now;
use crate::error::{forbidden_sentence, AppError};
use crate::models::api_key;
use crate::routes::web::form::FormFields;
use crate::routes::web::layout::{Layout, Section, ASSET_VERSION};
use crate::routes::web::pickers::{self, InlineRoleDraft, RolesAccessField};
use crate::routes::web::views::{
    format_optional, format_time, history_rows, HistoryRow, PageQuery, PageWindow, PAGE_SIZE,
};
use crate::routes::web::{render, see_other};
use crate::services::api_keys::{self as key_service, Expiry, KeyInput};
use crate::services::grants::EffectivePermission;
use crate::services::roles::{self as role_service, RoleInput};
use crate::services::{audit_log, grants, FieldErrors, FormError};
use crate::state::AppState;

pub struct KeyRow {
    pub id: String,
    pub name: String,
    pub public_id: String,
    pub roles: Vec<String>,
    pub created_by: String,
    pub created: String,
    pub expires: String,
    pub last_used: String,
    pub status: &'static str,
    /// Why the viewer may not edit this key (beyond their rank).
    pub edit_refusal: Option<String>,
}

#[derive(Template)]
#[template(path = "pages/development.html")]
struct DevelopmentPage {
    asset_version: &'static str,
    layout: Layout,
    rows: Vec<KeyRow>,
    total: i64,
    page: i64,
    pages: i64,
    can_create: bool,
    create_reason: String,
    can_update: bool,
    update_reason: String,
}

pub async fn list(
    principal: Principal,
    session: Session,
    state: web::Data<AppState>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let requested = query.requested();
    let holder = principal.permissions.clone();
    let (total, listings, beyond) = state
        .db
        .run(move |conn| {
            let total = api_key::count(conn)?;
            let window = PageWindow::new(total, requested, PAGE_SIZE);
            let listings = api_key::list_page(conn, PAGE_SIZE, window.offset)?;
            let role_sets: Vec<Vec<String>> = listings
                .iter()
                .map(|l| l.roles.iter().map(|(id, _)| id.clone()).collect())
                .collect();
            let beyond = grants::first_missing_each(conn, &holder, &role_sets)?;
            Ok::<_, AppError>((total, listings, beyond))
        })
        .await?;
    let window = PageWindow::new(total, requested, PAGE_SIZE);
    let at = now();
    let rows = listings
        .into_iter()
        .zip(beyond)
        .map(|(listing, beyond)| KeyRow {
            edit_refusal: beyond
                .as_deref()
                .map(|p| grants::outranked_sentence("change this key", p)),
            status: listing.key.status_at(at).as_str(),
            id: listing.key.id,
            name: listing.key.name,
            public_id: listing.key.public_id,
            roles: listing.roles.into_iter().map(|(_, name)| name).collect(),
            created_by: listing.creator_email.unwrap_or_else(|| "—".into()),
            created: format_time(&listing.key.created_at),
            expires: format_optional(listing.key.expires_at, "Never"),
            last_used: format_optional(listing.key.last_used_at, "—"),
        })
        .collect();
    render(
        DevelopmentPage {
            asset_version: ASSET_VERSION,
            layout: Layout::new(&principal, &session, Section::Development, "Development"),
            rows,
            total,
            page: window.page,
            pages: window.pages,
            can_create: principal.can(SERVICE_ACCOUNTS_CREATE),
            create_reason: forbidden_sentence(SERVICE_ACCOUNTS_CREATE),
            can_update: principal.can(SERVICE_ACCOUNTS_UPDATE),
            update_reason: forbidden_sentence(SERVICE_ACCOUNTS_UPDATE),
        },
        StatusCode::OK,
    )
}

#[derive(Template)]
#[template(path = "pages/key_form.html")]
struct KeyFormPage {
    asset_version: &'static str,
    layout: Layout,
    heading: String,
    action: String,
    editing: bool,
    key_id: String,
    name: String,
    description: String,
    expiry: String,
    expires_on: String,
    current_expiry: String,
    errors: FieldErrors,
    roles_access: RolesAccessField,
    submit_label: &'static str,
}

/// What the key form submitted, as the service's input and as the draft to re-render.
struct KeyFormValues {
    name: String,
    description: String,
    expiry: String,
    expires_on: String,
    role_ids: Vec<String>,
    draft: InlineRoleDraft,
}

impl KeyFormValues {
    fn read(fields: &FormFields) -> Self {
        Self {
            name: fields.text("name"),
            description: fields.text("description"),
            expiry: fields.text("expiry"),
            expires_on: fields.text("expires_on"),
            role_ids: fields.all(pickers::ROLE_IDS),
            draft: InlineRoleDraft {
                name: fields.text(pickers::NEW_ROLE_NAME),
                description: fields.text(pickers::NEW_ROLE_DESCRIPTION),
                permissions: fields.all(pickers::NEW_ROLE_PERMISSIONS),
                open: false,
            },
        }
    }

    /// Without JavaScript the inline role's fields travel with the key form: a name or a chosen
    /// permission means "create this role with the key".
    fn wants_new_role(&self) -> bool {
        !self.draft.name.trim().is_empty() || !self.draft.permissions.is_empty()
    }

    fn to_input(&self) -> KeyInput {
        KeyInput {
            name: self.name.clone(),
            description: self.description.clone(),
            expiry: Expiry::from_form(&self.expiry, &self.expires_on),
            role_ids: self.role_ids.clone(),
            new_roles: self
                .wants_new_role()
                .then(|| RoleInput {
                    name: self.draft.name.clone(),
                    description: self.draft.description.clone(),
                    permissions: self.draft.permissions.clone(),
                })
                .into_iter()
                .collect(),
        }
    }
}

struct FormContext<'a> {
    principal: &'a Principal,
    session: &'a Session,
    state: &'a web::Data<AppState>,
}

impl FormContext<'_> {
    async fn page(
        &self,
        existing: Option<&api_key::ApiKey>,
        values: KeyFormValues,
        errors: FieldErrors,
        status: StatusCode,
    ) -> Result<HttpResponse, AppError> {
        let catalog = self.state.db.run(role_service::catalog).await?;
        let mut draft = values.draft.clone();
        draft.open = values.wants_new_role();
        let roles_access = RolesAccessField::new(
            &catalog,
            self.principal,
            &values.role_ids,
            &draft,
            &errors,
            None,
        );
        let (heading, action, submit_label, key_id, current_expiry) = match existing {
            None => (
                "New API key".to_string(),
                "/development/keys".to_string(),
                "Create API key",
                String::new(),
                String::new(),
            ),
            Some(key) => (
                format!("Edit “{}”", key.name),
                format!("/development/keys/{}", key.id),
                "Save",
                key.id.clone(),
                format_optional(key.expires_at, "never"),
            ),
        };
        render(
            KeyFormPage {
                asset_version: ASSET_VERSION,
                layout: Layout::new(
                    self.principal,
                    self.session,
                    Section::Development,
                    heading.clone(),
                ),
                heading,
                action,
                editing: existing.is_some(),
                key_id,
                name: values.name,
                description: values.description,
                expiry: values.expiry,
                expires_on: values.expires_on,
                current_expiry,
                errors,
                roles_access,
                submit_label,
            },
            status,
        )
    }
}

pub async fn new_form(
    principal: Principal,
    session: Session,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let values = KeyFormValues {
        name: String::new(),
        description: String::new(),
        expiry: "never".into(),
        expires_on: String::new(),
        role_ids: Vec::new(),
        draft: InlineRoleDraft::default(),
    };
    FormContext {
        principal: &principal,
        session: &session,
        state: &state,
    }
    .page(None, values, FieldErrors::default(), StatusCode::OK)
    .await
}

pub async fn create(
    principal: Principal,
    session: Session,
    state: web::Data<AppState>,
    fields: FormFields,
) -> Result<HttpResponse, AppError> {
    let values = KeyFormValues::read(&fields);
    match key_service::create(&state.db, principal.clone(), values.to_input())
        .await
        .map_err(|e| e.renamed(pickers::KEY_FORM_FIELDS))
    {
        Ok(created) => {
            stash_once(
                &session,
                OneTimeSlot::NewKey,
                &created.key.id,
                &created.secret,
            )?;
            Ok(see_other(&format!(
                "/development/keys/{}/created",
                created.key.id
            )))
        }
        Err(FormError::Invalid(errors)) => {
            FormContext {
                principal: &principal,
                session: &session,
                state: &state,
            }
            .page(None, values, errors, StatusCode::UNPROCESSABLE_ENTITY)
            .await
        }
        Err(FormError::Failed(err)) => Err(err),
    }
}

/// htmx: creates the role typed in the "Roles & access" sub-form and answers the field again, with the
/// new role selected and the other choices kept. The rest of the key form is not touched.
pub async fn inline_role(
    principal: Principal,
    state: web::Data<AppState>,
    fields: FormFields,
) -> Result<HttpResponse, AppError> {
    let values = KeyFormValues::read(&fields);
    let mut input = RoleInput {
        name: values.draft.name.clone(),
        description: values.draft.description.clone(),
        permissions: values.draft.permissions.clone(),
    };
    if input.name.trim().is_empty() {
        input.name = values.name.trim().to_string();
    }
    let outcome = role_service::create(&state.db, principal.clone(), input)
        .await
        .map_err(|e| e.renamed(pickers::INLINE_ROLE_FORM_FIELDS));
    let catalog = state.db.run(role_service::catalog).await?;
    let (field, status) = match outcome {
        Ok(created) => {
            let mut checked = values.role_ids.clone();
            checked.push(created.id.clone());
            let notice = format!("Role “{}” created and selected.", created.name);
            (
                RolesAccessField::new(
                    &catalog,
                    &principal,
                    &checked,
                    &InlineRoleDraft::default(),
                    &FieldErrors::default(),
                    Some(notice),
                ),
                StatusCode::OK,
            )
        }
        Err(FormError::Invalid(errors)) => {
            let mut draft = values.draft.clone();
            draft.open = true;
            (
                RolesAccessField::new(
                    &catalog,
                    &principal,
                    &values.role_ids,
                    &draft,
                    &errors,
                    None,
                ),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
        Err(FormError::Failed(err)) => return Err(err),
    };
    render(field, status)
}

#[derive(Template)]
#[template(path = "pages/key_created.html")]
struct KeyCreatedPage {
    asset_version: &'static str,
    layout: Layout,
    key_id: String,
    name: String,
    secret: Option<String>,
}

/// Shows the new key's secret exactly once; reloading shows that it cannot be shown again.
pub async fn created(
    principal: Principal,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let key_id = path.into_inner();
    let secret = take_once(&session, OneTimeSlot::NewKey, &key_id);
    let lookup = key_id.clone();
    let key = state
        .db
        .run(move |conn| api_key::find(conn, &lookup)?.ok_or(AppError::NotFound))
        .await?;
    let page = KeyCreatedPage {
        asset_version: ASSET_VERSION,
        layout: Layout::new(
            &principal,
            &session,
            Section::Development,
            "API key created",
        ),
        key_id,
        name: key.name,
        secret,
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .content_type("text/html; charset=utf-8")
        .body(page.render()?))
}

#[derive(Template)]
#[template(path = "pages/key_detail.html")]
struct KeyDetailPage {
    asset_version: &'static str,
    layout: Layout,
    key_id: String,
    name: String,
    description: String,
    public_id: String,
    status: &'static str,
    created_by: String,
    created: String,
    expires: String,
    last_used: String,
    revoked: String,
    roles: Vec<(String, String)>,
    effective: Vec<EffectivePermission>,
    holds_all: bool,
    can_update: bool,
    update_reason: String,
    can_revoke: bool,
    revoke_reason: String,
    history: Vec<HistoryRow>,
}

pub async fn show(
    principal: Principal,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let key_id = path.into_inner();
    let history = history_rows(audit_log::history(&state.db, &principal, key_id.clone()).await?);
    let holder = principal.permissions.clone();
    let (detail, beyond) = state
        .db
        .run(move |conn| {
            let detail = key_service::detail(conn, &key_id)?;
            let beyond = grants::missing_for_key(conn, &holder, &key_id)?;
            Ok::<_, AppError>((detail, beyond))
        })
        .await?;
    let is_revoked = detail.key.revoked_at.is_some();
    let outranked = |what: &str| {
        beyond
            .as_deref()
            .map(|p| grants::outranked_sentence(what, p))
    };
    render(
        KeyDetailPage {
            asset_version: ASSET_VERSION,
            layout: Layout::new(
                &principal,
                &session,
                Section::Development,
                detail.key.name.clone(),
            ),
            key_id: detail.key.id.clone(),
            name: detail.key.name.clone(),
            description: detail.key.description.clone(),
            public_id: detail.key.public_id.clone(),
            status: detail.status.as_str(),
            created_by: detail.creator_email.clone().unwrap_or_else(|| "—".into()),
            created: format_time(&detail.key.created_at),
            expires: format_optional(detail.key.expires_at, "Never"),
            last_used: format_optional(detail.key.last_used_at, "Not used yet"),
            revoked: format_optional(detail.key.revoked_at, ""),
            holds_all: detail.roles.iter().any(|r| r.grants_all),
            roles: detail
                .roles
                .iter()
                .map(|r| (r.id.clone(), r.name.clone()))
                .collect(),
            effective: detail.effective,
            can_update: principal.can(SERVICE_ACCOUNTS_UPDATE) && !is_revoked && beyond.is_none(),
            update_reason: if is_revoked {
                "A revoked key cannot be changed.".into()
            } else if !principal.can(SERVICE_ACCOUNTS_UPDATE) {
                forbidden_sentence(SERVICE_ACCOUNTS_UPDATE)
            } else {
                outranked("change this key").unwrap_or_default()
            },
            can_revoke: principal.can(SERVICE_ACCOUNTS_DELETE) && !is_revoked && beyond.is_none(),
            history,
            revoke_reason: if is_revoked {
                "This key is already revoked.".into()
            } else if !principal.can(SERVICE_ACCOUNTS_DELETE) {
                forbidden_sentence(SERVICE_ACCOUNTS_DELETE)
            } else {
                outranked("revoke this key").unwrap_or_default()
            },
        },
        StatusCode::OK,
    )
}

async fn load_key(
    state: &web::Data<AppState>,
    key_id: String,
) -> Result<(api_key::ApiKey, Vec<String>), AppError> {
    state
        .db
        .run(move |conn| {
            let key = api_key::find(conn, &key_id)?.ok_or(AppError::NotFound)?;
            let role_ids = api_key::role_ids(conn, &key_id)?;
            Ok((key, role_ids))
        })
        .await
}

/// Pages that lead to a change refuse up front what the change would refuse: a key whose roles the
/// viewer could not give.
async fn require_rank(
    state: &web::Data<AppState>,
    principal: &Principal,
    key_id: &str,
) -> Result<(), AppError> {
    let principal = principal.clone();
    let key_id = key_id.to_string();
    state
        .db
        .run(move |conn| grants::require_can_change_key(conn, &principal, &key_id))
        .await
}

pub async fn edit_form(
    principal: Principal,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let (key, role_ids) = load_key(&state, path.into_inner()).await?;
    if key.revoked_at.is_some() {
        return Err(AppError::Conflict(
            "This key is revoked; it can no longer be changed.".into(),
        ));
    }
    require_rank(&state, &principal, &key.id).await?;
    let values = KeyFormValues {
        name: key.name.clone(),
        description: key.description.clone(),
        expiry: "keep".into(),
        expires_on: String::new(),
        role_ids,
        draft: InlineRoleDraft::default(),
    };
    FormContext {
        principal: &principal,
        session: &session,
        state: &state,
    }
    .page(Some(&key), values, FieldErrors::default(), StatusCode::OK)
    .await
}

pub async fn update(
    principal: Principal,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<String>,
    fields: FormFields,
) -> Result<HttpResponse, AppError> {
    let key_id = path.into_inner();
    let values = KeyFormValues::read(&fields);
    match key_service::update(
        &state.db,
        principal.clone(),
        key_id.clone(),
        values.to_input(),
    )
    .await
    .map_err(|e| e.renamed(pickers::KEY_FORM_FIELDS))
    {
        Ok(saved) => {
            flash(
                &session,
                FlashKind::Success,
                format!("API key “{}” saved.", saved.name),
            )?;
            Ok(see_other("/development"))
        }
        Err(FormError::Invalid(errors)) => {
            let (key, _) = load_key(&state, key_id).await?;
            FormContext {
                principal: &principal,
                session: &session,
                state: &state,
            }
            .page(Some(&key), values, errors, StatusCode::UNPROCESSABLE_ENTITY)
            .await
        }
        Err(FormError::Failed(err)) => Err(err),
    }
}

#[derive(Template)]
#[template(path = "pages/key_revoke.html")]
struct KeyRevokePage {
    asset_version: &'static str,
    layout: Layout,
    key_id: String,
    name: String,
    public_id: String,
}

pub async fn confirm_revoke(
    principal: Principal,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let (key, _) = load_key(&state, path.into_inner()).await?;
    if key.revoked_at.is_some() {
        return Err(AppError::Conflict("This key is already revoked.".into()));
    }
    require_rank(&state, &principal, &key.id).await?;
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
    let revoked = key_service::revoke(&state.db, principal, path.into_inner()).await?;
    flash(
        &session,
        FlashKind::Success,
        format!(
            "API key “{}” revoked. It can never authenticate again.",
            revoked.name
        ),
    )?;
    Ok(see_other("/development"))
}
