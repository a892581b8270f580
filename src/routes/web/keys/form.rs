//! The key form: new and edit, its fields read into the service's input (the expiry choice parsed
//! here), and the htmx endpoint that creates the "Roles & access" sub-form's role at once.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use chrono::NaiveDate;

use crate::auth::session::{flash, stash_once, FlashKind, OneTimeSlot};
use crate::auth::Principal;
use crate::error::AppError;
use crate::routes::web::form::FormFields;
use crate::routes::web::layout::{Layout, Section, ASSET_VERSION};
use crate::routes::web::pickers::{self, InlineRoleDraft, RolesAccessField};
use crate::routes::web::views::format_optional;
use crate::routes::web::{render, see_other};
use crate::services::api_keys::{self, ApiKey, EditableKey, Expiry, KeyInput};
use crate::services::roles::{self as role_service, RoleInput};
use crate::services::{FieldErrors, FormError};
use crate::state::AppState;

/// The form's choice of expiry.
const EXPIRY: &str = "expiry";
/// The date typed when that choice is "date".
const EXPIRES_ON: &str = "expires_on";

/// Reads the form's `expiry` choice and `expires_on` date.
fn parse_expiry(choice: &str, date: &str) -> Result<Expiry, String> {
    match choice {
        "" | "never" => Ok(Expiry::Never),
        "keep" => Ok(Expiry::Keep),
        "30" | "90" | "365" => Ok(Expiry::Days(choice.parse().unwrap_or(30))),
        "date" => NaiveDate::parse_from_str(date.trim(), "%Y-%m-%d")
            .map(Expiry::On)
            .map_err(|_| "Enter the date as YYYY-MM-DD.".to_string()),
        _ => Err("Choose when the key expires.".to_string()),
    }
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
            expiry: fields.text(EXPIRY),
            expires_on: fields.text(EXPIRES_ON),
            role_ids: fields.all(pickers::ROLE_IDS),
            draft: InlineRoleDraft {
                name: fields.text(pickers::NEW_ROLE_NAME),
                description: fields.text(pickers::NEW_ROLE_DESCRIPTION),
                permissions: fields.all(pickers::NEW_ROLE_PERMISSIONS),
                open: false,
            },
        }
    }

    fn empty(expiry: &str) -> Self {
        Self {
            name: String::new(),
            description: String::new(),
            expiry: expiry.into(),
            expires_on: String::new(),
            role_ids: Vec::new(),
            draft: InlineRoleDraft::default(),
        }
    }

    /// Without JavaScript the inline role's fields travel with the key form: a name or a chosen
    /// permission means "create this role with the key".
    fn wants_new_role(&self) -> bool {
        !self.draft.name.trim().is_empty() || !self.draft.permissions.is_empty()
    }

    fn new_role(&self) -> RoleInput {
        RoleInput {
            name: self.draft.name.clone(),
            description: self.draft.description.clone(),
            permissions: self.draft.permissions.clone(),
        }
    }

    /// The service's input, or the form's message about an expiry it cannot read.
    fn to_input(&self) -> Result<KeyInput, FieldErrors> {
        let expiry = parse_expiry(&self.expiry, &self.expires_on).map_err(|message| {
            let mut errors = api_keys::name_and_description_problems(&self.name, &self.description)
                .renamed(pickers::KEY_FORM_FIELDS);
            errors.add(EXPIRY, message);
            errors
        })?;
        Ok(KeyInput {
            name: self.name.clone(),
            description: self.description.clone(),
            expiry,
            roles: self.role_ids.clone(),
            new_roles: self
                .wants_new_role()
                .then(|| self.new_role())
                .into_iter()
                .collect(),
        })
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
        existing: Option<&ApiKey>,
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

    /// The form again with its messages.
    async fn invalid(
        &self,
        existing: Option<&ApiKey>,
        values: KeyFormValues,
        errors: FieldErrors,
    ) -> Result<HttpResponse, AppError> {
        self.page(existing, values, errors, StatusCode::UNPROCESSABLE_ENTITY)
            .await
    }
}

pub async fn new_form(
    principal: Principal,
    session: Session,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    FormContext {
        principal: &principal,
        session: &session,
        state: &state,
    }
    .page(
        None,
        KeyFormValues::empty("never"),
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
    let context = FormContext {
        principal: &principal,
        session: &session,
        state: &state,
    };
    let values = KeyFormValues::read(&fields);
    let input = match values.to_input() {
        Ok(input) => input,
        Err(errors) => return context.invalid(None, values, errors).await,
    };
    match api_keys::create(&state.db, principal.clone(), input)
        .await
        .map_err(|e| e.renamed(pickers::KEY_FORM_FIELDS))
    {
        Ok(created) => {
            let key_id = created.detail.key.id;
            stash_once(&session, OneTimeSlot::NewKey, &key_id, &created.secret)?;
            Ok(see_other(&format!("/development/keys/{key_id}/created")))
        }
        Err(FormError::Invalid(errors)) => context.invalid(None, values, errors).await,
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
    let outcome = api_keys::create_inline_role(
        &state.db,
        principal.clone(),
        &values.name,
        values.new_role(),
    )
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

/// The edit form; refuses up front what saving would refuse (a revoked key, one beyond the viewer).
pub async fn edit_form(
    principal: Principal,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let EditableKey { key, role_ids } =
        api_keys::for_edit(&state.db, &principal, path.into_inner()).await?;
    let values = KeyFormValues {
        name: key.name.clone(),
        description: key.description.clone(),
        role_ids,
        ..KeyFormValues::empty("keep")
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
    let context = FormContext {
        principal: &principal,
        session: &session,
        state: &state,
    };
    let key_id = path.into_inner();
    let values = KeyFormValues::read(&fields);
    let outcome = match values.to_input() {
        Ok(input) => api_keys::update(&state.db, principal.clone(), key_id.clone(), input)
            .await
            .map_err(|e| e.renamed(pickers::KEY_FORM_FIELDS)),
        Err(errors) => Err(FormError::Invalid(errors)),
    };
    match outcome {
        Ok(saved) => {
            flash(
                &session,
                FlashKind::Success,
                format!("API key “{}” saved.", saved.key.name),
            )?;
            Ok(see_other("/development"))
        }
        Err(FormError::Invalid(errors)) => {
            let editable = api_keys::for_edit(&state.db, &principal, key_id).await?;
            context.invalid(Some(&editable.key), values, errors).await
        }
        Err(FormError::Failed(err)) => Err(err),
    }
}
