//! What a console session holds: the user's id, the user's `auth_version` at sign-in, a flash
//! message for the next page and the one-time secrets of the page after a creation. The state lives
//! on the server ([`crate::auth::session_store`]); the cookie holds only a random session id.

use actix_session::Session;
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::models::user::User;

pub(crate) const USER_ID: &str = "uid";
const AUTH_VERSION: &str = "av";
const FLASH: &str = "flash";
// Entries named `_…` belong to the session store: never stored in the state itself.
/// Added by the store when loading: the SHA-256 of this session's id (to tell "this session").
pub(crate) const CURRENT_SESSION: &str = "_current";
/// Added by the store when the session could not be read (the database is unavailable).
pub(crate) const STORE_UNAVAILABLE: &str = "_unavailable";
/// Set at sign-in, kept by the store in the row's columns for the Account page's list.
pub(crate) const SIGN_IN_IP: &str = "_ip";
pub(crate) const SIGN_IN_USER_AGENT: &str = "_user_agent";
/// Entries named `sealed.…` are stored encrypted with a key derived from the session id, which
/// only the cookie holds: the database alone cannot read them.
pub(crate) const SEALED_PREFIX: &str = "sealed.";

#[derive(Debug, Clone)]
pub struct SessionIdentity {
    pub user_id: String,
    pub auth_version: i32,
}

/// Signs the user in on a fresh session id (against session fixation), noting the address and
/// browser it was started from.
pub fn start(
    session: &Session,
    user: &User,
    ip: Option<String>,
    user_agent: Option<&str>,
) -> Result<(), AppError> {
    session.renew();
    session.insert(USER_ID, &user.id)?;
    session.insert(AUTH_VERSION, user.auth_version)?;
    if let Some(ip) = ip {
        session.insert(SIGN_IN_IP, ip)?;
    }
    if let Some(user_agent) = user_agent {
        session.insert(SIGN_IN_USER_AGENT, user_agent)?;
    }
    Ok(())
}

/// The signed-in identity, if any; fails with "unavailable" when the session could not be read.
pub fn current(session: &Session) -> Result<Option<SessionIdentity>, AppError> {
    if session.contains_key(STORE_UNAVAILABLE) {
        return Err(AppError::Unavailable(
            "the session could not be read".into(),
        ));
    }
    let user_id: Option<String> = session.get(USER_ID)?;
    let auth_version: Option<i32> = session.get(AUTH_VERSION)?;
    Ok(match (user_id, auth_version) {
        (Some(user_id), Some(auth_version)) => Some(SessionIdentity {
            user_id,
            auth_version,
        }),
        _ => None,
    })
}

/// Ends the session: its row is deleted and the cookie removed.
pub fn end(session: &Session) {
    session.purge();
}

/// The SHA-256 of this session's id, as its row is stored (`None` for a session not yet stored).
pub fn current_id_hash(session: &Session) -> Option<String> {
    session.get::<String>(CURRENT_SESSION).ok().flatten()
}

/// A one-time message shown on the next page.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Flash {
    pub kind: FlashKind,
    pub message: String,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum FlashKind {
    Success,
    Info,
    Error,
}

impl FlashKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Info => "info",
            Self::Error => "error",
        }
    }
}

pub fn flash(
    session: &Session,
    kind: FlashKind,
    message: impl Into<String>,
) -> Result<(), AppError> {
    session.insert(
        FLASH,
        Flash {
            kind,
            message: message.into(),
        },
    )?;
    Ok(())
}

/// The flash message, removed as it is read. A session without one stays unchanged, so that a page
/// load does not rewrite the session; a HEAD request's removal is not saved.
pub fn take_flash(session: &Session) -> Option<Flash> {
    if !session.contains_key(FLASH) {
        return None;
    }
    session.remove_as::<Flash>(FLASH).and_then(Result::ok)
}

/// Secrets shown once, right after they are made: a new API key, a set-password link.
#[derive(Debug, Clone, Copy)]
pub enum OneTimeSlot {
    NewKey,
    PasswordLink,
}

impl OneTimeSlot {
    fn key(self) -> &'static str {
        match self {
            Self::NewKey => "sealed.new_key",
            Self::PasswordLink => "sealed.password_link",
        }
    }
}

/// Holds a secret for the one page that shows it (in the server-side session, sealed with a key only
/// the cookie can give: see [`SEALED_PREFIX`]), tied to its object's id.
pub fn stash_once(
    session: &Session,
    slot: OneTimeSlot,
    object_id: &str,
    secret: &str,
) -> Result<(), AppError> {
    session.insert(slot.key(), (object_id.to_string(), secret.to_string()))?;
    Ok(())
}

/// The stashed secret, once: it is removed from the session as it is read, and the session store
/// saves that removal with the page's response (a replayed cookie finds it gone). It is removed
/// even when it belongs to another object, so a secret never outlives the next page that asks. A
/// HEAD request's removal is not saved (see [`crate::auth::session_store::scoped`]): HEAD runs the
/// GET handler, and must not consume a secret it does not show.
pub fn take_once(session: &Session, slot: OneTimeSlot, object_id: &str) -> Option<String> {
    if !session.contains_key(slot.key()) {
        return None;
    }
    let (stashed_id, secret) = session.remove_as::<(String, String)>(slot.key())?.ok()?;
    (stashed_id == object_id).then_some(secret)
}
