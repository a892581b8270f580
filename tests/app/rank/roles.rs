//! Rank over roles: a role the caller could not give is not theirs to rename or delete.

use super::*;

#[tokio::test]
async fn a_role_editor_cannot_rename_or_delete_a_role_it_could_not_give() {
    let app = spawn_app().await;
    let powerful = app
        .create_role("Powerful", &[USERS_DELETE, ROLES_RETRIEVE])
        .await;
    let editor = member_client(
        &app,
        "editor@example.com",
        &[ROLES_RETRIEVE, ROLES_UPDATE, ROLES_DELETE],
    )
    .await;

    let page = body(get(&app, &editor, &format!("/roles/{powerful}")).await).await;
    assert!(
        page.contains(
            "You cannot change this role: that needs `users.delete`, which you do not hold"
        ),
        "the role is shown read-only, with the reason: {page}"
    );
    assert!(!page.contains(">Save</button>"), "no Save button: {page}");
    assert!(!page.contains("Delete role…"), "no Delete: {page}");
    let renamed = post(
        &app,
        &editor,
        &format!("/roles/{powerful}"),
        &[("name", "Harmless"), ("permissions", ROLES_RETRIEVE)],
    )
    .await;
    assert_eq!(renamed.status(), 403);
    assert!(
        body(renamed).await.contains("users.delete"),
        "the refusal names the permission"
    );
    assert_eq!(
        get(&app, &editor, &format!("/roles/{powerful}/delete"))
            .await
            .status(),
        403
    );
    let deleted = post(&app, &editor, &format!("/roles/{powerful}/delete"), &[]).await;
    assert_eq!(deleted.status(), 403);

    let editors = app
        .create_role(
            "Role editors",
            &[ROLES_UPDATE, ROLES_DELETE, ROLES_RETRIEVE],
        )
        .await;
    let (_, key) = app
        .issue_key_made_by("Role editor", &[&editors], None, None)
        .await;
    let patched = app
        .api_patch_json(
            &format!("/api/v1/roles/{powerful}"),
            &key,
            &json!({"name": "Harmless"}),
        )
        .await;
    assert_eq!(patched.status(), 403);
    let answer = json_of(patched).await;
    assert_refused_for_rank(&answer);
    assert_eq!(answer["error"]["required"], USERS_DELETE);
    let removed = app
        .api_delete(&format!("/api/v1/roles/{powerful}"), &key)
        .await;
    assert_eq!(removed.status(), 403);

    let role = app
        .role_named("Powerful")
        .await
        .expect("the role is still there");
    assert_eq!(role.id, powerful);
    assert!(app.role_named("Harmless").await.is_none());

    // A role within their rank they still rename.
    let mine = app.create_role("Readers", &[ROLES_RETRIEVE]).await;
    let ok = app
        .api_patch_json(
            &format!("/api/v1/roles/{mine}"),
            &key,
            &json!({"name": "Role readers"}),
        )
        .await;
    assert_eq!(ok.status(), 200);
    assert!(app.role_named("Role readers").await.is_some());
}
