//! Signing in with email and password, throttled per account and per client address. Both
//! throttles count the failures recorded in the audit log (so they hold across restarts and across
//! every instance on one database), in SQL with the audit log's indexes (never by loading them):
//!
//! - **Per address**: after [`ADDRESS_MAX_FAILURES`] failed sign-ins from one client address (an
//!   IPv6 client per /64) in [`WINDOW_MINUTES`], every sign-in from it waits, the right password
//!   included (a password must not be checked for a guesser). This bounds spraying many emails.
//! - **Per account**: after [`MAX_FAILURES`] failures for one email in the window, sign-ins for it
//!   wait, except from an address with no failed sign-in of its own in the window. So an attacker
//!   elsewhere cannot lock the owner out (the owner's address has no failures, and the right
//!   password gets through), while each address guessing gets at most one more try per window on a
//!   throttled account (its first failure makes it an address with failures).
//! - **Per account, hard ceiling**: after [`ACCOUNT_MAX_FAILURES`] failures for one email in the
//!   window, every sign-in to it waits, from any address. See that constant for the trade-off.
//!
//! A throttled attempt is logged at debug level; the failure that starts a throttle is logged once
//! at warn level, so an unauthenticated client cannot grow the server log by being refused.

use chrono::{Duration, NaiveDateTime};

use crate::auth::password;
use crate::authz::{AuditAction, Outcome};
use crate::db::{now, Db, DbConnection};
use crate::error::AppError;
use crate::limits::{truncate, EMAIL_MAX};
use crate::models::audit::{self, Actor, CountedBy, Target};
use crate::models::user::{self, User};
use crate::services::audit_log;

/// Failed sign-ins for one email in the window before the per-account throttle.
pub const MAX_FAILURES: usize = 5;
/// Failed sign-ins for one email in the window after which every sign-in to it waits, whatever the
/// address, the right password included.
///
/// Without it, the exemption for addresses without failures gives every fresh address one guess
/// per account and window: a botnet, or one IPv6 /48 (65,536 /64s), would get tens of thousands
/// of guesses per account every 15 minutes. With it, an account suffers at most this many guesses
/// per window (about 4,800 a day), whatever the attacker holds.
///
/// The trade-off: an attacker holding about this many distinct addresses (each fresh /64 or IPv4
/// address adds one failure once the account is throttled) can lock the owner out for up to
/// [`WINDOW_MINUTES`], as a plain per-account lock-out would. That needs many addresses and costs
/// the owner a wait, not the account; a bounded number of guesses is the property that must hold.
pub const ACCOUNT_MAX_FAILURES: usize = 50;
/// Failed sign-ins from one client address in the window before every sign-in from it waits.
pub const ADDRESS_MAX_FAILURES: usize = 20;
pub const WINDOW_MINUTES: i64 = 15;
pub const FAILED_ACTION: AuditAction = AuditAction::SignInFailed;

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

impl SignInOutcome {
    /// The sentence the sign-in page shows for a refused sign-in (`None` once signed in).
    pub fn refusal(&self) -> Option<String> {
        let plural = |n: i64| if n == 1 { "" } else { "s" };
        match self {
            SignInOutcome::SignedIn(_) => None,
            SignInOutcome::InvalidCredentials => {
                Some("The email or password is not correct.".to_string())
            }
            SignInOutcome::Throttled { minutes } => Some(format!(
                "Too many failed sign-ins for this email. Try again in {minutes} minute{}.",
                plural(*minutes)
            )),
            SignInOutcome::AddressThrottled { minutes } => Some(format!(
                "Too many failed sign-ins from this address. Try again in {minutes} minute{}.",
                plural(*minutes)
            )),
            SignInOutcome::Busy { seconds } => Some(format!(
                "Too many sign-ins at once right now. Try again in {seconds} seconds."
            )),
        }
    }

