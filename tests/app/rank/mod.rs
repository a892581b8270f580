//! Rank: you may change, revoke, reset or rename only what you could have created or given yourself
//! (every permission of its roles is yours), and a key that expires cannot hand out more time than
//! it has. In the console and the API alike.

mod keys;
mod roles;
mod team;

use chrono::{Duration, NaiveDateTime};
use reqwest::Method;
use serde_json::{json, Value};

use latchkey::models::api_key;

use crate::helpers::*;

async fn key_row(app: &TestApp, key_id: &str) -> api_key::ApiKey {
    let key_id = key_id.to_string();
    app.with_db(move |conn| api_key::find(conn, &key_id).unwrap().unwrap())
        .await
}

async fn user_status(app: &TestApp, user_id: &str) -> String {
    let user_id = user_id.to_string();
    app.with_db(move |conn| {
        latchkey::models::user::find(conn, &user_id)
            .unwrap()
            .unwrap()
            .status
    })
    .await
}

fn in_hours(hours: i64) -> NaiveDateTime {
    latchkey::db::now() + Duration::hours(hours)
}

fn rfc3339(at: NaiveDateTime) -> String {
    at.and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Signs `client` in as a new member holding exactly `permissions`.
async fn member_client(app: &TestApp, email: &str, permissions: &[&str]) -> reqwest::Client {
    app.create_member(email, permissions).await;
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

async fn post(
    app: &TestApp,
    client: &reqwest::Client,
    path: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    client
        .post(app.url(path))
        .form(form)
        .send()
        .await
        .expect("POST")
}

async fn get(app: &TestApp, client: &reqwest::Client, path: &str) -> reqwest::Response {
    client.get(app.url(path)).send().await.expect("GET")
}

fn assert_refused_for_rank(answer: &Value) {
    assert_eq!(
        answer["error"]["code"], "INSUFFICIENT_PERMISSIONS",
        "refused as beyond the caller's rank: {answer}"
    );
    assert!(
        answer["error"]["required"].is_string(),
        "the answer names the missing permission: {answer}"
    );
}
