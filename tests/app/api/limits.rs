//! Lists in a request body beyond the limits (roles named or created with a key, a role's
//! permissions), refused before anything is looked up.

use latchkey::limits::{NEW_ROLES_MAX, ROLE_PERMISSIONS_MAX, ROLE_REFERENCES_MAX};
use serde_json::{json, Value};

use crate::helpers::*;

#[tokio::test]
async fn role_lists_beyond_the_limits_are_refused_before_any_lookup() {
    let app = spawn_app().await;
    let admin = app.admin_key().await;
    let reader = app.create_role("Reader", &[ROLES_RETRIEVE]).await;
    let post = |path: &'static str, body: Value| {
        let (app, admin) = (&app, &admin);
        async move { app.api_post_json(path, admin, &body).await }
    };

    // The most roles one key may be given at once passes the count (these do not exist: 409).
    let names = |count: usize| -> Vec<String> { (0..count).map(|n| format!("role {n}")).collect() };
    let at_limit = post(
        "/api/v1/service-accounts",
        json!({"name": "Many roles", "roles": names(ROLE_REFERENCES_MAX)}),
    )
    .await;
    assert_eq!(at_limit.status(), 409);
    let too_many = post(
        "/api/v1/service-accounts",
        json!({"name": "Too many roles", "roles": names(ROLE_REFERENCES_MAX + 1)}),
    )
    .await;
    assert_eq!(too_many.status(), 422);
    let error = json_of(too_many).await;
    assert_eq!(error["error"]["field"], "roles", "{error}");
    assert!(error["error"]["message"]
        .as_str()
        .unwrap()
        .contains(&format!("at most {ROLE_REFERENCES_MAX} roles")));
    // The same reference repeated counts as given: no body carries thousands of references.
    let repeated = vec![reader.clone(); 2_000];
    let repeated = post(
        "/api/v1/service-accounts",
        json!({"name": "Repeated", "roles": repeated}),
    )
    .await;
    assert_eq!(repeated.status(), 422);

    let inline: Vec<Value> = (0..=NEW_ROLES_MAX)
        .map(|n| json!({"name": format!("Inline {n}")}))
        .collect();
    let too_many_new = post(
        "/api/v1/service-accounts",
        json!({"name": "Inline roles", "new_roles": inline}),
    )
    .await;
    assert_eq!(too_many_new.status(), 422);
    assert_eq!(json_of(too_many_new).await["error"]["field"], "new_roles");

    let permissions = vec![ROLES_RETRIEVE; ROLE_PERMISSIONS_MAX + 1];
    let big_role = post(
        "/api/v1/roles",
        json!({"name": "Big", "permissions": permissions}),
    )
    .await;
    assert_eq!(big_role.status(), 422);
    assert_eq!(json_of(big_role).await["error"]["field"], "permissions");
    let big_patch = app
        .api_patch_json(
            &format!("/api/v1/roles/{reader}"),
            &admin,
            &json!({"permissions": permissions}),
        )
        .await;
    assert_eq!(big_patch.status(), 422);
    assert_eq!(json_of(big_patch).await["error"]["field"], "permissions");

    let unchanged = app
        .with_db(|conn| {
            latchkey::models::role::list(conn)
                .unwrap()
                .into_iter()
                .map(|r| r.name)
                .collect::<Vec<_>>()
        })
        .await;
    assert!(
        !unchanged
            .iter()
            .any(|name| name.starts_with("Inline") || name == "Big"),
        "nothing was created: {unchanged:?}"
    );
    let keys = app.api_get("/api/v1/service-accounts", &admin).await;
    assert_eq!(json_of(keys).await["data"].as_array().unwrap().len(), 1);
}
