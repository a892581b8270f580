//! People through the API (`/api/v1/users`), and taking away what a key could not give, on people,
//! keys and roles alike.

use serde_json::json;

use super::id_of;
use crate::helpers::*;

#[tokio::test]
async fn users_roles_are_granted_within_the_keys_own_permissions() {
    let app = spawn_app().await;
    let granter_role = app
        .create_role("Granter", &[USERS_RETRIEVE, USERS_UPDATE, ROLES_RETRIEVE])
        .await;
    let granter = app.issue_key("HR system", &[&granter_role]).await;
    let readers = app.create_role("Readers", &[ROLES_RETRIEVE]).await;
    let powerful = app.create_role("Powerful", &[USERS_DELETE]).await;
    let member = app.create_member("m@example.com", &[]).await;

    let list = json_of(app.api_get("/api/v1/users", &granter).await).await;
    assert_eq!(list["data"][0]["email"], "m@example.com");
    let granted = app
        .api_put(&format!("/api/v1/users/{member}/roles/{readers}"), &granter)
        .await;
    assert_eq!(granted.status(), 200);
    assert!(json_of(granted).await["roles"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["name"] == "Readers"));
    let refused = app
        .api_put(
            &format!("/api/v1/users/{member}/roles/{powerful}"),
            &granter,
        )
        .await;
    assert_eq!(refused.status(), 422);
    let revoked = app
        .api_delete(&format!("/api/v1/users/{member}/roles/{readers}"), &granter)
        .await;
    assert_eq!(revoked.status(), 200);
    assert!(!app.user_role_ids(&member).await.contains(&readers));
}

#[tokio::test]
async fn taking_away_what_the_caller_could_not_give_is_refused_naming_the_permission() {
    let app = spawn_app().await;
    let manager_role = app
        .create_role(
            "Manager",
            &[
                SERVICE_ACCOUNTS_RETRIEVE,
                SERVICE_ACCOUNTS_UPDATE,
                USERS_RETRIEVE,
                USERS_UPDATE,
                ROLES_RETRIEVE,
                ROLES_UPDATE,
            ],
        )
        .await;
    let manager = app.issue_key("Manager", &[&manager_role]).await;
    let powerful = app.create_role("Powerful", &[USERS_DELETE]).await;
    let target_key = id_of(&app, &app.issue_key("Target", &[&powerful]).await).await;
    let member = app.create_member("m@example.com", &[]).await;
    app.grant_user_role(&member, &powerful).await;
    let mixed = app
        .create_role("Mixed", &[ROLES_RETRIEVE, USERS_DELETE])
        .await;
    let seeded_events = app.audit_events().await.len();

    let attempts = [
        app.api(
            reqwest::Method::DELETE,
            &format!("/api/v1/service-accounts/{target_key}/roles/{powerful}"),
            &manager,
        ),
        app.api(
            reqwest::Method::PATCH,
            &format!("/api/v1/service-accounts/{target_key}"),
            &manager,
        )
        .json(&json!({"roles": []})),
        app.api(
            reqwest::Method::DELETE,
            &format!("/api/v1/users/{member}/roles/{powerful}"),
            &manager,
        ),
        app.api(
            reqwest::Method::PATCH,
            &format!("/api/v1/roles/{mixed}"),
            &manager,
        )
        .json(&json!({"permissions": [ROLES_RETRIEVE]})),
    ];
    for attempt in attempts {
        let refused = attempt.send().await.unwrap();
        let url = refused.url().to_string();
        assert_eq!(
            refused.status(),
            403,
            "{url} is refused, not a silent no-op"
        );
        let error = json_of(refused).await;
        assert_eq!(error["error"]["code"], "INSUFFICIENT_PERMISSIONS");
        assert!(
            error["error"]["message"]
                .as_str()
                .unwrap()
                .contains("users.delete"),
            "{url}: the answer names the missing permission: {error}"
        );
    }
    assert_eq!(app.key_role_ids(&target_key).await, vec![powerful.clone()]);
    assert!(app.user_role_ids(&member).await.contains(&powerful));
    assert_eq!(
        app.role_permissions(&mixed).await,
        vec![ROLES_RETRIEVE, USERS_DELETE]
    );
    let events = app.audit_events().await;
    assert!(
        !events[seeded_events..]
            .iter()
            .any(|(action, outcome, _)| action != "access.denied" && outcome == "success"),
        "nothing is recorded as done: {events:?}"
    );
}
