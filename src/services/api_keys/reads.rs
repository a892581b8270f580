//! What the pages and the API show of keys, each read checked against the permission its route
//! needs, and what the viewer may do with each key (or why not).

use super::{can_edit, can_revoke, ApiKey, KeyListing, KeyStatus};
use super::{CHANGE_KEY, REVOKE_KEY};
use crate::auth::Principal;
use crate::authz::catalog::{
    SERVICE_ACCOUNTS_CREATE, SERVICE_ACCOUNTS_DELETE, SERVICE_ACCOUNTS_RETRIEVE,
    SERVICE_ACCOUNTS_UPDATE,
};
use crate::db::{now, Db, DbConnection};
use crate::error::{forbidden_sentence, AppError};
use crate::models::api_key;
use crate::models::role::{self, Role};
use crate::services::grants::{self, effective_permissions, EffectivePermission};
use crate::services::Refusal;

/// A key with everything its detail page shows.
#[derive(Debug, Clone)]
pub struct KeyDetail {
    pub key: ApiKey,
    pub status: KeyStatus,
    pub creator_email: Option<String>,
    pub roles: Vec<Role>,
    pub effective: Vec<EffectivePermission>,
}

pub(super) fn read_detail(conn: &mut DbConnection, key_id: &str) -> Result<KeyDetail, AppError> {
    let key = api_key::find(conn, key_id)?.ok_or(AppError::NotFound)?;
    let role_ids = api_key::role_ids(conn, key_id)?;
    let roles = role::find_many(conn, &role_ids)?;
    let effective = effective_permissions(conn, &roles)?;
    let creator_email = api_key::creator_email(conn, &key)?;
    Ok(KeyDetail {
        status: key.status_at(now()),
        key,
        creator_email,
        roles,
        effective,
    })
}

/// Whether `principal` may `what` ("change this key") a key whose state allows it or not: the
/// key's state first, then the permission, then rank (`missing`: the first permission of the
/// key's roles that the principal lacks).
fn viewer_may(
    principal: &Principal,
    permission: &str,
    state: Result<(), Refusal>,
    missing: Option<&str>,
    what: &str,
) -> Result<(), Refusal> {
    state?;
    if !principal.can(permission) {
        return Err(Refusal::new(forbidden_sentence(permission)));
    }
    match missing {
        Some(permission) => Err(Refusal::new(grants::outranked_sentence(what, permission))),
        None => Ok(()),
    }
}

/// A key of the list page, and whether the viewer may change it.
pub struct ListedKey {
    pub listing: KeyListing,
    pub edit: Result<(), Refusal>,
}

pub struct KeyPage {
    /// How many keys there are on all pages.
    pub total: i64,
    pub keys: Vec<ListedKey>,
}

/// A page of keys, newest first: `limit` of them from the offset that `offset_for_total` gives for
/// the number of keys there are.
pub async fn page(
    db: &Db,
    principal: &Principal,
    limit: i64,
    offset_for_total: impl FnOnce(i64) -> i64 + Send + 'static,
) -> Result<KeyPage, AppError> {
    principal.require(SERVICE_ACCOUNTS_RETRIEVE)?;
    let viewer = principal.clone();
    db.run(move |conn| {
        let total = api_key::count(conn)?;
        let listings = api_key::list_page(conn, limit, offset_for_total(total))?;
        let role_sets: Vec<Vec<String>> = listings
            .iter()
            .map(|l| l.roles.iter().map(|(id, _)| id.clone()).collect())
            .collect();
        let beyond = grants::first_missing_each(conn, &viewer.permissions, &role_sets)?;
        let keys = listings
            .into_iter()
            .zip(beyond)
            .map(|(listing, beyond)| ListedKey {
                edit: viewer_may(
                    &viewer,
                    SERVICE_ACCOUNTS_UPDATE,
                    can_edit(&listing.key),
                    beyond.as_deref(),
                    CHANGE_KEY,
                ),
                listing,
            })
            .collect();
        Ok(KeyPage { total, keys })
    })
    .await
}

