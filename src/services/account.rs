//! A person's own account: changing their password, and setting one from an invitation or reset link.

use chrono::NaiveDateTime;

use crate::auth::password;
use crate::auth::token::sha256_hex;
use crate::auth::Principal;
use crate::authz::{AuditAction, Outcome, UserStatus};
use crate::db::{now, Db, DbConnection};
use crate::error::AppError;
use crate::models::audit::{self, Actor, Target};
use crate::models::user::{self, User};
use crate::models::user_token::{self, UserToken};
use crate::models::{role, session};
use crate::services::audit_log;
use crate::services::grants::{self, effective_permissions, EffectivePermission};
use crate::services::team::LinkKind;
use crate::services::{FieldErrors, FormError};

/// A new password's problems: too weak (or too close to the email), or its confirmation differs.
pub(crate) fn check_new_password(
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
            // The checks above ran before argon2, outside any transaction: the person may have been
            // deactivated, or signed out everywhere by another password change, since. Under the
            // row lock (writers of this person take turns) the change goes through only if nothing
            // ended their sessions meanwhile; otherwise this request's session is over too.
            let locked = user::find_for_update(conn, &found.id)?.ok_or(AppError::NotFound)?;
            if !locked.is_active() || locked.auth_version != found.auth_version {
                return Err(AppError::Unauthenticated.into());
            }
            user::set_password(conn, &found.id, &hash)?;
            audit_log::record(
                conn,
                &principal,
                AuditAction::PasswordChanged,
                Target::user(found.id.clone(), found.email.clone()),
                "other sessions ended",
            )?;
            Ok(user::find(conn, &found.id)?.ok_or(AppError::NotFound)?)
        })
    })
    .await
}

/// Whether a person may set a password with a link: invited or active, not deactivated.
fn may_set_password(holder: &User) -> bool {
    holder.status == UserStatus::Invited.as_str() || holder.is_active()
}

