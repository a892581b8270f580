//! The team: inviting people, granting and revoking their roles within the granter's own rights,
//! deactivating and reactivating them, and issuing password-reset links.
//!
//! What refuses an action on a person is stated here once: the state of the person (`can_*`,
//! answered 409 by the operations) and the viewer's rank over them ([`can_act_on`], answered 403 by
//! the operations naming the missing permission). Pages call the same functions to disable a
//! button and say why.

mod invitations;
mod member_roles;
mod reads;
mod status;

pub use invitations::{
    invite, issue_reset_link, InviteInput, IssuedLink, LinkKind, INVITE_DAYS, OWN_RESET_LINK,
    RESET_HOURS,
};
pub use member_roles::{grant_role, revoke_role, set_roles};
pub use reads::{
    count, deactivation_preview, list_after, member, page, person, DeactivationPreview,
    MemberDetail, MemberSummary,
};
pub use status::{deactivate, reactivate};

pub use crate::models::user::User;

use crate::auth::Principal;
use crate::authz::catalog::ADMIN_ROLE_ID;
use crate::authz::UserStatus;
use crate::db::DbConnection;
use crate::error::AppError;
use crate::models::role;
use crate::models::user;
use crate::services::{grants, Refusal};

/// A person as one principal may act on them: their roles, whether they are the principal, and
/// what of their rights the principal lacks.
#[derive(Debug, Clone)]
pub struct Member {
    pub user: User,
    pub role_ids: Vec<String>,
    is_viewer: bool,
    /// The first permission of their roles the principal lacks (see [`grants::first_missing`]).
    beyond_viewer: Option<String>,
    /// The only active holder of the Admin role.
    last_admin: bool,
}

impl Member {
    /// Reads the person's roles; in an operation, after their row (and the Admin role's, where
    /// administrators are counted) is locked.
    fn load(conn: &mut DbConnection, principal: &Principal, user: User) -> Result<Self, AppError> {
        let role_ids = user::role_ids(conn, &user.id)?;
        let beyond_viewer = grants::first_missing(conn, &principal.permissions, &role_ids)?;
        let last_admin = user.is_active()
            && role_ids.iter().any(|r| r == ADMIN_ROLE_ID)
            && user::count_active_holders(conn, ADMIN_ROLE_ID)? <= 1;
        Ok(Self {
            is_viewer: principal.user_id() == Some(user.id.as_str()),
            user,
            role_ids,
            beyond_viewer,
            last_admin,
        })
    }

    pub fn is_viewer(&self) -> bool {
        self.is_viewer
    }

    pub fn is_deactivated(&self) -> bool {
        self.user.status == UserStatus::Deactivated.as_str()
    }

    pub fn is_invited(&self) -> bool {
        self.user.status == UserStatus::Invited.as_str()
    }

    /// Fails naming the first permission of their roles the principal lacks (403, with the
    /// sentence of [`can_act_on`]): acting on them would reach beyond the principal's own rights.
    fn require_rank(&self, action: MemberAction) -> Result<(), AppError> {
        match &self.beyond_viewer {
            Some(permission) => Err(grants::outranked(action.phrase(), permission)),
            None => Ok(()),
        }
    }
}

/// What a page offers to do to a person, for the sentence of a refusal by rank.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberAction {
    ChangeRoles,
    IssueLink,
    Deactivate,
    Reactivate,
}

impl MemberAction {
    fn phrase(self) -> &'static str {
        match self {
            MemberAction::ChangeRoles => "change their roles",
            MemberAction::IssueLink => "issue a password link for this person",
            MemberAction::Deactivate => "deactivate this person",
            MemberAction::Reactivate => "reactivate this person",
        }
    }
}

/// Whether the principal outranks the person for `action`: every permission of their roles is the
/// principal's. The operations answer the same rule and sentence 403, naming the permission.
pub fn can_act_on(member: &Member, action: MemberAction) -> Result<(), Refusal> {
    match &member.beyond_viewer {
        Some(permission) => Err(Refusal::new(grants::outranked_sentence(
            action.phrase(),
            permission,
        ))),
        None => Ok(()),
    }
}

/// Whether the principal may deactivate the person (or reactivate them, when deactivated), checked
/// in the order the operations check: their state, then rank, then the last administrator.
pub fn can_change_status(member: &Member) -> Result<(), Refusal> {
    if member.is_deactivated() {
        can_reactivate(member)?;
        can_act_on(member, MemberAction::Reactivate)
    } else {
        can_deactivate(member)?;
        can_act_on(member, MemberAction::Deactivate)?;
        can_lose_admin(member)
    }
}

/// Whether the principal may issue the person a password link, in the operation's order.
pub fn can_send_link(member: &Member) -> Result<(), Refusal> {
    can_issue_link(member)?;
    can_act_on(member, MemberAction::IssueLink)
}

/// Nobody issues a password link for their own account, nor for a deactivated person.
pub fn can_issue_link(member: &Member) -> Result<(), Refusal> {
    if member.is_viewer {
        return Err(Refusal::new(OWN_RESET_LINK));
    }
    if member.is_deactivated() {
        return Err(Refusal::new(format!(
            "{} is deactivated. Reactivate them first.",
            member.user.email
        )));
    }
    Ok(())
}

/// Nobody deactivates their own account, nor someone already deactivated.
pub fn can_deactivate(member: &Member) -> Result<(), Refusal> {
    if member.is_viewer {
        return Err(Refusal::new(
            "You cannot deactivate your own account. Ask another administrator.",
        ));
    }
    if member.is_deactivated() {
        return Err(Refusal::new(format!(
            "{} is already deactivated.",
            member.user.email
        )));
    }
    Ok(())
}

pub fn can_reactivate(member: &Member) -> Result<(), Refusal> {
    if member.is_deactivated() {
        Ok(())
    } else {
        Err(Refusal::new(format!(
            "{} is not deactivated.",
            member.user.email
        )))
    }
}

/// The last active administrator keeps the Admin role and stays active, so that someone can always
/// manage Latchkey.
pub fn can_lose_admin(member: &Member) -> Result<(), Refusal> {
    if member.last_admin {
        Err(Refusal::new(format!(
            "{} is the last active administrator. Give the Admin role to someone else first, so that someone can always manage Latchkey.",
            member.user.email
        )))
    } else {
        Ok(())
    }
}

/// Serialises every change that could leave no active administrator (taking the Admin role from
/// someone, deactivating someone): each locks the Admin role's row first, so two administrators
/// demoting or deactivating each other at the same moment take turns, and the second sees the first's
/// change when it counts the remaining administrators. On SQLite the transaction already holds the
/// write lock. Always taken before the user's own row, so the lock order is the same everywhere.
fn lock_admins(conn: &mut DbConnection) -> Result<(), AppError> {
    role::find_for_update(conn, ADMIN_ROLE_ID)?;
    Ok(())
}

/// Locks the person's row for the rest of the transaction (writers of one person take turns) and
/// reads them as the principal may act on them.
fn lock_member(
    conn: &mut DbConnection,
    principal: &Principal,
    user_id: &str,
) -> Result<Member, AppError> {
    let user = user::find_for_update(conn, user_id)?.ok_or(AppError::NotFound)?;
    Member::load(conn, principal, user)
}
