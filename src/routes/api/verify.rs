//! Checking a key for the operator's own services: `POST /api/v1/keys/verify`, and
//! `GET /api/v1/auth/forward` for reverse proxies (nginx `auth_request`, Traefik ForwardAuth, Caddy
//! `forward_auth`).

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use super::RoleRef;
use crate::auth::key_verifier::{presented_key, KeyRecord};
use crate::error::AppError;
use crate::startup::AppState;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    pub key: String,
    /// Permissions the key must hold; all of them.
    #[serde(default)]
    pub permissions: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct VerifiedKey {
    pub id: String,
    pub name: String,
    pub roles: Vec<RoleRef>,
}

#[derive(Debug, Serialize)]
pub struct VerifyResponse {
    pub valid: bool,
    /// `VALID`, `NOT_FOUND`, `MALFORMED`, `EXPIRED`, `REVOKED` or `INSUFFICIENT_PERMISSIONS`.
    pub code: &'static str,
    pub key: Option<VerifiedKey>,
    /// Every permission the key holds (empty unless the key authenticates).
    pub permissions: Vec<String>,
    /// The requested permissions the key lacks.
    pub missing: Vec<String>,
}

fn missing(record: &KeyRecord, required: &[String]) -> Vec<String> {
    required
        .iter()
        .filter(|p| !record.permissions.can(p))
        .cloned()
        .collect()
}

/// Answers whether a key is valid and holds the given permissions. It needs no other credential;
/// failures are rate-limited per client address.
pub async fn verify(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<VerifyRequest>,
) -> Result<HttpResponse, AppError> {
    let ip = req.peer_addr().map(|a| a.ip());
    state.keys.check_rate(ip)?;
    let body = body.into_inner();
    let verification = state.keys.verify(&body.key, ip).await?;
    let response = match verification.record() {
        Some(record) => {
            let lacking = missing(record, &body.permissions);
            VerifyResponse {
                valid: lacking.is_empty(),
                code: if lacking.is_empty() {
                    "VALID"
                } else {
                    "INSUFFICIENT_PERMISSIONS"
                },
                key: Some(VerifiedKey {
                    id: record.id.clone(),
                    name: record.name.clone(),
                    roles: record.roles.iter().cloned().map(RoleRef::from).collect(),
                }),
                permissions: record.permission_names.clone(),
                missing: lacking,
            }
        }
        None => {
            state.keys.note_failure(ip);
            VerifyResponse {
                valid: false,
                code: verification.code(),
                key: None,
                permissions: Vec::new(),
                missing: Vec::new(),
            }
        }
    };
    Ok(HttpResponse::Ok().json(response))
}

#[derive(Debug, Deserialize)]
pub struct ForwardQuery {
    pub permission: Option<String>,
}

/// For reverse proxies: 204 with `X-Latchkey-Key-Id` / `X-Latchkey-Key-Name` when the client's key
/// is valid and holds the permission (from `?permission=` or `X-Required-Permission`), 401 or 403
/// otherwise.
pub async fn forward(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<ForwardQuery>,
) -> Result<HttpResponse, AppError> {
    let presented = presented_key(req.headers()).ok_or(AppError::InvalidKey { code: "MISSING" })?;
    let ip = req.peer_addr().map(|a| a.ip());
    let verification = state.keys.verify(presented, ip).await?;
    let record = verification.record().ok_or(AppError::InvalidKey {
        code: verification.refusal_code(),
    })?;
    let required = query.into_inner().permission.or_else(|| {
        req.headers()
            .get("x-required-permission")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    });
    if let Some(permission) = required.filter(|p| !p.is_empty()) {
        if !record.permissions.can(&permission) {
            return Err(AppError::Forbidden { permission });
        }
    }
    Ok(HttpResponse::NoContent()
        .insert_header(("X-Latchkey-Key-Id", record.id.as_str()))
        .insert_header(("X-Latchkey-Key-Name", header_safe(&record.name)))
        .finish())
}

/// Key names are free text; a header value carries only visible ASCII.
fn header_safe(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .collect()
}
