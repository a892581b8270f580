//! Signing in with email and password, with per-email throttling recorded in the audit log (so it
//! holds across restarts and across every instance on one database).

use chrono::Duration;

use crate::auth::password;
use crate::db::{now, Db};
use crate::error::AppError;
use crate::models::audit::{self, Actor, Target};
use crate::models::user::{self, User};

pub const MAX_FAILURES: usize = 5;
pub const WINDOW_MINUTES: i64 = 15;
pub const FAILED_ACTION: &str = "auth.sign-in-failed";

#[derive(Debug)]
pub enum SignInOutcome {
    SignedIn(User),
    /// Wrong password or unknown email: one message for both.
    InvalidCredentials,
    Throttled {
        minutes: i64,
    },
    /// Too many password checks are waiting on this instance; nothing was checked or recorded.
    Busy {
        seconds: u64,
    },
}

pub async fn sign_in(
    db: &Db,
    email: String,
    password: String,
    ip: Option<String>,
) -> Result<SignInOutcome, AppError> {
    let email_key = user::normalize_email(&email);
    let lookup_key = email_key.clone();
    let (found, recent_failures) = db
        .run(move |conn| {
            let since = now() - Duration::minutes(WINDOW_MINUTES);
            let failures = audit::times_since(conn, FAILED_ACTION, &lookup_key, since)?;
            Ok::<_, AppError>((user::find_by_email(conn, &lookup_key)?, failures))
        })
        .await?;

    if recent_failures.len() >= MAX_FAILURES {
        let oldest_counted = recent_failures[recent_failures.len() - MAX_FAILURES];
        let wait = (oldest_counted + Duration::minutes(WINDOW_MINUTES)) - now();
        let minutes = (wait.num_seconds() + 59).div_euclid(60).max(1);
        tracing::warn!(email = %email_key, minutes, "sign-in throttled after repeated failures");
        return Ok(SignInOutcome::Throttled { minutes });
    }

    let stored_hash = found.as_ref().and_then(|u| u.password_hash.clone());
    let password_matches = match password::verify_off_thread(password, stored_hash).await {
        Err(AppError::TooManyRequests {
            retry_after_secs, ..
        }) => {
            return Ok(SignInOutcome::Busy {
                seconds: retry_after_secs,
            })
        }
        checked => checked?,
    };

    match found {
        Some(user) if password_matches && user.is_active() => {
            let signed_in = user.clone();
            db.run(move |conn| {
                crate::db::transaction(conn, |conn| {
                    user::record_sign_in(conn, &signed_in.id)?;
                    audit::record(
                        conn,
                        audit::NewEvent {
                            actor: &Actor::User {
                                id: signed_in.id.clone(),
                                label: signed_in.email.clone(),
                            },
                            action: "auth.signed-in",
                            target: Target {
                                kind: "user",
                                id: Some(signed_in.id.clone()),
                                label: signed_in.email.clone(),
                            },
                            summary: String::new(),
                            ip_address: ip.as_deref(),
                            outcome: audit::OUTCOME_SUCCESS,
                        },
                    )
                })
                .map_err(AppError::from)
            })
            .await?;
            Ok(SignInOutcome::SignedIn(user))
        }
        _ => {
            tracing::info!(email = %email_key, "sign-in failed");
            db.run(move |conn| {
                audit::record(
                    conn,
                    audit::NewEvent {
                        actor: &Actor::Anonymous,
                        action: FAILED_ACTION,
                        target: Target {
                            kind: "user",
                            id: Some(email_key.clone()),
                            label: email_key.clone(),
                        },
                        summary: String::new(),
                        ip_address: ip.as_deref(),
                        outcome: audit::OUTCOME_FAILURE,
                    },
                )
                .map_err(AppError::from)
            })
            .await?;
            Ok(SignInOutcome::InvalidCredentials)
        }
    }
}

/// Records a sign-out in the audit log.
pub async fn record_sign_out(db: &Db, principal: &crate::auth::Principal) -> Result<(), AppError> {
    let principal = principal.clone();
    db.run(move |conn| {
        audit::record(
            conn,
            audit::NewEvent {
                actor: &principal.actor(),
                action: "auth.signed-out",
                target: Target {
                    kind: "user",
                    id: Some(principal.id.clone()),
                    label: principal.label.clone(),
                },
                summary: String::new(),
                ip_address: principal.ip.as_deref(),
                outcome: audit::OUTCOME_SUCCESS,
            },
        )
        .map_err(AppError::from)
    })
    .await
}
