//! Sessions live on the server: a copied cookie stops working when the session ends, whatever the
//! browser keeps, and a replayed cookie never shows a one-time secret again.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use latchkey::db::schema::sessions;
use reqwest::header::{HeaderMap, HeaderValue, COOKIE, SET_COOKIE, USER_AGENT};

use crate::helpers::*;

const COOKIE_NAME: &str = "latchkey_session";
const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";

/// The session cookie a response sets (`latchkey_session=…`), as a browser would send it back.
fn session_cookie(response: &reqwest::Response) -> String {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|value| value.starts_with(&format!("{COOKIE_NAME}=")))
        .and_then(|value| value.split(';').next())
        .expect("the response sets the session cookie")
        .to_string()
}

/// A client that sends exactly this cookie on every request (an attacker's copy of it).
fn replaying(cookie: &str) -> reqwest::Client {
    let mut headers = HeaderMap::new();
    headers.insert("sec-fetch-site", HeaderValue::from_static("same-origin"));
    headers.insert(
        COOKIE,
        HeaderValue::from_str(cookie).expect("a cookie header"),
    );
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(headers)
        .build()
        .expect("a reqwest client")
}

/// A browser of its own (its own cookie jar), with this User-Agent.
fn browser(user_agent: &str) -> reqwest::Client {
    let mut headers = HeaderMap::new();
    headers.insert("sec-fetch-site", HeaderValue::from_static("same-origin"));
    headers.insert(USER_AGENT, HeaderValue::from_str(user_agent).expect("a UA"));
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(headers)
        .build()
        .expect("a reqwest client")
}

async fn sign_in_with(app: &TestApp, client: &reqwest::Client, email: &str) -> String {
    let response = client
        .post(app.url("/login"))
        .form(&[("email", email), ("password", PASSWORD)])
        .send()
        .await
        .expect("POST /login");
    assert_eq!(response.status(), 303, "{email} signs in");
    session_cookie(&response)
}

async fn get_with(app: &TestApp, client: &reqwest::Client, path: &str) -> reqwest::Response {
    client.get(app.url(path)).send().await.expect("GET")
}

/// (last_seen_at, expires_at, absolute_expires_at) of every stored session of a user.
async fn session_times(
    app: &TestApp,
    user_id: &str,
) -> Vec<(NaiveDateTime, NaiveDateTime, NaiveDateTime)> {
    let user_id = user_id.to_string();
    app.with_db(move |conn| {
        sessions::table
            .filter(sessions::user_id.eq(user_id))
            .select((
                sessions::last_seen_at,
                sessions::expires_at,
                sessions::absolute_expires_at,
            ))
            .load(conn)
            .expect("read the sessions")
    })
    .await
}

async fn session_count(app: &TestApp, user_id: &str) -> usize {
    session_times(app, user_id).await.len()
}

/// Moves every session of the user back in time, as if it had last been used `idle` ago and had
/// started `age` ago (the limits are the server's: this is the only way a test can wait 12 hours).
async fn age_sessions(app: &TestApp, user_id: &str, idle: Duration, age: Duration) {
    let user_id = user_id.to_string();
    app.with_db(move |conn| {
        let now = latchkey::db::now();
        diesel::update(sessions::table.filter(sessions::user_id.eq(user_id)))
            .set((
                sessions::created_at.eq(now - age),
                sessions::last_seen_at.eq(now - idle),
                sessions::expires_at
                    .eq((now - idle + Duration::hours(12)).min(now - age + Duration::days(7))),
                sessions::absolute_expires_at.eq(now - age + Duration::days(7)),
            ))
            .execute(conn)
            .expect("age the sessions")
    })
    .await;
}

#[tokio::test]
async fn a_cookie_copied_before_sign_out_no_longer_works_after_it() {
    let app = spawn_app().await;
    app.create_admin().await;
    let copied = session_cookie(&app.sign_in(ADMIN_EMAIL, PASSWORD).await);
    let attacker = replaying(&copied);
    assert_eq!(
        get_with(&app, &attacker, "/").await.status(),
        200,
        "the copy works while the session lasts"
    );

    assert_eq!(app.post_form("/logout", &[]).await.status(), 303);

    let page = get_with(&app, &attacker, "/").await;
    assert_eq!(page.status(), 303);
    assert_eq!(location(&page), "/login");
    let keys_before = app.key_count().await;
    let create = attacker
        .post(app.url("/development/keys"))
        .form(&[("name", "Planted"), ("expiry", "never")])
        .send()
        .await
        .unwrap();
    assert!(
        location(&create).starts_with("/login"),
        "the copy cannot create a key: {} {}",
        create.status(),
        location(&create)
    );
    assert_eq!(app.key_count().await, keys_before);
}

