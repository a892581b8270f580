use crate::helpers::*;

#[tokio::test]
async fn an_operator_defines_a_permission_for_their_own_system() {
    let app = spawn_app().await;
    app.signed_in_admin().await;
    let page = body(app.get("/roles/permissions").await).await;
    assert!(
        page.contains("<code>service-accounts.create</code> <span class=\"badge\">built-in</span>")
    );

    let created = app
        .post_form(
            "/roles/permissions",
            &[
                ("name", "documents.render"),
                ("description", "Render documents"),
            ],
        )
        .await;
    assert_eq!(created.status(), 303);
    let role_form = body(app.get("/roles/new").await).await;
    assert!(
        role_form.contains("<legend>documents</legend>"),
        "the new permission is offered in role forms"
    );
    assert!(role_form.contains("Render documents"));

    let admin_page = body(app.get("/account").await).await;
    assert!(
        admin_page.contains("<code>documents.render</code>"),
        "Admin holds permissions added later"
    );
}

#[tokio::test]
async fn permission_names_must_be_resource_dot_action() {
    let app = spawn_app().await;
    app.signed_in_admin().await;
    for bad in [
        "Documents.Render",
        "documents",
        "a.b.c",
        "docs .render",
        ".render",
        "docs.",
    ] {
        let response = app
            .post_form(
                "/roles/permissions",
                &[("name", bad), ("description", "kept")],
            )
            .await;
        assert_eq!(response.status(), 422, "{bad} is refused");
        let html = body(response).await;
        assert!(html.contains("Use the form resource.action"), "{bad}");
        assert!(html.contains(r#"value="kept""#), "the description is kept");
    }
    assert_eq!(
        app.post_form("/roles/permissions", &[("name", "billing_v2.refund-all")])
            .await
            .status(),
        303
    );
    let duplicate = app
        .post_form("/roles/permissions", &[("name", "billing_v2.refund-all")])
        .await;
    assert_eq!(duplicate.status(), 422);
    let builtin = app
        .post_form("/roles/permissions", &[("name", "roles.create")])
        .await;
    assert_eq!(builtin.status(), 422, "built-in names are taken");
}

#[tokio::test]
async fn deleting_a_used_permission_asks_first_and_removes_it_from_roles() {
    let app = spawn_app().await;
    app.signed_in_admin().await;
    app.post_form("/roles/permissions", &[("name", "documents.render")])
        .await;
    let role_id = app
        .create_role("Renderers", &["documents.render", ROLES_RETRIEVE])
        .await;

    let confirm = body(app.get("/roles/permissions/documents.render/delete").await).await;
    assert!(confirm.contains("1 role uses it"), "{confirm}");
    assert!(confirm.contains("Renderers"));
    let deleted = app
        .post_form("/roles/permissions/documents.render/delete", &[])
        .await;
    assert_eq!(deleted.status(), 303);
    assert_eq!(app.role_permissions(&role_id).await, vec![ROLES_RETRIEVE]);
    assert!(body(app.get("/roles/permissions").await)
        .await
        .contains("removed from 1 role(s): Renderers"));
}

#[tokio::test]
async fn built_in_permissions_are_read_only() {
    let app = spawn_app().await;
    app.signed_in_admin().await;
    assert_eq!(
        app.post_form("/roles/permissions/roles.create", &[("description", "x")])
            .await
            .status(),
        409
    );
    assert_eq!(
        app.post_form("/roles/permissions/roles.create/delete", &[])
            .await
            .status(),
        409
    );
    assert!(body(app.get("/roles/permissions/roles.create").await)
        .await
        .contains("cannot be changed or deleted"));
}

#[tokio::test]
async fn editing_the_catalog_needs_its_permissions() {
    let app = spawn_app().await;
    app.signed_in_member(&[PERMISSIONS_RETRIEVE]).await;
    let page = body(app.get("/roles/permissions").await).await;
    assert!(page.contains("You need the `permissions.create` permission to define permissions."));
    assert_eq!(
        app.post_form("/roles/permissions", &[("name", "documents.render")])
            .await
            .status(),
        403
    );
}
