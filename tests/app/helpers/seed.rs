//! Seeding through Latchkey's own services, as an operator's command on the server would
//! (`latchkey create-key`): every seeded change is checked like a real one, leaves its audit event
//! and clears the cache of verified keys. Shared by the tests (`tests/app/helpers.rs`) and the
//! benchmarks (`benches/support`), so it names nothing but the library.

use chrono::NaiveDateTime;
use latchkey::auth::{Principal, PrincipalKind};
use latchkey::authz::PermissionSet;
use latchkey::db::Db;
use latchkey::error::AppError;
use latchkey::models::user;
use latchkey::services::api_keys::{self, Expiry, KeyInput};
use latchkey::services::roles::{self, RoleInput};
use latchkey::services::team::{self, InviteInput};
use latchkey::services::{account, permission_catalog};

/// Who seeds: Latchkey itself, holding every permission, recorded as the actor `system`.
pub fn seeder() -> Principal {
    Principal::system()
}

/// Adds a permission of the operator's own to the catalog.
pub async fn permission(db: &Db, name: &str, description: &str) {
    permission_catalog::create(db, seeder(), name.into(), description.into())
        .await
        .unwrap_or_else(|e| panic!("seed the permission {name}: {e:?}"));
}

/// A role with exactly `permissions` (each already in the catalog); returns its id.
pub async fn role(db: &Db, name: &str, permissions: &[String]) -> String {
    let input = RoleInput {
        name: name.into(),
        description: String::new(),
        permissions: permissions.to_vec(),
    };
    roles::create(db, seeder(), input)
        .await
        .unwrap_or_else(|e| panic!("seed the role {name}: {e:?}"))
        .id
}

/// A team member acting with every permission: for seeding what they made (a key they created
/// while they held the rights to) without giving them those rights first.
pub async fn acting_as(db: &Db, user_id: &str) -> Principal {
    let id = user_id.to_string();
    let person = db
        .run(move |conn| user::find(conn, &id).map_err(AppError::from))
        .await
        .expect("look up the person")
        .unwrap_or_else(|| panic!("no person {user_id}"));
    Principal {
        kind: PrincipalKind::User,
        id: person.id,
        label: person.email,
        display_name: person.display_name,
        permissions: PermissionSet::all(),
        ip: None,
    }
}

/// A key that never expires, holding the roles `role_ids`; returns (its id, its full text).
pub async fn key(db: &Db, name: &str, role_ids: &[String]) -> (String, String) {
    key_made_by(db, seeder(), name, role_ids, None).await
}

/// A key created by `creator`, holding the roles `role_ids`, expiring at `expires_at` (or never);
/// returns (its id, its full text).
pub async fn key_made_by(
    db: &Db,
    creator: Principal,
    name: &str,
    role_ids: &[String],
    expires_at: Option<NaiveDateTime>,
) -> (String, String) {
    let input = KeyInput {
        name: name.into(),
        description: String::new(),
        expiry: expires_at.map_or(Expiry::Never, Expiry::At),
        roles: role_ids.to_vec(),
        new_roles: Vec::new(),
    };
    let created = api_keys::create(db, creator, input)
        .await
        .unwrap_or_else(|e| panic!("seed the key {name}: {e:?}"));
    (created.detail.key.id, created.secret)
}

/// An active team member holding `role_ids`, who has set `password`: invited, then signed up with
/// the invitation's link. Returns their id.
pub async fn member(
    db: &Db,
    email: &str,
    display_name: &str,
    password: &str,
    role_ids: &[String],
) -> String {
    let input = InviteInput {
        email: email.into(),
        display_name: display_name.into(),
        roles: role_ids.to_vec(),
    };
    let invited = team::invite(db, seeder(), input)
        .await
        .unwrap_or_else(|e| panic!("invite {email}: {e:?}"));
    account::redeem_link(db, invited.token, password.into(), password.into(), None)
        .await
        .unwrap_or_else(|e| panic!("{email} sets a password: {e:?}"))
        .id
}

/// Gives a team member one more role.
pub async fn grant_user_role(db: &Db, user_id: &str, role_id: &str) {
    team::grant_role(db, seeder(), user_id.into(), role_id.into())
        .await
        .unwrap_or_else(|e| panic!("grant {role_id} to {user_id}: {e:?}"));
}

/// Revokes a key.
pub async fn revoke_key(db: &Db, key_id: &str) {
    api_keys::revoke(db, seeder(), key_id.into())
        .await
        .unwrap_or_else(|e| panic!("revoke the key {key_id}: {e:?}"));
}

/// Deactivates a team member (their sessions end; their keys keep working).
pub async fn deactivate(db: &Db, user_id: &str) {
    team::deactivate(db, seeder(), user_id.into(), false)
        .await
        .unwrap_or_else(|e| panic!("deactivate {user_id}: {e:?}"));
}

/// Reactivates a deactivated team member.
pub async fn reactivate(db: &Db, user_id: &str) {
    team::reactivate(db, seeder(), user_id.into())
        .await
        .unwrap_or_else(|e| panic!("reactivate {user_id}: {e:?}"));
}
