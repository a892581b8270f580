//! The principal: whoever is acting, with the permissions they hold. A signed-in user arrives here
//! from the session; services take a principal and never ask how it was authenticated.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use actix_session::SessionExt;
use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};

use crate::auth::key_verifier::KeyVerifier;
use crate::auth::session;
use crate::authz::PermissionSet;
use crate::db::Db;
use crate::error::AppError;
use crate::models::audit::Actor;
use crate::models::{permission, user};

/// How the principal authenticated: a person from the session, or a system with an API key; or
/// Latchkey itself, acting for an operator's command on the server (`latchkey create-key`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrincipalKind {
    User,
    Key,
    System,
}

/// Whoever is acting and what they may do: a signed-in person or an API key, with one permission
/// set. Services never ask which one it is except to record the actor.
#[derive(Debug, Clone)]
pub struct Principal {
    pub kind: PrincipalKind,
    /// The user's or the key's id.
    pub id: String,
    /// The user's email or the key's name.
    pub label: String,
    pub display_name: String,
    pub permissions: PermissionSet,
    /// The address the request came from, recorded with audit events.
    pub ip: Option<String>,
}

impl Principal {
    /// Latchkey itself, holding every permission: for commands run on the server by its operator.
    /// Recorded in the audit log as the actor `system`.
    pub fn system() -> Self {
        Self {
            kind: PrincipalKind::System,
            id: "system".into(),
            label: "system".into(),
            display_name: "system".into(),
            permissions: PermissionSet::all(),
            ip: None,
        }
    }

    pub fn can(&self, permission: &str) -> bool {
        self.permissions.can(permission)
    }

    /// Fails with the "you need the … permission" error unless the principal holds `permission`.
    pub fn require(&self, permission: &str) -> Result<(), AppError> {
        if self.can(permission) {
            Ok(())
        } else {
            Err(AppError::forbidden(permission))
        }
    }

    pub fn actor(&self) -> Actor {
        match self.kind {
            PrincipalKind::User => Actor::User {
                id: self.id.clone(),
                label: self.label.clone(),
            },
            PrincipalKind::Key => Actor::Key {
                id: self.id.clone(),
                label: self.label.clone(),
            },
            PrincipalKind::System => Actor::System,
        }
    }

    /// The signed-in person's id (`None` for an API key).
    pub fn user_id(&self) -> Option<&str> {
        (self.kind == PrincipalKind::User).then_some(self.id.as_str())
    }
}

impl FromRequest for Principal {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            if let Some(principal) = req.extensions().get::<Principal>() {
                return Ok(principal.clone());
            }
            // The API accepts keys only and the console sessions only: a browser session never
            // authorizes /api/, so the API has no cross-site request surface.
            let principal = if crate::paths::is_api(req.path()) {
                load_from_key(&req).await?
            } else {
                load_from_session(&req).await?
            };
            req.extensions_mut().insert(principal.clone());
            Ok(principal)
        })
    }
}

/// Loads the signed-in user on every request, so a deactivated user or one whose password changed
/// (both bump `auth_version`) is signed out at their next request.
async fn load_from_session(req: &HttpRequest) -> Result<Principal, AppError> {
    let session = req.get_session();
    let ip = crate::auth::client_address(req).map(|ip| ip.to_string());
    let Some(identity) = session::current(&session)? else {
        return Err(AppError::Unauthenticated);
    };
    let db = req
        .app_data::<web::Data<Db>>()
        .ok_or_else(|| AppError::Internal("database handle missing".into()))?;
    let loaded = db
        .run(move |conn| {
            let Some(found) = user::find(conn, &identity.user_id)? else {
                return Ok::<_, AppError>(None);
            };
            if !found.is_active() || found.auth_version != identity.auth_version {
                return Ok(None);
            }
            let permissions = permission::effective_for_user(conn, &found.id)?;
            Ok(Some(Principal {
                kind: PrincipalKind::User,
                id: found.id,
                label: found.email,
                display_name: found.display_name,
                permissions,
                ip,
            }))
        })
        .await?;
    match loaded {
        Some(principal) => Ok(principal),
        None => {
            session.purge();
            Err(AppError::Unauthenticated)
        }
    }
}

/// Authenticates the API key the request presents (see [`KeyVerifier::authenticate`]).
async fn load_from_key(req: &HttpRequest) -> Result<Principal, AppError> {
    let keys = req
        .app_data::<web::Data<KeyVerifier>>()
        .ok_or_else(|| AppError::Internal("key verifier missing".into()))?;
    let ip = crate::auth::client_address(req);
    let key = keys.authenticate(req.headers(), ip).await?;
    req.extensions_mut().insert(Arc::clone(key.entry()));
    let record = key.record();
    Ok(Principal {
        kind: PrincipalKind::Key,
        id: record.id.clone(),
        label: record.name.clone(),
        display_name: record.name.clone(),
        permissions: record.permissions.clone(),
        ip: ip.map(|ip| ip.to_string()),
    })
}
