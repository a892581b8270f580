//! What verification knows about a key, what it concludes, and how a key is read from the database.

use std::sync::Arc;

use chrono::NaiveDateTime;

use crate::authz::{KeyRefusal, PermissionSet};
use crate::db::DbConnection;
use crate::error::AppError;
use crate::models::{api_key, permission};

/// What the cache knows about a public id.
#[derive(Debug)]
pub enum CachedKey {
    /// Shared, so that a request holding the key's record costs no copy of it.
    Found(Arc<KeyRecord>),
    Missing,
}

/// A key with everything verification needs.
#[derive(Debug, Clone)]
pub struct KeyRecord {
    pub id: String,
    pub name: String,
    pub secret_hash: String,
    pub expires_at: Option<NaiveDateTime>,
    pub revoked: bool,
    /// (id, name) of its roles.
    pub roles: Vec<(String, String)>,
    pub permissions: PermissionSet,
    /// The permission names it holds, sorted (for an Admin key: the catalog when it was loaded).
    pub permission_names: Vec<String>,
}

/// The outcome of checking a presented key.
#[derive(Debug, Clone)]
pub enum Verification {
    Valid(Arc<CachedKey>),
    Malformed,
    NotFound,
    Expired,
    Revoked,
}

impl Verification {
    /// The cache entry of a valid key.
    pub fn entry(&self) -> Option<&Arc<CachedKey>> {
        match self {
            Self::Valid(entry) => Some(entry),
            _ => None,
        }
    }

    /// The key when it is valid.
    pub fn record(&self) -> Option<&KeyRecord> {
        match self {
            Self::Valid(entry) => match entry.as_ref() {
                CachedKey::Found(record) => Some(record.as_ref()),
                CachedKey::Missing => None,
            },
            _ => None,
        }
    }

    /// Why the API refuses a key that does not authenticate (its 401 answer).
    pub fn refusal(&self) -> KeyRefusal {
        match self {
            Self::Malformed => KeyRefusal::MalformedKey,
            Self::Expired => KeyRefusal::Expired,
            Self::Revoked => KeyRefusal::Revoked,
            _ => KeyRefusal::InvalidKey,
        }
    }

    /// The reason code used by the API: `VALID`, `MALFORMED`, `NOT_FOUND`, `EXPIRED`, `REVOKED`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Valid(_) => "VALID",
            Self::Malformed => "MALFORMED",
            Self::NotFound => "NOT_FOUND",
            Self::Expired => "EXPIRED",
            Self::Revoked => "REVOKED",
        }
    }

    /// The key when it authenticates, else the API's 401 answer.
    pub fn authenticated(self) -> Result<AuthenticatedKey, AppError> {
        if let Self::Valid(entry) = &self {
            if let CachedKey::Found(record) = entry.as_ref() {
                return Ok(AuthenticatedKey {
                    record: Arc::clone(record),
                    entry: Arc::clone(entry),
                });
            }
        }
        Err(AppError::InvalidKey {
            refusal: self.refusal(),
        })
    }
}

/// A key that authenticated: its record, and the cache entry it came from.
#[derive(Debug, Clone)]
pub struct AuthenticatedKey {
    record: Arc<KeyRecord>,
    entry: Arc<CachedKey>,
}

impl AuthenticatedKey {
    pub fn record(&self) -> &KeyRecord {
        &self.record
    }

    /// The cache entry, kept in the request's extensions for handlers that read the key.
    pub fn entry(&self) -> &Arc<CachedKey> {
        &self.entry
    }
}

/// Loads a key and its rights by public id, in three small queries, each a prepared statement the
/// connection keeps (a key holding the Admin role reads the catalog's names instead of its roles'
/// permissions).
pub(super) fn load(conn: &mut DbConnection, public_id: &str) -> Result<CachedKey, AppError> {
    let Some(key) = api_key::credentials_by_public_id(conn, public_id)? else {
        return Ok(CachedKey::Missing);
    };
    let roles = api_key::roles_for_verification(conn, &key.id)?;
    let (permissions, permission_names) = if roles.iter().any(|(_, _, grants_all)| *grants_all) {
        (PermissionSet::all(), permission::names(conn)?)
    } else {
        let mut names = api_key::permission_names(conn, &key.id)?;
        names.sort_unstable();
        names.dedup();
        (PermissionSet::from_names(names.iter().cloned()), names)
    };
    Ok(CachedKey::Found(Arc::new(KeyRecord {
        id: key.id,
        name: key.name,
        secret_hash: key.secret_hash,
        expires_at: key.expires_at,
        revoked: key.revoked_at.is_some(),
        roles: roles.into_iter().map(|(id, name, _)| (id, name)).collect(),
        permissions,
        permission_names,
    })))
}
