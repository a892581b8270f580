//! Rank over keys: a key holding more than the caller (the Admin role) is out of their reach, and
//! a key that expires cannot hand out more time than it has.

use super::*;

#[tokio::test]
async fn a_key_editor_without_admin_cannot_rename_or_redate_an_admin_key() {
    let app = spawn_app().await;
    let (admin_key, _) = app
        .issue_key_made_by("Deploys", &[ADMIN_ROLE_ID], None, None)
        .await;
    let editor = member_client(
        &app,
        "editor@example.com",
        &[SERVICE_ACCOUNTS_RETRIEVE, SERVICE_ACCOUNTS_UPDATE],
    )
    .await;

    let list = body(get(&app, &editor, "/development").await).await;
    assert!(
        list.contains(
            r#"aria-label="Edit Deploys (not allowed: You cannot change this key: that needs `"#
        ),
        "the list disables Edit on that key, and says why: {list}"
    );
    let page = body(get(&app, &editor, &format!("/development/keys/{admin_key}")).await).await;
    assert!(
        page.contains(r#"disabled aria-describedby="edit-why">Edit</button>"#),
        "Edit is disabled: {page}"
    );
    assert!(page.contains("You cannot change this key: that needs `"));
    let form = get(
        &app,
        &editor,
        &format!("/development/keys/{admin_key}/edit"),
    )
    .await;
    assert_eq!(form.status(), 403, "the edit form is refused up front");
    let renamed = post(
        &app,
        &editor,
        &format!("/development/keys/{admin_key}"),
        &[("name", "Mine now"), ("expiry", "30")],
    )
    .await;
    assert_eq!(renamed.status(), 403);

    // The same through the API, by a key that may update keys.
    let updaters = app
        .create_role(
            "Key updaters",
            &[SERVICE_ACCOUNTS_RETRIEVE, SERVICE_ACCOUNTS_UPDATE],
        )
        .await;
    let (_, updater) = app
        .issue_key_made_by("Updater", &[&updaters], None, None)
        .await;
    for patch in [
        json!({"name": "Mine now"}),
        json!({"expires_at": rfc3339(in_hours(1))}),
        json!({"roles": []}),
    ] {
        let answer = app
            .api_patch_json(
                &format!("/api/v1/service-accounts/{admin_key}"),
                &updater,
                &patch,
            )
            .await;
        assert_eq!(answer.status(), 403, "{patch}");
        let refusal = json_of(answer).await;
        assert_refused_for_rank(&refusal);
        let message = refusal["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.starts_with("You cannot change this key: that needs `")
                && page.contains(message),
            "the API refuses with the sentence the page shows: {message}"
        );
    }
    let removed = app
        .api_delete(
            &format!("/api/v1/service-accounts/{admin_key}/roles/{ADMIN_ROLE_ID}"),
            &updater,
        )
        .await;
    assert_eq!(removed.status(), 403, "nor take its Admin role");

    let key = key_row(&app, &admin_key).await;
    assert_eq!(key.name, "Deploys");
    assert_eq!(key.expires_at, None);
    assert_eq!(
        app.key_role_ids(&admin_key).await,
        vec![ADMIN_ROLE_ID.to_string()]
    );
}

#[tokio::test]
async fn a_key_revoker_without_admin_cannot_revoke_an_admin_key() {
    let app = spawn_app().await;
    let (admin_key, _) = app
        .issue_key_made_by("Deploys", &[ADMIN_ROLE_ID], None, None)
        .await;
    let revoker = member_client(
        &app,
        "revoker@example.com",
        &[SERVICE_ACCOUNTS_RETRIEVE, SERVICE_ACCOUNTS_DELETE],
    )
    .await;

    let page = body(get(&app, &revoker, &format!("/development/keys/{admin_key}")).await).await;
    assert!(
        page.contains(r#"disabled aria-describedby="revoke-why">Revoke…</button>"#),
        "Revoke is disabled: {page}"
    );
    assert!(page.contains("You cannot revoke this key: that needs `"));
    let confirm = get(
        &app,
        &revoker,
        &format!("/development/keys/{admin_key}/revoke"),
    )
    .await;
    assert_eq!(confirm.status(), 403);
    let console = post(
        &app,
        &revoker,
        &format!("/development/keys/{admin_key}/revoke"),
        &[],
    )
    .await;
    assert_eq!(console.status(), 403);

    let revokers = app
        .create_role("Key revokers", &[SERVICE_ACCOUNTS_DELETE])
        .await;
    let (_, api_revoker) = app
        .issue_key_made_by("Revoker", &[&revokers], None, None)
        .await;
    let answer = app
        .api_delete(
            &format!("/api/v1/service-accounts/{admin_key}"),
            &api_revoker,
        )
        .await;
    assert_eq!(answer.status(), 403);
    assert_refused_for_rank(&json_of(answer).await);
    assert!(
        key_row(&app, &admin_key).await.revoked_at.is_none(),
        "the Admin key still works"
    );
}

#[tokio::test]
async fn a_superior_still_changes_and_revokes_keys_within_their_rank() {
    let app = spawn_app().await;
    let readers = app.create_role("Readers", &[AUDIT_LOG_RETRIEVE]).await;
    let (key_id, _) = app
        .issue_key_made_by("Reports", &[&readers], None, None)
        .await;
    let manager = member_client(
        &app,
        "manager@example.com",
        &[
            SERVICE_ACCOUNTS_RETRIEVE,
            SERVICE_ACCOUNTS_UPDATE,
            SERVICE_ACCOUNTS_DELETE,
            AUDIT_LOG_RETRIEVE,
        ],
    )
    .await;
    let list = body(get(&app, &manager, "/development").await).await;
    assert!(list.contains(&format!(
        r#"href="/development/keys/{key_id}/edit" aria-label="Edit Reports""#
    )));
    let page = body(get(&app, &manager, &format!("/development/keys/{key_id}")).await).await;
    assert!(page.contains(&format!(
        r#"href="/development/keys/{key_id}/edit">Edit</a>"#
    )));
    let renamed = post(
        &app,
        &manager,
        &format!("/development/keys/{key_id}"),
        &[
            ("name", "Monthly reports"),
            ("expiry", "30"),
            ("role_ids", &readers),
        ],
    )
    .await;
    assert_eq!(renamed.status(), 303);
    let key = key_row(&app, &key_id).await;
    assert_eq!(key.name, "Monthly reports");
    assert!(key.expires_at.is_some());

    let managers = app
        .create_role(
            "Key managers",
            &[
                SERVICE_ACCOUNTS_UPDATE,
                SERVICE_ACCOUNTS_DELETE,
                AUDIT_LOG_RETRIEVE,
            ],
        )
        .await;
    let (_, manager_key) = app
        .issue_key_made_by("Manager", &[&managers], None, None)
        .await;
    let patched = app
        .api_patch_json(
            &format!("/api/v1/service-accounts/{key_id}"),
            &manager_key,
            &json!({"name": "Reports", "expires_at": null}),
        )
        .await;
    assert_eq!(
        patched.status(),
        200,
        "a key that never expires may remove an expiry"
    );
    let revoked = app
        .api_delete(&format!("/api/v1/service-accounts/{key_id}"), &manager_key)
        .await;
    assert_eq!(revoked.status(), 200);
    assert!(key_row(&app, &key_id).await.revoked_at.is_some());
}

#[tokio::test]
async fn an_expiring_key_cannot_outlive_itself_nor_extend_its_own_expiry() {
    let app = spawn_app().await;
    let expires = in_hours(24);
    let (own_id, key) = app
        .issue_key_made_by("Temporary", &[ADMIN_ROLE_ID], None, Some(expires))
        .await;
    let (other_id, _) = app.issue_key_made_by("Forever", &[], None, None).await;

    let refusals = [
        (
            format!("/api/v1/service-accounts/{own_id}"),
            Method::PATCH,
            json!({"expires_at": null}),
        ),
        (
            format!("/api/v1/service-accounts/{own_id}"),
            Method::PATCH,
            json!({"expires_at": rfc3339(in_hours(48))}),
        ),
        (
            "/api/v1/service-accounts".to_string(),
            Method::POST,
            json!({"name": "Never expires"}),
        ),
        (
            "/api/v1/service-accounts".to_string(),
            Method::POST,
            json!({"name": "Outlives", "expires_at": rfc3339(in_hours(48))}),
        ),
        (
            format!("/api/v1/service-accounts/{other_id}"),
            Method::PATCH,
            json!({"expires_at": rfc3339(in_hours(48))}),
        ),
    ];
    for (path, method, payload) in refusals {
        let answer = app
            .api_send_json(method.clone(), &path, &key, &payload)
            .await;
        assert_eq!(answer.status(), 422, "{method} {path} {payload}");
        let answer = json_of(answer).await;
        assert_eq!(answer["error"]["field"], "expires_at", "{answer}");
    }
    assert_eq!(
        key_row(&app, &own_id)
            .await
            .expires_at
            .map(|t| t.and_utc().timestamp()),
        Some(expires.and_utc().timestamp())
    );
    assert_eq!(key_row(&app, &other_id).await.expires_at, None);
    assert_eq!(app.key_count().await, 2, "no key was created");

    // Within its own lifetime it still works.
    let shorter = app
        .api_patch_json(
            &format!("/api/v1/service-accounts/{own_id}"),
            &key,
            &json!({"expires_at": rfc3339(in_hours(12))}),
        )
        .await;
    assert_eq!(shorter.status(), 200, "it may shorten its own expiry");
    let created = app
        .api_post_json(
            "/api/v1/service-accounts",
            &key,
            &json!({"name": "Short-lived", "expires_at": rfc3339(in_hours(6))}),
        )
        .await;
    assert_eq!(
        created.status(),
        201,
        "and create a key that expires before it"
    );
    let renamed = app
        .api_patch_json(
            &format!("/api/v1/service-accounts/{other_id}"),
            &key,
            &json!({"name": "Forever and ever"}),
        )
        .await;
    assert_eq!(
        renamed.status(),
        200,
        "renaming a key leaves its expiry alone"
    );
    assert_eq!(key_row(&app, &other_id).await.expires_at, None);

    // A key without expiry is not limited.
    let (_, forever) = app
        .issue_key_made_by("Unlimited", &[ADMIN_ROLE_ID], None, None)
        .await;
    let unlimited = app
        .api_post_json(
            "/api/v1/service-accounts",
            &forever,
            &json!({"name": "Also forever"}),
        )
        .await;
    assert_eq!(unlimited.status(), 201);
}
