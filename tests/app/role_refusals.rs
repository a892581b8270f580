//! The Admin role and Latchkey's own permissions refuse every change with the sentence their pages
//! show beside the disabled controls: the service states it once, the page asks the service.

use latchkey::auth::Principal;
use latchkey::authz::PermissionSet;
use latchkey::error::AppError;
use latchkey::services::roles::{self, RoleChange};
use latchkey::services::{permission_catalog, FormError};

use crate::helpers::*;

fn conflict_message<T: std::fmt::Debug>(outcome: Result<T, AppError>) -> String {
    match outcome {
        Err(AppError::Conflict(message)) => message,
        other => panic!("expected a conflict, got {other:?}"),
    }
}

fn form_conflict_message<T: std::fmt::Debug>(outcome: Result<T, FormError>) -> String {
    match outcome {
        Err(FormError::Failed(err)) => conflict_message::<()>(Err(err)),
        other => panic!("expected a conflict, got {other:?}"),
    }
}

#[tokio::test]
async fn the_admin_role_refuses_changes_with_the_sentence_its_form_shows() {
    let app = spawn_app().await;
    let db = &app.db;
    let admin = Principal::system();

    let form = roles::form(db, &admin, Some(ADMIN_ROLE_ID.into()))
        .await
        .expect("the Admin role's form");
    let edited = form.role.expect("the form edits the Admin role");
    let cannot_change = roles::can_edit(&edited.role).expect_err("the Admin role is read-only");
    let cannot_delete = roles::can_delete(&edited.role).expect_err("the Admin role stays");
    assert_eq!(edited.edit, Err(cannot_change.clone()));
    assert_eq!(edited.delete, Err(cannot_delete.clone()));
    assert!(
        edited.permissions.contains(&ROLES_CREATE.to_string()),
        "the form shows every permission checked"
    );

    let change = RoleChange {
        name: Some("Nobody".into()),
        ..Default::default()
    };
    let updated = roles::update(db, admin.clone(), ADMIN_ROLE_ID.into(), change).await;
    assert_eq!(form_conflict_message(updated), cannot_change.reason());
    let deleted = roles::delete(db, admin.clone(), ADMIN_ROLE_ID.into()).await;
    assert_eq!(conflict_message(deleted), cannot_delete.reason());
    let confirmation = roles::deletion(db, &admin, ADMIN_ROLE_ID.into()).await;
    assert_eq!(conflict_message(confirmation), cannot_delete.reason());
}

#[tokio::test]
async fn a_role_beyond_the_viewers_rank_is_shown_read_only_with_the_reason() {
    let app = spawn_app().await;
    let role = app.create_role("Powerful", &[USERS_DELETE]).await;
    let principal = Principal {
        permissions: PermissionSet::from_names(
            [ROLES_RETRIEVE, ROLES_UPDATE, ROLES_DELETE].map(str::to_string),
        ),
        ..Principal::system()
    };

    let form = roles::form(&app.db, &principal, Some(role))
        .await
        .expect("the role's form");
    let edited = form.role.expect("the form edits the role");
    let reason = edited.edit.expect_err("the role is beyond the viewer");
    assert!(
        reason.reason().contains(USERS_DELETE),
        "the reason names what the viewer lacks: {reason}"
    );
    assert!(edited.delete.is_err(), "nor may the viewer delete it");
}

#[tokio::test]
async fn builtin_permissions_refuse_changes_with_the_sentence_their_page_shows() {
    let app = spawn_app().await;
    let db = &app.db;
    let admin = Principal::system();

    let detail = permission_catalog::detail(db, &admin, ROLES_CREATE.into())
        .await
        .expect("a built-in permission");
    let read_only =
        permission_catalog::can_edit(&detail.permission).expect_err("built-in is read-only");
    let kept = permission_catalog::can_delete(&detail.permission).expect_err("built-in cannot go");

    let updated =
        permission_catalog::update(db, admin.clone(), ROLES_CREATE.into(), "x".into()).await;
    assert_eq!(form_conflict_message(updated), read_only.reason());
    let deleted = permission_catalog::delete(db, admin.clone(), ROLES_CREATE.into()).await;
    assert_eq!(conflict_message(deleted), kept.reason());
    let confirmation = permission_catalog::deletion(db, &admin, ROLES_CREATE.into()).await;
    assert_eq!(conflict_message(confirmation), kept.reason());

    app.signed_in_admin().await;
    let page = body(app.get(&format!("/roles/permissions/{ROLES_CREATE}")).await).await;
    assert!(page.contains(&html_escaped(read_only.reason())));
}

fn html_escaped(text: &str) -> String {
    text.replace('&', "&amp;").replace('\'', "&#39;")
}
