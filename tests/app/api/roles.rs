//! Roles through the API (`/api/v1/roles`), and the cursor every list pages with.

use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn roles_can_be_managed_through_the_api() {
    let app = spawn_app().await;
    let key = app.admin_key().await;
    let made = app
        .api_post_json(
            "/api/v1/roles",
            &key,
            &json!({"name": "Renderers", "description": "Render", "permissions": [ROLES_RETRIEVE]}),
        )
        .await;
    assert_eq!(made.status(), 201);
    let role = json_of(made).await;
    let id = role["id"].as_str().unwrap().to_string();
    assert_eq!(role["permissions"], json!([ROLES_RETRIEVE]));

    let patched = app
        .api_patch_json(
            &format!("/api/v1/roles/{id}"),
            &key,
            &json!({"permissions": [USERS_RETRIEVE, ROLES_RETRIEVE]}),
        )
        .await;
    assert_eq!(patched.status(), 200);
    let patched = json_of(patched).await;
    assert_eq!(patched["name"], "Renderers", "fields not sent are kept");
    assert_eq!(
        patched["permissions"],
        json!([ROLES_RETRIEVE, USERS_RETRIEVE])
    );

    let duplicate = app
        .api_post_json("/api/v1/roles", &key, &json!({"name": "renderers"}))
        .await;
    // A name already taken is a conflict with the current state (409), naming the field.
    assert_eq!(duplicate.status(), 409);
    let error = json_of(duplicate).await;
    assert_eq!(error["error"]["code"], "CONFLICT");
    assert_eq!(error["error"]["field"], "name");

    let unknown_field = app
        .api_post_json(
            "/api/v1/roles",
            &key,
            &json!({"name": "X", "colour": "red"}),
        )
        .await;
    assert_eq!(unknown_field.status(), 422);
    assert!(json_of(unknown_field).await["error"]["message"]
        .as_str()
        .unwrap()
        .contains("unknown field"));

    let huge = json!({"name": "x".repeat(300 * 1024)});
    let too_big = app.api_post_json("/api/v1/roles", &key, &huge).await;
    assert_eq!(too_big.status(), 413);
    assert_eq!(json_of(too_big).await["error"]["code"], "PAYLOAD_TOO_LARGE");

    assert_eq!(
        app.api_delete(&format!("/api/v1/roles/{id}"), &key)
            .await
            .status(),
        204
    );
    let gone = app.api_get(&format!("/api/v1/roles/{id}"), &key).await;
    assert_eq!(gone.status(), 404);
    assert_eq!(json_of(gone).await["error"]["code"], "NOT_FOUND");
}

#[tokio::test]
async fn lists_page_with_a_cursor() {
    let app = spawn_app().await;
    let key = app.admin_key().await;
    for n in 0..3 {
        app.create_role(&format!("Role {n}"), &[]).await;
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/roles?limit=2&cursor={c}"),
            None => "/api/v1/roles?limit=2".to_string(),
        };
        let page = json_of(app.api_get(&path, &key).await).await;
        assert!(page["data"].as_array().unwrap().len() <= 2);
        seen.extend(
            page["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["name"].as_str().unwrap().to_string()),
        );
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 4, "Admin and three roles, each once: {seen:?}");
    let bad = app.api_get("/api/v1/roles?limit=0", &key).await;
    assert_eq!(bad.status(), 422);
}
