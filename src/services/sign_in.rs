//! Signing in with email and password, throttled per account and per client address. Both
//! throttles count the failures recorded in the audit log (so they hold across restarts and across
//! every instance on one database):
//!
//! - **Per address**: after [`ADDRESS_MAX_FAILURES`] failed sign-ins from one client address (an
//!   IPv6 client per /64) in [`WINDOW_MINUTES`], every sign-in from it waits, the right password
//!   included (a password must not be checked for a guesser). This bounds spraying many emails.
//! - **Per account**: after [`MAX_FAILURES`] failures for one email in the window, sign-ins for it
//!   wait, except from an address with no failed sign-in of its own in the window. So an attacker
//!   elsewhere cannot lock the owner out (the owner's address has no failures, and the right
//!   password gets through), while each address guessing gets at most one more try per window on a
//!   throttled account (its first failure makes it an address with failures).

use chrono::Duration;

use crate::auth::password;
use crate::db::{now, Db};
use crate::error::AppError;
use crate::limits::{truncate, EMAIL_MAX};
use crate::models::audit::{self, Actor, Target};
use crate::models::user::{self, User};

/// Failed sign-ins for one email in the window before the per-account throttle.
pub const MAX_FAILURES: usize = 5;
/// Failed sign-ins from one client address in the window before every sign-in from it waits.
pub const ADDRESS_MAX_FAILURES: usize = 20;
pub const WINDOW_MINUTES: i64 = 15;
pub const FAILED_ACTION: &str = "auth.sign-in-failed";

#[derive(Debug)]
pub enum SignInOutcome {
    SignedIn(User),
    /// Wrong password or unknown email: one message for both.
    InvalidCredentials,
    /// Too many failures for this email, from an address that failed too.
    Throttled {
        minutes: i64,
    },
    /// Too many failures from this client address, for any email.
    AddressThrottled {
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
    // No account has an email longer than the limit; a longer one is a failure recorded cut short.
    let normalized = user::normalize_email(&email);
    let over_long = normalized.chars().count() > EMAIL_MAX;
    let email_key = truncate(&normalized, EMAIL_MAX).into_owned();
    let lookup_key = email_key.clone();
    let address = ip.clone();
    let (found, account_failures, address_failures) = db
        .run(move |conn| {
            let since = now() - Duration::minutes(WINDOW_MINUTES);
            let account = audit::times_since(conn, FAILED_ACTION, &lookup_key, since)?;
            let from_address = match &address {
                Some(ip) => audit::times_from_network_since(conn, FAILED_ACTION, ip, since)?,
                None => Vec::new(),
            };
            let found = if over_long {
                None
            } else {
                user::find_by_email(conn, &lookup_key)?
            };
            Ok::<_, AppError>((found, account, from_address))
        })
        .await?;

    if address_failures.len() >= ADDRESS_MAX_FAILURES {
        let minutes = minutes_until_below(&address_failures, ADDRESS_MAX_FAILURES);
        tracing::warn!(ip = ?ip, minutes, "sign-in throttled for an address after repeated failures");
        return Ok(SignInOutcome::AddressThrottled { minutes });
    }
    // An address is known clean only when there is one: without it, the account throttle holds.
    let address_is_clean = ip.is_some() && address_failures.is_empty();
    if account_failures.len() >= MAX_FAILURES && !address_is_clean {
        let minutes = minutes_until_below(&account_failures, MAX_FAILURES);
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

/// Whole minutes until fewer than `limit` of these failures (oldest first) are in the window.
fn minutes_until_below(failures: &[chrono::NaiveDateTime], limit: usize) -> i64 {
    let Some(oldest_counted) = failures
        .len()
        .checked_sub(limit)
        .and_then(|first| failures.get(first))
    else {
        return 1;
    };
    let wait = (*oldest_counted + Duration::minutes(WINDOW_MINUTES)) - now();
    (wait.num_seconds() + 59).div_euclid(60).max(1)
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
