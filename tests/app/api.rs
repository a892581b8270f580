use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::*;

async fn json_of(response: reqwest::Response) -> Value {
    response.json().await.expect("a JSON body")
}

/// The id of a key from its full text.
async fn id_of(app: &TestApp, key: &str) -> String {
    let public_id = latchkey::auth::api_key::parse(key).unwrap().0.to_string();
    app.with_db(move |conn| {
        latchkey::models::api_key::find_by_public_id(conn, &public_id)
            .unwrap()
            .unwrap()
            .id
    })
    .await
}

#[tokio::test]
async fn a_key_says_who_it_is_with_either_header() {
    let app = spawn_app().await;
    let role = app
        .create_role("Reader", &[ROLES_RETRIEVE, USERS_RETRIEVE])
        .await;
    let key = app.issue_key("Billing service", &[&role]).await;

    let bearer = app
        .api(Method::GET, "/api/v1/whoami", &key)
        .send()
        .await
        .unwrap();
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

    let admin = json_of(
        app.api(Method::GET, "/api/v1/whoami", &app.admin_key().await)
            .send()
            .await
            .unwrap(),
    )
    .await;
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

    let malformed = app
        .api(Method::GET, "/api/v1/whoami", "not-a-key")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), 401);
    assert_eq!(code(json_of(malformed).await), "MALFORMED_KEY");

    let unknown = app
        .api(
            Method::GET,
            "/api/v1/whoami",
            "lk_AAAAAAAAAAAAAAAA_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(code(json_of(unknown).await), "INVALID_KEY");

    let real = app.issue_key("Real", &[]).await;
    let wrong_secret = format!("{}_{}", &real[..19], "C".repeat(32));
    let tampered = app
        .api(Method::GET, "/api/v1/whoami", &wrong_secret)
        .send()
        .await
        .unwrap();
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
    let expired = app
        .api(Method::GET, "/api/v1/whoami", &expiring)
        .send()
        .await
        .unwrap();
    assert_eq!(code(json_of(expired).await), "EXPIRED");

    let admin = app.admin_key().await;
    let doomed = app.issue_key("Doomed", &[]).await;
    let doomed_id = id_of(&app, &doomed).await;
    assert_eq!(
        app.api(Method::GET, "/api/v1/whoami", &doomed)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let revoked = app
        .api(
            Method::DELETE,
            &format!("/api/v1/service-accounts/{doomed_id}"),
            &admin,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(json_of(revoked).await["status"], "revoked");
    let after = app
        .api(Method::GET, "/api/v1/whoami", &doomed)
        .send()
        .await
        .unwrap();
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
    assert_eq!(
        app.api(Method::GET, "/api/v1/roles", &key)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let refused = app
        .api(Method::POST, "/api/v1/roles", &key)
        .json(&json!({"name": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    let body = json_of(refused).await;
    assert_eq!(body["error"]["code"], "INSUFFICIENT_PERMISSIONS");
    assert_eq!(body["error"]["required"], ROLES_CREATE);
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("You need the `roles.create` permission"));
}

#[tokio::test]
async fn roles_can_be_managed_through_the_api() {
    let app = spawn_app().await;
    let key = app.admin_key().await;
    let made = app
        .api(Method::POST, "/api/v1/roles", &key)
        .json(
            &json!({"name": "Renderers", "description": "Render", "permissions": [ROLES_RETRIEVE]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(made.status(), 201);
    let role = json_of(made).await;
    let id = role["id"].as_str().unwrap().to_string();
    assert_eq!(role["permissions"], json!([ROLES_RETRIEVE]));

    let patched = app
        .api(Method::PATCH, &format!("/api/v1/roles/{id}"), &key)
        .json(&json!({"permissions": [USERS_RETRIEVE, ROLES_RETRIEVE]}))
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), 200);
    let patched = json_of(patched).await;
    assert_eq!(patched["name"], "Renderers", "fields not sent are kept");
    assert_eq!(
        patched["permissions"],
        json!([ROLES_RETRIEVE, USERS_RETRIEVE])
    );

    let duplicate = app
        .api(Method::POST, "/api/v1/roles", &key)
        .json(&json!({"name": "renderers"}))
        .send()
        .await
        .unwrap();
    // A name already taken is a conflict with the current state (409), naming the field.
    assert_eq!(duplicate.status(), 409);
    let error = json_of(duplicate).await;
    assert_eq!(error["error"]["code"], "CONFLICT");
    assert_eq!(error["error"]["field"], "name");

    let unknown_field = app
        .api(Method::POST, "/api/v1/roles", &key)
        .json(&json!({"name": "X", "colour": "red"}))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown_field.status(), 422);
    assert!(json_of(unknown_field).await["error"]["message"]
        .as_str()
        .unwrap()
        .contains("unknown field"));

    let huge = json!({"name": "x".repeat(300 * 1024)});
    let too_big = app
        .api(Method::POST, "/api/v1/roles", &key)
        .json(&huge)
        .send()
        .await
        .unwrap();
    assert_eq!(too_big.status(), 413);
    assert_eq!(json_of(too_big).await["error"]["code"], "PAYLOAD_TOO_LARGE");

    assert_eq!(
        app.api(Method::DELETE, &format!("/api/v1/roles/{id}"), &key)
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    let gone = app
        .api(Method::GET, &format!("/api/v1/roles/{id}"), &key)
        .send()
        .await
        .unwrap();
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
        let page = json_of(app.api(Method::GET, &path, &key).send().await.unwrap()).await;
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
    let bad = app
        .api(Method::GET, "/api/v1/roles?limit=0", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);
}

#[tokio::test]
async fn a_key_is_created_with_roles_and_new_roles_in_one_transaction() {
    let app = spawn_app().await;
    let key = app.admin_key().await;
    let reader = app.create_role("Reader", &[ROLES_RETRIEVE]).await;
    let made = app
        .api(Method::POST, "/api/v1/service-accounts", &key)
        .json(&json!({
            "name": "Docs renderer",
            "description": "renders",
            "expires_at": "2099-01-01T00:00:00Z",
            "roles": [reader, "Admin"],
            "new_roles": [{"name": "", "permissions": [USERS_RETRIEVE]}]
        }))
        .send()
        .await
        .unwrap();
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
        app.api(
            Method::GET,
            &format!("/api/v1/service-accounts/{}", body["id"].as_str().unwrap()),
            &key,
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert!(
        fetched.get("secret").is_none(),
        "the secret is answered once"
    );
    assert_eq!(
        app.api(Method::GET, "/api/v1/whoami", &secret)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    let failing = app
        .api(Method::POST, "/api/v1/service-accounts", &key)
        .json(&json!({"name": "Half", "new_roles": [{"name": "Half role", "permissions": ["no.such"]}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(failing.status(), 409, "a permission that does not exist");
    assert!(app.role_named("Half role").await.is_none());
    let keys = json_of(
        app.api(Method::GET, "/api/v1/service-accounts", &key)
            .send()
            .await
            .unwrap(),
    )
    .await;
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
async fn a_key_cannot_create_keys_or_roles_beyond_its_own_permissions() {
    let app = spawn_app().await;
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
    let manager = app.issue_key("Manager", &[&manager_role]).await;
    let powerful = app.create_role("Powerful", &[USERS_DELETE]).await;

    let with_role = app
        .api(Method::POST, "/api/v1/service-accounts", &manager)
        .json(&json!({"name": "Escalator", "roles": [powerful]}))
        .send()
        .await
        .unwrap();
    assert_eq!(with_role.status(), 422);
    assert_eq!(json_of(with_role).await["error"]["field"], "role_ids");

    let with_admin = app
        .api(Method::POST, "/api/v1/service-accounts", &manager)
        .json(&json!({"name": "Escalator", "roles": ["Admin"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(with_admin.status(), 422);

    let inline = app
        .api(Method::POST, "/api/v1/service-accounts", &manager)
        .json(&json!({"name": "Escalator", "new_roles": [{"name": "Backdoor", "permissions": [USERS_DELETE]}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(inline.status(), 422);
    let role = app
        .api(Method::POST, "/api/v1/roles", &manager)
        .json(&json!({"name": "Backdoor", "permissions": [USERS_DELETE]}))
        .send()
        .await
        .unwrap();
    assert_eq!(role.status(), 422);
    assert!(app.role_named("Backdoor").await.is_none());

    let own = json_of(
        app.api(Method::POST, "/api/v1/service-accounts", &manager)
            .json(&json!({"name": "Legit", "roles": ["Key manager"]}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let own_id = own["id"].as_str().unwrap();
    let add_powerful = app
        .api(
            Method::PUT,
            &format!("/api/v1/service-accounts/{own_id}/roles/{powerful}"),
            &manager,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(add_powerful.status(), 422, "nor through PUT");
    let creator_less = app
        .api(
            Method::GET,
            &format!("/api/v1/service-accounts/{own_id}"),
            &manager,
        )
        .send()
        .await
        .unwrap();
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

    let added = json_of(
        app.api(
            Method::PUT,
            &format!("/api/v1/service-accounts/{id}/roles/{second}"),
            &admin,
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(added["roles"].as_array().unwrap().len(), 2);
    let whoami = json_of(
        app.api(Method::GET, "/api/v1/whoami", &worker)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        whoami["permissions"],
        json!([ROLES_RETRIEVE, USERS_RETRIEVE]),
        "the key at once holds the new role's permissions"
    );

    let removed = json_of(
        app.api(
            Method::DELETE,
            &format!("/api/v1/service-accounts/{id}/roles/{first}"),
            &admin,
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(removed["roles"][0]["name"], "Second");
    let not_held = app
        .api(
            Method::DELETE,
            &format!("/api/v1/service-accounts/{id}/roles/{first}"),
            &admin,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(not_held.status(), 404);

    let patched = app
        .api(
            Method::PATCH,
            &format!("/api/v1/service-accounts/{id}"),
            &admin,
        )
        .json(&json!({"name": "Worker v2", "expires_at": "2098-05-01T12:00:00Z"}))
        .send()
        .await
        .unwrap();
    let patched = json_of(patched).await;
    assert_eq!(patched["name"], "Worker v2");
    assert_eq!(patched["expires_at"], "2098-05-01T12:00:00Z");
    assert_eq!(
        patched["roles"][0]["name"], "Second",
        "roles not sent are kept"
    );
    let never = json_of(
        app.api(
            Method::PATCH,
            &format!("/api/v1/service-accounts/{id}"),
            &admin,
        )
        .json(&json!({"expires_at": null}))
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(never["expires_at"], Value::Null);
    let past = app
        .api(
            Method::PATCH,
            &format!("/api/v1/service-accounts/{id}"),
            &admin,
        )
        .json(&json!({"expires_at": "2001-01-01T00:00:00Z"}))
        .send()
        .await
        .unwrap();
    assert_eq!(past.status(), 409, "a time already past");
    assert_eq!(json_of(past).await["error"]["field"], "expiry");
}

#[tokio::test]
async fn the_permission_catalog_is_managed_through_the_api() {
    let app = spawn_app().await;
    let key = app.admin_key().await;
    let made = app
        .api(Method::POST, "/api/v1/permissions", &key)
        .json(&json!({"name": "documents.render", "description": "Render"}))
        .send()
        .await
        .unwrap();
    assert_eq!(made.status(), 201);
    assert_eq!(json_of(made).await["builtin"], false);
    let bad = app
        .api(Method::POST, "/api/v1/permissions", &key)
        .json(&json!({"name": "Bad Name"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);
    let patched = app
        .api(Method::PATCH, "/api/v1/permissions/documents.render", &key)
        .json(&json!({"description": "Render PDFs"}))
        .send()
        .await
        .unwrap();
    assert_eq!(json_of(patched).await["description"], "Render PDFs");
    let builtin = app
        .api(Method::DELETE, "/api/v1/permissions/roles.create", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(builtin.status(), 409);
    assert_eq!(
        app.api(Method::DELETE, "/api/v1/permissions/documents.render", &key)
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    let list = json_of(
        app.api(Method::GET, "/api/v1/permissions?limit=200", &key)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(!list["data"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["name"] == "documents.render"));
}

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

    let list = json_of(
        app.api(Method::GET, "/api/v1/users", &granter)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(list["data"][0]["email"], "m@example.com");
    let granted = app
        .api(
            Method::PUT,
            &format!("/api/v1/users/{member}/roles/{readers}"),
            &granter,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(granted.status(), 200);
    assert!(json_of(granted).await["roles"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["name"] == "Readers"));
    let refused = app
        .api(
            Method::PUT,
            &format!("/api/v1/users/{member}/roles/{powerful}"),
            &granter,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 422);
    let revoked = app
        .api(
            Method::DELETE,
            &format!("/api/v1/users/{member}/roles/{readers}"),
            &granter,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    assert!(!app.user_role_ids(&member).await.contains(&readers));
}

#[tokio::test]
async fn audit_events_are_read_with_filters_and_actions_by_keys_are_attributed() {
    let app = spawn_app().await;
    let key = app.admin_key().await;
    for n in 0..3 {
        app.api(Method::POST, "/api/v1/roles", &key)
            .json(&json!({"name": format!("Role {n}")}))
            .send()
            .await
            .unwrap();
    }
    let page = json_of(
        app.api(
            Method::GET,
            "/api/v1/audit-events?action=role.created&limit=2",
            &key,
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(page["data"].as_array().unwrap().len(), 2);
    assert_eq!(page["data"][0]["target_label"], "Role 2", "newest first");
    assert_eq!(page["data"][0]["actor_kind"], "service-account");
    assert_eq!(page["data"][0]["actor_label"], "Admin automation");
    let at = page["data"][0]["occurred_at"].as_str().unwrap();
    assert!(
        chrono::DateTime::parse_from_rfc3339(at).is_ok() && at.ends_with('Z'),
        "RFC 3339 UTC: {at}"
    );
    let cursor = page["next_cursor"].as_str().unwrap();
    let rest = json_of(
        app.api(
            Method::GET,
            &format!("/api/v1/audit-events?action=role.created&limit=2&cursor={cursor}"),
            &key,
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(rest["data"].as_array().unwrap().len(), 1);
    assert_eq!(rest["next_cursor"], Value::Null);
    let bad = app
        .api(Method::GET, "/api/v1/audit-events?from=tomorrow", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);
}

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
    app.with_db(|conn| {
        latchkey::models::permission::insert_custom(conn, "documents.render", "Render").unwrap()
    })
    .await;
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
    let id = id_of(&app, &key).await;
    app.with_db(move |conn| latchkey::models::api_key::revoke(conn, &id).unwrap())
        .await;
    app.db.note_authz_change();
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
    app.with_db(|conn| {
        latchkey::models::permission::insert_custom(conn, "documents.render", "Render").unwrap()
    })
    .await;
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
    let grant = (member.clone(), powerful.clone());
    app.with_db(move |conn| {
        latchkey::models::user::grant_role(conn, &grant.0, &grant.1, None).unwrap()
    })
    .await;
    let mixed = app
        .create_role("Mixed", &[ROLES_RETRIEVE, USERS_DELETE])
        .await;
    let seeded_events = app.audit_events().await.len();

    let attempts = [
        app.api(
            Method::DELETE,
            &format!("/api/v1/service-accounts/{target_key}/roles/{powerful}"),
            &manager,
        ),
        app.api(
            Method::PATCH,
            &format!("/api/v1/service-accounts/{target_key}"),
            &manager,
        )
        .json(&json!({"roles": []})),
        app.api(
            Method::DELETE,
            &format!("/api/v1/users/{member}/roles/{powerful}"),
            &manager,
        ),
        app.api(Method::PATCH, &format!("/api/v1/roles/{mixed}"), &manager)
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

#[tokio::test]
async fn role_lists_beyond_the_limits_are_refused_before_any_lookup() {
    use latchkey::limits::{NEW_ROLES_MAX, ROLE_PERMISSIONS_MAX, ROLE_REFERENCES_MAX};
    let app = spawn_app().await;
    let admin = app.admin_key().await;
    let reader = app.create_role("Reader", &[ROLES_RETRIEVE]).await;
    let post =
        |path: &'static str, body: Value| app.api(Method::POST, path, &admin).json(&body).send();

    // The most roles one key may be given at once passes the count (these do not exist: 409).
    let names = |count: usize| -> Vec<String> { (0..count).map(|n| format!("role {n}")).collect() };
    let at_limit = post(
        "/api/v1/service-accounts",
        json!({"name": "Many roles", "roles": names(ROLE_REFERENCES_MAX)}),
    )
    .await
    .unwrap();
    assert_eq!(at_limit.status(), 409);
    let too_many = post(
        "/api/v1/service-accounts",
        json!({"name": "Too many roles", "roles": names(ROLE_REFERENCES_MAX + 1)}),
    )
    .await
    .unwrap();
    assert_eq!(too_many.status(), 422);
    let error = json_of(too_many).await;
    assert_eq!(error["error"]["field"], "role_ids", "{error}");
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
    .await
    .unwrap();
    assert_eq!(repeated.status(), 422);

    let inline: Vec<Value> = (0..=NEW_ROLES_MAX)
        .map(|n| json!({"name": format!("Inline {n}")}))
        .collect();
    let too_many_new = post(
        "/api/v1/service-accounts",
        json!({"name": "Inline roles", "new_roles": inline}),
    )
    .await
    .unwrap();
    assert_eq!(too_many_new.status(), 422);
    assert_eq!(json_of(too_many_new).await["error"]["field"], "new_roles");

    let permissions = vec![ROLES_RETRIEVE; ROLE_PERMISSIONS_MAX + 1];
    let big_role = post(
        "/api/v1/roles",
        json!({"name": "Big", "permissions": permissions}),
    )
    .await
    .unwrap();
    assert_eq!(big_role.status(), 422);
    assert_eq!(json_of(big_role).await["error"]["field"], "permissions");
    let big_patch = app
        .api(Method::PATCH, &format!("/api/v1/roles/{reader}"), &admin)
        .json(&json!({"permissions": permissions}))
        .send()
        .await
        .unwrap();
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
    let keys = app
        .api(Method::GET, "/api/v1/service-accounts", &admin)
        .send()
        .await
        .unwrap();
    assert_eq!(json_of(keys).await["data"].as_array().unwrap().len(), 1);
}
