//! First-run setup: a one-time link printed in the log lets the first person create the admin.

use subtle::ConstantTimeEq;

use crate::auth::token::{self, sha256_hex};
use crate::authz::catalog::ADMIN_ROLE_ID;
use crate::authz::{AuditAction, Outcome, UserStatus};
use crate::db::{new_id, now, Db, DbConnection};
use crate::error::AppError;
use crate::models::audit::{self, Actor, Target};
use crate::models::user::{self, NewUser, User};
use crate::models::{permission, role, setting};
use crate::services::{FieldErrors, FormError};

/// Seeds what every installation has: Latchkey's permissions, the Admin role, and the authorization
/// version row. That row must exist before any request: concurrent transactions that bump it then
/// only update it (on PostgreSQL two first inserts would collide and abort a transaction).
pub fn seed(conn: &mut DbConnection) -> Result<(), AppError> {
    permission::ensure_builtin(conn)?;
    role::ensure_admin_role(conn)?;
    setting::get_or_insert(conn, setting::AUTHZ_VERSION, &new_id())?;
    Ok(())
}

/// When nobody can sign in yet, makes a new one-time setup token (only its hash is stored) and
/// returns it; otherwise removes any stale token and returns `None`.
pub fn prepare_token(conn: &mut DbConnection) -> Result<Option<String>, AppError> {
    if user::count(conn)? > 0 {
        setting::delete(conn, setting::SETUP_TOKEN_SHA256)?;
        return Ok(None);
    }
    let token = token::random_hex(24);
    setting::set(conn, setting::SETUP_TOKEN_SHA256, &sha256_hex(&token))?;
    Ok(Some(token))
}

/// Whether `token` opens the setup page now (no user yet, token matches the stored hash).
pub fn token_is_valid(conn: &mut DbConnection, token: &str) -> Result<bool, AppError> {
    if user::count(conn)? > 0 {
        return Ok(false);
    }
    let Some(stored) = setting::get(conn, setting::SETUP_TOKEN_SHA256)? else {
        return Ok(false);
    };
    Ok(bool::from(
        stored.as_bytes().ct_eq(sha256_hex(token).as_bytes()),
    ))
}

/// [`token_is_valid`], for the setup page.
pub async fn link_opens_setup(db: &Db, token: String) -> Result<bool, AppError> {
    db.run(move |conn| token_is_valid(conn, &token)).await
}

/// What the setup form and `create-admin` ask for.
#[derive(Debug, Clone, Default)]
pub struct AdminInput {
    pub email: String,
    pub display_name: String,
    pub password: String,
    pub password_confirmation: String,
}

impl AdminInput {
    pub fn validate(&self) -> Result<(), FieldErrors> {
        let mut errors = FieldErrors::default();
        let email = self.email.trim();
        if email.is_empty() {
            errors.add("email", "Enter an email address.");
        } else if !looks_like_email(email) {
            errors.add("email", "Enter an email address like name@example.com.");
        }
        check_display_name(&self.display_name, &mut errors);
        super::account::check_new_password(
            &self.password,
            &self.password_confirmation,
            email,
            &mut errors,
        );
        errors.into_result()
    }

    fn name_or_default(&self) -> String {
        let name = self.display_name.trim();
        if name.is_empty() {
            self.email
                .trim()
                .split('@')
                .next()
                .unwrap_or_default()
                .to_string()
        } else {
            name.to_string()
        }
    }
}

/// The one email check (see [`crate::limits::is_valid_email`]), for the setup form and invitations.
pub fn looks_like_email(email: &str) -> bool {
    crate::limits::is_valid_email(email)
}

/// A person's display name: at most [`crate::limits::DISPLAY_NAME_MAX`] characters, one line.
pub fn check_display_name(name: &str, errors: &mut FieldErrors) {
    let max = crate::limits::DISPLAY_NAME_MAX;
    if name.trim().chars().count() > max {
        errors.add("display_name", format!("Use at most {max} characters."));
    } else if let Some(problem) = crate::limits::line_problem(name.trim()) {
        errors.add("display_name", problem);
    }
}

/// Completes first-run setup: creates the first admin, spending the token in the same transaction so
/// two browsers racing with one link cannot both succeed.
pub async fn complete(
    db: &Db,
    token: String,
    input: AdminInput,
    ip: Option<String>,
) -> Result<User, FormError> {
    input.validate().map_err(FormError::Invalid)?;
    let password = input.password.clone();
    let hash = crate::auth::password::hash_off_thread(password).await?;
    db.run(move |conn| {
        crate::db::transaction(conn, |conn| {
            if !token_is_valid(conn, &token)?
                || !setting::delete(conn, setting::SETUP_TOKEN_SHA256)?
            {
                return Err(AppError::NotFound);
            }
            create_admin_in(
                conn,
                &input,
                &hash,
                &Actor::Anonymous,
                ip.as_deref(),
                AuditAction::SetupCompleted,
            )
        })
    })
    .await
    .map_err(FormError::from)
}

/// Creates an administrator from the command line (`latchkey create-admin`).
pub fn create_admin_blocking(
    conn: &mut DbConnection,
    input: &AdminInput,
) -> Result<User, FormError> {
    input.validate().map_err(FormError::Invalid)?;
    let hash = crate::auth::password::hash(&input.password)?;
    crate::db::transaction(conn, |conn| {
        let created = create_admin_in(
            conn,
            input,
            &hash,
            &Actor::System,
            None,
            AuditAction::UserCreated,
        )?;
        setting::delete(conn, setting::SETUP_TOKEN_SHA256)?;
        Ok::<_, AppError>(created)
    })
    .map_err(FormError::from)
}

fn create_admin_in(
    conn: &mut DbConnection,
    input: &AdminInput,
    password_hash: &str,
    actor: &Actor,
    ip: Option<&str>,
    action: AuditAction,
) -> Result<User, AppError> {
    let email = user::normalize_email(&input.email);
    if user::find_by_email(conn, &email)?.is_some() {
        return Err(AppError::validation(
            "email",
            "A user with this email already exists.",
        ));
    }
    let id = new_id();
    let display_name = input.name_or_default();
    let at = now();
    user::insert(
        conn,
        &NewUser {
            id: &id,
            email: &email,
            display_name: &display_name,
            password_hash: Some(password_hash),
            status: UserStatus::Active.as_str(),
            auth_version: 1,
            created_at: at,
            updated_at: at,
        },
    )?;
    user::grant_role(conn, &id, ADMIN_ROLE_ID, None)?;
    audit::record(
        conn,
        audit::NewEvent {
            actor,
            action,
            target: Target::user(id.clone(), email.clone()),
            summary: "administrator created with the Admin role".into(),
            ip_address: ip,
            outcome: Outcome::Success,
        },
    )?;
    user::find(conn, &id)?.ok_or(AppError::NotFound)
}