/// Keys ordered by id, after the key `after`, with creators and roles (the API's cursor pages).
pub async fn list_after(
    db: &Db,
    principal: &Principal,
    after: Option<String>,
    limit: i64,
) -> Result<Vec<KeyListing>, AppError> {
    principal.require(SERVICE_ACCOUNTS_RETRIEVE)?;
    db.run(move |conn| Ok::<_, AppError>(api_key::list_after(conn, after.as_deref(), limit)?))
        .await
}

pub async fn detail(db: &Db, principal: &Principal, key_id: String) -> Result<KeyDetail, AppError> {
    principal.require(SERVICE_ACCOUNTS_RETRIEVE)?;
    db.run(move |conn| read_detail(conn, &key_id)).await
}

/// What the viewer may do with a key, or why not.
pub struct KeyActions {
    pub edit: Result<(), Refusal>,
    pub revoke: Result<(), Refusal>,
}

/// [`detail`], with what the viewer may do with the key (its detail page).
pub async fn detail_and_actions(
    db: &Db,
    principal: &Principal,
    key_id: String,
) -> Result<(KeyDetail, KeyActions), AppError> {
    principal.require(SERVICE_ACCOUNTS_RETRIEVE)?;
    let viewer = principal.clone();
    db.run(move |conn| {
        let detail = read_detail(conn, &key_id)?;
        let beyond = grants::missing_for_key(conn, &viewer.permissions, &key_id)?;
        let actions = KeyActions {
            edit: viewer_may(
                &viewer,
                SERVICE_ACCOUNTS_UPDATE,
                can_edit(&detail.key),
                beyond.as_deref(),
                CHANGE_KEY,
            ),
            revoke: viewer_may(
                &viewer,
                SERVICE_ACCOUNTS_DELETE,
                can_revoke(&detail.key),
                beyond.as_deref(),
                REVOKE_KEY,
            ),
        };
        Ok((detail, actions))
    })
    .await
}

/// A key and the ids of its roles, as the edit form starts from them.
pub struct EditableKey {
    pub key: ApiKey,
    pub role_ids: Vec<String>,
}

/// The key to edit, refused up front as the change itself would refuse it: a revoked key, or one
/// whose roles the principal could not give.
pub async fn for_edit(
    db: &Db,
    principal: &Principal,
    key_id: String,
) -> Result<EditableKey, AppError> {
    principal.require(SERVICE_ACCOUNTS_UPDATE)?;
    let principal = principal.clone();
    db.run(move |conn| {
        let key = api_key::find(conn, &key_id)?.ok_or(AppError::NotFound)?;
        can_edit(&key)?;
        grants::require_can_change_key(conn, &principal, &key_id, CHANGE_KEY)?;
        let role_ids = api_key::role_ids(conn, &key_id)?;
        Ok(EditableKey { key, role_ids })
    })
    .await
}

/// The key to revoke, refused up front as revoking it would refuse it.
pub async fn for_revoke(
    db: &Db,
    principal: &Principal,
    key_id: String,
) -> Result<ApiKey, AppError> {
    principal.require(SERVICE_ACCOUNTS_DELETE)?;
    let principal = principal.clone();
    db.run(move |conn| {
        let key = api_key::find(conn, &key_id)?.ok_or(AppError::NotFound)?;
        can_revoke(&key)?;
        grants::require_can_change_key(conn, &principal, &key_id, REVOKE_KEY)?;
        Ok(key)
    })
    .await
}

/// A key just created, for the page that shows its secret once.
pub async fn just_created(
    db: &Db,
    principal: &Principal,
    key_id: String,
) -> Result<ApiKey, AppError> {
    principal.require(SERVICE_ACCOUNTS_CREATE)?;
    db.run(move |conn| api_key::find(conn, &key_id)?.ok_or(AppError::NotFound))
        .await
}
