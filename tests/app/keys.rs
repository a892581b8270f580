use latchkey::auth::api_key;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn admin_creates_a_key_with_existing_roles_and_sees_the_secret_once() {
    let app = spawn_app().await;
    app.signed_in_admin().await;
    let reader = app.create_role("Reader", &[ROLES_RETRIEVE]).await;
    let writer = app.create_role("Writer", &[ROLES_CREATE]).await;

    let form = body(app.get("/development/keys/new").await).await;
    assert!(
        form.contains("<legend>Roles &amp; access</legend>"),
        "the field is labelled Roles & access"
    );
    for choice in [
        "Never",
        "In 30 days",
        "In 90 days",
        "In 365 days",
        "On a date…",
    ] {
        assert!(form.contains(choice), "expiry offers {choice}");
    }

    let response = app
        .post_form(
            "/development/keys",
            &[
                ("name", "Billing service"),
                ("description", "Charges cards"),
                ("expiry", "90"),
                ("role_ids", &reader),
                ("role_ids", &writer),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    let key_id = key_id_from(&location(&response));
    assert_eq!(app.key_role_ids(&key_id).await, {
        let mut v = vec![reader.clone(), writer.clone()];
        v.sort();
        v
    });

    let shown = app
        .get(&format!("/development/keys/{key_id}/created"))
        .await;
    assert_eq!(shown.headers().get("cache-control").unwrap(), "no-store");
    let html = body(shown).await;
    assert!(html.contains("This is the only time the key is shown."));
    let secret = html
        .split(r#"id="new-key-secret" type="text" readonly value=""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the secret is on the page")
        .to_string();
    assert!(
        html.contains(&format!("Authorization: Bearer {secret}")),
        "the header to use is shown"
    );
    assert!(
        html.contains(r#"data-copy-target="new-key-secret""#),
        "a copy button"
    );

    let (public_id, secret_part) = api_key::parse(&secret).expect("lk_<id>_<secret>");
    assert!(secret_part.len() >= 22, "at least 128 bits of secret");
    let key_for_db = key_id.clone();
    let stored = app
        .with_db(move |conn| {
            latchkey::models::api_key::find(conn, &key_for_db)
                .unwrap()
                .unwrap()
        })
        .await;
    assert_eq!(stored.public_id, public_id);
    assert_ne!(stored.secret_hash, secret_part, "only a hash is stored");
    assert!(api_key::secret_matches(secret_part, &stored.secret_hash));
    assert!(stored.expires_at.is_some());

    let again = body(
        app.get(&format!("/development/keys/{key_id}/created"))
            .await,
    )
    .await;
    assert!(again.contains("cannot be shown again"));
    assert!(
        !again.contains(&secret),
        "reloading never shows the secret again"
    );

    let list = body(app.get("/development").await).await;
    assert!(list.contains("Billing service"));
    assert!(
        list.contains(&format!("<code>lk_{public_id}</code>")),
        "the public identifier is listed"
    );
    assert!(
        list.contains(r#"<span class="chip">Reader</span>"#)
            && list.contains(r#"<span class="chip">Writer</span>"#)
    );
    assert!(list.contains(ADMIN_EMAIL), "created by");
    assert!(list.contains(r#"<span class="status status-active">active</span>"#));
    assert!(
        list.contains(&format!(r#"href="/development/keys/{key_id}/edit""#)),
        "each row has an Edit button"
    );
    assert!(!list.contains(&secret));
}

#[tokio::test]
async fn admin_creates_a_key_with_a_new_inline_role_without_javascript() {
    let app = spawn_app().await;
    app.signed_in_admin().await;
    let response = app
        .post_form(
            "/development/keys",
            &[
                ("name", "Docs renderer"),
                ("expiry", "never"),
                ("new_role_name", "Document renderers"),
                ("new_role_description", "Render documents"),
                ("new_role_permissions", ROLES_RETRIEVE),
                ("new_role_permissions", SERVICE_ACCOUNTS_RETRIEVE),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    let key_id = key_id_from(&location(&response));
    let role = app
        .role_named("Document renderers")
        .await
        .expect("the role was created with the key");
    assert_eq!(
        app.role_permissions(&role.id).await,
        vec![ROLES_RETRIEVE, SERVICE_ACCOUNTS_RETRIEVE]
    );
    assert_eq!(app.key_role_ids(&key_id).await, vec![role.id]);
}

#[tokio::test]
async fn one_role_per_system_names_the_new_role_after_the_key() {
    let app = spawn_app().await;
    app.signed_in_admin().await;
    let response = app
        .post_form(
            "/development/keys",
            &[
                ("name", "Payroll sync"),
                ("expiry", "never"),
                ("new_role_name", ""),
                ("new_role_permissions", USERS_RETRIEVE),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    let key_id = key_id_from(&location(&response));
    let role = app
        .role_named("Payroll sync")
        .await
        .expect("a role named after the key");
    assert_eq!(app.key_role_ids(&key_id).await, vec![role.id]);
}

#[tokio::test]
async fn admin_creates_an_inline_role_with_htmx_and_it_arrives_selected() {
    let app = spawn_app().await;
    app.signed_in_admin().await;
    let existing = app.create_role("Reader", &[ROLES_RETRIEVE]).await;
    let response = app
        .htmx_post(
            "/development/keys/inline-role",
            &[
                ("name", "Billing"),
                ("description", "typed in the key form"),
                ("role_ids", &existing),
                ("new_role_name", "Billing writer"),
                ("new_role_permissions", ROLES_CREATE),
            ],
        )
        .await;
    assert_eq!(response.status(), 200);
    let fragment = body(response).await;
    assert!(
        fragment.starts_with(r#"<fieldset class="roles-access" id="roles-access""#),
        "only the field comes back"
    );
    let created = app
        .role_named("Billing writer")
        .await
        .expect("the role exists at once");
    assert!(
        fragment.contains(&format!(
            r#"value="{}" id="role-{}" checked"#,
            created.id, created.id
        )),
        "the new role is selected"
    );
    assert!(
        fragment.contains(&format!(
            r#"value="{existing}" id="role-{existing}" checked"#
        )),
        "earlier choices are kept"
    );
    assert!(fragment.contains("Role “Billing writer” created and selected."));
    assert!(
        fragment.contains(
            r#"id="new_role_name" name="new_role_name" type="text" maxlength="100" value="""#
        ),
        "the sub-form is cleared"
    );
    assert_eq!(app.key_count().await, 0, "no key is created yet");
}

#[tokio::test]
async fn inline_role_errors_come_back_in_the_field_with_the_input_kept() {
    let app = spawn_app().await;
    app.signed_in_admin().await;
    app.create_role("Taken", &[]).await;
    let response = app
        .htmx_post(
            "/development/keys/inline-role",
            &[
                ("name", "Billing"),
                ("new_role_name", "taken"),
                ("new_role_permissions", ROLES_CREATE),
            ],
        )
        .await;
    assert_eq!(response.status(), 422);
    let fragment = body(response).await;
    assert!(fragment.contains("A role named “Taken” already exists."));
    assert!(
        fragment.contains(r#"value="taken""#),
        "the typed name is kept"
    );
    assert!(
        fragment.contains(r#"id="new-role-perm-roles.create" checked"#),
        "the chosen permission is kept"
    );
    assert!(
        fragment.contains(r#"<details class="inline-role" open>"#),
        "the sub-form stays open"
    );
}

#[tokio::test]
async fn a_key_form_with_errors_keeps_everything_and_writes_nothing() {
    let app = spawn_app().await;
    app.signed_in_admin().await;
    let reader = app.create_role("Reader", &[ROLES_RETRIEVE]).await;
    let response = app
        .post_form(
            "/development/keys",
            &[
                ("name", "  "),
                ("description", "keep this"),
                ("expiry", "date"),
                ("expires_on", "2001-01-01"),
                ("role_ids", &reader),
                ("new_role_name", "Half written"),
                ("new_role_permissions", USERS_RETRIEVE),
            ],
        )
        .await;
    assert_eq!(response.status(), 422);
    let html = body(response).await;
    assert!(html.contains("Enter a name, for example the system that will use this key."));
    assert!(html.contains("Choose a date in the future."));
    assert!(html.contains(">keep this</textarea>"));
    assert!(html.contains(r#"value="2001-01-01""#));
    assert!(html.contains(&format!(r#"value="{reader}" id="role-{reader}" checked"#)));
    assert!(
        html.contains(r#"value="Half written""#),
        "the inline role draft is kept"
    );
    assert_eq!(app.key_count().await, 0);
    assert!(
        app.role_named("Half written").await.is_none(),
        "the inline role is not created either"
    );
}

#[tokio::test]
async fn editing_a_key_adds_and_removes_roles() {
    let app = spawn_app().await;
    app.signed_in_admin().await;
    let first = app.create_role("First", &[ROLES_RETRIEVE]).await;
    let second = app.create_role("Second", &[USERS_RETRIEVE]).await;
    let key_id = app.create_key("Worker", &[&first]).await;

    let form = body(app.get(&format!("/development/keys/{key_id}/edit")).await).await;
    assert!(form.contains(r#"value="Worker""#));
    assert!(form.contains("Keep the current expiry (never)"));
    assert!(form.contains(&format!(r#"value="{first}" id="role-{first}" checked"#)));

    let saved = app
        .post_form(
            &format!("/development/keys/{key_id}"),
            &[
                ("name", "Worker v2"),
                ("expiry", "keep"),
                ("role_ids", &second),
            ],
        )
        .await;
    assert_eq!(saved.status(), 303);
    assert_eq!(location(&saved), "/development");
    assert_eq!(app.key_role_ids(&key_id).await, vec![second.clone()]);
    let list = body(app.get("/development").await).await;
    assert!(
        list.contains("API key “Worker v2” saved."),
        "Save shows a confirmation"
    );

    let with_inline = app
        .post_form(
            &format!("/development/keys/{key_id}"),
            &[
                ("name", "Worker v2"),
                ("expiry", "keep"),
                ("role_ids", &second),
                ("new_role_name", "Worker extra"),
                ("new_role_permissions", AUDIT_LOG_RETRIEVE),
            ],
        )
        .await;
    assert_eq!(with_inline.status(), 303);
    assert_eq!(
        app.key_role_ids(&key_id).await.len(),
        2,
        "a role created inline while editing is added"
    );
}

#[tokio::test]
async fn a_revoked_key_stays_listed_and_cannot_be_changed() {
    let app = spawn_app().await;
    app.signed_in_admin().await;
    let key_id = app.create_key("Old system", &[]).await;
    let confirm = body(app.get(&format!("/development/keys/{key_id}/revoke")).await).await;
    assert!(confirm.contains("stops working at once"));
    let revoked = app
        .post_form(&format!("/development/keys/{key_id}/revoke"), &[])
        .await;
    assert_eq!(revoked.status(), 303);
    let list = body(app.get("/development").await).await;
    assert!(list.contains("Old system"));
    assert!(list.contains(r#"<span class="status status-revoked">revoked</span>"#));
    assert!(list.contains("revoked. It can never authenticate again."));
    assert_eq!(
        app.post_form(&format!("/development/keys/{key_id}/revoke"), &[])
            .await
            .status(),
        409
    );
    let edit = app
        .post_form(
            &format!("/development/keys/{key_id}"),
            &[("name", "Again"), ("expiry", "keep")],
        )
        .await;
    assert_eq!(edit.status(), 409);
}

#[tokio::test]
async fn a_revoked_key_is_refused_with_the_same_sentence_on_its_page_and_in_the_api() {
    let app = spawn_app().await;
    app.signed_in_admin().await;
    let admin_key = app.admin_key().await;
    let key_id = app.create_key("Old system", &[]).await;
    app.post_form(&format!("/development/keys/{key_id}/revoke"), &[])
        .await;
    let refusal = "This key is revoked; it can no longer be changed.";
    let page = body(app.get(&format!("/development/keys/{key_id}")).await).await;
    assert!(
        page.contains(refusal),
        "the detail page says why Edit is off"
    );
    let edit_form = app.get(&format!("/development/keys/{key_id}/edit")).await;
    assert_eq!(edit_form.status(), 409);
    let patched = app
        .api_patch_json(
            &format!("/api/v1/service-accounts/{key_id}"),
            &admin_key,
            &json!({"name": "Again"}),
        )
        .await;
    assert_eq!(patched.status(), 409);
    assert_eq!(json_of(patched).await["error"]["message"], refusal);
}

#[tokio::test]
async fn key_detail_lists_effective_permissions_and_the_roles_that_grant_them() {
    let app = spawn_app().await;
    app.signed_in_admin().await;
    let alpha = app
        .create_role("Alpha", &[ROLES_RETRIEVE, USERS_RETRIEVE])
        .await;
    let beta = app.create_role("Beta", &[ROLES_RETRIEVE]).await;
    let key_id = app.create_key("Union", &[&alpha, &beta]).await;
    let html = body(app.get(&format!("/development/keys/{key_id}")).await).await;
    let row = |permission: &str| {
        html.split(&format!("<code>{permission}</code>"))
            .nth(1)
            .and_then(|rest| rest.split("</tr>").next())
            .unwrap_or_default()
            .to_string()
    };
    let roles_row = row(ROLES_RETRIEVE);
    assert!(
        roles_row.contains("Alpha") && roles_row.contains("Beta"),
        "granted by both: {roles_row}"
    );
    let users_row = row(USERS_RETRIEVE);
    assert!(
        users_row.contains("Alpha") && !users_row.contains("Beta"),
        "granted by Alpha only"
    );
    assert!(
        !html.contains("<code>users.delete</code>"),
        "nothing beyond the roles"
    );
}

#[tokio::test]
async fn a_member_without_create_permission_is_told_who_can_help() {
    let app = spawn_app().await;
    app.signed_in_member(&[SERVICE_ACCOUNTS_RETRIEVE]).await;
    let list = body(app.get("/development").await).await;
    let sentence = "You need the `service-accounts.create` permission to create API keys. Ask someone who can manage your roles to grant it.";
    assert!(list.contains(sentence), "the disabled button explains");
    assert!(list.contains(r#"disabled aria-describedby="new-key-why">New API key</button>"#));

    let form = app.get("/development/keys/new").await;
    assert_eq!(form.status(), 403);
    assert!(body(form).await.contains(sentence));
    let post = app
        .post_form(
            "/development/keys",
            &[("name", "Sneaky"), ("expiry", "never")],
        )
        .await;
    assert_eq!(post.status(), 403);
    assert_eq!(app.key_count().await, 0);
}

#[tokio::test]
async fn a_member_without_update_or_delete_permission_cannot_edit_or_revoke() {
    let app = spawn_app().await;
    app.create_admin().await;
    let admin = new_client();
    admin
        .post(app.url("/login"))
        .form(&[("email", ADMIN_EMAIL), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    let created = admin
        .post(app.url("/development/keys"))
        .form(&[("name", "Shared"), ("expiry", "never")])
        .send()
        .await
        .unwrap();
    let key_id = key_id_from(&location(&created));

    app.signed_in_member(&[SERVICE_ACCOUNTS_RETRIEVE]).await;
    let list = body(app.get("/development").await).await;
    assert!(list.contains("You need the `service-accounts.update` permission to edit API keys."));
    let edit = app
        .post_form(
            &format!("/development/keys/{key_id}"),
            &[("name", "Changed"), ("expiry", "keep")],
        )
        .await;
    assert_eq!(edit.status(), 403);
    let revoke = app
        .post_form(&format!("/development/keys/{key_id}/revoke"), &[])
        .await;
    assert_eq!(revoke.status(), 403);
    assert!(body(revoke)
        .await
        .contains("You need the `service-accounts.delete` permission to revoke API keys."));
}

#[tokio::test]
async fn inline_role_creation_needs_roles_create() {
    let app = spawn_app().await;
    app.signed_in_member(&[SERVICE_ACCOUNTS_RETRIEVE, SERVICE_ACCOUNTS_CREATE])
        .await;
    let form = body(app.get("/development/keys/new").await).await;
    assert!(form.contains(r#"<button type="button" class="button" disabled aria-describedby="create-role-why">+ Create new role</button>"#));
    assert!(form.contains("You need the `roles.create` permission to create roles."));

    let crafted = app
        .post_form(
            "/development/keys",
            &[
                ("name", "With role"),
                ("expiry", "never"),
                ("new_role_name", "Mine"),
                ("new_role_permissions", SERVICE_ACCOUNTS_RETRIEVE),
            ],
        )
        .await;
    assert_eq!(crafted.status(), 403);
    assert_eq!(app.key_count().await, 0, "neither the key");
    assert!(app.role_named("Mine").await.is_none(), "nor the role");

    let htmx = app
        .htmx_post(
            "/development/keys/inline-role",
            &[("new_role_name", "Mine")],
        )
        .await;
    assert_eq!(htmx.status(), 403);
    assert_eq!(
        htmx.headers().get("hx-retarget").unwrap(),
        "#flash-area",
        "htmx shows the reason as a flash"
    );
    assert!(body(htmx)
        .await
        .contains("You need the `roles.create` permission to create roles."));
}

#[tokio::test]
async fn nobody_puts_on_a_key_a_role_beyond_their_own_permissions() {
    let app = spawn_app().await;
    app.signed_in_member(&[
        SERVICE_ACCOUNTS_RETRIEVE,
        SERVICE_ACCOUNTS_CREATE,
        SERVICE_ACCOUNTS_UPDATE,
        ROLES_CREATE,
    ])
    .await;
    let mine = app.create_role("Mine", &[SERVICE_ACCOUNTS_RETRIEVE]).await;
    let powerful = app.create_role("Powerful", &[USERS_DELETE]).await;

    let form = body(app.get("/development/keys/new").await).await;
    assert!(
        form.contains(&format!(
            r#"value="{powerful}" id="role-{powerful}" disabled"#
        )),
        "a role beyond the user is disabled"
    );
    assert!(
        form.contains("You cannot give this role: it holds users.delete, which you do not hold.")
    );
    assert!(
        form.contains(r#"id="role-role-admin" disabled"#),
        "so is Admin"
    );

    let crafted = app
        .post_form(
            "/development/keys",
            &[
                ("name", "Escalator"),
                ("expiry", "never"),
                ("role_ids", &powerful),
            ],
        )
        .await;
    assert_eq!(crafted.status(), 422);
    assert!(body(crafted).await.contains("You can only give roles whose permissions you hold yourself. Not allowed: “Powerful” (needs users.delete)."));
    let admin = app
        .post_form(
            "/development/keys",
            &[
                ("name", "Escalator"),
                ("expiry", "never"),
                ("role_ids", ADMIN_ROLE_ID),
            ],
        )
        .await;
    assert_eq!(admin.status(), 422, "the Admin role neither");
    let inline = app
        .post_form(
            "/development/keys",
            &[
                ("name", "Escalator"),
                ("expiry", "never"),
                ("new_role_name", "Backdoor"),
                ("new_role_permissions", USERS_DELETE),
            ],
        )
        .await;
    assert_eq!(
        inline.status(),
        422,
        "nor an inline role with a permission they lack"
    );
    let htmx = app
        .htmx_post(
            "/development/keys/inline-role",
            &[
                ("new_role_name", "Backdoor"),
                ("new_role_permissions", USERS_DELETE),
            ],
        )
        .await;
    assert_eq!(htmx.status(), 422);
    assert_eq!(app.key_count().await, 0);
    assert!(app.role_named("Backdoor").await.is_none());

    let key_id = app.create_key("Legit", &[&mine]).await;
    let escalate_on_edit = app
        .post_form(
            &format!("/development/keys/{key_id}"),
            &[
                ("name", "Legit"),
                ("expiry", "keep"),
                ("role_ids", &mine),
                ("role_ids", &powerful),
            ],
        )
        .await;
    assert_eq!(
        escalate_on_edit.status(),
        422,
        "editing cannot add it either"
    );
    assert_eq!(app.key_role_ids(&key_id).await, vec![mine.clone()]);
}

#[tokio::test]
async fn a_key_holding_a_role_the_editor_cannot_give_is_beyond_their_rank() {
    let app = spawn_app().await;
    app.create_admin().await;
    let admin = new_client();
    admin
        .post(app.url("/login"))
        .form(&[("email", ADMIN_EMAIL), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    let powerful = app.create_role("Powerful", &[USERS_DELETE]).await;
    let created = admin
        .post(app.url("/development/keys"))
        .form(&[
            ("name", "Mixed"),
            ("expiry", "never"),
            ("role_ids", &powerful),
        ])
        .send()
        .await
        .unwrap();
    let key_id = key_id_from(&location(&created));

    app.signed_in_member(&[SERVICE_ACCOUNTS_RETRIEVE, SERVICE_ACCOUNTS_UPDATE])
        .await;
    let form = app.get(&format!("/development/keys/{key_id}/edit")).await;
    assert_eq!(form.status(), 403, "the edit form is refused");
    assert!(body(form).await.contains("users.delete"));
    let saved = app
        .post_form(
            &format!("/development/keys/{key_id}"),
            &[("name", "Mixed renamed"), ("expiry", "keep")],
        )
        .await;
    assert_eq!(saved.status(), 403, "nor can the member rename it");
    assert_eq!(
        app.key_role_ids(&key_id).await,
        vec![powerful],
        "the key keeps its role"
    );
}
