//! A person's own account: changing their password, and setting one from an invitation or reset link.

use crate::auth::password;
use crate::auth::token::sha256_hex;
use crate::auth::Principal;
use crate::db::Db;
use crate::error::AppError;
use crate::models::audit::{self, Actor, Target};
use crate::models::user::{self, User, STATUS_DEACTIVATED};
use crate::models::user_token::{self, UserToken};
use crate::services::{grants, FieldErrors, FormError};

fn check_new_password(
    new_password: &str,
    confirmation: &str,
    email: &str,
    errors: &mut FieldErrors,
) {
    if let Err(message) = password::check_strength(new_password, email) {
        errors.add("password", message);
    } else if new_password != confirmation {
        errors.add("password_confirmation", "The two passwords differ.");
    }
}

/// Changes the signed-in user's password (the current one is required). Every session of the user
/// ends; the caller starts a fresh one for the browser that made the change.
pub async fn change_password(
    db: &Db,
    principal: Principal,
    current: String,
    new_password: String,
    confirmation: String,
) -> Result<User, FormError> {
    let user_id = principal.user_id().ok_or(AppError::NotFound)?.to_string();
    let found = db
        .run(move |conn| user::find(conn, &user_id)?.ok_or(AppError::NotFound))
        .await?;
    let stored = found.password_hash.clone();
    let current_ok = password::verify_off_thread(current, stored).await?;
    let mut errors = FieldErrors::default();
    if !current_ok {
        errors.add("current_password", "This is not your current password.");
    }
    check_new_password(&new_password, &confirmation, &found.email, &mut errors);
    if !errors.is_empty() {
        return Err(FormError::Invalid(errors));
    }
    let hash = password::hash_off_thread(new_password).await?;
    db.run(move |conn| {
        crate::db::transaction(conn, |conn| {
            user::set_password(conn, &found.id, &hash)?;
            audit::record(
                conn,
                audit::NewEvent {
                    actor: &principal.actor(),
                    action: "user.password-changed",
                    target: Target {
                        kind: "user",
                        id: Some(found.id.clone()),
                        label: found.email.clone(),
                    },
                    summary: "other sessions ended".into(),
                    ip_address: principal.ip.as_deref(),
                    outcome: audit::OUTCOME_SUCCESS,
                },
            )?;
            Ok(user::find(conn, &found.id)?.ok_or(AppError::NotFound)?)
        })
    })
    .await
}

/// The person a link belongs to, when the link can still be used.
pub async fn link_holder(db: &Db, token: String) -> Result<Option<(UserToken, User)>, AppError> {
    db.run(move |conn| {
        let Some(link) = user_token::find_usable(conn, &sha256_hex(&token))? else {
            return Ok(None);
        };
        match user::find(conn, &link.user_id)? {
            Some(holder)
                if holder.status != STATUS_DEACTIVATED
                    && grants::link_issuer_still_outranks(
                        conn,
                        link.created_by.as_deref(),
                        &holder.id,
                    )? =>
            {
                Ok(Some((link, holder)))
            }
            _ => Ok(None),
        }
    })
    .await
}

/// Sets a password from an invitation or reset link; the link works once.
pub async fn redeem_link(
    db: &Db,
    token: String,
    new_password: String,
    confirmation: String,
    ip: Option<String>,
) -> Result<User, FormError> {
    let (link, holder) = link_holder(db, token).await?.ok_or(AppError::NotFound)?;
    let mut errors = FieldErrors::default();
    check_new_password(&new_password, &confirmation, &holder.email, &mut errors);
    if !errors.is_empty() {
        return Err(FormError::Invalid(errors));
    }
    let hash = password::hash_off_thread(new_password).await?;
    db.run(move |conn| {
        crate::db::transaction(conn, |conn| {
            if !user_token::mark_used(conn, &link.id)? {
                return Err(AppError::NotFound.into());
            }
            user::set_password(conn, &holder.id, &hash)?;
            let action = if link.purpose == user_token::PURPOSE_INVITE {
                "user.invitation-accepted"
            } else {
                "user.password-reset"
            };
            audit::record(
                conn,
                audit::NewEvent {
                    actor: &Actor::User {
                        id: holder.id.clone(),
                        label: holder.email.clone(),
                    },
                    action,
                    target: Target {
                        kind: "user",
                        id: Some(holder.id.clone()),
                        label: holder.email.clone(),
                    },
                    summary: "password set with a one-time link".into(),
                    ip_address: ip.as_deref(),
                    outcome: audit::OUTCOME_SUCCESS,
                },
            )?;
            Ok(user::find(conn, &holder.id)?.ok_or(AppError::NotFound)?)
        })
    })
    .await
}
