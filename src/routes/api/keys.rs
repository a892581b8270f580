//! `/api/v1/service-accounts`: API keys.

use actix_web::{web, HttpMessage, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::responses::{key_status_schema, Conflict, NotFound, Unauthorized, ValidationFailed};
use super::{
    created, double_option, parse_time, rfc3339, ApiJson, ListResponse, PageQuery, RoleRef,
};
use crate::auth::key_verifier::{CachedKey, KeyRecord};
use crate::auth::Principal;
use crate::db::now;
use crate::error::AppError;
use crate::models::api_key::{self, ApiKey};
use crate::services::api_keys::{self as key_service, Expiry, KeyChange, KeyDetail, KeyInput};
use crate::services::roles::RoleInput;
use crate::state::AppState;

/// An API key (service account). Its secret is never shown again after creation.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ServiceAccount)]
pub struct KeyOut {
    pub id: String,
    /// The non-secret part of the key (`lk_<public_id>_…`).
    pub public_id: String,
    pub name: String,
    pub description: String,
    /// `active`, `expired` or `revoked`.
    #[schema(schema_with = key_status_schema)]
    pub status: &'static str,
    pub roles: Vec<RoleRef>,
    /// Every permission the key holds through its roles (present on a single key, absent in lists).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub permissions: Option<Vec<String>>,
    /// The email of the person who created the key (null when created by a key or the system).
    #[schema(required = true)]
    pub created_by: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    /// Null: never expires.
    #[schema(required = true, format = DateTime)]
    pub expires_at: Option<String>,
    #[schema(required = true, format = DateTime)]
    pub last_used_at: Option<String>,
    #[schema(required = true, format = DateTime)]
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

/// List API keys
///
/// Revoked keys stay listed, with status `revoked`.
#[utoipa::path(
    get,
    path = "/api/v1/service-accounts",
    operation_id = "listServiceAccounts",
    tag = "service-accounts",
    params(PageQuery),
    responses(
        (status = 200, description = "A page of keys, by id.", body = ListResponse<KeyOut>),
        (status = 422, response = ValidationFailed),
    )
)]
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

/// A role created together with the key.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = NewInlineRole)]
pub struct NewRoleIn {
    /// Empty or absent: the role is named after the key ("one role per system").
    #[serde(default)]
    #[schema(max_length = 100, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    pub name: String,
    #[serde(default)]
    #[schema(
        max_length = 500,
        pattern = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$"
    )]
    pub description: String,
    /// At most 500.
    #[serde(default)]
    #[schema(max_items = 500)]
    pub permissions: Vec<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = NewServiceAccount)]
pub struct NewKey {
    /// Not blank.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub name: String,
    #[serde(default)]
    #[schema(
        max_length = 500,
        pattern = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$"
    )]
    pub description: String,
    /// RFC 3339, in the future; absent or null: never expires.
    #[serde(default)]
    #[schema(format = DateTime)]
    pub expires_at: Option<String>,
    /// Role ids or names, at most 100.
    #[serde(default)]
    #[schema(max_items = 100)]
    pub roles: Vec<String>,
    /// Roles created with the key, in the same transaction (needs `roles.create`), at most 20.
    #[serde(default)]
    #[schema(max_items = 20)]
    pub new_roles: Vec<NewRoleIn>,
}

/// A key just created, with its secret.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = CreatedServiceAccount)]
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

/// Create an API key
///
/// The answer holds the full key (`secret`) this once. Giving the key a role needs every permission
/// of that role; `new_roles` also needs `roles.create`. A calling key that expires can only create
/// keys that expire no later than itself (422 on `expires_at`).
#[utoipa::path(
    post,
    path = "/api/v1/service-accounts",
    operation_id = "createServiceAccount",
    tag = "service-accounts",
    request_body = NewKey,
    responses(
        (status = 201, description = "The key was created; `secret` is shown this once.", body = CreatedKeyOut),
        (status = 409, response = Conflict),
    )
)]
pub async fn create(
    principal: Principal,
    state: web::Data<AppState>,
    body: ApiJson<NewKey>,
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

/// Get an API key
#[utoipa::path(
    get,
    path = "/api/v1/service-accounts/{id}",
    operation_id = "getServiceAccount",
    tag = "service-accounts",
    params(("id" = String, Path, description = "The key's id.")),
    responses(
        (status = 200, description = "The key, with its effective permissions.", body = KeyOut),
        (status = 404, response = NotFound),
    )
)]
pub async fn show(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(load(&state, path.into_inner()).await?))
}

/// Absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ServiceAccountPatch)]
pub struct KeyPatch {
    /// Not blank.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub name: Option<String>,
    #[schema(
        max_length = 500,
        pattern = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$"
    )]
    pub description: Option<String>,
    /// Absent: unchanged; null: never expires; a time (RFC 3339, in the future): expires then.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(format = DateTime)]
    pub expires_at: Option<Option<String>>,
    /// Replaces the key's roles (ids or names); at most 100 besides those the key holds.
    #[schema(max_items = 100)]
    pub roles: Option<Vec<String>>,
}

