//! Many writes to roles and the permission catalog at once: edits keep the new permissions,
//! concurrent creates of one name create it once, and a grant racing a deletion is no server error.

use super::*;

#[tokio::test]
async fn a_role_edited_by_many_at_once_keeps_its_new_permissions() {
    let app = spawn_app().await;
    let admin = app.admin_key().await;
    let permissions: Vec<String> = (0..4).map(|i| format!("documents.action-{i}")).collect();
    for name in &permissions {
        let made = app
            .api_post_json("/api/v1/permissions", &admin, &json!({"name": name}))
            .await;
        assert_eq!(made.status(), 201);
    }
    let role = app.create_role("Edited", &[]).await;

    for round in 0..3 {
        let mut requests = vec![app
            .api(Method::PATCH, &format!("/api/v1/roles/{role}"), &admin)
            .json(&json!({"permissions": permissions}))];
        for i in 1..CONCURRENT {
            requests.push(
                app.api(Method::PATCH, &format!("/api/v1/roles/{role}"), &admin)
                    .json(&json!({"description": format!("round {round}, edit {i}")})),
            );
        }
        let statuses = all_at_once(requests).await;

        assert_all_succeeded(&statuses, "role edit");
        assert_eq!(
            app.role_permissions(&role).await,
            permissions,
            "round {round}: an edit of the description never writes back the permissions it read \
             before another edit"
        );
        let clear = app
            .api_patch_json(
                &format!("/api/v1/roles/{role}"),
                &admin,
                &json!({"permissions": []}),
            )
            .await;
        assert_eq!(clear.status(), 200);
    }
}

#[tokio::test]
async fn concurrent_roles_with_one_name_create_one_role() {
    let app = spawn_app().await;
    let admin = app.admin_key().await;
    let statuses = all_at_once(
        (0..CONCURRENT)
            .map(|i| {
                app.api(Method::POST, "/api/v1/roles", &admin)
                    .json(&json!({"name": "Same name", "description": format!("attempt {i}")}))
            })
            .collect(),
    )
    .await;
    assert_one_created(&statuses, StatusCode::CREATED, "role");
    assert!(app.role_named("Same name").await.is_some());
}

#[tokio::test]
async fn concurrent_permissions_with_one_name_create_one_permission() {
    let app = spawn_app().await;
    let admin = app.admin_key().await;
    let statuses = all_at_once(
        (0..CONCURRENT)
            .map(|_| {
                app.api(Method::POST, "/api/v1/permissions", &admin)
                    .json(&json!({"name": "documents.render"}))
            })
            .collect(),
    )
    .await;
    assert_one_created(&statuses, StatusCode::CREATED, "permission");
}

#[tokio::test]
async fn concurrent_keys_with_one_inline_role_name_create_one_key_and_role() {
    let app = spawn_app().await;
    let admin = app.admin_key().await;
    let keys_before = app.key_count().await;
    let statuses = all_at_once(
        (0..CONCURRENT)
            .map(|i| {
                app.api(Method::POST, "/api/v1/service-accounts", &admin)
                    .json(&json!({
                        "name": format!("Billing {i}"),
                        "new_roles": [{"name": "Billing access"}],
                    }))
            })
            .collect(),
    )
    .await;
    assert_one_created(&statuses, StatusCode::CREATED, "key with its inline role");
    assert_eq!(
        app.key_count().await,
        keys_before + 1,
        "a refused key is not half-written"
    );
    assert!(app.role_named("Billing access").await.is_some());
}

#[tokio::test]
async fn granting_a_role_while_it_is_deleted_never_answers_a_server_error() {
    let app = spawn_app().await;
    let admin = app.admin_key().await;
    for round in 0..3 {
        let role = app.create_role(&format!("Doomed {round}"), &[]).await;
        let mut keys = Vec::new();
        for i in 0..CONCURRENT {
            keys.push(key_id(&app, &app.issue_key(&format!("Key {round}-{i}"), &[]).await).await);
        }
        let mut requests: Vec<_> = keys
            .iter()
            .map(|key| {
                app.api(
                    Method::PUT,
                    &format!("/api/v1/service-accounts/{key}/roles/{role}"),
                    &admin,
                )
            })
            .collect();
        requests.insert(
            CONCURRENT / 2,
            app.api(Method::DELETE, &format!("/api/v1/roles/{role}"), &admin),
        );
        let statuses = all_at_once(requests).await;
        assert!(
            statuses.iter().all(|s| s.is_success()
                || *s == StatusCode::NOT_FOUND
                || *s == StatusCode::CONFLICT
                || *s == 422),
            "round {round}: a grant racing the role's deletion is done or refused, never a 5xx: \
             {statuses:?}"
        );
        for key in &keys {
            assert!(
                app.key_role_ids(key).await.is_empty(),
                "round {round}: no key keeps a deleted role"
            );
        }
    }
}
