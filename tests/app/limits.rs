//! Refusals that cannot be turned against legitimate users, and bounds on what any input writes.
//!
//! Distinct client addresses are simulated by binding each test client to its own loopback address
//! (127.0.0.0/8 all reach the server on 127.0.0.1 on Linux).

use std::net::{IpAddr, Ipv4Addr};

use reqwest::{Client, Response, StatusCode};
use serde_json::{json, Value};

use crate::helpers::*;

/// A browser-like client (cookies, no redirects, same-origin posts) whose requests come from
/// 127.0.0.`last`.
fn client_from(last: u8) -> Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        "sec-fetch-site",
        reqwest::header::HeaderValue::from_static("same-origin"),
    );
    Client::builder()
        .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, last)))
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(headers)
        .build()
        .expect("a reqwest client")
}

/// A well-formed key that does not exist (it passes the format check, fails the lookup).
const UNKNOWN_KEY: &str = "lk_AAAAAAAAAAAAAAAA_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB";

async fn verify(app: &TestApp, client: &Client, key: &str) -> Response {
    client
        .post(app.url("/api/v1/keys/verify"))
        .json(&json!({ "key": key }))
        .send()
        .await
        .expect("POST /api/v1/keys/verify")
}

async fn json_of(response: Response) -> Value {
    response.json().await.expect("a JSON body")
}

fn retry_after(response: &Response) -> u64 {
    response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("a Retry-After header in seconds")
}

