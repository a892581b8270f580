//! API keys through the API (`/api/v1/service-accounts`): creating one with its roles, the
//! no-escalation rule for keys acting on keys, and changing a key's details and roles.

use serde_json::{json, Value};

use super::id_of;
use crate::helpers::*;

#[tokio::test]
async fn a_key_is_created_with_roles_and_new_roles_in_one_transaction() {
    let app = spawn_app().await;
    let key = app.admin_key().await;
    let reader = app.create_role("Reader", &[ROLES_RETRIEVE]).await;
    let made = app
        .api_post_json(
            "/api/v1/service-accounts",
            &key,
            &json!({
                "name": "Docs renderer",
                "description": "renders",
                "expires_at": "2099-01-01T00:00:00Z",
                "roles": [reader, "Admin"],
                "new_roles": [{"name": "", "permissions": [USERS_RETRIEVE]}]
            }),
        )
        .await;
    assert_eq!(made.status(), 201);
    let body = json_of(made).await;
    let secret = body["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("lk_"));
    let names: Vec<&str> = body["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"Reader") && names.contains(&"Admin") && names.contains(&"Docs renderer"),
        "{names:?}"
    );
    assert_eq!(body["expires_at"], "2099-01-01T00:00:00Z");
    let fetched = json_of(
        app.api_get(
            &format!("/api/v1/service-accounts/{}", body["id"].as_str().unwrap()),
            &key,
        )
        .await,
    )
    .await;
    assert!(
        fetched.get("secret").is_none(),
        "the secret is answered once"
    );
    assert_eq!(app.api_get("/api/v1/whoami", &secret).await.status(), 200);

    let failing = app
        .api_post_json(
            "/api/v1/service-accounts",
            &key,
            &json!({"name": "Half", "new_roles": [{"name": "Half role", "permissions": ["no.such"]}]}),
        )
        .await;
    assert_eq!(failing.status(), 409, "a permission that does not exist");
    assert!(app.role_named("Half role").await.is_none());
    let keys = json_of(app.api_get("/api/v1/service-accounts", &key).await).await;
    assert!(
        !keys["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["name"] == "Half"),
        "nothing half-written"
    );
}

#[tokio::test]
async fn a_problem_with_an_inline_role_names_the_api_field_that_holds_it() {
    let app = spawn_app().await;
    let key = app.admin_key().await;
    let long_name = "r".repeat(101);
    let refused = app
        .api_post_json(
            "/api/v1/service-accounts",
            &key,
            &json!({"name": "Renderer", "new_roles": [{"name": long_name}]}),
        )
        .await;
    assert_eq!(refused.status(), 422);
    let body = json_of(refused).await;
    assert_eq!(body["error"]["field"], "new_roles[0].name", "{body}");
    assert!(app.role_named(&long_name).await.is_none());
    assert_eq!(app.key_count().await, 1, "only the calling key exists");
}

#[tokio::test]
async fn a_key_cannot_create_keys_or_roles_beyond_its_own_permissions() {
    let app = &spawn_app().await;
    let manager_role = app
        .create_role(
            "Key manager",
            &[
                SERVICE_ACCOUNTS_CREATE,
                SERVICE_ACCOUNTS_RETRIEVE,
                SERVICE_ACCOUNTS_UPDATE,
                ROLES_CREATE,
                ROLES_RETRIEVE,
            ],
        )
        .await;
    let manager = &app.issue_key("Manager", &[&manager_role]).await;
    let powerful = app.create_role("Powerful", &[USERS_DELETE]).await;
    let create_key = |body: Value| async move {
        app.api_post_json("/api/v1/service-accounts", manager, &body)
            .await
    };

    let with_role = create_key(json!({"name": "Escalator", "roles": [powerful]})).await;
    assert_eq!(with_role.status(), 422);
    assert_eq!(json_of(with_role).await["error"]["field"], "roles");

    let with_admin = create_key(json!({"name": "Escalator", "roles": ["Admin"]})).await;
    assert_eq!(with_admin.status(), 422);

    let inline = create_key(json!({"name": "Escalator", "new_roles": [{"name": "Backdoor", "permissions": [USERS_DELETE]}]})).await;
    assert_eq!(inline.status(), 422);
    let role = app
        .api_post_json(
            "/api/v1/roles",
            manager,
            &json!({"name": "Backdoor", "permissions": [USERS_DELETE]}),
        )
        .await;
    assert_eq!(role.status(), 422);
    assert!(app.role_named("Backdoor").await.is_none());

    let own = json_of(create_key(json!({"name": "Legit", "roles": ["Key manager"]})).await).await;
    let own_id = own["id"].as_str().unwrap();
    let add_powerful = app
        .api_put(
            &format!("/api/v1/service-accounts/{own_id}/roles/{powerful}"),
            manager,
        )
        .await;
    assert_eq!(add_powerful.status(), 422, "nor through PUT");
    let creator_less = app
        .api_get(&format!("/api/v1/service-accounts/{own_id}"), manager)
        .await;
    assert_eq!(
        json_of(creator_less).await["created_by"],
        Value::Null,
        "a key created by a key has no human creator"
    );
}

#[tokio::test]
async fn key_roles_and_details_change_through_patch_put_and_delete() {
    let app = spawn_app().await;
    let admin = app.admin_key().await;
    let first = app.create_role("First", &[ROLES_RETRIEVE]).await;
    let second = app.create_role("Second", &[USERS_RETRIEVE]).await;
    let worker = app.issue_key("Worker", &[&first]).await;
    let id = id_of(&app, &worker).await;
    let key_path = format!("/api/v1/service-accounts/{id}");

    let added = json_of(
        app.api_put(&format!("{key_path}/roles/{second}"), &admin)
            .await,
    )
    .await;
    assert_eq!(added["roles"].as_array().unwrap().len(), 2);
    let whoami = json_of(app.api_get("/api/v1/whoami", &worker).await).await;
    assert_eq!(
        whoami["permissions"],
        json!([ROLES_RETRIEVE, USERS_RETRIEVE]),
        "the key at once holds the new role's permissions"
    );

    let removed = json_of(
        app.api_delete(&format!("{key_path}/roles/{first}"), &admin)
            .await,
    )
    .await;
    assert_eq!(removed["roles"][0]["name"], "Second");
    let not_held = app
        .api_delete(&format!("{key_path}/roles/{first}"), &admin)
        .await;
    assert_eq!(not_held.status(), 404);

    let patched = app
        .api_patch_json(
            &key_path,
            &admin,
            &json!({"name": "Worker v2", "expires_at": "2098-05-01T12:00:00Z"}),
        )
        .await;
    let patched = json_of(patched).await;
    assert_eq!(patched["name"], "Worker v2");
    assert_eq!(patched["expires_at"], "2098-05-01T12:00:00Z");
    assert_eq!(
        patched["roles"][0]["name"], "Second",
        "roles not sent are kept"
    );
    let never = json_of(
        app.api_patch_json(&key_path, &admin, &json!({"expires_at": null}))
            .await,
    )
    .await;
    assert_eq!(never["expires_at"], Value::Null);
    let past = app
        .api_patch_json(
            &key_path,
            &admin,
            &json!({"expires_at": "2001-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(past.status(), 409, "a time already past");
    assert_eq!(json_of(past).await["error"]["field"], "expires_at");
}
