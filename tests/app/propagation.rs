//! Several instances on one database: a change to what a key may do applies at once on the instance
//! where it was made and within two seconds on the others (each polls `authz_version` every
//! second), even though every instance had the key cached. And key use is written in batches.

use std::time::{Duration, Instant};

use chrono::NaiveDateTime;
use serde_json::{json, Value};

use crate::helpers::{location, spawn_app, start_server, TestApp};

/// The longest another instance may keep answering as before a change.
const PROPAGATION_LIMIT: Duration = Duration::from_secs(2);
/// How often instance B is asked while the change travels, and for how long.
const POLL_EVERY: Duration = Duration::from_millis(100);
const POLL_FOR: Duration = Duration::from_millis(2500);

/// Instance A (the test app, where changes are made) and the address of instance B.
struct Instances {
    a: TestApp,
    b: String,
    admin: String,
}

async fn two_instances() -> Instances {
    let a = spawn_app().await;
    let (b, _, _) = start_server(&a.database.url).await;
    let admin = a.admin_key().await;
    Instances { a, b, admin }
}

/// `POST /api/v1/keys/verify` on the instance at `address`.
async fn verify(address: &str, key: &str, permissions: &[&str]) -> Value {
    let response = reqwest::Client::new()
        .post(format!("{address}/api/v1/keys/verify"))
        .json(&json!({"key": key, "permissions": permissions}))
        .send()
        .await
        .expect("POST /api/v1/keys/verify");
    assert_eq!(response.status(), 200, "verify answers");
    response.json().await.expect("a JSON verdict")
}

/// The status of `GET /api/v1/auth/forward?permission=…` on the instance at `address`.
async fn forward(address: &str, key: &str, permission: &str) -> u16 {
    reqwest::Client::new()
        .get(format!(
            "{address}/api/v1/auth/forward?permission={permission}"
        ))
        .bearer_auth(key)
        .send()
        .await
        .expect("GET /api/v1/auth/forward")
        .status()
        .as_u16()
}

