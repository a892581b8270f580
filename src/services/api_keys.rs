//! Issuing, editing and revoking API keys. A key holds roles; it may do what their permissions allow.
//! Nobody puts on a key a role whose permissions they do not hold themselves.

use chrono::{Duration, NaiveDate, NaiveDateTime};

use crate::auth::api_key::{self as key_format};
use crate::auth::Principal;
use crate::authz::catalog::{
    SERVICE_ACCOUNTS_CREATE, SERVICE_ACCOUNTS_DELETE, SERVICE_ACCOUNTS_UPDATE,
};
use crate::authz::AuditAction;
use crate::db::{new_id, now, Db, DbConnection};
use crate::error::AppError;
use crate::models::api_key::{self, ApiKey, KeyStatus, NewApiKey};
use crate::models::audit::Target;
use crate::models::role::{self, Role};
use crate::services::audit_log;
use crate::services::grants;
use crate::services::grants::{
    check_grantable_roles, effective_permissions, grantable_role, require_may_take,
    resolve_requested_roles, EffectivePermission,
};
use crate::services::roles::{self as role_service, RoleFields, RoleInput};
use crate::services::{field, in_authz_transaction, FieldErrors, FormError};

pub const NAME_MAX: usize = crate::limits::KEY_NAME_MAX;
pub const DESCRIPTION_MAX: usize = crate::limits::KEY_DESCRIPTION_MAX;

/// When a key stops working.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    Never,
    Days(i64),
    On(NaiveDate),
    /// An exact time (the API's `expires_at`).
    At(NaiveDateTime),
    /// Editing: leave the expiry as it is.
    Keep,
}

impl Expiry {
    /// Reads the form's `expiry` choice and `expires_on` date.
    pub fn from_form(choice: &str, date: &str) -> Result<Self, String> {
        match choice {
            "" | "never" => Ok(Self::Never),
            "keep" => Ok(Self::Keep),
            "30" | "90" | "365" => Ok(Self::Days(choice.parse().unwrap_or(30))),
            "date" => NaiveDate::parse_from_str(date.trim(), "%Y-%m-%d")
                .map(Self::On)
                .map_err(|_| "Enter the date as YYYY-MM-DD.".to_string()),
            _ => Err("Choose when the key expires.".to_string()),
        }
    }

    fn resolve(self, current: Option<NaiveDateTime>) -> Result<Option<NaiveDateTime>, String> {
        let at = now();
        match self {
            Self::Never => Ok(None),
            Self::Keep => Ok(current),
            Self::Days(days) => Ok(Some(at + Duration::days(days))),
            Self::At(at_time) => {
                if at_time <= at {
                    Err("Choose a time in the future.".to_string())
                } else {
                    Ok(Some(at_time))
                }
            }
            Self::On(date) => {
                let end = date.and_hms_opt(23, 59, 59).ok_or("Enter a valid date.")?;
                if end <= at {
                    Err("Choose a date in the future.".to_string())
                } else {
                    Ok(Some(end))
                }
            }
        }
    }
}

/// What the key form (and later the API) submits.
#[derive(Debug, Clone)]
pub struct KeyInput {
    pub name: String,
    pub description: String,
    pub expiry: Result<Expiry, String>,
    pub role_ids: Vec<String>,
    /// Roles to create with the key (the "Roles & access" inline sub-form, or the API's `new_roles`).
    pub new_roles: Vec<RoleInput>,
}

/// A key just created: `secret` is the full key, shown once and never stored.
#[derive(Debug, Clone)]
pub struct CreatedKey {
    pub key: ApiKey,
    pub secret: String,
}

fn check_details(
    input: &KeyInput,
    current_expiry: Option<NaiveDateTime>,
    errors: &mut FieldErrors,
) -> Option<NaiveDateTime> {
    let name = input.name.trim();
    let length = name.chars().count();
    if length == 0 {
        errors.add(
            field::NAME,
            "Enter a name, for example the system that will use this key.",
        );
    } else if length > NAME_MAX {
        errors.add(
            field::NAME,
            format!("Use at most {NAME_MAX} characters (this name has {length})."),
        );
    }
    if let Some(problem) = crate::limits::line_problem(name) {
        errors.add(field::NAME, problem);
    }
    if input.description.chars().count() > DESCRIPTION_MAX {
        errors.add(
            field::DESCRIPTION,
            format!("Use at most {DESCRIPTION_MAX} characters."),
        );
    }
    if let Some(problem) = crate::limits::text_problem(&input.description) {
        errors.add(field::DESCRIPTION, problem);
    }
    match input.expiry.clone().and_then(|e| e.resolve(current_expiry)) {
        Ok(expires_at) => expires_at,
        // The same time was fine a moment ago: a conflict with the clock, not a malformed input.
        Err(message) => {
            errors.add_conflict(field::EXPIRES_AT, message);
            None
        }
    }
}

