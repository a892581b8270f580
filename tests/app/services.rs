//! Each service refuses a principal lacking its permission by itself, whatever the route table
//! checks before: every operation is called directly with a principal holding every built-in
//! permission but the one it needs, and must answer that this permission is missing.

use latchkey::auth::{Principal, PrincipalKind};
use latchkey::authz::PermissionSet;
use latchkey::error::AppError;
use latchkey::models::audit::AuditFilter;
use latchkey::services::api_keys::{self, Expiry, KeyChange, KeyInput};
use latchkey::services::roles::{self, RoleChange, RoleInput};
use latchkey::services::team::{self, InviteInput};
use latchkey::services::{audit_log, permission_catalog, FormError};

use crate::helpers::*;

/// A key holding every built-in permission except `missing`.
fn lacking(missing: &str) -> Principal {
    Principal {
        kind: PrincipalKind::Key,
        id: "key-lacking-one-permission".into(),
        label: format!("Everything but {missing}"),
        display_name: String::new(),
        permissions: PermissionSet::from_names(
            BUILTIN
                .iter()
                .map(|entry| entry.name.to_string())
                .filter(|name| name != missing),
        ),
        ip: None,
    }
}

/// The permission a refusal names, if the outcome is a refusal for lack of one.
trait MissingPermission {
    fn missing_permission(self) -> Option<String>;
}

impl MissingPermission for AppError {
    fn missing_permission(self) -> Option<String> {
        match self {
            AppError::Forbidden { permission, .. } => Some(permission),
            _ => None,
        }
    }
}

impl MissingPermission for FormError {
    fn missing_permission(self) -> Option<String> {
        match self {
            FormError::Failed(err) => err.missing_permission(),
            FormError::Invalid(_) => None,
        }
    }
}

fn assert_refused<T, E: MissingPermission + std::fmt::Debug>(
    operation: &str,
    outcome: Result<T, E>,
    permission: &str,
) {
    match outcome {
        Ok(_) => panic!("{operation} was done without {permission}"),
        Err(err) => {
            let shown = format!("{err:?}");
            assert_eq!(
                err.missing_permission().as_deref(),
                Some(permission),
                "{operation} is refused for lack of {permission}: {shown}"
            );
        }
    }
}

fn key_input(name: &str) -> KeyInput {
    KeyInput {
        name: name.into(),
        description: String::new(),
        expiry: Expiry::Never,
        roles: Vec::new(),
        new_roles: Vec::new(),
    }
}

#[tokio::test]
async fn the_key_service_refuses_whoever_lacks_its_permissions() {
    let app = spawn_app().await;
    let role = app.create_role("Readers", &[ROLES_RETRIEVE]).await;
    let (key, _) = app.issue_key_made_by("Target", &[], None, None).await;
    let db = &app.db;

    let created = api_keys::create(db, lacking(SERVICE_ACCOUNTS_CREATE), key_input("New")).await;
    assert_refused("creating a key", created, SERVICE_ACCOUNTS_CREATE);
    let mut with_new_role = key_input("New");
    with_new_role.new_roles = vec![RoleInput {
        name: "Inline".into(),
        ..Default::default()
    }];
    let created = api_keys::create(db, lacking(ROLES_CREATE), with_new_role).await;
    assert_refused("creating a key with a new role", created, ROLES_CREATE);
    let change = KeyChange::from(key_input("Renamed"));
    let updated = api_keys::update(db, lacking(SERVICE_ACCOUNTS_UPDATE), key.clone(), change).await;
    assert_refused("changing a key", updated, SERVICE_ACCOUNTS_UPDATE);
    let granted = api_keys::grant_role(
        db,
        lacking(SERVICE_ACCOUNTS_UPDATE),
        key.clone(),
        role.clone(),
    )
    .await;
    assert_refused("giving a key a role", granted, SERVICE_ACCOUNTS_UPDATE);
    let taken =
        api_keys::revoke_role(db, lacking(SERVICE_ACCOUNTS_UPDATE), key.clone(), role).await;
    assert_refused("taking a role from a key", taken, SERVICE_ACCOUNTS_UPDATE);
    let revoked = api_keys::revoke(db, lacking(SERVICE_ACCOUNTS_DELETE), key.clone()).await;
    assert_refused("revoking a key", revoked, SERVICE_ACCOUNTS_DELETE);
    assert_eq!(app.key_count().await, 1, "no key was created");
}

