//! The permission catalog through the API (`/api/v1/permissions`).

use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn the_permission_catalog_is_managed_through_the_api() {
    let app = spawn_app().await;
    let key = app.admin_key().await;
    let made = app
        .api_post_json(
            "/api/v1/permissions",
            &key,
            &json!({"name": "documents.render", "description": "Render"}),
        )
        .await;
    assert_eq!(made.status(), 201);
    assert_eq!(json_of(made).await["builtin"], false);
    let bad = app
        .api_post_json("/api/v1/permissions", &key, &json!({"name": "Bad Name"}))
        .await;
    assert_eq!(bad.status(), 422);
    let patched = app
        .api_patch_json(
            "/api/v1/permissions/documents.render",
            &key,
            &json!({"description": "Render PDFs"}),
        )
        .await;
    assert_eq!(json_of(patched).await["description"], "Render PDFs");
    let builtin = app
        .api_delete("/api/v1/permissions/roles.create", &key)
        .await;
    assert_eq!(builtin.status(), 409);
    assert_eq!(
        app.api_delete("/api/v1/permissions/documents.render", &key)
            .await
            .status(),
        204
    );
    let list = json_of(app.api_get("/api/v1/permissions?limit=200", &key).await).await;
    assert!(!list["data"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["name"] == "documents.render"));
}
