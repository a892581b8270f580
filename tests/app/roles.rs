use crate::helpers::*;

#[tokio::test]
async fn admin_creates_a_role_from_the_grouped_permission_catalog() {
    let app = spawn_app().await;
    app.signed_in_admin().await;
    let form = body(app.get("/roles/new").await).await;
    assert!(
        form.contains("<legend>service-accounts</legend>"),
        "permissions are grouped by resource"
    );
    assert!(
        form.contains("Create API keys"),
        "each permission has its description"
    );
    assert!(
        form.contains("Select all in service-accounts"),
        "a select-all control per group"
    );

    let created = app
        .post_form(
            "/roles",
            &[
                ("name", "  Key manager  "),
                ("description", "Manages keys"),
                ("permissions", SERVICE_ACCOUNTS_CREATE),
                ("permissions", SERVICE_ACCOUNTS_RETRIEVE),
            ],
        )
        .await;
    assert_eq!(created.status(), 303);
    assert_eq!(location(&created), "/roles");
    let list = body(app.get("/roles").await).await;
    assert!(
        list.contains("Role “Key manager” created."),
        "a flash confirms it"
    );
    let role = app
        .role_named("key manager")
        .await
        .expect("the role exists, name trimmed");
    assert_eq!(role.name, "Key manager");
    assert_eq!(
        app.role_permissions(&role.id).await,
        vec![SERVICE_ACCOUNTS_CREATE, SERVICE_ACCOUNTS_RETRIEVE]
    );
    assert!(list.contains(&format!(r#"<a href="/roles/{}">Key manager</a>"#, role.id)));
    assert!(
        list.contains(r#"<td data-label="Permissions">2</td>"#),
        "the list counts permissions"
    );
}

#[tokio::test]
async fn role_names_are_checked_and_the_form_keeps_what_was_typed() {
    let app = spawn_app().await;
    app.signed_in_admin().await;
    app.create_role("Billing", &[]).await;

    let empty = app
        .post_form(
            "/roles",
            &[
                ("name", "   "),
                ("description", "kept"),
                ("permissions", ROLES_RETRIEVE),
            ],
        )
        .await;
    assert_eq!(empty.status(), 422);
    let html = body(empty).await;
    assert!(html.contains("Enter a name for the role."));
    assert!(html.contains(r#"value="kept""#), "the description is kept");
    assert!(
        html.contains(r#"value="roles.retrieve" id="perm-roles.retrieve" checked"#),
        "the chosen permission stays checked"
    );

    let long = "x".repeat(101);
    let too_long = body(app.post_form("/roles", &[("name", &long)]).await).await;
    assert!(too_long.contains("Use at most 100 characters (this name has 101)."));

    let duplicate = app.post_form("/roles", &[("name", "BILLING")]).await;
    assert_eq!(duplicate.status(), 422);
    assert!(
        body(duplicate)
            .await
            .contains("A role named “Billing” already exists."),
        "unique ignoring case"
    );

    let exactly_64 = "y".repeat(64);
    assert_eq!(
        app.post_form("/roles", &[("name", &exactly_64)])
            .await
            .status(),
        303
    );
}

#[tokio::test]
async fn generic_role_templates_prefill_the_form() {
    let app = spawn_app().await;
    app.signed_in_admin().await;
    let read_only = body(app.get("/roles/new?template=read-only").await).await;
    assert!(read_only.contains(r#"value="Read-only""#));
    assert!(read_only.contains(r#"id="perm-roles.retrieve" checked"#));
    assert!(
        !read_only.contains(r#"id="perm-roles.create" checked"#),
        "read-only selects no write permission"
    );

    let full = body(app.get("/roles/new?template=full-access").await).await;
    assert!(full.contains(r#"id="perm-roles.create" checked"#));
    assert!(full.contains(r#"id="perm-users.delete" checked"#));
}

#[tokio::test]
async fn admin_edits_a_role_name_and_permissions() {
    let app = spawn_app().await;
    app.signed_in_admin().await;
    let role_id = app.create_role("Readers", &[ROLES_RETRIEVE]).await;
    let page = body(app.get(&format!("/roles/{role_id}")).await).await;
    assert!(page.contains(r#"value="Readers""#));

    let saved = app
        .post_form(
            &format!("/roles/{role_id}"),
            &[("name", "Auditors"), ("permissions", AUDIT_LOG_RETRIEVE)],
        )
        .await;
    assert_eq!(saved.status(), 303);
    assert_eq!(
        app.role_permissions(&role_id).await,
        vec![AUDIT_LOG_RETRIEVE]
    );
    assert!(app.role_named("auditors").await.is_some());
    assert!(body(app.get("/roles").await)
        .await
        .contains("Role “Auditors” saved."));
}

#[tokio::test]
async fn deleting_a_held_role_asks_first_naming_how_many_lose_it() {
    let app = spawn_app().await;
    app.signed_in_admin().await;
    let role_id = app.create_role("Shared", &[ROLES_RETRIEVE]).await;
    let first = app.create_key("First", &[&role_id]).await;
    app.create_key("Second", &[&role_id]).await;
    let member = app.create_member("held@example.com", &[]).await;
    app.grant_user_role(&member, &role_id).await;

    let confirm = body(app.get(&format!("/roles/{role_id}/delete")).await).await;
    assert!(
        confirm.contains("2 API keys and 1 team member will lose this role"),
        "{confirm}"
    );
    let deleted = app
        .post_form(&format!("/roles/{role_id}/delete"), &[])
        .await;
    assert_eq!(deleted.status(), 303);
    assert!(app.role_named("Shared").await.is_none());
    assert!(
        app.key_role_ids(&first).await.is_empty(),
        "the keys no longer hold it"
    );
    assert!(body(app.get("/roles").await)
        .await
        .contains("Role “Shared” deleted."));
}

#[tokio::test]
async fn the_admin_role_cannot_be_changed_or_deleted() {
    let app = spawn_app().await;
    app.signed_in_admin().await;
    let page = body(app.get(&format!("/roles/{ADMIN_ROLE_ID}")).await).await;
    assert!(page.contains("cannot be changed"));
    let changed = app
        .post_form(&format!("/roles/{ADMIN_ROLE_ID}"), &[("name", "Nobody")])
        .await;
    assert_eq!(changed.status(), 409);
    assert_eq!(
        app.post_form(&format!("/roles/{ADMIN_ROLE_ID}/delete"), &[])
            .await
            .status(),
        409
    );
    assert!(app.role_named("Admin").await.is_some());
}

#[tokio::test]
async fn a_user_cannot_put_into_a_role_a_permission_they_do_not_hold() {
    let app = spawn_app().await;
    app.signed_in_member(&[ROLES_RETRIEVE, ROLES_CREATE, ROLES_UPDATE])
        .await;
    let form = body(app.get("/roles/new").await).await;
    assert!(
        form.contains(r#"id="perm-users.delete" disabled"#),
        "permissions beyond the user's own are disabled"
    );
    assert!(form.contains("You do not hold this permission, so you cannot give it."));

    let crafted = app
        .post_form(
            "/roles",
            &[
                ("name", "Sneaky"),
                ("permissions", ROLES_RETRIEVE),
                ("permissions", USERS_DELETE),
            ],
        )
        .await;
    assert_eq!(crafted.status(), 422);
    assert!(body(crafted).await.contains(
        "You can only give permissions you hold yourself. You do not hold users.delete."
    ));
    assert!(app.role_named("Sneaky").await.is_none());

    let existing = app
        .create_role("Mixed", &[ROLES_RETRIEVE, USERS_DELETE])
        .await;
    let saved = app
        .post_form(
            &format!("/roles/{existing}"),
            &[("name", "Mixed renamed"), ("permissions", ROLES_CREATE)],
        )
        .await;
    assert_eq!(
        saved.status(),
        403,
        "a role holding a permission the editor lacks is beyond their rank"
    );
    assert_eq!(
        app.role_permissions(&existing).await,
        vec![ROLES_RETRIEVE, USERS_DELETE],
        "the role is unchanged"
    );
}

#[tokio::test]
async fn roles_tab_denials_name_the_missing_permission() {
    let app = spawn_app().await;
    app.signed_in_member(&[ROLES_RETRIEVE]).await;
    let list = body(app.get("/roles").await).await;
    assert!(
        list.contains("You need the `roles.create` permission to create roles."),
        "the New role button says why it is disabled"
    );
    let role_id = app.create_role("Someone's", &[]).await;
    let view = body(app.get(&format!("/roles/{role_id}")).await).await;
    assert!(
        view.contains("You need the `roles.update` permission to change roles."),
        "the role opens read-only with the reason"
    );

    let create = app.post_form("/roles", &[("name", "Nope")]).await;
    assert_eq!(create.status(), 403);
    assert!(body(create)
        .await
        .contains("You need the `roles.create` permission to create roles."));
    assert_eq!(
        app.post_form(&format!("/roles/{role_id}"), &[("name", "Nope")])
            .await
            .status(),
        403
    );
    assert_eq!(
        app.post_form(&format!("/roles/{role_id}/delete"), &[])
            .await
            .status(),
        403
    );
    assert!(app.role_named("Someone's").await.is_some());
}