#[tokio::test]
async fn the_role_service_refuses_whoever_lacks_its_permissions() {
    let app = spawn_app().await;
    let role = app.create_role("Readers", &[ROLES_RETRIEVE]).await;
    let db = &app.db;

    let input = RoleInput {
        name: "New".into(),
        ..Default::default()
    };
    let created = roles::create(db, lacking(ROLES_CREATE), input).await;
    assert_refused("creating a role", created, ROLES_CREATE);
    let change = RoleChange {
        name: Some("Renamed".into()),
        ..Default::default()
    };
    let updated = roles::update(db, lacking(ROLES_UPDATE), role.clone(), change).await;
    assert_refused("changing a role", updated, ROLES_UPDATE);
    let deleted = roles::delete(db, lacking(ROLES_DELETE), role).await;
    assert_refused("deleting a role", deleted, ROLES_DELETE);
    assert!(app.role_named("New").await.is_none());
    assert!(app.role_named("Readers").await.is_some());
}

#[tokio::test]
async fn the_permission_catalog_refuses_whoever_lacks_its_permissions() {
    let app = spawn_app().await;
    app.create_permission("documents.render", "Render").await;
    let db = &app.db;

    let created = permission_catalog::create(
        db,
        lacking(PERMISSIONS_CREATE),
        "invoices.create".into(),
        String::new(),
    )
    .await;
    assert_refused("adding a permission", created, PERMISSIONS_CREATE);
    let updated = permission_catalog::update(
        db,
        lacking(PERMISSIONS_UPDATE),
        "documents.render".into(),
        "Changed".into(),
    )
    .await;
    assert_refused("describing a permission", updated, PERMISSIONS_UPDATE);
    let deleted =
        permission_catalog::delete(db, lacking(PERMISSIONS_DELETE), "documents.render".into())
            .await;
    assert_refused("deleting a permission", deleted, PERMISSIONS_DELETE);
}

#[tokio::test]
async fn the_team_service_refuses_whoever_lacks_its_permissions() {
    let app = spawn_app().await;
    let role = app.create_role("Readers", &[ROLES_RETRIEVE]).await;
    let member = app.create_member("member@example.com", &[]).await;
    let db = &app.db;

    let input = InviteInput {
        email: "new@example.com".into(),
        display_name: "New Person".into(),
        roles: Vec::new(),
    };
    let invited = team::invite(db, lacking(USERS_CREATE), input).await;
    assert_refused("inviting someone", invited, USERS_CREATE);
    let set = team::set_roles(
        db,
        lacking(USERS_UPDATE),
        member.clone(),
        vec![role.clone()],
    )
    .await;
    assert_refused("setting someone's roles", set, USERS_UPDATE);
    let granted = team::grant_role(db, lacking(USERS_UPDATE), member.clone(), role.clone()).await;
    assert_refused("giving someone a role", granted, USERS_UPDATE);
    let taken = team::revoke_role(db, lacking(USERS_UPDATE), member.clone(), role).await;
    assert_refused("taking a role from someone", taken, USERS_UPDATE);
    let link = team::issue_reset_link(db, lacking(USERS_UPDATE), member.clone()).await;
    assert_refused("issuing a password link", link, USERS_UPDATE);
    let deactivated = team::deactivate(db, lacking(USERS_DELETE), member.clone(), false).await;
    assert_refused("deactivating someone", deactivated, USERS_DELETE);
    let with_keys =
        team::deactivate(db, lacking(SERVICE_ACCOUNTS_DELETE), member.clone(), true).await;
    assert_refused(
        "deactivating someone and revoking their keys",
        with_keys,
        SERVICE_ACCOUNTS_DELETE,
    );
    let reactivated = team::reactivate(db, lacking(USERS_DELETE), member).await;
    assert_refused("reactivating someone", reactivated, USERS_DELETE);
}