/// A key that expires gives no key (itself included) a later expiry than its own, or none. Only
/// checked when the expiry was read without error (a bad date has its own message).
fn check_expiry_within_caller(
    conn: &mut DbConnection,
    principal: &Principal,
    expires_at: Option<NaiveDateTime>,
    errors: &mut FieldErrors,
) -> Result<(), AppError> {
    if errors.get(field::EXPIRES_AT).is_some() {
        return Ok(());
    }
    if let Some(message) = grants::expiry_beyond_caller(conn, principal, expires_at)? {
        errors.add(field::EXPIRES_AT, message);
    }
    Ok(())
}

/// The inline roles: one without a name is named after the key ("one role per system").
fn inline_roles(input: &KeyInput) -> Vec<RoleInput> {
    input
        .new_roles
        .iter()
        .cloned()
        .map(|mut new_role| {
            if new_role.name.trim().is_empty() {
                new_role.name = input.name.trim().to_string();
            }
            new_role
        })
        .collect()
}

/// Refuses, before any lookup, more roles named or created in one request than the limits allow.
fn check_role_counts(role_ids: Option<&[String]>, new_roles: &[RoleInput]) -> Result<(), AppError> {
    use crate::limits::NEW_ROLES_MAX;
    if let Some(role_ids) = role_ids {
        role_service::check_role_count(role_ids, &[])?;
    }
    if new_roles.len() > NEW_ROLES_MAX {
        return Err(AppError::validation(
            field::NEW_ROLES,
            format!(
                "Create at most {NEW_ROLES_MAX} roles with one key ({} were given).",
                new_roles.len()
            ),
        ));
    }
    for (index, new_role) in new_roles.iter().enumerate() {
        role_service::check_permission_count(
            &new_role.permissions,
            &RoleFields::new_role(index).permissions(),
        )?;
    }
    Ok(())
}

/// Creates the inline roles inside the key's transaction and adds them to `roles`.
fn create_inline_roles(
    conn: &mut DbConnection,
    principal: &Principal,
    input: &KeyInput,
    roles: &mut Vec<Role>,
    errors: &mut FieldErrors,
) -> Result<(), AppError> {
    for (index, new_role) in inline_roles(input).iter().enumerate() {
        let fields = RoleFields::new_role(index);
        if let Some(created) = role_service::create_in(conn, principal, new_role, &fields, errors)?
        {
            roles.push(created);
        }
    }
    Ok(())
}

pub async fn create(
    db: &Db,
    principal: Principal,
    input: KeyInput,
) -> Result<CreatedKey, FormError> {
    principal.require(SERVICE_ACCOUNTS_CREATE)?;
    if !input.new_roles.is_empty() {
        principal.require(crate::authz::catalog::ROLES_CREATE)?;
    }
    check_role_counts(Some(&input.role_ids), &input.new_roles)?;
    in_authz_transaction(db, move |conn| {
        let mut errors = FieldErrors::default();
        let expires_at = check_details(&input, None, &mut errors);
        check_expiry_within_caller(conn, &principal, expires_at, &mut errors)?;
        let mut roles = check_grantable_roles(conn, &principal, &input.role_ids, &[], &mut errors)?;
        create_inline_roles(conn, &principal, &input, &mut roles, &mut errors)?;
        if !errors.is_empty() {
            return Err(FormError::Invalid(errors));
        }
        let generated = key_format::generate();
        let id = new_id();
        let at = now();
        let name = input.name.trim();
        api_key::insert(
            conn,
            &NewApiKey {
                id: &id,
                public_id: &generated.public_id,
                name,
                description: input.description.trim(),
                secret_hash: &generated.secret_hash,
                created_by: principal.user_id(),
                created_at: at,
                updated_at: at,
                expires_at,
            },
        )?;
        let role_ids: Vec<String> = roles.iter().map(|r| r.id.clone()).collect();
        api_key::set_roles(conn, &id, &role_ids)?;
        audit_log::record(
            conn,
            &principal,
            AuditAction::KeyCreated,
            Target::key(id.clone(), name.to_string()),
            format!(
                "roles: {}; expires: {}",
                role_names(&roles),
                describe_expiry(expires_at)
            ),
        )?;
        let key = api_key::find(conn, &id)?.ok_or(AppError::NotFound)?;
        Ok(CreatedKey {
            key,
            secret: generated.full_key,
        })
    })
    .await
}

/// Creates a key as Latchkey itself (`latchkey create-key` on the server): the same operation as
/// [`create`], with every permission, recorded with the actor `system`.
pub async fn create_as_system(db: &Db, input: KeyInput) -> Result<CreatedKey, FormError> {
    create(db, Principal::system(), input).await
}

