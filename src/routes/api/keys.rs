//! `/api/v1/service-accounts`: API keys.

use actix_web::{web, HttpMessage, HttpResponse};
use serde::{Deserialize, Serialize};

use super::{created, double_option, parse_time, rfc3339, ListResponse, PageQuery, RoleRef};
use crate::auth::key_verifier::CachedKey;
use crate::auth::Principal;
use crate::db::now;
use crate::error::AppError;
use crate::models::api_key::{self, ApiKey};
use crate::services::api_keys::{self as key_service, Expiry, KeyDetail, KeyInput};
use crate::services::roles::RoleInput;
use crate::startup::AppState;

#[derive(Debug, Serialize)]
pub struct KeyOut {
    pub id: String,
    /// The non-secret part of the key (`lk_<public_id>_…`).
    pub public_id: String,
    pub name: String,
    pub description: String,
    /// `active`, `expired` or `revoked`.
    pub status: &'static str,
    pub roles: Vec<RoleRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Vec<String>>,
    pub created_by: Option<String>,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

fn key_out(
    key: ApiKey,
    roles: Vec<RoleRef>,
    creator: Option<String>,
    permissions: Option<Vec<String>>,
) -> KeyOut {
    KeyOut {
        status: key.status_at(now()).as_str(),
        created_at: rfc3339(&key.created_at),
        expires_at: key.expires_at.as_ref().map(rfc3339),
        last_used_at: key.last_used_at.as_ref().map(rfc3339),
        revoked_at: key.revoked_at.as_ref().map(rfc3339),
        id: key.id,
        public_id: key.public_id,
        name: key.name,
        description: key.description,
        roles,
        permissions,
        created_by: creator,
    }
}

fn detail_out(detail: KeyDetail) -> KeyOut {
    let roles = detail
        .roles
        .into_iter()
        .map(|r| RoleRef {
            id: r.id,
            name: r.name,
        })
        .collect();
    let permissions = detail.effective.into_iter().map(|p| p.name).collect();
    key_out(detail.key, roles, detail.creator_email, Some(permissions))
}

async fn load(state: &AppState, id: String) -> Result<KeyOut, AppError> {
    state
        .db
        .run(move |conn| key_service::detail(conn, &id).map(detail_out))
        .await
}

pub async fn list(
    state: web::Data<AppState>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let limit = query.limit()?;
    let cursor = query.cursor();
    let keys = state
        .db
        .run(move |conn| {
            Ok::<_, AppError>(api_key::list_after(conn, cursor.as_deref(), limit + 1)?)
        })
        .await?
        .into_iter()
        .map(|l| {
            key_out(
                l.key,
                l.roles.into_iter().map(RoleRef::from).collect(),
                l.creator_email,
                None,
            )
        })
        .collect();
    Ok(HttpResponse::Ok().json(ListResponse::from_fetched(keys, limit, |k| k.id.clone())))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewRoleIn {
    /// Empty or absent: the role is named after the key ("one role per system").
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub permissions: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewKey {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// RFC 3339; absent or null: never expires.
    #[serde(default)]
    pub expires_at: Option<String>,
    /// Role ids or names.
    #[serde(default)]
    pub roles: Vec<String>,
    /// Roles created with the key, in the same transaction (needs `roles.create`).
    #[serde(default)]
    pub new_roles: Vec<NewRoleIn>,
}

#[derive(Debug, Serialize)]
pub struct CreatedKeyOut {
    #[serde(flatten)]
    pub key: KeyOut,
    /// The full key, shown this once; Latchkey keeps only its hash.
    pub secret: String,
}

fn expiry(field_value: Option<&str>) -> Result<Expiry, AppError> {
    match field_value {
        None => Ok(Expiry::Never),
        Some(text) => parse_time("expires_at", text).map(Expiry::At),
    }
}

pub async fn create(
    principal: Principal,
    state: web::Data<AppState>,
    body: web::Json<NewKey>,
) -> Result<HttpResponse, AppError> {
    let body = body.into_inner();
    let input = KeyInput {
        name: body.name,
        description: body.description,
        expiry: Ok(expiry(body.expires_at.as_deref())?),
        role_ids: body.roles,
        new_roles: body
            .new_roles
            .into_iter()
            .map(|r| RoleInput {
                name: r.name,
                description: r.description,
                permissions: r.permissions,
            })
            .collect(),
    };
    let made = key_service::create(&state.db, principal, input)
        .await
        .map_err(|e| e.into_app_error())?;
    let key = load(&state, made.key.id).await?;
    Ok(created(&CreatedKeyOut {
        key,
        secret: made.secret,
    }))
}

pub async fn show(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(load(&state, path.into_inner()).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyPatch {
    pub name: Option<String>,
    pub description: Option<String>,
    /// Absent: unchanged; null: never expires; a time: expires then.
    #[serde(default, deserialize_with = "double_option")]
    pub expires_at: Option<Option<String>>,
    /// Replaces the key's roles (ids or names).
    pub roles: Option<Vec<String>>,
}

/// Applies a change through the same service as the console's Edit form.
async fn apply(
    principal: Principal,
    state: &AppState,
    id: String,
    change: impl FnOnce(&KeyOut) -> Result<KeyInput, AppError>,
) -> Result<KeyOut, AppError> {
    let current = load(state, id.clone()).await?;
    let input = change(&current)?;
    key_service::update(&state.db, principal, id.clone(), input)
        .await
        .map_err(|e| e.into_app_error())?;
    load(state, id).await
}

fn unchanged(current: &KeyOut) -> KeyInput {
    KeyInput {
        name: current.name.clone(),
        description: current.description.clone(),
        expiry: Ok(Expiry::Keep),
        role_ids: current.roles.iter().map(|r| r.id.clone()).collect(),
        new_roles: Vec::new(),
    }
}

pub async fn update(
    principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<KeyPatch>,
) -> Result<HttpResponse, AppError> {
    let patch = body.into_inner();
    let saved = apply(principal, &state, path.into_inner(), move |current| {
        let mut input = unchanged(current);
        if let Some(name) = patch.name {
            input.name = name;
        }
        if let Some(description) = patch.description {
            input.description = description;
        }
        if let Some(expires_at) = patch.expires_at {
            input.expiry = Ok(match expires_at {
                None => Expiry::Never,
                Some(text) => Expiry::At(parse_time("expires_at", &text)?),
            });
        }
        if let Some(roles) = patch.roles {
            input.role_ids = roles;
        }
        Ok(input)
    })
    .await?;
    Ok(HttpResponse::Ok().json(saved))
}

/// Revokes the key (it stays listed as revoked).
pub async fn delete(
    principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let revoked = key_service::revoke(&state.db, principal, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(load(&state, revoked.id).await?))
}

pub async fn add_role(
    principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (id, role_id) = path.into_inner();
    let saved = apply(principal, &state, id, move |current| {
        let mut input = unchanged(current);
        input.role_ids.push(role_id);
        Ok(input)
    })
    .await?;
    Ok(HttpResponse::Ok().json(saved))
}

pub async fn remove_role(
    principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (id, role_id) = path.into_inner();
    let saved = apply(principal, &state, id, move |current| {
        if !current.roles.iter().any(|r| r.id == role_id) {
            return Err(AppError::NotFound);
        }
        let mut input = unchanged(current);
        input.role_ids.retain(|r| *r != role_id);
        Ok(input)
    })
    .await?;
    Ok(HttpResponse::Ok().json(saved))
}

#[derive(Debug, Serialize)]
pub struct WhoAmI {
    pub id: String,
    pub name: String,
    pub roles: Vec<RoleRef>,
    /// True when a role (Admin) gives every permission, including ones added later.
    pub all_permissions: bool,
    pub permissions: Vec<String>,
    pub expires_at: Option<String>,
}

/// The calling key, answered from the verification cache (no database work on a cache hit).
pub async fn whoami(
    req: actix_web::HttpRequest,
    _principal: Principal,
) -> Result<HttpResponse, AppError> {
    let entry = req
        .extensions()
        .get::<std::sync::Arc<CachedKey>>()
        .cloned()
        .ok_or(AppError::Unauthenticated)?;
    let CachedKey::Found(record) = entry.as_ref() else {
        return Err(AppError::Unauthenticated);
    };
    Ok(HttpResponse::Ok().json(WhoAmI {
        id: record.id.clone(),
        name: record.name.clone(),
        roles: record.roles.iter().cloned().map(RoleRef::from).collect(),
        all_permissions: record.permissions.holds_all(),
        permissions: record.permission_names.clone(),
        expires_at: record.expires_at.as_ref().map(rfc3339),
    }))
}