#[tokio::test]
async fn the_server_ends_a_session_idle_for_twelve_hours() {
    let app = spawn_app().await;
    let admin = app.create_admin().await;
    let copied = session_cookie(&app.sign_in(ADMIN_EMAIL, PASSWORD).await);

    age_sessions(&app, &admin, Duration::hours(11), Duration::hours(11)).await;
    assert_eq!(
        get_with(&app, &replaying(&copied), "/").await.status(),
        200,
        "11 hours idle: still signed in"
    );
    let (last_seen, expires, _) = session_times(&app, &admin).await[0];
    let now = latchkey::db::now();
    assert!(
        now - last_seen < Duration::minutes(1),
        "the use was recorded"
    );
    assert!(
        expires - now > Duration::hours(11),
        "the idle limit starts again"
    );

    age_sessions(
        &app,
        &admin,
        Duration::hours(12) + Duration::seconds(1),
        Duration::hours(13),
    )
    .await;
    let page = get_with(&app, &replaying(&copied), "/").await;
    assert_eq!(
        page.status(),
        303,
        "12 hours idle: signed out by the server"
    );
    assert_eq!(location(&page), "/login");
    assert_eq!(
        session_count(&app, &admin).await,
        0,
        "the expired row is gone"
    );
}

#[tokio::test]
async fn the_server_ends_a_session_seven_days_after_sign_in_however_active() {
    let app = spawn_app().await;
    let admin = app.create_admin().await;
    let copied = session_cookie(&app.sign_in(ADMIN_EMAIL, PASSWORD).await);

    age_sessions(
        &app,
        &admin,
        Duration::minutes(5),
        Duration::days(7) - Duration::minutes(1),
    )
    .await;
    assert_eq!(get_with(&app, &replaying(&copied), "/").await.status(), 200);
    let (_, expires, absolute) = session_times(&app, &admin).await[0];
    assert_eq!(
        expires, absolute,
        "activity never extends a session past its 7 days"
    );

    age_sessions(
        &app,
        &admin,
        Duration::minutes(5),
        Duration::days(7) + Duration::seconds(1),
    )
    .await;
    let page = get_with(&app, &replaying(&copied), "/").await;
    assert_eq!(page.status(), 303);
    assert_eq!(location(&page), "/login");
    assert_eq!(session_count(&app, &admin).await, 0);
}

#[tokio::test]
async fn page_loads_within_a_minute_do_not_rewrite_the_session() {
    let app = spawn_app().await;
    let admin = app.signed_in_admin().await;
    let before = session_times(&app, &admin).await;
    for path in ["/", "/account", "/development", "/"] {
        assert_eq!(app.get(path).await.status(), 200, "{path}");
    }
    assert_eq!(
        session_times(&app, &admin).await,
        before,
        "no write for activity within a minute"
    );
}