/// A change to a key: absent fields stay as they are (the API's PATCH); the edit form gives them all.
#[derive(Debug, Clone)]
pub struct KeyChange {
    pub name: Option<String>,
    pub description: Option<String>,
    /// [`Expiry::Keep`] leaves it as it is.
    pub expiry: Result<Expiry, String>,
    /// The whole new set of roles (ids or names).
    pub role_ids: Option<Vec<String>>,
    pub new_roles: Vec<RoleInput>,
}

impl From<KeyInput> for KeyChange {
    fn from(input: KeyInput) -> Self {
        Self {
            name: Some(input.name),
            description: Some(input.description),
            expiry: input.expiry,
            role_ids: Some(input.role_ids),
            new_roles: input.new_roles,
        }
    }
}

/// Locks the key for the rest of the transaction (writers of one key take turns) and refuses a
/// revoked one.
fn lock_open_key(conn: &mut DbConnection, key_id: &str) -> Result<ApiKey, AppError> {
    let existing = api_key::find_for_update(conn, key_id)?.ok_or(AppError::NotFound)?;
    if existing.revoked_at.is_some() {
        return Err(AppError::Conflict(
            "This key is revoked; it can no longer be changed.".into(),
        ));
    }
    Ok(existing)
}

/// Changes a key. Its row is locked first and the current details and roles are read after, in the
/// same transaction, so a concurrent grant or edit is never overwritten with what was read before it.
pub async fn update(
    db: &Db,
    principal: Principal,
    key_id: String,
    change: impl Into<KeyChange>,
) -> Result<ApiKey, FormError> {
    let change = change.into();
    principal.require(SERVICE_ACCOUNTS_UPDATE)?;
    if !change.new_roles.is_empty() {
        principal.require(crate::authz::catalog::ROLES_CREATE)?;
    }
    // The roles named are counted against those the key holds already, once those are read.
    check_role_counts(None, &change.new_roles)?;
    in_authz_transaction(db, move |conn| {
        let existing = lock_open_key(conn, &key_id)?;
        grants::require_can_change_key(conn, &principal, &key_id)?;
        let held_before = api_key::role_ids(conn, &key_id)?;
        let input = KeyInput {
            name: change.name.unwrap_or_else(|| existing.name.clone()),
            description: change
                .description
                .unwrap_or_else(|| existing.description.clone()),
            expiry: change.expiry,
            role_ids: change.role_ids.unwrap_or_else(|| held_before.clone()),
            new_roles: change.new_roles,
        };
        let mut errors = FieldErrors::default();
        let expires_at = check_details(&input, existing.expires_at, &mut errors);
        if expires_at != existing.expires_at {
            check_expiry_within_caller(conn, &principal, expires_at, &mut errors)?;
        }
        let mut roles =
            resolve_requested_roles(conn, &principal, &input.role_ids, &held_before, &mut errors)?;
        create_inline_roles(conn, &principal, &input, &mut roles, &mut errors)?;
        if !errors.is_empty() {
            return Err(FormError::Invalid(errors));
        }
        let name = input.name.trim();
        api_key::update_details(conn, &key_id, name, input.description.trim(), expires_at)?;
        let role_ids: Vec<String> = roles.iter().map(|r| r.id.clone()).collect();
        api_key::set_roles(conn, &key_id, &role_ids)?;
        let before_names = role::find_many(conn, &held_before)?;
        audit_log::record(
            conn,
            &principal,
            AuditAction::KeyUpdated,
            Target::key(key_id.clone(), name.to_string()),
            key_change_summary(&existing, name, expires_at, &before_names, &roles),
        )?;
        Ok(api_key::find(conn, &key_id)?.ok_or(AppError::NotFound)?)
    })
    .await
}

/// Gives a key one role (by id or name): one row added unless the key holds it already, in one
/// transaction with the no-escalation check and the audit event. Concurrent grants never lose each
/// other, as a read-modify-write of the whole set would.
pub async fn grant_role(
    db: &Db,
    principal: Principal,
    key_id: String,
    role_ref: String,
) -> Result<ApiKey, AppError> {
    principal.require(SERVICE_ACCOUNTS_UPDATE)?;
    in_authz_transaction(db, move |conn| {
        let existing = lock_open_key(conn, &key_id)?;
        grants::require_can_change_key(conn, &principal, &key_id)?;
        let held = api_key::role_ids(conn, &key_id)?;
        let granted = grantable_role(conn, &principal, &role_ref, &held)?;
        let added = api_key::add_role(conn, &key_id, &granted.id)?;
        record_role_change(conn, &principal, &existing, &granted, added, "added")?;
        Ok(existing)
    })
    .await
}

