//! Checking a key for the operator's own services: `POST /api/v1/keys/verify`, and
//! `GET /api/v1/auth/forward` for reverse proxies (nginx `auth_request`, Traefik ForwardAuth, Caddy
//! `forward_auth`).

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::responses::{
    verify_code_schema, Forbidden, RateLimited, Unauthorized, ValidationFailed,
};
use super::{ApiJson, RoleRef};
use crate::auth::key_verifier::KeyRecord;
use crate::error::AppError;
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    /// The full key to check (`lk_<id>_<secret>`).
    pub key: String,
    /// Permissions the key must hold; all of them.
    #[serde(default)]
    pub permissions: Vec<String>,
}

/// The key that was checked, when it authenticates.
#[derive(Debug, Serialize, ToSchema)]
pub struct VerifiedKey {
    pub id: String,
    pub name: String,
    pub roles: Vec<RoleRef>,
}

/// Whether the key is valid and holds the requested permissions.
#[derive(Debug, Serialize, ToSchema)]
pub struct VerifyResponse {
    /// True when the key authenticates and holds every requested permission.
    pub valid: bool,
    /// `VALID`, `NOT_FOUND`, `MALFORMED`, `EXPIRED`, `REVOKED` or `INSUFFICIENT_PERMISSIONS`.
    #[schema(schema_with = verify_code_schema)]
    pub code: &'static str,
    /// The key, when it authenticates (also when it lacks a permission); null otherwise.
    #[schema(required = true)]
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

/// Check a key
///
/// Answers whether a key is valid and holds the given permissions: 200 whether the key is valid or
/// not. It needs no other credential. Keys that fail are limited per client address (an IPv6
/// client per /64): beyond 30 a minute, further failures answer 429; a valid key always passes.
#[utoipa::path(
    post,
    path = "/api/v1/keys/verify",
    operation_id = "verifyKey",
    tag = "keys",
    security(),
    request_body = VerifyRequest,
    responses(
        (status = 200, description = "The verdict, valid or not.", body = VerifyResponse),
        (status = 429, response = RateLimited),
    )
)]
pub async fn verify(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: ApiJson<VerifyRequest>,
) -> Result<HttpResponse, AppError> {
    let ip = crate::auth::client_address(&req);
    let body = body.into_inner();
    let verification = state.keys.verify_limited(&body.key, ip).await?;
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
        None => VerifyResponse {
            valid: false,
            code: verification.code(),
            key: None,
            permissions: Vec::new(),
            missing: Vec::new(),
        },
    };
    Ok(HttpResponse::Ok().json(response))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ForwardQuery {
    /// The permission the key must hold (takes precedence over `X-Required-Permission`).
    pub permission: Option<String>,
}

/// The header [`forward`] reads besides the key (documentation only: it reads it from the request).
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Header)]
pub struct ForwardHeaders {
    /// The permission the key must hold, when `?permission=` is absent.
    #[param(rename = "X-Required-Permission")]
    pub required_permission: Option<String>,
}

/// Forward authentication for reverse proxies
///
/// 204 with `X-Latchkey-Key-Id` / `X-Latchkey-Key-Name` when the client's key is valid and holds
/// the permission (from `?permission=` or `X-Required-Permission`), 401 or 403 otherwise. Without a
/// permission, any valid key passes. Keys that fail are limited per client address as for
/// `verifyKey` (429); a valid key always passes.
#[utoipa::path(
    get,
    path = "/api/v1/auth/forward",
    operation_id = "forwardAuth",
    tag = "keys",
    params(ForwardQuery, ForwardHeaders),
    responses(
        (status = 204, description = "The key is valid and holds the permission.",
            headers(
                ("X-Latchkey-Key-Id" = String, description = "The key's id."),
                ("X-Latchkey-Key-Name" = String, description = "The key's name (visible ASCII; other characters become `?`)."),
            )
        ),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = ValidationFailed),
        (status = 429, response = RateLimited),
    )
)]
pub async fn forward(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<ForwardQuery>,
) -> Result<HttpResponse, AppError> {
    let key = state
        .keys
        .authenticate(req.headers(), crate::auth::client_address(&req))
        .await?;
    let record = key.record();
    let required = query.into_inner().permission.or_else(|| {
        req.headers()
            .get("x-required-permission")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    });
    if let Some(permission) = required.filter(|p| !p.is_empty()) {
        if !record.permissions.can(&permission) {
            return Err(AppError::forbidden(&permission));
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
