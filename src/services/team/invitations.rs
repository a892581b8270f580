//! Bringing people in: invitations, and the one-time links that let someone choose a password.

use super::MemberAction;
use chrono::{Duration, NaiveDateTime};

use super::{can_issue_link, Member, User};
use crate::auth::token::{random_hex, sha256_hex};
use crate::auth::Principal;
use crate::authz::catalog::{USERS_CREATE, USERS_UPDATE};
use crate::authz::{AuditAction, UserStatus};
use crate::db::{new_id, now, Db};
use crate::error::AppError;
use crate::models::audit::Target;
use crate::models::user::{self, NewUser};
use crate::models::user_token;
use crate::services::audit_log::role_names;
use crate::services::grants::check_grantable_roles;
use crate::services::{audit_log, setup, FieldErrors, FormError};

pub const INVITE_DAYS: i64 = 7;
pub const RESET_HOURS: i64 = 24;

/// Why nobody issues a reset link for their own account: a signed-in session (perhaps someone
/// else's, left open) would otherwise set a new password without knowing the current one.
pub const OWN_RESET_LINK: &str = "You cannot issue a password link for your own account. Change your password on your Account page: it asks for your current one.";

#[derive(Debug, Clone, Default)]
pub struct InviteInput {
    pub email: String,
    pub display_name: String,
    pub roles: Vec<String>,
}

/// A person just invited, with the one-time link token to hand over (shown once, stored as a hash).
#[derive(Debug, Clone)]
pub struct IssuedLink {
    pub user: User,
    pub token: String,
}

/// The link a person is handed: someone invited and without a password yet gets a new invitation
/// (valid [`INVITE_DAYS`]), anyone else a password reset (valid [`RESET_HOURS`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkKind {
    Invitation,
    PasswordReset,
}

impl LinkKind {
    pub fn for_person(person: &User) -> Self {
        if person.status == UserStatus::Invited.as_str() {
            LinkKind::Invitation
        } else {
            LinkKind::PasswordReset
        }
    }

    /// How long a link issued now stays valid, as the page says it: "7 days".
    pub fn valid_for(self) -> String {
        match self {
            LinkKind::Invitation => format!("{INVITE_DAYS} days"),
            LinkKind::PasswordReset => format!("{RESET_HOURS} hours"),
        }
    }

    pub(crate) fn purpose(self) -> &'static str {
        match self {
            LinkKind::Invitation => user_token::PURPOSE_INVITE,
            LinkKind::PasswordReset => user_token::PURPOSE_RESET,
        }
    }

    fn expires_at(self, issued: NaiveDateTime) -> NaiveDateTime {
        match self {
            LinkKind::Invitation => issued + Duration::days(INVITE_DAYS),
            LinkKind::PasswordReset => issued + Duration::hours(RESET_HOURS),
        }
    }
}

const EMAIL_TAKEN: &str = "Someone with this email is already on the team.";

pub async fn invite(
    db: &Db,
    principal: Principal,
    input: InviteInput,
) -> Result<IssuedLink, FormError> {
    principal.require(USERS_CREATE)?;
    db.run(move |conn| {
        crate::db::transaction(conn, |conn| {
            let mut errors = FieldErrors::default();
            let email = user::normalize_email(&input.email);
            if email.is_empty() {
                errors.add("email", "Enter the person's email address.");
            } else if !setup::looks_like_email(&email) {
                errors.add("email", "Enter an email address like name@example.com.");
            } else if user::find_by_email(conn, &email)?.is_some() {
                errors.add("email", EMAIL_TAKEN);
            }
            setup::check_display_name(&input.display_name, &mut errors);
            let roles = check_grantable_roles(conn, &principal, &input.roles, &[], &mut errors)?;
            if !errors.is_empty() {
                return Err(FormError::Invalid(errors));
            }
            let id = new_id();
            let at = now();
            let name = match input.display_name.trim() {
                "" => email.split('@').next().unwrap_or_default().to_string(),
                given => given.to_string(),
            };
            user::insert(
                conn,
                &NewUser {
                    id: &id,
                    email: &email,
                    display_name: &name,
                    password_hash: None,
                    status: UserStatus::Invited.as_str(),
                    auth_version: 1,
                    created_at: at,
                    updated_at: at,
                },
            )
            .map_err(|e| {
                // Invited at the same moment by someone else: the unique index decides, and the
                // error ends the transaction (on PostgreSQL a failed statement aborts it).
                if crate::db::is_unique_violation(&e) {
                    AppError::FieldConflict {
                        field: "email".into(),
                        message: EMAIL_TAKEN.into(),
                    }
                } else {
                    e.into()
                }
            })?;
            let role_ids: Vec<String> = roles.iter().map(|r| r.id.clone()).collect();
            user::set_roles(conn, &id, &role_ids, principal.user_id())?;
            let token = random_hex(32);
            user_token::issue(
                conn,
                &id,
                LinkKind::Invitation.purpose(),
                &sha256_hex(&token),
                principal.user_id(),
                LinkKind::Invitation.expires_at(at),
            )?;
            let invited = user::find(conn, &id)?.ok_or(AppError::NotFound)?;
            audit_log::record(
                conn,
                &principal,
                AuditAction::UserInvited,
                Target::user(invited.id.clone(), invited.email.clone()),
                format!("roles: {}", role_names(&roles)),
            )?;
            Ok(IssuedLink {
                user: invited,
                token,
            })
        })
    })
    .await
}

/// A one-time link that lets the person choose a password (see [`LinkKind`]).
pub async fn issue_reset_link(
    db: &Db,
    principal: Principal,
    user_id: String,
) -> Result<IssuedLink, AppError> {
    principal.require(USERS_UPDATE)?;
    db.run(move |conn| {
        crate::db::transaction(conn, |conn| {
            let found = user::find(conn, &user_id)?.ok_or(AppError::NotFound)?;
            let member = Member::load(conn, &principal, found)?;
            can_issue_link(&member)?;
            member.require_rank(MemberAction::IssueLink)?;
            let target = member.user;
            let kind = LinkKind::for_person(&target);
            let token = random_hex(32);
            user_token::issue(
                conn,
                &target.id,
                kind.purpose(),
                &sha256_hex(&token),
                principal.user_id(),
                kind.expires_at(now()),
            )?;
            audit_log::record(
                conn,
                &principal,
                AuditAction::PasswordLinkIssued,
                Target::user(target.id.clone(), target.email.clone()),
                format!("{} link", kind.purpose()),
            )?;
            Ok(IssuedLink {
                user: target,
                token,
            })
        })
    })
    .await
}
