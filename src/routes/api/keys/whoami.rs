//! The calling key, answered from the verification cache.

use actix_web::{HttpMessage, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::key_verifier::{CachedKey, KeyRecord};
use crate::auth::Principal;
use crate::error::AppError;
use crate::routes::api::responses::Unauthorized;
use crate::routes::api::{rfc3339, RoleRef};

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