#[tokio::test]
async fn bad_keys_from_one_address_never_block_valid_keys_from_it() {
    let app = spawn_app().await;
    let key = app.admin_key().await;
    let shared_nat = client_from(2);

    // Someone behind the same address sends more bad keys than the limit allows…
    for attempt in 0..30 {
        let response = verify(&app, &shared_nat, UNKNOWN_KEY).await;
        assert_eq!(response.status(), 200, "failure {attempt} is answered");
        assert_eq!(json_of(response).await["code"], "NOT_FOUND");
    }
    // …the failures beyond it are refused, with when to retry…
    let refused = verify(&app, &shared_nat, UNKNOWN_KEY).await;
    assert_eq!(refused.status(), 429);
    let wait = retry_after(&refused);
    assert!((1..=60).contains(&wait), "Retry-After {wait}");
    assert_eq!(json_of(refused).await["error"]["code"], "RATE_LIMITED");
    let forward_refused = shared_nat
        .get(app.url("/api/v1/auth/forward"))
        .bearer_auth(UNKNOWN_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(
        forward_refused.status(),
        429,
        "forward auth counts the same"
    );
    retry_after(&forward_refused);
    let bearer_refused = shared_nat
        .get(app.url("/api/v1/whoami"))
        .bearer_auth(UNKNOWN_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(
        bearer_refused.status(),
        429,
        "every Bearer route counts the same"
    );
    retry_after(&bearer_refused);

    // …and every valid key from that same address still passes, everywhere.
    for _ in 0..20 {
        let verified = verify(&app, &shared_nat, &key).await;
        assert_eq!(verified.status(), 200);
        assert_eq!(json_of(verified).await["valid"], true);
        let forwarded = shared_nat
            .get(app.url("/api/v1/auth/forward"))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap();
        assert_eq!(forwarded.status(), 204);
        let whoami = shared_nat
            .get(app.url("/api/v1/whoami"))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap();
        assert_eq!(whoami.status(), 200);
    }

    // Another address is not affected by the first one's failures.
    let elsewhere = verify(&app, &client_from(3), UNKNOWN_KEY).await;
    assert_eq!(elsewhere.status(), 200);
    assert_eq!(json_of(elsewhere).await["code"], "NOT_FOUND");
}

#[tokio::test]
async fn bad_bearer_keys_are_limited_per_address_like_verification() {
    let app = spawn_app().await;
    let guesser = client_from(4);
    for attempt in 0..30 {
        let response = guesser
            .get(app.url("/api/v1/roles"))
            .bearer_auth(UNKNOWN_KEY)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "failure {attempt} is a 401");
    }
    let refused = guesser
        .get(app.url("/api/v1/roles"))
        .bearer_auth(UNKNOWN_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    retry_after(&refused);
    // A request without any key is no guess: it is still told to send one.
    let missing = guesser.get(app.url("/api/v1/roles")).send().await.unwrap();
    assert_eq!(missing.status(), 401);
}

async fn sign_in_from(app: &TestApp, client: &Client, email: &str, password: &str) -> Response {
    client
        .post(app.url("/login"))
        .form(&[("email", email), ("password", password)])
        .send()
        .await
        .expect("POST /login")
}

#[tokio::test]
async fn an_attackers_failures_from_one_address_do_not_lock_the_owner_out_from_another() {
    let app = spawn_app().await;
    app.create_member("victim@example.com", &[]).await;
    let attacker = client_from(5);
    for attempt in 0..5 {
        let response =
            sign_in_from(&app, &attacker, "victim@example.com", "guess number one").await;
        assert_eq!(response.status(), 401, "guess {attempt}");
    }
    let throttled = sign_in_from(&app, &attacker, "victim@example.com", "guess number six").await;
    assert_eq!(
        throttled.status(),
        429,
        "the account throttle holds for the guesser"
    );
    assert!(retry_after(&throttled) > 0);
    assert_eq!(
        sign_in_from(&app, &attacker, "victim@example.com", PASSWORD)
            .await
            .status(),
        429,
        "even the right password waits from the address that failed"
    );

    let owner = client_from(6);
    let signed_in = sign_in_from(&app, &owner, "victim@example.com", PASSWORD).await;
    assert_eq!(signed_in.status(), 303, "the owner signs in from elsewhere");
    let home = owner.get(app.url("/")).send().await.unwrap();
    assert_eq!(home.status(), 200, "and is signed in");

    // Another address that guesses gets one try at the throttled account, then waits too.
    let second = client_from(8);
    assert_eq!(
        sign_in_from(&app, &second, "victim@example.com", "guess number seven")
            .await
            .status(),
        401
    );
    assert_eq!(
        sign_in_from(&app, &second, "victim@example.com", "guess number eight")
            .await
            .status(),
        429
    );
}

#[tokio::test]
async fn guesses_from_many_addresses_stop_at_the_account_ceiling_even_for_the_right_password() {
    use latchkey::services::sign_in::ACCOUNT_MAX_FAILURES;
    let app = spawn_app().await;
    app.create_admin().await;
    app.create_member("victim@example.com", &[]).await;
    // A botnet: every address guesses once, so the per-address and "clean address" rules never
    // stop it.
    let first_address = 10u8;
    for n in 0..ACCOUNT_MAX_FAILURES {
        let bot = client_from(first_address + u8::try_from(n).unwrap());
        let guess = format!("guess number {n}");
        let response = sign_in_from(&app, &bot, "victim@example.com", &guess).await;
        assert_eq!(response.status(), 401, "guess {n} is checked");
    }
    let next_bot = client_from(first_address + u8::try_from(ACCOUNT_MAX_FAILURES).unwrap());
    let refused = sign_in_from(&app, &next_bot, "victim@example.com", "one guess more").await;
    assert_eq!(refused.status(), 429, "no address gets another guess");
    assert!(retry_after(&refused) >= 60);

    let owner = client_from(250);
    let waits = sign_in_from(&app, &owner, "victim@example.com", PASSWORD).await;
    assert_eq!(
        waits.status(),
        429,
        "past the ceiling the right password waits too, even from a clean address"
    );
    assert!(body(waits)
        .await
        .contains("Too many failed sign-ins for this email."));
    assert_eq!(
        sign_in_from(&app, &client_from(251), ADMIN_EMAIL, PASSWORD)
            .await
            .status(),
        303,
        "other accounts are not affected"
    );
}

#[tokio::test]
async fn spraying_many_emails_from_one_address_is_refused_after_the_address_limit() {
    let app = spawn_app().await;
    app.create_admin().await;
    let sprayer = client_from(7);
    for n in 0..latchkey::services::sign_in::ADDRESS_MAX_FAILURES {
        let email = format!("person{n}@example.com");
        let response = sign_in_from(&app, &sprayer, &email, "Winter2026!").await;
        assert_eq!(response.status(), 401, "{email}");
    }
    let refused = sign_in_from(&app, &sprayer, "one-more@example.com", "Winter2026!").await;
    assert_eq!(refused.status(), 429);
    assert!(retry_after(&refused) >= 60);
    assert!(body(refused)
        .await
        .contains("Too many failed sign-ins from this address."));
    assert_eq!(
        sign_in_from(&app, &sprayer, ADMIN_EMAIL, PASSWORD)
            .await
            .status(),
        429,
        "no password is checked for that address while it waits"
    );
    assert_eq!(
        sign_in_from(&app, &client_from(9), ADMIN_EMAIL, PASSWORD)
            .await
            .status(),
        303,
        "other addresses are not affected"
    );
}

#[tokio::test]
async fn a_failed_sign_in_with_an_over_long_email_is_recorded_cut_short() {
    let app = spawn_app().await;
    let email = format!("{}@example.com", "a".repeat(100_000));
    let response = app.sign_in(&email, "some password here").await;
    assert_eq!(
        response.status(),
        401,
        "a failure like any other, never a 500"
    );
    let stored = app
        .with_db(|conn| {
            latchkey::models::audit::search(conn, &Default::default(), None, 10)
                .expect("search the audit log")
        })
        .await;
    assert_eq!(stored.len(), 1);
    let event = &stored[0];
    assert_eq!(event.action, "auth.sign-in-failed");
    assert!(event.target_label.chars().count() <= latchkey::limits::EMAIL_MAX + 1);
    assert!(event.target_label.starts_with("aaaa"));
    assert!(
        event
            .target_id
            .as_deref()
            .unwrap_or_default()
            .chars()
            .count()
            <= latchkey::limits::EMAIL_MAX + 1
    );
}

/// A key holding one role with exactly these permissions (none: a key that may do nothing).
async fn key_with(app: &TestApp, name: &str, permissions: &[&str]) -> String {
    let role = app
        .create_role(&format!("Role of {name}"), permissions)
        .await;
    app.issue_key(name, &[&role]).await
}

#[tokio::test]
async fn repeated_refusals_of_one_key_are_counted_on_one_audit_event() {
    let app = spawn_app().await;
    let nobody = key_with(&app, "No rights", &[]).await;
    for _ in 0..40 {
        let refused = app.api_get("/api/v1/roles", &nobody).await;
        assert_eq!(refused.status(), 403);
    }
    for _ in 0..3 {
        let refused = app.api_get("/api/v1/service-accounts", &nobody).await;
        assert_eq!(refused.status(), 403);
    }

    let admin = app.admin_key().await;
    let listed = json_of(
        app.api_get("/api/v1/audit-events?action=access.denied", &admin)
            .await,
    )
    .await;
    let events = listed["data"].as_array().expect("a list of events").clone();
    assert_eq!(events.len(), 2, "one event per permission: {events:#?}");
    let counts: Vec<(String, i64)> = events
        .iter()
        .map(|e| {
            (
                e["summary"].as_str().unwrap_or_default().to_string(),
                e["repeat_count"].as_i64().unwrap_or_default(),
            )
        })
        .collect();
    assert!(
        counts.contains(&("missing permission roles.retrieve".into(), 40)),
        "{counts:?}"
    );
    assert!(
        counts.contains(&("missing permission service-accounts.retrieve".into(), 3)),
        "{counts:?}"
    );
    let repeated = events
        .iter()
        .find(|e| e["repeat_count"] == 40)
        .expect("the repeated event");
    assert!(repeated["last_occurred_at"].is_string());

    app.signed_in_admin().await;
    let page = body(app.get("/audit?action=access.denied").await).await;
    assert!(
        page.contains("40 times, the last at"),
        "the audit page shows the count"
    );
}

#[tokio::test]
async fn a_refused_call_with_a_very_long_path_is_recorded_cut_short() {
    let app = spawn_app().await;
    let nobody = key_with(&app, "No rights", &[]).await;
    let path = format!("/api/v1/roles/{}", "x".repeat(6_000));
    let refused = app.api_get(&path, &nobody).await;
    assert_eq!(refused.status(), 403);
    let events = app.audit_events().await;
    let denied: Vec<_> = events
        .iter()
        .filter(|(action, _, _)| action == "access.denied")
        .collect();
    assert_eq!(denied.len(), 1, "the refusal is recorded: {events:?}");
    let label = &denied[0].2;
    assert!(label.starts_with("GET /api/v1/roles/xxxx"), "{label}");
    assert!(label.chars().count() <= latchkey::limits::AUDIT_TEXT_MAX);
}

#[tokio::test]
async fn console_forms_refuse_control_characters_like_the_api() {
    let app = spawn_app().await;
    app.signed_in_admin().await;
    let keys_before = app.key_count().await;

    let key = app
        .post_form(
            "/development/keys",
            &[("name", "Billing\u{0}prod"), ("expiry", "never")],
        )
        .await;
    assert_eq!(key.status(), 422, "a NUL in a key name is refused");
    assert!(body(key).await.contains("Remove the control characters"));
    let described = app
        .post_form(
            "/development/keys",
            &[
                ("name", "Billing"),
                ("description", "line one\nline two\u{0}"),
                ("expiry", "never"),
            ],
        )
        .await;
    assert_eq!(described.status(), 422, "a NUL in a description is refused");
    assert_eq!(app.key_count().await, keys_before, "nothing was stored");

    let role = app
        .post_form("/roles", &[("name", "Ops\u{0}"), ("description", "")])
        .await;
    assert_eq!(role.status(), 422, "a NUL in a role name is refused");
    let names = app
        .with_db(|conn| latchkey::models::role::list(conn).expect("list roles"))
        .await;
    assert!(
        names.iter().all(|r| !r.name.starts_with("Ops")),
        "no role was stored"
    );

    let invited = app
        .post_form(
            "/team/invite",
            &[
                ("email", "new@example.com"),
                ("display_name", "New\u{0}Person"),
            ],
        )
        .await;
    assert_eq!(invited.status(), 422, "a NUL in a display name is refused");

    // Line breaks stay allowed in a description.
    let multi_line = app
        .post_form(
            "/development/keys",
            &[
                ("name", "Billing"),
                ("description", "line one\nline two"),
                ("expiry", "never"),
            ],
        )
        .await;
    assert_eq!(multi_line.status(), 303);
}

#[tokio::test]
async fn no_role_may_take_the_admin_roles_id_or_name() {
    let app = spawn_app().await;
    let admin = app.admin_key().await;
    for name in ["role-admin", "ROLE-ADMIN", " Role-Admin ", "admin"] {
        let response = app
            .api_post_json("/api/v1/roles", &admin, &json!({ "name": name }))
            .await;
        assert_eq!(
            response.status(),
            409,
            "the name is taken, by the Admin role: {name:?}"
        );
        let refusal = json_of(response).await;
        assert_eq!(refusal["error"]["field"], "name", "{refusal}");
    }
    let inline = app
        .api_post_json(
            "/api/v1/service-accounts",
            &admin,
            &json!({ "name": "Deployer", "new_roles": [{ "name": "role-admin" }] }),
        )
        .await;
    assert_eq!(inline.status(), 409, "nor an inline role");

    app.signed_in_admin().await;
    let form = app
        .post_form("/roles", &[("name", "role-admin"), ("description", "")])
        .await;
    assert_eq!(form.status(), 422, "the console refuses it too");
    assert!(body(form).await.contains("built-in Admin role"));
    assert!(app.role_named("role-admin").await.is_none());
}

#[tokio::test]
async fn an_invitation_needs_a_real_email_address() {
    let app = spawn_app().await;
    app.signed_in_admin().await;
    for email in [
        "<script>alert(17)</script>@evil.io",
        "ada@localhost",
        "ada@exa mple.com",
        "\"ada\"@example.com",
    ] {
        let response = app
            .post_form("/team/invite", &[("email", email), ("display_name", "")])
            .await;
        assert_eq!(response.status(), 422, "{email:?}");
        assert!(body(response)
            .await
            .contains("Enter an email address like name@example.com."));
    }
    let too_long = format!("{}@example.com", "a".repeat(250));
    let response = app
        .post_form(
            "/team/invite",
            &[("email", &too_long), ("display_name", "")],
        )
        .await;
    assert_eq!(response.status(), 422, "longer than 254 characters");
    let fine = app
        .post_form(
            "/team/invite",
            &[("email", "o'hara@example.com"), ("display_name", "")],
        )
        .await;
    assert_eq!(fine.status(), 303);
}

#[tokio::test]
async fn every_bound_is_the_same_in_forms_and_in_the_openapi_document() {
    use latchkey::limits::*;
    let app = spawn_app().await;
    let document: Value = reqwest::get(app.url("/api/v1/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let schemas = &document["components"]["schemas"];
    for (schema, property, max) in [
        ("NewServiceAccount", "name", KEY_NAME_MAX),
        ("NewServiceAccount", "description", KEY_DESCRIPTION_MAX),
        ("ServiceAccountPatch", "name", KEY_NAME_MAX),
        ("ServiceAccountPatch", "description", KEY_DESCRIPTION_MAX),
        ("NewInlineRole", "name", ROLE_NAME_MAX),
        ("NewInlineRole", "description", ROLE_DESCRIPTION_MAX),
        ("NewRole", "name", ROLE_NAME_MAX),
        ("NewRole", "description", ROLE_DESCRIPTION_MAX),
        ("RolePatch", "name", ROLE_NAME_MAX),
        ("RolePatch", "description", ROLE_DESCRIPTION_MAX),
        ("NewPermission", "name", PERMISSION_NAME_MAX),
        ("NewPermission", "description", PERMISSION_DESCRIPTION_MAX),
        ("PermissionPatch", "description", PERMISSION_DESCRIPTION_MAX),
    ] {
        assert_eq!(
            schemas[schema]["properties"][property]["maxLength"].as_u64(),
            Some(max as u64),
            "{schema}.{property}: {}",
            schemas[schema]["properties"][property]
        );
    }

    for (schema, property, max) in [
        ("NewServiceAccount", "roles", ROLE_REFERENCES_MAX),
        ("NewServiceAccount", "new_roles", NEW_ROLES_MAX),
        ("ServiceAccountPatch", "roles", ROLE_REFERENCES_MAX),
        ("NewInlineRole", "permissions", ROLE_PERMISSIONS_MAX),
        ("NewRole", "permissions", ROLE_PERMISSIONS_MAX),
        ("RolePatch", "permissions", ROLE_PERMISSIONS_MAX),
    ] {
        assert_eq!(
            schemas[schema]["properties"][property]["maxItems"].as_u64(),
            Some(max as u64),
            "{schema}.{property}: {}",
            schemas[schema]["properties"][property]
        );
    }

    let login = body(app.get("/login").await).await;
    assert!(
        login.contains(&format!(r#"maxlength="{EMAIL_MAX}""#)),
        "the sign-in email field is bounded"
    );
    app.signed_in_admin().await;
    let key_form = body(app.get("/development/keys/new").await).await;
    assert!(key_form.contains(&format!(
        r#"name="name" type="text" maxlength="{KEY_NAME_MAX}""#
    )));
    assert!(key_form.contains(&format!(r#"maxlength="{KEY_DESCRIPTION_MAX}""#)));
    let invite = body(app.get("/team/invite").await).await;
    assert!(invite.contains(&format!(r#"maxlength="{EMAIL_MAX}""#)));
    assert!(invite.contains(&format!(r#"maxlength="{DISPLAY_NAME_MAX}""#)));
}
