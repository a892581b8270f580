//! Acknowledged writes stay written when many arrive at once: grants and revocations never lose
//! each other, two administrators cannot remove each other and leave nobody, and concurrent creates
//! of one name answer 2xx once and 409/422 otherwise, never 5xx. Every test runs on both databases.

mod keys;
mod roles;
mod team;

use reqwest::{Method, StatusCode};
use serde_json::json;

use latchkey::models::user;

use crate::helpers::*;

/// How many requests each test sends at the same moment.
const CONCURRENT: usize = 16;

/// Sends every request at once (one task each) and returns the statuses, in order.
async fn all_at_once(requests: Vec<reqwest::RequestBuilder>) -> Vec<StatusCode> {
    let tasks: Vec<_> = requests
        .into_iter()
        .map(|request| tokio::spawn(async move { request.send().await.expect("a response") }))
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.expect("join").status());
    }
    statuses
}

/// `CONCURRENT` roles without permissions (so anyone may give them), created directly.
async fn many_roles(app: &TestApp, prefix: &str) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..CONCURRENT {
        ids.push(app.create_role(&format!("{prefix} {i:02}"), &[]).await);
    }
    ids.sort();
    ids
}

async fn key_id(app: &TestApp, key: &str) -> String {
    let public_id = latchkey::auth::api_key::parse(key)
        .expect("a key in Latchkey's format")
        .0
        .to_string();
    app.with_db(move |conn| {
        latchkey::models::api_key::find_by_public_id(conn, &public_id)
            .expect("find the key")
            .expect("the key exists")
            .id
    })
    .await
}

fn assert_all_succeeded(statuses: &[StatusCode], what: &str) {
    assert!(
        statuses.iter().all(|s| s.is_success()),
        "every {what} is acknowledged: {statuses:?}"
    );
}

/// A person holding the Admin role, signed in with a client of their own.
async fn signed_in_admin_user(app: &TestApp, email: &str) -> (String, reqwest::Client) {
    let id = app.create_member(email, &[]).await;
    app.grant_user_role(&id, ADMIN_ROLE_ID).await;
    (id, signed_in_client(app, email).await)
}

async fn signed_in_client(app: &TestApp, email: &str) -> reqwest::Client {
    let client = new_client();
    let signed_in = client
        .post(app.url("/login"))
        .form(&[("email", email), ("password", PASSWORD)])
        .send()
        .await
        .expect("sign in");
    assert_eq!(signed_in.status(), 303, "{email} signs in");
    client
}

async fn active_admins(app: &TestApp) -> Vec<String> {
    app.with_db(|conn| {
        let mut ids = Vec::new();
        for candidate in user::list_after(conn, None, 100).expect("list users") {
            let holds_admin = user::role_ids(conn, &candidate.id)
                .expect("roles")
                .iter()
                .any(|r| r == ADMIN_ROLE_ID);
            if holds_admin && candidate.is_active() {
                ids.push(candidate.id);
            }
        }
        ids
    })
    .await
}

/// Posts a console form as `client`; true when it succeeded (a redirect back to the person's page,
/// not to the sign-in page).
async fn console_post(app: &TestApp, client: &reqwest::Client, path: String, back: String) -> bool {
    let response = client
        .post(app.url(&path))
        .form(&[("confirm", "yes")])
        .send()
        .await
        .expect("a response");
    let status = response.status();
    assert!(
        !status.is_server_error(),
        "{path} answered {status}, never a server error"
    );
    status == 303 && location(&response) == back
}

fn assert_one_created(statuses: &[StatusCode], created: StatusCode, what: &str) {
    assert!(
        statuses
            .iter()
            .all(|s| *s == created || *s == StatusCode::CONFLICT || *s == 422),
        "each {what} is created or refused as a duplicate, never a server error: {statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == created).count(),
        1,
        "exactly one {what} is created: {statuses:?}"
    );
}

/// How long to wait before the second of two racing requests, one value per round: the races
/// below are decided while the first request hashes a password or checks many keys, and these
/// offsets land the second request before, inside and after that window whatever the machine's
/// speed. They decide only which ordering a round exercises, never whether the test passes.
const STAGGER_MS: [u64; 6] = [0, 5, 10, 20, 40, 80];

async fn after(ms: u64, request: reqwest::RequestBuilder) -> reqwest::Response {
    tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
    request.send().await.expect("a response")
}

async fn status_of(app: &TestApp, user_id: &str) -> String {
    let user_id = user_id.to_string();
    app.with_db(move |conn| user::find(conn, &user_id).unwrap().unwrap().status)
        .await
}

/// Where the first audit event with this action, outcome and target label is, oldest first.
fn position(events: &[(String, String, String)], action: &str, label: &str) -> Option<usize> {
    events
        .iter()
        .position(|(a, o, l)| a == action && o == "success" && l == label)
}