#[tokio::test]
async fn changing_the_password_ends_the_other_sessions_but_not_this_one() {
    let app = spawn_app().await;
    let member = app.create_member("member@example.com", &[]).await;
    let here = browser(FIREFOX);
    let elsewhere = browser("curl/8.5.0");
    sign_in_with(&app, &here, "member@example.com").await;
    let copied = sign_in_with(&app, &elsewhere, "member@example.com").await;
    assert_eq!(session_count(&app, &member).await, 2);

    let change = here
        .post(app.url("/account/password"))
        .form(&[
            ("current_password", PASSWORD),
            ("password", "a new long passphrase"),
            ("password_confirmation", "a new long passphrase"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(change.status(), 303);

    assert_eq!(get_with(&app, &here, "/").await.status(), 200);
    assert_eq!(get_with(&app, &elsewhere, "/").await.status(), 303);
    assert_eq!(get_with(&app, &replaying(&copied), "/").await.status(), 303);
    assert_eq!(
        session_count(&app, &member).await,
        1,
        "only the session that changed the password remains stored"
    );
}

#[tokio::test]
async fn deactivating_a_member_ends_their_sessions() {
    let app = spawn_app().await;
    app.signed_in_admin().await;
    let member = app.create_member("member@example.com", &[]).await;
    let theirs = browser(FIREFOX);
    sign_in_with(&app, &theirs, "member@example.com").await;
    assert_eq!(get_with(&app, &theirs, "/").await.status(), 200);

    let deactivate = app
        .post_form(&format!("/team/{member}/deactivate"), &[])
        .await;
    assert_eq!(deactivate.status(), 303);

    assert_eq!(
        session_count(&app, &member).await,
        0,
        "their sessions are deleted"
    );
    let page = get_with(&app, &theirs, "/").await;
    assert_eq!(page.status(), 303);
    assert_eq!(location(&page), "/login");
}

#[tokio::test]
async fn replaying_a_cookie_captured_after_creating_a_key_does_not_show_its_secret_again() {
    let app = spawn_app().await;
    app.signed_in_admin().await;
    let create = app
        .post_form(
            "/development/keys",
            &[("name", "Billing"), ("expiry", "never")],
        )
        .await;
    assert_eq!(create.status(), 303);
    let captured = session_cookie(&create);
    let page = location(&create);

    let stored: Vec<String> = app
        .with_db(|conn| {
            sessions::table
                .select(sessions::state)
                .load(conn)
                .expect("read the stored states")
        })
        .await;

    let shown = body(app.get(&page).await).await;
    assert!(shown.contains("id=\"new-key-secret\""), "shown once");
    let secret = shown
        .split("value=\"")
        .find(|rest| rest.starts_with("lk_"))
        .and_then(|rest| rest.split('"').next())
        .expect("the page shows the key");
    assert!(
        stored.iter().all(|state| !state.contains(secret)),
        "the database never held the secret in the clear: {stored:?}"
    );

    let replayed = body(get_with(&app, &replaying(&captured), &page).await).await;
    assert!(
        !replayed.contains("id=\"new-key-secret\"") && !replayed.contains("value=\"lk_"),
        "a replayed cookie does not show the secret again"
    );
}

#[tokio::test]
async fn replaying_a_cookie_captured_after_an_invitation_does_not_show_its_link_again() {
    let app = spawn_app().await;
    app.signed_in_admin().await;
    let invite = app
        .post_form(
            "/team/invite",
            &[("email", "new@example.com"), ("display_name", "New Person")],
        )
        .await;
    assert_eq!(invite.status(), 303);
    let captured = session_cookie(&invite);
    let page = location(&invite);

    assert!(body(app.get(&page).await)
        .await
        .contains("/set-password?token="));
    let replayed = body(get_with(&app, &replaying(&captured), &page).await).await;
    assert!(
        !replayed.contains("/set-password?token="),
        "a replayed cookie does not show the link again"
    );
}

#[tokio::test]
async fn account_lists_the_sessions_and_signs_out_everywhere_else() {
    let app = spawn_app().await;
    let admin = app.create_admin().await;
    let here = browser(FIREFOX);
    let elsewhere = browser("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36");
    sign_in_with(&app, &here, ADMIN_EMAIL).await;
    let copied = sign_in_with(&app, &elsewhere, ADMIN_EMAIL).await;

    let account = body(get_with(&app, &here, "/account").await).await;
    assert!(account.contains("Firefox 128 on Linux"), "{account}");
    assert!(account.contains("Chrome 131 on macOS"));
    assert!(account.contains("127.0.0.1"));
    assert_eq!(account.matches("this session").count(), 1);
    assert!(account.contains("Sign out everywhere else"));

    let end = here
        .post(app.url("/account/sessions/end-others"))
        .send()
        .await
        .unwrap();
    assert_eq!(end.status(), 303);
    assert_eq!(location(&end), "/account");
    let after = body(get_with(&app, &here, "/account").await).await;
    assert!(after.contains("Your other session has been signed out."));
    assert!(
        !after.contains("Chrome 131 on macOS"),
        "only this session is listed"
    );

    assert_eq!(get_with(&app, &elsewhere, "/").await.status(), 303);
    assert_eq!(get_with(&app, &replaying(&copied), "/").await.status(), 303);
    assert_eq!(
        get_with(&app, &here, "/").await.status(),
        200,
        "this one stays"
    );
    assert_eq!(session_count(&app, &admin).await, 1);
    assert!(
        app.has_audit_event("auth.other-sessions-ended", "success")
            .await
    );
}

#[tokio::test]
async fn the_sweep_removes_expired_sessions_and_keeps_live_ones() {
    let app = spawn_app().await;
    let admin = app.signed_in_admin().await;
    let expired = 3 * latchkey::auth::session_store::SWEEP_BATCH as usize + 7;
    let swept = app
        .with_db(move |conn| {
            let long_ago = latchkey::db::now() - Duration::days(8);
            for n in 0..expired {
                latchkey::models::session::insert(
                    conn,
                    &latchkey::models::session::NewSession {
                        id_hash: &format!("expired-{n}"),
                        user_id: None,
                        state: "{}",
                        created_at: long_ago,
                        last_seen_at: long_ago,
                        expires_at: long_ago + Duration::hours(12),
                        absolute_expires_at: long_ago + Duration::days(7),
                        ip_address: None,
                        user_agent: None,
                    },
                )
                .expect("insert an expired session");
            }
            latchkey::auth::session_store::sweep_expired(conn).expect("sweep")
        })
        .await;
    assert_eq!(swept, expired);
    let left: i64 = app
        .with_db(|conn| {
            sessions::table
                .count()
                .get_result(conn)
                .expect("count sessions")
        })
        .await;
    assert_eq!(left, 1, "the live session stays");
    assert_eq!(session_count(&app, &admin).await, 1);
    assert_eq!(app.get("/").await.status(), 200);
}

#[tokio::test]
async fn a_session_that_cannot_be_read_answers_unavailable_and_stays_signed_in() {
    let app = spawn_app().await;
    app.signed_in_admin().await;
    let rename = |from: &'static str, to: &'static str| {
        app.with_db(move |conn| {
            diesel::sql_query(format!("ALTER TABLE {from} RENAME TO {to}"))
                .execute(conn)
                .expect("rename the sessions table")
        })
    };

    rename("sessions", "sessions_away").await;
    let page = app.get("/").await;
    assert_eq!(page.status(), 503, "the database cannot give the session");
    assert!(
        page.headers()
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .all(|v| !v.contains("Max-Age=0")),
        "the cookie is not removed"
    );

    rename("sessions_away", "sessions").await;
    assert_eq!(
        app.get("/").await.status(),
        200,
        "once the database answers, the person is still signed in"
    );
}

#[tokio::test]
async fn the_cookie_carries_a_random_id_and_the_database_only_its_hash() {
    use actix_web::cookie::{Cookie, CookieJar, Key};

    let app = spawn_app().await;
    let admin = app.create_admin().await;
    let cookie = session_cookie(&app.sign_in(ADMIN_EMAIL, PASSWORD).await);
    let (key_hex, stored): (String, Vec<(String, String)>) = app
        .with_db(move |conn| {
            let key = latchkey::models::setting::get(conn, latchkey::models::setting::SESSION_KEY)
                .expect("read the session key")
                .expect("a session key");
            let stored = sessions::table
                .filter(sessions::user_id.eq(admin))
                .select((sessions::id_hash, sessions::state))
                .load(conn)
                .expect("read the sessions");
            (key, stored)
        })
        .await;
    let key_bytes = latchkey::auth::token::unhex(&key_hex).expect("hex");
    let key = Key::from(&key_bytes);
    let mut jar = CookieJar::new();
    jar.add_original(
        Cookie::parse_encoded(cookie)
            .expect("a cookie")
            .into_owned(),
    );
    let id = jar
        .private(&key)
        .get(COOKIE_NAME)
        .expect("the cookie opens with the session key")
        .value()
        .to_string();

    assert_eq!(id.len(), 64, "256 random bits, in hex: {id}");
    assert!(id.chars().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(stored.len(), 1);
    let (id_hash, state) = &stored[0];
    assert_eq!(id_hash, &latchkey::auth::token::sha256_hex(&id));
    assert!(!state.contains(&id), "the id itself is stored nowhere");
}

#[tokio::test]
async fn signing_in_again_and_again_keeps_a_bounded_number_of_sessions() {
    let app = spawn_app().await;
    let admin = app.create_admin().await;
    let limit = latchkey::auth::session_store::MAX_PER_USER as usize;
    let first = new_client();
    sign_in_with(&app, &first, ADMIN_EMAIL).await;
    for _ in 0..limit {
        sign_in_with(&app, &new_client(), ADMIN_EMAIL).await;
    }
    assert_eq!(session_count(&app, &admin).await, limit);
    assert_eq!(
        get_with(&app, &first, "/").await.status(),
        303,
        "the least recently used session ended"
    );
}