/// The link and the person it belongs to, when the link can still be used.
fn usable_link(
    conn: &mut DbConnection,
    token: &str,
) -> Result<Option<(UserToken, User)>, AppError> {
    let Some(link) = user_token::find_usable(conn, &sha256_hex(token))? else {
        return Ok(None);
    };
    match user::find(conn, &link.user_id)? {
        Some(holder)
            if may_set_password(&holder)
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
}

/// Whom a usable set-password link is for, as its page greets them.
#[derive(Debug, Clone)]
pub struct LinkHolder {
    pub email: String,
    /// An invitation (rather than a password reset).
    pub invited: bool,
}

/// The person a link belongs to, when the link can still be used.
pub async fn link_holder(db: &Db, token: String) -> Result<Option<LinkHolder>, AppError> {
    db.run(move |conn| {
        Ok(usable_link(conn, &token)?.map(|(link, holder)| LinkHolder {
            email: holder.email,
            invited: link.purpose == LinkKind::Invitation.purpose(),
        }))
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
    let (link, holder) = db
        .run(move |conn| usable_link(conn, &token))
        .await?
        .ok_or(AppError::NotFound)?;
    let mut errors = FieldErrors::default();
    check_new_password(&new_password, &confirmation, &holder.email, &mut errors);
    if !errors.is_empty() {
        return Err(FormError::Invalid(errors));
    }
    let hash = password::hash_off_thread(new_password).await?;
    db.run(move |conn| {
        crate::db::transaction(conn, |conn| {
            // Checked again under the holder's row lock: between the check in `link_holder` and
            // now (argon2 ran in between) the holder may have been deactivated or promoted beyond
            // the link's issuer, or the issuer deactivated or demoted. Writers of the holder's
            // roles and status lock the same row, so what is read here stays true until commit.
            let locked = user::find_for_update(conn, &holder.id)?.ok_or(AppError::NotFound)?;
            if !may_set_password(&locked)
                || !grants::link_issuer_still_outranks(
                    conn,
                    link.created_by.as_deref(),
                    &holder.id,
                )?
            {
                return Err(AppError::NotFound.into());
            }
            if !user_token::mark_used(conn, &link.id)? {
                return Err(AppError::NotFound.into());
            }
            user::set_password(conn, &holder.id, &hash)?;
            user::activate_invited(conn, &holder.id)?;
            let action = if link.purpose == LinkKind::Invitation.purpose() {
                AuditAction::InvitationAccepted
            } else {
                AuditAction::PasswordReset
            };
            audit::record(
                conn,
                audit::NewEvent {
                    actor: &Actor::User {
                        id: holder.id.clone(),
                        label: holder.email.clone(),
                    },
                    action,
                    target: Target::user(holder.id.clone(), holder.email.clone()),
                    summary: "password set with a one-time link".into(),
                    ip_address: ip.as_deref(),
                    outcome: Outcome::Success,
                },
            )?;
            Ok(user::find(conn, &holder.id)?.ok_or(AppError::NotFound)?)
        })
    })
    .await
}

/// What the signed-in principal holds: the names of their roles, and each permission with the roles
/// granting it ("why can't I create API keys?").
#[derive(Debug, Clone)]
pub struct Holdings {
    pub roles: Vec<String>,
    pub effective: Vec<EffectivePermission>,
}

pub async fn holdings(db: &Db, principal: &Principal) -> Result<Holdings, AppError> {
    let user_id = principal.id.clone();
    db.run(move |conn| {
        let role_ids = user::role_ids(conn, &user_id)?;
        let roles = role::find_many(conn, &role_ids)?;
        let effective = effective_permissions(conn, &roles)?;
        Ok(Holdings {
            roles: roles.into_iter().map(|r| r.name).collect(),
            effective,
        })
    })
    .await
}

/// The most sessions the Account page lists.
const SESSIONS_LISTED: i64 = 50;

/// One of a person's active sessions, as the Account page lists it.
#[derive(Debug, Clone)]
pub struct ActiveSession {
    pub started: NaiveDateTime,
    pub last_seen: NaiveDateTime,
    pub address: String,
    /// A short readable name ("Firefox 128 on Linux"), at most [`BROWSER_LABEL_MAX_CHARS`].
    pub browser: String,
    /// The session this request belongs to.
    pub current: bool,
}

/// The signed-in person's unexpired sessions, most recently used first. `current_id_hash` marks
/// this browser's (see [`crate::auth::session::current_id_hash`]).
pub async fn active_sessions(
    db: &Db,
    principal: &Principal,
    current_id_hash: Option<String>,
) -> Result<Vec<ActiveSession>, AppError> {
    let user_id = principal.user_id().ok_or(AppError::NotFound)?.to_string();
    let found = db
        .run(move |conn| {
            session::active_for_user(conn, &user_id, now(), SESSIONS_LISTED).map_err(AppError::from)
        })
        .await?;
    Ok(found
        .into_iter()
        .map(|row| ActiveSession {
            current: current_id_hash.as_deref() == Some(row.id_hash.as_str()),
            started: row.created_at,
            last_seen: row.last_seen_at,
            address: row.ip_address.unwrap_or_else(|| "unknown".into()),
            browser: browser_label(row.user_agent.as_deref().unwrap_or_default()),
        })
        .collect())
}

/// "Sign out everywhere else": ends the person's other sessions, on every instance at once, and
/// records it. Returns how many ended.
pub async fn end_other_sessions(
    db: &Db,
    principal: Principal,
    current_id_hash: Option<String>,
) -> Result<usize, AppError> {
    let user_id = principal.user_id().ok_or(AppError::NotFound)?.to_string();
    // A signed-in request always has a stored session; without one nothing is kept.
    let keep = current_id_hash.unwrap_or_default();
    db.run(move |conn| {
        crate::db::transaction(conn, |conn| {
            let ended = session::delete_others_for_user(conn, &user_id, &keep)?;
            audit_log::record(
                conn,
                &principal,
                AuditAction::OtherSessionsEnded,
                Target::user(user_id.clone(), principal.label.clone()),
                format!(
                    "{ended} other session{} ended",
                    if ended == 1 { "" } else { "s" }
                ),
            )?;
            Ok(ended)
        })
    })
    .await
}

/// The longest browser name the Account page shows.
pub const BROWSER_LABEL_MAX_CHARS: usize = 48;

/// A short readable name for a `User-Agent`: "Firefox 128 on Linux", "Chrome 131 on macOS",
/// "curl 8.5"; "Unknown browser" when it says nothing recognisable.
pub fn browser_label(user_agent: &str) -> String {
    // Order matters: Edge and Opera also say "Chrome", Chrome also says "Safari".
    const BROWSERS: &[(&str, &str)] = &[
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("Chromium/", "Chromium"),
        ("Chrome/", "Chrome"),
        ("Version/", "Safari"),
        ("curl/", "curl"),
    ];
    const SYSTEMS: &[(&str, &str)] = &[
        ("Android", "Android"),
        ("iPhone", "iOS"),
        ("iPad", "iPadOS"),
        ("CrOS", "ChromeOS"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("Macintosh", "macOS"),
        ("Linux", "Linux"),
    ];
    let browser = BROWSERS.iter().find_map(|(marker, name)| {
        let at = user_agent.find(marker)?;
        let version: String = user_agent[at + marker.len()..]
            .chars()
            .take_while(char::is_ascii_digit)
            .take(6)
            .collect();
        Some(if version.is_empty() {
            (*name).to_string()
        } else {
            format!("{name} {version}")
        })
    });
    let system = SYSTEMS
        .iter()
        .find(|(marker, _)| user_agent.contains(marker))
        .map(|(_, name)| *name);
    let label = match (browser, system) {
        (Some(browser), Some(system)) => format!("{browser} on {system}"),
        (Some(browser), None) => browser,
        (None, Some(system)) => format!("A browser on {system}"),
        (None, None) => "Unknown browser".to_string(),
    };
    label.chars().take(BROWSER_LABEL_MAX_CHARS).collect()
}

#[cfg(test)]
mod tests {
    use super::browser_label;

    #[test]
    fn common_browsers_get_short_names() {
        assert_eq!(
            browser_label("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"),
            "Firefox 128 on Linux"
        );
        assert_eq!(
            browser_label("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"),
            "Chrome 131 on macOS"
        );
        assert_eq!(
            browser_label("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0"),
            "Edge 131 on Windows"
        );
        assert_eq!(
            browser_label("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"),
            "Safari 17 on iOS"
        );
        assert_eq!(browser_label("curl/8.5.0"), "curl 8");
        assert_eq!(browser_label(""), "Unknown browser");
    }

    #[test]
    fn a_hostile_user_agent_gives_a_bounded_label() {
        let hostile = format!("Firefox/{}", "9".repeat(10_000));
        assert!(browser_label(&hostile).chars().count() <= super::BROWSER_LABEL_MAX_CHARS);
        assert_eq!(browser_label(&"x".repeat(10_000)), "Unknown browser");
    }
}
