//! What the session cookie holds: the user's id, the user's `auth_version` at sign-in, and a flash
//! message for the next page. The cookie is signed and encrypted; it never holds a secret.

use actix_session::Session;
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::models::user::User;

const USER_ID: &str = "uid";
const AUTH_VERSION: &str = "av";
const FLASH: &str = "flash";

#[derive(Debug, Clone)]
pub struct SessionIdentity {
    pub user_id: String,
    pub auth_version: i32,
}

/// Signs the user in on a fresh session id (against session fixation).
pub fn start(session: &Session, user: &User) -> Result<(), AppError> {
    session.renew();
    session.insert(USER_ID, &user.id)?;
    session.insert(AUTH_VERSION, user.auth_version)?;
    Ok(())
}

pub fn current(session: &Session) -> Result<Option<SessionIdentity>, AppError> {
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

pub fn end(session: &Session) {
    session.purge();
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

pub fn take_flash(session: &Session) -> Option<Flash> {
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
            Self::NewKey => "new_key",
            Self::PasswordLink => "password_link",
        }
    }
}

/// Holds a secret for the one page that shows it (the cookie is encrypted), tied to its object's id.
pub fn stash_once(
    session: &Session,
    slot: OneTimeSlot,
    object_id: &str,
    secret: &str,
) -> Result<(), AppError> {
    session.insert(slot.key(), (object_id.to_string(), secret.to_string()))?;
    Ok(())
}

/// The stashed secret, once: it is removed from the session as it is read.
pub fn take_once(session: &Session, slot: OneTimeSlot, object_id: &str) -> Option<String> {
    let (stashed_id, secret) = session.remove_as::<(String, String)>(slot.key())?.ok()?;
    (stashed_id == object_id).then_some(secret)
}
