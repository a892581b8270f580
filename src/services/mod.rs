//! The operations people and keys perform. Each owns its rules (permission check, validation, the
//! write and its audit event in one transaction), so the console, the API and the CLI cannot apply
//! them differently: handlers only parse and render.

pub mod account;
pub mod api_keys;
pub mod audit_log;
pub mod grants;
pub mod health;
pub mod notify;
pub mod permission_catalog;
pub mod roles;
pub mod setup;
pub mod sign_in;
pub mod team;

use std::collections::{BTreeMap, BTreeSet};

use crate::auth::Principal;
use crate::db::{Db, DbConnection};
use crate::error::AppError;
use crate::models::setting;

/// The names services report problems against: the domain's own, which the JSON API's bodies use
/// too. The console maps them to its form fields ([`FieldErrors::renamed`]), the CLI to its flags.
pub mod field {
    pub const NAME: &str = "name";
    pub const DESCRIPTION: &str = "description";
    pub const PERMISSIONS: &str = "permissions";
    /// The roles given to a key or a person (by id, or in the API by id or name).
    pub const ROLES: &str = "roles";
    /// Roles created with a key; one of them is `new_roles[i]` (see [`super::roles::RoleFields`]).
    pub const NEW_ROLES: &str = "new_roles";
    pub const EXPIRES_AT: &str = "expires_at";
}

/// Messages for form fields, keyed by field name; a form re-renders with them beside each field.
///
/// A message added with [`FieldErrors::add_conflict`] is about the current state rather than the
/// input's form (a name already taken, a role that does not exist, a time already past): the same
/// request can succeed later, so the API answers it 409 rather than 422.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldErrors(BTreeMap<String, String>, BTreeSet<String>);

impl FieldErrors {
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0
            .entry(field.to_string())
            .or_insert_with(|| message.into());
    }

    /// A message about the current state (see the type's documentation).
    pub fn add_conflict(&mut self, field: &str, message: impl Into<String>) {
        if !self.0.contains_key(field) {
            self.1.insert(field.to_string());
        }
        self.add(field, message);
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.get(field).map(String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The same messages under other field names (`(from, to)` pairs; names not listed stay).
    pub fn renamed(self, renames: &[(&str, &str)]) -> FieldErrors {
        let rename = |field: String| {
            renames
                .iter()
                .find(|(from, _)| *from == field)
                .map_or(field.clone(), |(_, to)| to.to_string())
        };
        let FieldErrors(messages, conflicts) = self;
        FieldErrors(
            messages
                .into_iter()
                .map(|(field, message)| (rename(field), message))
                .collect(),
            conflicts.into_iter().map(rename).collect(),
        )
    }

    /// `Ok` when nothing was added, otherwise the errors.
    pub fn into_result(self) -> Result<(), FieldErrors> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(self)
        }
    }
}

impl From<FieldErrors> for AppError {
    /// The first field's message, for renderings that show one (JSON answers): an invalid input
    /// first (422), else a conflict with the current state (409).
    fn from(errors: FieldErrors) -> Self {
        let FieldErrors(messages, conflicts) = errors;
        let (conflicting, invalid): (Vec<_>, Vec<_>) = messages
            .into_iter()
            .partition(|(field, _)| conflicts.contains(field));
        match (invalid.into_iter().next(), conflicting.into_iter().next()) {
            (Some((field, message)), _) => AppError::Validation { field, message },
            (None, Some((field, message))) => AppError::FieldConflict { field, message },
            (None, None) => AppError::BadRequest("The input is not valid.".into()),
        }
    }
}

/// Why an object's current state does not allow an operation, in the sentence people read: a
/// revoked key cannot change, the Admin role cannot be edited. Each service states its own
/// (`api_keys::can_edit(&key)`), checks it before acting (409 in the API), and pages call the same
/// function to disable a button and say why, so the sentence is written once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal(String);

impl Refusal {
    pub fn new(reason: impl Into<String>) -> Self {
        Self(reason.into())
    }

    pub fn reason(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<Refusal> for AppError {
    fn from(refusal: Refusal) -> Self {
        AppError::Conflict(refusal.0)
    }
}

/// The reason to show beside a disabled control, when `allowed` refuses.
pub fn refusal_reason(allowed: Result<(), Refusal>) -> Option<String> {
    allowed.err().map(|refusal| refusal.0)
}

/// The viewer's lack of `permission` as a refusal, for a page that disables the control it guards.
pub fn permitted(principal: &Principal, permission: &str) -> Result<(), Refusal> {
    if principal.can(permission) {
        Ok(())
    } else {
        Err(Refusal::new(crate::error::forbidden_sentence(permission)))
    }
}

/// Fails with the error naming `permission` unless the principal holds it or `alternative`: a form
/// re-shown after a refused change needs only the right to make that change.
pub(crate) fn require_either(
    principal: &Principal,
    permission: &str,
    alternative: &str,
) -> Result<(), AppError> {
    if principal.can(alternative) {
        Ok(())
    } else {
        principal.require(permission)
    }
}

/// The outcome of a form submission: done, or the form again with messages.
#[derive(Debug)]
pub enum FormError {
    Invalid(FieldErrors),
    Failed(AppError),
}

impl<E: Into<AppError>> From<E> for FormError {
    /// A validation error about one field becomes a message beside that field.
    fn from(err: E) -> Self {
        match err.into() {
            AppError::Validation { field, message } => {
                let mut errors = FieldErrors::default();
                errors.add(&field, message);
                FormError::Invalid(errors)
            }
            AppError::FieldConflict { field, message } => {
                let mut errors = FieldErrors::default();
                errors.add_conflict(&field, message);
                FormError::Invalid(errors)
            }
            other => FormError::Failed(other),
        }
    }
}

/// Runs `work` in one transaction that changes what keys may do (their roles, a role's permissions,
/// a key's status). The change is marked in the database for other instances and at once for this
/// instance's cache of verified keys.
pub(crate) async fn in_authz_transaction<T, E, F>(db: &Db, work: F) -> Result<T, E>
where
    T: Send + 'static,
    E: From<AppError> + From<diesel::result::Error> + Send + 'static,
    F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
{
    let outcome = db
        .run(move |conn| {
            crate::db::transaction(conn, |conn| {
                let value = work(conn)?;
                setting::bump_authz_version(conn)?;
                Ok::<T, E>(value)
            })
        })
        .await?;
    db.note_authz_change();
    Ok(outcome)
}

impl FormError {
    /// The same outcome with its field messages under other names (see [`FieldErrors::renamed`]).
    pub fn renamed(self, renames: &[(&str, &str)]) -> Self {
        match self {
            FormError::Invalid(errors) => FormError::Invalid(errors.renamed(renames)),
            failed => failed,
        }
    }

    /// For renderings that show one message (JSON answers): the first field's.
    pub fn into_app_error(self) -> AppError {
        match self {
            FormError::Invalid(errors) => errors.into(),
            FormError::Failed(err) => err,
        }
    }
}