    /// How long a throttled client should wait before trying again.
    pub fn retry_after_secs(&self) -> Option<i64> {
        match self {
            SignInOutcome::Throttled { minutes } | SignInOutcome::AddressThrottled { minutes } => {
                Some(minutes * 60)
            }
            _ => None,
        }
    }
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
    let gate = db
        .run(move |conn| {
            let since = now() - Duration::minutes(WINDOW_MINUTES);
            let address_failures = match &address {
                Some(ip) => audit::count_since(conn, FAILED_ACTION, CountedBy::Network(ip), since)?,
                None => 0,
            };
            if let Some(ip) = address
                .as_deref()
                .filter(|_| address_failures >= limit(ADDRESS_MAX_FAILURES))
            {
                let by = CountedBy::Network(ip);
                let minutes =
                    minutes_until_below(conn, by, since, address_failures, ADDRESS_MAX_FAILURES)?;
                return Ok(Gate::Closed(SignInOutcome::AddressThrottled { minutes }));
            }
            let by = CountedBy::Target(&lookup_key);
            let account_failures = audit::count_since(conn, FAILED_ACTION, by, since)?;
            // An address is known clean only when there is one: without it, the account throttle holds.
            let address_is_clean = address.is_some() && address_failures == 0;
            if account_failures >= limit(ACCOUNT_MAX_FAILURES)
                || (account_failures >= limit(MAX_FAILURES) && !address_is_clean)
            {
                let below = if address_is_clean {
                    ACCOUNT_MAX_FAILURES
                } else {
                    MAX_FAILURES
                };
                let minutes = minutes_until_below(conn, by, since, account_failures, below)?;
                return Ok(Gate::Closed(SignInOutcome::Throttled { minutes }));
            }
            let found = if over_long {
                None
            } else {
                user::find_by_email(conn, &lookup_key)?
            };
            Ok::<_, AppError>(Gate::Open {
                found,
                account_failures,
                address_failures,
            })
        })
        .await?;
    let (found, account_failures, address_failures) = match gate {
        Gate::Closed(refusal) => {
            // Every refusal is logged at debug only: the failure that started the throttle was
            // logged once at warn (below).
            tracing::debug!(ip = ?ip, email = %email_key, outcome = ?refusal, "sign-in throttled");
            return Ok(refusal);
        }
        Gate::Open {
            found,
            account_failures,
            address_failures,
        } => (found, account_failures, address_failures),
    };

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
                            action: AuditAction::SignedIn,
                            target: Target::user(signed_in.id.clone(), signed_in.email.clone()),
                            summary: String::new(),
                            ip_address: ip.as_deref(),
                            outcome: Outcome::Success,
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
            // The failure that makes a throttle start is logged once (the refusals it causes at
            // debug): log lines grow with recorded failures, which the throttles bound.
            let reaches = |before: i64, threshold: usize| {
                before < limit(threshold) && before + 1 >= limit(threshold)
            };
            if reaches(address_failures, ADDRESS_MAX_FAILURES) {
                tracing::warn!(ip = ?ip, "sign-ins from an address throttled after repeated failures");
            }
            if reaches(account_failures, ACCOUNT_MAX_FAILURES) {
                tracing::warn!(email = %email_key, "every sign-in to an account waits: its failures reached the hard ceiling");
            } else if reaches(account_failures, MAX_FAILURES) {
                tracing::warn!(email = %email_key, "sign-ins to an account throttled after repeated failures");
            }
            db.run(move |conn| {
                audit::record(
                    conn,
                    audit::NewEvent {
                        actor: &Actor::Anonymous,
                        action: FAILED_ACTION,
                        target: Target::user(email_key.clone(), email_key.clone()),
                        summary: String::new(),
                        ip_address: ip.as_deref(),
                        outcome: Outcome::Failure,
                    },
                )
                .map_err(AppError::from)
            })
            .await?;
            Ok(SignInOutcome::InvalidCredentials)
        }
    }
}

/// What the throttles decided before any password is checked.
enum Gate {
    Closed(SignInOutcome),
    Open {
        found: Option<User>,
        account_failures: i64,
        address_failures: i64,
    },
}

fn limit(count: usize) -> i64 {
    i64::try_from(count).unwrap_or(i64::MAX)
}

/// Whole minutes until fewer than `below` of the `count` failures counted by `by` are in the window:
/// until the one whose ageing out brings the count below the limit (oldest first) leaves it.
fn minutes_until_below(
    conn: &mut DbConnection,
    by: CountedBy,
    since: NaiveDateTime,
    count: i64,
    below: usize,
) -> Result<i64, AppError> {
    let nth = count - limit(below);
    let Some(oldest_counted) = (nth >= 0)
        .then(|| audit::nth_time_since(conn, FAILED_ACTION, by, since, nth))
        .transpose()?
        .flatten()
    else {
        return Ok(1);
    };
    let wait = (oldest_counted + Duration::minutes(WINDOW_MINUTES)) - now();
    Ok((wait.num_seconds() + 59).div_euclid(60).max(1))
}

/// Records a sign-out in the audit log.
pub async fn record_sign_out(db: &Db, principal: &crate::auth::Principal) -> Result<(), AppError> {
    let principal = principal.clone();
    db.run(move |conn| {
        audit_log::record(
            conn,
            &principal,
            AuditAction::SignedOut,
            Target::user(principal.id.clone(), principal.label.clone()),
            String::new(),
        )
    })
    .await
}
