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