/// Asks B every [`POLL_EVERY`] until its verdict has `code`, and returns how long that took since
/// `since` (when the change was requested on A). Panics after [`POLL_FOR`].
async fn time_until_b_answers(
    b: &str,
    key: &str,
    permissions: &[&str],
    code: &str,
    since: Instant,
) -> Duration {
    let mut asked = 0;
    loop {
        let verdict = verify(b, key, permissions).await;
        asked += 1;
        if verdict["code"] == code {
            let elapsed = since.elapsed();
            eprintln!(
                "instance B answered {code} {elapsed:?} after the change on A (asked {asked} times)"
            );
            return elapsed;
        }
        assert_eq!(
            verdict["code"], "VALID",
            "B answers as before until it sees the change: {verdict}"
        );
        if since.elapsed() >= POLL_FOR {
            panic!("instance B still answers {verdict} {POLL_FOR:?} after the change on A");
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
}

/// A key holding `role_ids`, verified (and so cached) on both instances; returns (key, id).
async fn key_cached_on_both(
    instances: &Instances,
    name: &str,
    role_ids: &[&str],
    permissions: &[&str],
) -> (String, String) {
    let key = instances.a.issue_key(name, role_ids).await;
    let on_a = verify(&instances.a.address, &key, permissions).await;
    let on_b = verify(&instances.b, &key, permissions).await;
    assert_eq!(on_a["code"], "VALID", "{on_a}");
    assert_eq!(on_b["code"], "VALID", "{on_b}");
    let id = on_a["key"]["id"]
        .as_str()
        .expect("the key's id")
        .to_string();
    (key, id)
}

#[tokio::test]
async fn a_key_revoked_on_one_instance_is_refused_by_every_instance() {
    let instances = two_instances().await;
    let a = &instances.a;
    let role = a.create_role("Readers", &["roles.retrieve"]).await;
    let (key, id) = key_cached_on_both(&instances, "Billing service", &[&role], &[]).await;
    a.signed_in_admin().await;

    // Revoked through the console on A.
    let since = Instant::now();
    let response = a
        .post_form(&format!("/development/keys/{id}/revoke"), &[])
        .await;
    assert_eq!(response.status(), 303, "the key is revoked");
    assert_eq!(location(&response), "/development");

    let on_a = verify(&a.address, &key, &[]).await;
    assert_eq!(on_a["code"], "REVOKED", "A refuses it at once: {on_a}");
    assert_eq!(forward(&a.address, &key, "roles.retrieve").await, 401);
    let elapsed = time_until_b_answers(&instances.b, &key, &[], "REVOKED", since).await;
    assert!(
        elapsed <= PROPAGATION_LIMIT,
        "B refused the revoked key only after {elapsed:?}"
    );
    assert_eq!(forward(&instances.b, &key, "roles.retrieve").await, 401);
}

#[tokio::test]
async fn a_role_taken_from_a_key_on_one_instance_is_gone_on_every_instance() {
    let instances = two_instances().await;
    let a = &instances.a;
    let readers = a.create_role("Readers", &["roles.retrieve"]).await;
    let auditors = a.create_role("Auditors", &["audit-log.retrieve"]).await;
    let needed = ["roles.retrieve"];
    let (key, id) = key_cached_on_both(
        &instances,
        "Billing service",
        &[&readers, &auditors],
        &needed,
    )
    .await;

    // Removed through the API on A.
    let since = Instant::now();
    let response = a
        .api_delete(
            &format!("/api/v1/service-accounts/{id}/roles/{readers}"),
            &instances.admin,
        )
        .await;
    assert_eq!(response.status(), 200, "the role is removed from the key");

    let on_a = verify(&a.address, &key, &needed).await;
    assert_eq!(
        on_a["code"], "INSUFFICIENT_PERMISSIONS",
        "at once on A: {on_a}"
    );
    assert_eq!(on_a["missing"], json!(needed));
    assert_eq!(forward(&a.address, &key, "roles.retrieve").await, 403);
    let elapsed = time_until_b_answers(
        &instances.b,
        &key,
        &needed,
        "INSUFFICIENT_PERMISSIONS",
        since,
    )
    .await;
    assert!(
        elapsed <= PROPAGATION_LIMIT,
        "B saw the role removed only after {elapsed:?}"
    );
    assert_eq!(forward(&instances.b, &key, "roles.retrieve").await, 403);
    // The role it kept still counts everywhere.
    assert_eq!(forward(&instances.b, &key, "audit-log.retrieve").await, 204);
}

#[tokio::test]
async fn a_permission_taken_from_a_role_on_one_instance_is_gone_on_every_instance() {
    let instances = two_instances().await;
    let a = &instances.a;
    let role = a
        .create_role("Readers", &["roles.retrieve", "audit-log.retrieve"])
        .await;
    let needed = ["roles.retrieve"];
    let (key, _) = key_cached_on_both(&instances, "Billing service", &[&role], &needed).await;

    // Taken from the role through the API on A.
    let since = Instant::now();
    let response = a
        .api_patch_json(
            &format!("/api/v1/roles/{role}"),
            &instances.admin,
            &json!({"permissions": ["audit-log.retrieve"]}),
        )
        .await;
    assert_eq!(response.status(), 200, "the role loses roles.retrieve");

    let on_a = verify(&a.address, &key, &needed).await;
    assert_eq!(
        on_a["code"], "INSUFFICIENT_PERMISSIONS",
        "at once on A: {on_a}"
    );
    assert_eq!(forward(&a.address, &key, "roles.retrieve").await, 403);
    let elapsed = time_until_b_answers(
        &instances.b,
        &key,
        &needed,
        "INSUFFICIENT_PERMISSIONS",
        since,
    )
    .await;
    assert!(
        elapsed <= PROPAGATION_LIMIT,
        "B saw the permission removed only after {elapsed:?}"
    );
    assert_eq!(forward(&instances.b, &key, "roles.retrieve").await, 403);
    assert_eq!(forward(&instances.b, &key, "audit-log.retrieve").await, 204);
}

/// (last_used_at, last_used_ip) of a key, read from the database.
async fn last_use(app: &TestApp, key_id: &str) -> (Option<NaiveDateTime>, Option<String>) {
    let key_id = key_id.to_string();
    app.with_db(move |conn| {
        let key = latchkey::models::api_key::find(conn, &key_id)
            .expect("read the key")
            .expect("the key exists");
        (key.last_used_at, key.last_used_ip)
    })
    .await
}

/// Polls until the key's `last_used_at` is written; panics after `within`.
async fn written_use(
    app: &TestApp,
    key_id: &str,
    within: Duration,
) -> (NaiveDateTime, Option<String>) {
    let deadline = Instant::now() + within;
    loop {
        if let (Some(at), ip) = last_use(app, key_id).await {
            return (at, ip);
        }
        assert!(
            Instant::now() < deadline,
            "last_used_at is still empty after {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn key_id(app: &TestApp, key: &str) -> String {
    let verdict = verify(&app.address, key, &[]).await;
    verdict["key"]["id"]
        .as_str()
        .expect("the key's id")
        .to_string()
}

#[tokio::test]
async fn key_use_is_written_in_batches_not_per_request() {
    let app = spawn_app().await;
    let role = app.create_role("Readers", &["roles.retrieve"]).await;

    // The test server writes key use every second. Wait for one write to land, so that the next
    // one is a second away: a NULL right after the request then means it was not written by it.
    let pacer = app.issue_key("Pacer", &[&role]).await;
    let pacer_id = key_id(&app, &pacer).await;
    written_use(&app, &pacer_id, Duration::from_secs(3)).await;

    let key = app.issue_key("Billing service", &[&role]).await;
    let before = chrono::Utc::now().naive_utc();
    let verdict = verify(&app.address, &key, &["roles.retrieve"]).await;
    assert_eq!(verdict["code"], "VALID", "{verdict}");
    let id = verdict["key"]["id"]
        .as_str()
        .expect("the key's id")
        .to_string();
    assert_eq!(
        last_use(&app, &id).await,
        (None, None),
        "the request itself writes nothing"
    );

    let (used_at, ip) = written_use(&app, &id, Duration::from_secs(3)).await;
    assert_eq!(ip.as_deref(), Some("127.0.0.1"), "the client's address");
    let slack = chrono::Duration::seconds(1);
    assert!(
        used_at >= before - slack && used_at <= chrono::Utc::now().naive_utc() + slack,
        "last_used_at {used_at} is the time of the request ({before})"
    );

    // Used again: written at most once a minute per key, so not in the next flushes.
    assert_eq!(
        verify(&app.address, &key, &[]).await["code"],
        "VALID",
        "the key is used again"
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        last_use(&app, &id).await.0,
        Some(used_at),
        "the second use waits for the next minute"
    );
}