#[tokio::test]
async fn the_audit_log_refuses_whoever_lacks_its_permission() {
    let app = spawn_app().await;
    let role = app.create_role("Readers", &[ROLES_RETRIEVE]).await;
    let db = &app.db;
    let reader = lacking(AUDIT_LOG_RETRIEVE);

    let page = audit_log::page(db, &reader, AuditFilter::default(), None, 10).await;
    assert_refused("reading the audit log", page, AUDIT_LOG_RETRIEVE);
    let export = audit_log::export(db, &reader, AuditFilter::default()).await;
    assert_refused("exporting the audit log", export, AUDIT_LOG_RETRIEVE);
    let history = audit_log::history(db, &reader, role.clone())
        .await
        .expect("a history");
    assert!(
        history.is_empty(),
        "a page's history shows nothing without the permission"
    );
    let allowed = audit_log::history(db, &Principal::system(), role)
        .await
        .expect("a history");
    assert!(!allowed.is_empty(), "the role's creation is in its history");
}

/// A key holding every built-in permission except those in `missing`.
fn lacking_each(missing: &[&str]) -> Principal {
    Principal {
        permissions: PermissionSet::from_names(
            BUILTIN
                .iter()
                .map(|entry| entry.name)
                .filter(|name| !missing.contains(name))
                .map(str::to_string),
        ),
        ..lacking(missing.first().copied().unwrap_or_default())
    }
}

#[tokio::test]
async fn the_role_reads_refuse_whoever_lacks_their_permissions() {
    let app = spawn_app().await;
    let role = app.create_role("Readers", &[ROLES_RETRIEVE]).await;
    let db = &app.db;
    let reader = lacking(ROLES_RETRIEVE);

    assert_refused(
        "listing roles",
        roles::all(db, &reader).await,
        ROLES_RETRIEVE,
    );
    let page = roles::page(db, &reader, None, 10).await;
    assert_refused("paging roles", page, ROLES_RETRIEVE);
    let detail = roles::detail(db, &reader, role.clone()).await;
    assert_refused("reading a role", detail, ROLES_RETRIEVE);
    let new_form = roles::form(db, &lacking(ROLES_CREATE), None).await;
    assert_refused("the form for a new role", new_form, ROLES_CREATE);
    let edit_form = roles::form(
        db,
        &lacking_each(&[ROLES_RETRIEVE, ROLES_UPDATE]),
        Some(role.clone()),
    )
    .await;
    assert_refused("a role's form", edit_form, ROLES_RETRIEVE);
    let shown_to_editor = roles::form(db, &reader, Some(role.clone())).await;
    assert!(
        shown_to_editor.is_ok(),
        "a role's form is re-shown to whoever may change it"
    );
    let deletion = roles::deletion(db, &lacking(ROLES_DELETE), role).await;
    assert_refused("a role's delete confirmation", deletion, ROLES_DELETE);
}

#[tokio::test]
async fn the_permission_catalog_reads_refuse_whoever_lacks_their_permissions() {
    let app = spawn_app().await;
    app.create_permission("documents.render", "Render").await;
    let db = &app.db;
    let name = || "documents.render".to_string();

    let all = permission_catalog::all(
        db,
        &lacking_each(&[PERMISSIONS_RETRIEVE, PERMISSIONS_CREATE]),
    )
    .await;
    assert_refused("listing the catalog", all, PERMISSIONS_RETRIEVE);
    let page = permission_catalog::page(db, &lacking(PERMISSIONS_RETRIEVE), None, 10).await;
    assert_refused("paging the catalog", page, PERMISSIONS_RETRIEVE);
    let detail = permission_catalog::detail(
        db,
        &lacking_each(&[PERMISSIONS_RETRIEVE, PERMISSIONS_UPDATE]),
        name(),
    )
    .await;
    assert_refused("reading a permission", detail, PERMISSIONS_RETRIEVE);
    let deletion = permission_catalog::deletion(db, &lacking(PERMISSIONS_DELETE), name()).await;
    assert_refused(
        "a permission's delete confirmation",
        deletion,
        PERMISSIONS_DELETE,
    );
}
