//! How a key authenticates (`/api/v1/whoami`), and the answers for keys that do not or may not.

use serde_json::{json, Value};

use super::id_of;
use crate::helpers::*;

#[tokio::test]
async fn a_key_says_who_it_is_with_either_header() {
    let app = spawn_app().await;
    let role = app
        .create_role("Reader", &[ROLES_RETRIEVE, USERS_RETRIEVE])
        .await;
    let key = app.issue_key("Billing service", &[&role]).await;

    let bearer = app.api_get("/api/v1/whoami", &key).await;
    assert_eq!(bearer.status(), 200);
    let me = json_of(bearer).await;
    assert_eq!(me["name"], "Billing service");
    assert_eq!(me["roles"][0]["name"], "Reader");
    assert_eq!(me["permissions"], json!([ROLES_RETRIEVE, USERS_RETRIEVE]));
    assert_eq!(me["all_permissions"], false);
    assert_eq!(me["expires_at"], Value::Null);

    let header = reqwest::Client::new()
        .get(app.url("/api/v1/whoami"))
        .header("X-Api-Key", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(header.status(), 200);

    let admin = json_of(app.api_get("/api/v1/whoami", &app.admin_key().await).await).await;
    assert_eq!(admin["all_permissions"], true);
    assert!(admin["permissions"]
        .as_array()
        .unwrap()
        .contains(&json!(SERVICE_ACCOUNTS_CREATE)));
}

#[tokio::test]
async fn keys_that_do_not_authenticate_get_401_with_a_reason_code() {
    let app = spawn_app().await;
    let client = reqwest::Client::new();
    let code = |response: Value| response["error"]["code"].as_str().unwrap().to_string();

    let missing = client.get(app.url("/api/v1/whoami")).send().await.unwrap();
    assert_eq!(missing.status(), 401);
    assert!(missing.headers().get("www-authenticate").is_some());
    let missing = json_of(missing).await;
    assert_eq!(missing["error"]["code"], "INVALID_KEY");
    assert!(missing["error"]["message"]
        .as_str()
        .unwrap()
        .contains("Send an API key"));

    let malformed = app.api_get("/api/v1/whoami", "not-a-key").await;
    assert_eq!(malformed.status(), 401);
    assert_eq!(code(json_of(malformed).await), "MALFORMED_KEY");

    let unknown = app
        .api_get(
            "/api/v1/whoami",
            "lk_AAAAAAAAAAAAAAAA_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB",
        )
        .await;
    assert_eq!(code(json_of(unknown).await), "INVALID_KEY");

    let real = app.issue_key("Real", &[]).await;
    let wrong_secret = format!("{}_{}", &real[..19], "C".repeat(32));
    let tampered = app.api_get("/api/v1/whoami", &wrong_secret).await;
    assert_eq!(
        code(json_of(tampered).await),
        "INVALID_KEY",
        "a wrong secret is just invalid"
    );

    let expiring = app.issue_key("Expiring", &[]).await;
    let expiring_id = id_of(&app, &expiring).await;
    app.with_db(move |conn| {
        let past = latchkey::db::now() - chrono::Duration::minutes(1);
        latchkey::models::api_key::update_details(conn, &expiring_id, "Expiring", "", Some(past))
            .unwrap()
    })
    .await;
    let expired = app.api_get("/api/v1/whoami", &expiring).await;
    assert_eq!(code(json_of(expired).await), "EXPIRED");

    let admin = app.admin_key().await;
    let doomed = app.issue_key("Doomed", &[]).await;
    let doomed_id = id_of(&app, &doomed).await;
    assert_eq!(app.api_get("/api/v1/whoami", &doomed).await.status(), 200);
    let revoked = app
        .api_delete(&format!("/api/v1/service-accounts/{doomed_id}"), &admin)
        .await;
    assert_eq!(json_of(revoked).await["status"], "revoked");
    let after = app.api_get("/api/v1/whoami", &doomed).await;
    assert_eq!(
        after.status(),
        401,
        "revocation takes effect at once on this instance"
    );
    assert_eq!(code(json_of(after).await), "REVOKED");
}

#[tokio::test]
async fn a_key_lacking_a_permission_gets_403_naming_it() {
    let app = spawn_app().await;
    let role = app.create_role("Reader", &[ROLES_RETRIEVE]).await;
    let key = app.issue_key("Reader", &[&role]).await;
    assert_eq!(app.api_get("/api/v1/roles", &key).await.status(), 200);
    let refused = app
        .api_post_json("/api/v1/roles", &key, &json!({"name": "x"}))
        .await;
    assert_eq!(refused.status(), 403);
    let body = json_of(refused).await;
    assert_eq!(body["error"]["code"], "INSUFFICIENT_PERMISSIONS");
    assert_eq!(body["error"]["required"], ROLES_CREATE);
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("You need the `roles.create` permission"));
}