/// Change an API key
///
/// Needs every permission of each role the key holds: you change only what you could have given.
/// A calling key that expires cannot set an `expires_at` later than its own, or null (422).
#[utoipa::path(
    patch,
    path = "/api/v1/service-accounts/{id}",
    operation_id = "updateServiceAccount",
    tag = "service-accounts",
    params(("id" = String, Path, description = "The key's id.")),
    request_body = KeyPatch,
    responses(
        (status = 200, description = "The key as saved.", body = KeyOut),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
pub async fn update(
    principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: ApiJson<KeyPatch>,
) -> Result<HttpResponse, AppError> {
    let patch = body.into_inner();
    let expiry = match patch.expires_at {
        None => Expiry::Keep,
        Some(None) => Expiry::Never,
        Some(Some(text)) => Expiry::At(parse_time("expires_at", &text)?),
    };
    let change = KeyChange {
        name: patch.name,
        description: patch.description,
        expiry: Ok(expiry),
        role_ids: patch.roles,
        new_roles: Vec::new(),
    };
    let id = path.into_inner();
    key_service::update(&state.db, principal, id.clone(), change)
        .await
        .map_err(|e| e.into_app_error())?;
    Ok(HttpResponse::Ok().json(load(&state, id).await?))
}

/// Revoke an API key
///
/// The key stops working at once and stays listed as revoked. Needs every permission of each role
/// the key holds: you revoke only what you could have given.
#[utoipa::path(
    delete,
    path = "/api/v1/service-accounts/{id}",
    operation_id = "revokeServiceAccount",
    tag = "service-accounts",
    params(("id" = String, Path, description = "The key's id.")),
    responses(
        (status = 200, description = "The revoked key.", body = KeyOut),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
pub async fn delete(
    principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let revoked = key_service::revoke(&state.db, principal, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(load(&state, revoked.id).await?))
}

/// Give an API key a role
///
/// Needs every permission of that role and of each role the key already holds.
#[utoipa::path(
    put,
    path = "/api/v1/service-accounts/{id}/roles/{role_id}",
    operation_id = "addServiceAccountRole",
    tag = "service-accounts",
    params(
        ("id" = String, Path, description = "The key's id."),
        ("role_id" = String, Path, description = "The role's id or name."),
    ),
    responses(
        (status = 200, description = "The key as saved.", body = KeyOut),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = ValidationFailed),
    )
)]
pub async fn add_role(
    principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (id, role_id) = path.into_inner();
    key_service::grant_role(&state.db, principal, id.clone(), role_id).await?;
    Ok(HttpResponse::Ok().json(load(&state, id).await?))
}

/// Take a role from an API key
///
/// Needs every permission of each role the key holds.
#[utoipa::path(
    delete,
    path = "/api/v1/service-accounts/{id}/roles/{role_id}",
    operation_id = "removeServiceAccountRole",
    tag = "service-accounts",
    params(
        ("id" = String, Path, description = "The key's id."),
        ("role_id" = String, Path, description = "The role's id."),
    ),
    responses(
        (status = 200, description = "The key as saved.", body = KeyOut),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = ValidationFailed),
    )
)]
pub async fn remove_role(
    principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (id, role_id) = path.into_inner();
    key_service::revoke_role(&state.db, principal, id.clone(), role_id).await?;
    Ok(HttpResponse::Ok().json(load(&state, id).await?))
}

/// The calling key.
#[derive(Debug, Serialize, ToSchema)]
pub struct WhoAmI {
    pub id: String,
    pub name: String,
    pub roles: Vec<RoleRef>,
    /// True when a role (Admin) gives every permission, including ones added later.
    pub all_permissions: bool,
    pub permissions: Vec<String>,
    /// Null: never expires.
    #[schema(required = true, format = DateTime)]
    pub expires_at: Option<String>,
}

/// The calling key
///
/// Answered from the verification cache (no database work on a cache hit). Any valid key may call it.
#[utoipa::path(
    get,
    path = "/api/v1/whoami",
    operation_id = "whoami",
    tag = "keys",
    responses(
        (status = 200, description = "The key that sent the request.", body = WhoAmI),
        (status = 401, response = Unauthorized),
    )
)]
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
    Ok(HttpResponse::Ok().json(WhoAmIView::of(record)))
}

/// [`WhoAmI`] borrowed from the verification cache: the same JSON, without copying the key's roles
/// and permissions on every call.
#[derive(Serialize)]
struct WhoAmIView<'a> {
    id: &'a str,
    name: &'a str,
    roles: Vec<RoleRefView<'a>>,
    all_permissions: bool,
    permissions: &'a [String],
    expires_at: Option<String>,
}

#[derive(Serialize)]
struct RoleRefView<'a> {
    id: &'a str,
    name: &'a str,
}

impl<'a> WhoAmIView<'a> {
    fn of(record: &'a KeyRecord) -> Self {
        Self {
            id: &record.id,
            name: &record.name,
            roles: record
                .roles
                .iter()
                .map(|(id, name)| RoleRefView { id, name })
                .collect(),
            all_permissions: record.permissions.holds_all(),
            permissions: &record.permission_names,
            expires_at: record.expires_at.as_ref().map(rfc3339),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authz::PermissionSet;

    #[test]
    fn whoami_view_serializes_as_whoami() {
        let record = KeyRecord {
            id: "key-1".into(),
            name: "Billing \"service\"".into(),
            secret_hash: "0".repeat(64),
            expires_at: chrono::NaiveDate::from_ymd_opt(2030, 1, 31)
                .and_then(|d| d.and_hms_opt(12, 0, 0)),
            revoked: false,
            roles: vec![
                ("r1".into(), "Readers".into()),
                ("r2".into(), "Writers".into()),
            ],
            permissions: PermissionSet::from_names(["documents.render".to_string()]),
            permission_names: vec!["documents.render".into()],
        };
        let owned = WhoAmI {
            id: record.id.clone(),
            name: record.name.clone(),
            roles: record.roles.iter().cloned().map(RoleRef::from).collect(),
            all_permissions: record.permissions.holds_all(),
            permissions: record.permission_names.clone(),
            expires_at: record.expires_at.as_ref().map(rfc3339),
        };
        assert_eq!(
            serde_json::to_string(&WhoAmIView::of(&record)).expect("serialize the view"),
            serde_json::to_string(&owned).expect("serialize WhoAmI"),
        );
    }
}
