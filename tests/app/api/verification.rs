//! What other services ask about a key: `/api/v1/keys/verify` and the forward-auth endpoint.

use serde_json::{json, Value};

use super::id_of;
use crate::helpers::*;

async fn verify(app: &TestApp, key: &str, permissions: &[&str]) -> Value {
    let response = reqwest::Client::new()
        .post(app.url("/api/v1/keys/verify"))
        .json(&json!({"key": key, "permissions": permissions}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    json_of(response).await
}

#[tokio::test]
async fn services_verify_keys_and_get_a_reason_code() {
    let app = spawn_app().await;
    app.create_permission("documents.render", "Render").await;
    let role = app.create_role("Renderers", &["documents.render"]).await;
    let key = app.issue_key("Renderer", &[&role]).await;

    let valid = verify(&app, &key, &["documents.render"]).await;
    assert_eq!(valid["valid"], true);
    assert_eq!(valid["code"], "VALID");
    assert_eq!(valid["key"]["name"], "Renderer");
    assert_eq!(valid["key"]["roles"][0]["name"], "Renderers");
    assert_eq!(valid["permissions"], json!(["documents.render"]));

    let lacking = verify(&app, &key, &["documents.render", "billing.refund"]).await;
    assert_eq!(lacking["valid"], false);
    assert_eq!(lacking["code"], "INSUFFICIENT_PERMISSIONS");
    assert_eq!(lacking["missing"], json!(["billing.refund"]));

    assert_eq!(verify(&app, "garbage", &[]).await["code"], "MALFORMED");
    assert_eq!(
        verify(
            &app,
            "lk_AAAAAAAAAAAAAAAA_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB",
            &[]
        )
        .await["code"],
        "NOT_FOUND"
    );
    app.revoke_key(&id_of(&app, &key).await).await;
    assert_eq!(verify(&app, &key, &[]).await["code"], "REVOKED");
}

#[tokio::test]
async fn repeated_verification_failures_from_one_address_are_rate_limited() {
    let app = spawn_app().await;
    let client = reqwest::Client::new();
    let mut limited = None;
    for attempt in 0..40 {
        let response = client
            .post(app.url("/api/v1/keys/verify"))
            .json(&json!({"key": "lk_AAAAAAAAAAAAAAAA_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"}))
            .send()
            .await
            .unwrap();
        if response.status() == 429 {
            limited = Some((attempt, response));
            break;
        }
    }
    let (attempt, response) = limited.expect("limited before 40 failures");
    assert_eq!(attempt, 30, "after 30 failures");
    assert!(response.headers().get("retry-after").is_some());
    assert_eq!(json_of(response).await["error"]["code"], "RATE_LIMITED");
}

#[tokio::test]
async fn forward_auth_answers_204_401_or_403() {
    let app = spawn_app().await;
    app.create_permission("documents.render", "Render").await;
    let role = app.create_role("Renderers", &["documents.render"]).await;
    let key = app.issue_key("Renderer", &[&role]).await;
    let client = reqwest::Client::new();

    let allowed = client
        .get(app.url("/api/v1/auth/forward?permission=documents.render"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(allowed.status(), 204);
    assert_eq!(
        allowed.headers().get("x-latchkey-key-name").unwrap(),
        "Renderer"
    );
    assert_eq!(
        allowed
            .headers()
            .get("x-latchkey-key-id")
            .unwrap()
            .to_str()
            .unwrap(),
        id_of(&app, &key).await
    );

    let by_header = client
        .get(app.url("/api/v1/auth/forward"))
        .header("X-Api-Key", &key)
        .header("X-Required-Permission", "billing.refund")
        .send()
        .await
        .unwrap();
    assert_eq!(by_header.status(), 403);
    assert_eq!(
        json_of(by_header).await["error"]["required"],
        "billing.refund"
    );

    let invalid = client
        .get(app.url("/api/v1/auth/forward"))
        .bearer_auth("nope")
        .send()
        .await
        .unwrap();
    assert_eq!(invalid.status(), 401);
    let none = client
        .get(app.url("/api/v1/auth/forward"))
        .send()
        .await
        .unwrap();
    assert_eq!(none.status(), 401);
}