/// Takes one role from a key: one row deleted, in one transaction with the check that the caller
/// could give that role (taking it away is as strong as giving it) and the audit event.
pub async fn revoke_role(
    db: &Db,
    principal: Principal,
    key_id: String,
    role_id: String,
) -> Result<ApiKey, AppError> {
    principal.require(SERVICE_ACCOUNTS_UPDATE)?;
    in_authz_transaction(db, move |conn| {
        let existing = lock_open_key(conn, &key_id)?;
        grants::require_can_change_key(conn, &principal, &key_id)?;
        let held = api_key::role_ids(conn, &key_id)?;
        if !held.contains(&role_id) {
            return Err(AppError::NotFound);
        }
        require_may_take(conn, &principal, std::slice::from_ref(&role_id))?;
        let taken = role::find(conn, &role_id)?.ok_or(AppError::NotFound)?;
        let removed = api_key::remove_role(conn, &key_id, &role_id)?;
        record_role_change(conn, &principal, &existing, &taken, removed, "removed")?;
        Ok(existing)
    })
    .await
}

fn record_role_change(
    conn: &mut DbConnection,
    principal: &Principal,
    key: &ApiKey,
    changed: &Role,
    did_change: bool,
    verb: &str,
) -> Result<(), AppError> {
    let summary = if did_change {
        format!("roles {verb}: {}", changed.name)
    } else {
        format!("role {} already held; no change", changed.name)
    };
    audit_log::record(
        conn,
        principal,
        AuditAction::KeyUpdated,
        Target::key(key.id.clone(), key.name.clone()),
        summary,
    )?;
    Ok(())
}

/// Revokes a key for good: it stays listed, and never authenticates again.
pub async fn revoke(db: &Db, principal: Principal, key_id: String) -> Result<ApiKey, AppError> {
    principal.require(SERVICE_ACCOUNTS_DELETE)?;
    in_authz_transaction(db, move |conn| {
        let existing = api_key::find_for_update(conn, &key_id)?.ok_or(AppError::NotFound)?;
        if existing.revoked_at.is_some() {
            return Err(AppError::Conflict("This key is already revoked.".into()));
        }
        grants::require_can_change_key(conn, &principal, &key_id)?;
        api_key::revoke(conn, &key_id)?;
        audit_log::record(
            conn,
            &principal,
            AuditAction::KeyRevoked,
            Target::key(key_id.clone(), existing.name.clone()),
            format!("public id {}", existing.public_id),
        )?;
        api_key::find(conn, &key_id)?.ok_or(AppError::NotFound)
    })
    .await
}

fn role_names(roles: &[Role]) -> String {
    if roles.is_empty() {
        "none".into()
    } else {
        roles
            .iter()
            .map(|r| r.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn describe_expiry(expires_at: Option<NaiveDateTime>) -> String {
    expires_at.map_or_else(
        || "never".into(),
        |at| at.format("%Y-%m-%d %H:%M UTC").to_string(),
    )
}

fn key_change_summary(
    before: &ApiKey,
    name: &str,
    expires_at: Option<NaiveDateTime>,
    roles_before: &[Role],
    roles_after: &[Role],
) -> String {
    let mut parts = Vec::new();
    if before.name != name {
        parts.push(format!("renamed from “{}”", before.name));
    }
    if before.expires_at != expires_at {
        parts.push(format!(
            "expiry {} → {}",
            describe_expiry(before.expires_at),
            describe_expiry(expires_at)
        ));
    }
    let added: Vec<&str> = roles_after
        .iter()
        .filter(|r| !roles_before.iter().any(|b| b.id == r.id))
        .map(|r| r.name.as_str())
        .collect();
    let removed: Vec<&str> = roles_before
        .iter()
        .filter(|r| !roles_after.iter().any(|a| a.id == r.id))
        .map(|r| r.name.as_str())
        .collect();
    if !added.is_empty() {
        parts.push(format!("roles added: {}", added.join(", ")));
    }
    if !removed.is_empty() {
        parts.push(format!("roles removed: {}", removed.join(", ")));
    }
    if parts.is_empty() {
        "details saved without changes to name, expiry or roles".into()
    } else {
        parts.join("; ")
    }
}

/// A key with everything its detail page shows.
#[derive(Debug, Clone)]
pub struct KeyDetail {
    pub key: ApiKey,
    pub status: KeyStatus,
    pub creator_email: Option<String>,
    pub roles: Vec<Role>,
    pub effective: Vec<EffectivePermission>,
}

pub fn detail(conn: &mut DbConnection, key_id: &str) -> Result<KeyDetail, AppError> {
    let key = api_key::find(conn, key_id)?.ok_or(AppError::NotFound)?;
    let role_ids = api_key::role_ids(conn, key_id)?;
    let roles = role::find_many(conn, &role_ids)?;
    let effective = effective_permissions(conn, &roles)?;
    let creator_email = api_key::creator_email(conn, &key)?;
    Ok(KeyDetail {
        status: key.status_at(now()),
        key,
        creator_email,
        roles,
        effective,
    })
}
