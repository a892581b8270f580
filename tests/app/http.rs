//! HTTP as a browser, a proxy and an HTTP client see it: where sign-in sends people back to, which
//! origins may post forms, which address the audit log records behind a proxy, HEAD and 405, the
//! favicon, HSTS, caching, and a console free of errors in a real browser.

use std::net::{IpAddr, Ipv4Addr};

use reqwest::Method;
use serde_json::{json, Value};

use crate::browser::Browser;
use crate::forward_auth::{nginx_or_skip, Nginx};
use crate::helpers::*;

/// The address nginx's client connects from, so that it differs from nginx's own (127.0.0.1).
const CLIENT_ADDRESS: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);

/// Where the sign-in page sends a person who is signed in already, for a given `next`.
async fn return_path_when_signed_in(app: &TestApp, next: &str) -> (u16, String) {
    let response = app.get(&format!("/login?next={next}")).await;
    (response.status().as_u16(), location(&response))
}

#[tokio::test]
async fn a_return_path_that_a_browser_reads_as_another_site_goes_home() {
    let app = spawn_app().await;
    app.signed_in_admin().await;

    // Browsers drop tabs and newlines and read `\` as `/`: each of these is `//evil.example`.
    for next in [
        "/%09/evil.example",
        "/%0A/evil.example",
        "/%0D%0A/evil.example",
        "/%5Cevil.example",
        "/%09%5Cevil.example",
        "//evil.example",
        "https://evil.example/",
        "%09//evil.example",
    ] {
        assert_eq!(
            return_path_when_signed_in(&app, next).await,
            (303, "/".to_string()),
            "next={next}"
        );
    }
    // Local paths keep their path and query.
    assert_eq!(
        return_path_when_signed_in(&app, "/roles%3Fpage%3D2").await,
        (303, "/roles?page=2".to_string())
    );
    assert_eq!(
        return_path_when_signed_in(&app, "/development/../audit").await,
        (303, "/audit".to_string())
    );
}

#[tokio::test]
async fn control_characters_in_the_return_path_are_no_server_error() {
    let app = spawn_app().await;
    app.create_admin().await;

    // Signing in with them in `next` (the form carries it back).
    let response = app
        .post_form(
            "/login",
            &[
                ("email", ADMIN_EMAIL),
                ("password", PASSWORD),
                ("next", "/roles\u{1}\u{7f}x\r\nSet-Cookie: a=b"),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    let target = location(&response);
    assert!(target.starts_with("/roles"), "{target}");
    assert!(
        target.bytes().all(|b| b.is_ascii_graphic()),
        "percent-encoded: {target:?}"
    );
    assert!(response.headers().get("set-cookie").is_some());
    assert!(
        !response
            .headers()
            .get_all("set-cookie")
            .iter()
            .any(|c| c.as_bytes().starts_with(b"a=b")),
        "no header injected"
    );

    // And when signed in already.
    let (status, target) = return_path_when_signed_in(&app, "/team%01%7F").await;
    assert_eq!(status, 303);
    assert_eq!(target, "/team%01%7F");
    // A NUL is refused before anything else (400), not a 500.
    let (status, _) = return_path_when_signed_in(&app, "/team%00").await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn a_signed_in_person_following_an_evil_next_lands_home_after_signing_in() {
    let app = spawn_app().await;
    app.create_admin().await;
    // The sign-in form carries `next` on; it is already the safe one.
    let page = body(app.get("/login?next=/%09/evil.example").await).await;
    assert!(page.contains(r#"name="next" value="/""#), "{page}");
    let response = app
        .post_form(
            "/login",
            &[
                ("email", ADMIN_EMAIL),
                ("password", PASSWORD),
                ("next", "/\t/evil.example"),
            ],
        )
        .await;
    assert_eq!(
        (response.status().as_u16(), location(&response)),
        (303, "/".into())
    );
}

/// A form post without `Sec-Fetch-Site` (an older browser), with the given headers.
async fn post_without_fetch_metadata(app: &TestApp, headers: &[(&str, &str)]) -> u16 {
    let mut request = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client")
        .post(app.url("/login"))
        .form(&[("email", ADMIN_EMAIL), ("password", "wrong password")]);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.expect("POST /login").status().as_u16()
}

#[tokio::test]
async fn without_a_public_url_only_the_bound_origin_may_post_forms() {
    let app = spawn_app().await;
    app.create_admin().await;
    let own = app.address.clone(); // http://127.0.0.1:<port>
    let port = own.rsplit(':').next().expect("a port").to_string();

    // The console's own origin (and localhost, for a loopback address) may post (401: wrong password).
    assert_eq!(
        post_without_fetch_metadata(&app, &[("origin", &own)]).await,
        401
    );
    let localhost = format!("http://localhost:{port}");
    assert_eq!(
        post_without_fetch_metadata(&app, &[("origin", &localhost)]).await,
        401
    );

    // Forwarded headers from anyone do not make another origin this console's.
    let evil = "http://evil.example";
    for forged in [
        vec![("origin", evil), ("x-forwarded-host", "evil.example")],
        vec![("origin", evil), ("forwarded", "host=evil.example")],
        vec![("origin", evil), ("host", "evil.example")],
    ] {
        assert_eq!(
            post_without_fetch_metadata(&app, &forged).await,
            403,
            "{forged:?}"
        );
    }
    // The scheme counts: this console is not reached over https.
    let https = own.replace("http://", "https://");
    assert_eq!(
        post_without_fetch_metadata(&app, &[("origin", &https), ("x-forwarded-proto", "https")])
            .await,
        403
    );
}

#[tokio::test]
async fn a_forwarded_host_does_not_change_the_links_the_console_hands_out() {
    let app = spawn_app().await;
    app.signed_in_admin().await;
    let response = app
        .post_form(
            "/team/invite",
            &[("email", "new@example.com"), ("display_name", "New Person")],
        )
        .await;
    assert_eq!(response.status(), 303);
    let link_page = app
        .client
        .get(app.url(&location(&response)))
        .header("x-forwarded-host", "evil.example")
        .header("x-forwarded-proto", "https")
        .header("forwarded", "host=evil.example;proto=https")
        .send()
        .await
        .expect("GET the link page");
    let page = body(link_page).await;
    assert!(
        page.contains(&format!("{}/set-password?token=", app.address)),
        "{page}"
    );
    assert!(!page.contains("evil.example"), "{page}");
}

/// The addresses the audit log recorded for failed sign-ins, oldest first.
async fn failed_sign_in_addresses(app: &TestApp) -> Vec<Option<String>> {
    app.with_db(|conn| {
        let mut events = latchkey::models::audit::search(conn, &Default::default(), None, 1000)
            .expect("search the audit log");
        events.reverse();
        events
            .into_iter()
            .filter(|e| e.action == latchkey::services::sign_in::FAILED_ACTION.as_str())
            .map(|e| e.ip_address)
            .collect()
    })
    .await
}

/// A failed sign-in sent through `base` from `CLIENT_ADDRESS`, with extra headers.
async fn fail_to_sign_in_through(base: &str, headers: &[(&str, &str)]) {
    let mut request = reqwest::Client::builder()
        .local_address(IpAddr::V4(CLIENT_ADDRESS))
        .build()
        .expect("a client")
        .post(format!("{base}/login"))
        .header("sec-fetch-site", "same-origin")
        .form(&[("email", ADMIN_EMAIL), ("password", "wrong password")]);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("POST /login");
    assert_eq!(response.status(), 401, "the sign-in fails");
}

#[tokio::test]
async fn behind_a_trusted_nginx_the_audit_log_records_the_client_not_the_proxy() {
    let Some(executable) = nginx_or_skip() else {
        return;
    };
    let trusted = spawn_app_with(|settings| {
        settings.trusted_proxies = vec!["127.0.0.1/32".parse().expect("a range")];
    })
    .await;
    trusted.create_admin().await;
    let untrusted = spawn_app().await;
    untrusted.create_admin().await;

    let nginx =
        Nginx::start_proxy(&executable, trusted.address.trim_start_matches("http://")).await;
    fail_to_sign_in_through(&nginx.address, &[]).await;
    // What a client writes itself is left of what nginx appends, and ignored.
    fail_to_sign_in_through(&nginx.address, &[("x-forwarded-for", "203.0.113.9")]).await;
    assert_eq!(
        failed_sign_in_addresses(&trusted).await,
        vec![Some("127.0.0.2".to_string()), Some("127.0.0.2".to_string())],
        "{}",
        nginx.logs()
    );

    // The same nginx in front of a console that does not trust it: its own address.
    let nginx =
        Nginx::start_proxy(&executable, untrusted.address.trim_start_matches("http://")).await;
    fail_to_sign_in_through(&nginx.address, &[("x-forwarded-for", "203.0.113.9")]).await;
    assert_eq!(
        failed_sign_in_addresses(&untrusted).await,
        vec![Some("127.0.0.1".to_string())],
        "{}",
        nginx.logs()
    );
}

#[tokio::test]
async fn forwarding_headers_count_only_from_a_trusted_proxy() {
    let trusts_another = spawn_app_with(|settings| {
        settings.trusted_proxies = vec!["10.0.0.0/8".parse().expect("a range")];
    })
    .await;
    trusts_another.create_admin().await;
    for headers in [
        vec![("x-forwarded-for", "203.0.113.9")],
        vec![("forwarded", "for=203.0.113.9")],
    ] {
        fail_to_sign_in_through(&trusts_another.address, &headers).await;
    }
    assert_eq!(
        failed_sign_in_addresses(&trusts_another).await,
        vec![Some("127.0.0.2".to_string()); 2]
    );

    // The peer (this test, on 127.0.0.2) is trusted: its Forwarded header names the client.
    let trusts_the_peer = spawn_app_with(|settings| {
        settings.trusted_proxies = vec!["127.0.0.0/8".parse().expect("a range")];
    })
    .await;
    trusts_the_peer.create_admin().await;
    fail_to_sign_in_through(
        &trusts_the_peer.address,
        &[("forwarded", r#"for="[2001:db8::7]:4711";proto=https"#)],
    )
    .await;
    assert_eq!(
        failed_sign_in_addresses(&trusts_the_peer).await,
        vec![Some("2001:db8::7".to_string())]
    );
}

#[tokio::test]
async fn head_answers_every_get_route_as_get_without_a_body() {
    let app = spawn_app().await;
    app.signed_in_admin().await;
    let key = app.admin_key().await;

    for path in ["/", "/login", "/roles", "/static/app.css", "/healthz"] {
        let get = app.get(path).await;
        let head = app.client.head(app.url(path)).send().await.expect("HEAD");
        assert_eq!(head.status(), get.status(), "HEAD {path}");
        assert_eq!(
            head.headers().get("content-type"),
            get.headers().get("content-type"),
            "HEAD {path}"
        );
        assert!(body(head).await.is_empty(), "HEAD {path} has no body");
    }
    let head = app.api_send(Method::HEAD, "/api/v1/roles", &key).await;
    assert_eq!(head.status(), 200);
    assert!(body(head).await.is_empty());
}

#[tokio::test]
async fn a_method_a_path_does_not_answer_is_a_405_naming_those_it_does() {
    let app = spawn_app().await;
    app.signed_in_admin().await;
    let key = app.admin_key().await;

    let response = app.client.put(app.url("/login")).send().await.expect("PUT");
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "GET, HEAD, POST");
    assert!(body(response).await.contains("Method not allowed"));

    let response = app.post_form("/healthz", &[]).await;
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "GET, HEAD");

    // The API answers in JSON.
    let response = app.api_delete("/api/v1/roles", &key).await;
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "GET, HEAD, POST");
    let answer: Value = response.json().await.expect("JSON");
    assert_eq!(answer["error"]["code"], "METHOD_NOT_ALLOWED");
    let response = app
        .api_post_json("/api/v1/service-accounts/some-id", &key, &json!({}))
        .await;
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "GET, HEAD, PATCH, DELETE");

    // A path that does not exist is still a 404.
    assert_eq!(app.get("/nowhere").await.status(), 404);
    assert_eq!(app.api_delete("/api/v1/nowhere", &key).await.status(), 404);
}

#[tokio::test]
async fn the_console_has_a_favicon() {
    let app = spawn_app().await;
    let response = app.get("/favicon.ico").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/svg+xml");
    assert!(body(response).await.starts_with("<svg"));
    let login = body(app.get("/login").await).await;
    assert!(
        login.contains(r#"<link rel="icon" href="/static/favicon.svg"#),
        "{login}"
    );
}

#[tokio::test]
async fn an_https_public_url_turns_on_strict_transport_security() {
    let app = spawn_app_with(|settings| {
        settings.public_url = Some("https://keys.example.com".into());
    })
    .await;
    let response = app.get("/login").await;
    assert_eq!(
        response.headers()["strict-transport-security"],
        "max-age=31536000; includeSubDomains"
    );

    let plain = spawn_app().await;
    let response = plain.get("/login").await;
    assert!(response
        .headers()
        .get("strict-transport-security")
        .is_none());
}

#[tokio::test]
async fn signed_in_pages_and_api_answers_are_not_stored_by_caches() {
    let app = spawn_app().await;
    app.signed_in_admin().await;
    let key = app.admin_key().await;

    for path in ["/", "/account", "/roles", "/audit/export.csv"] {
        assert_eq!(
            app.get(path).await.headers()["cache-control"],
            "no-store",
            "{path}"
        );
    }
    for path in ["/api/v1/whoami", "/api/v1/roles"] {
        let response = app.api_get(path, &key).await;
        assert_eq!(response.headers()["cache-control"], "no-store", "{path}");
    }
    let response = app.api_get("/api/v1/roles", "lk_wrong").await;
    assert_eq!(response.status(), 401);
    assert_eq!(response.headers()["cache-control"], "no-store");
    // Static assets may be cached.
    assert_eq!(
        app.get("/static/app.css").await.headers()["cache-control"],
        "public, max-age=86400"
    );
}

#[tokio::test]
async fn every_page_an_admin_reaches_leaves_the_browser_console_clean() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = spawn_app().await;
    app.signed_in_admin().await;
    let key = app.admin_key().await;
    let created = app
        .api_post_json(
            "/api/v1/permissions",
            &key,
            &json!({"name": "documents.render"}),
        )
        .await;
    assert_eq!(created.status(), 201);
    let role = app.create_role("Renderer", &["documents.render"]).await;
    let key_id = app.create_key("Billing service", &[&role]).await;
    let member = app.create_member("member@example.com", &[]).await;

    let mut errors = Vec::new();
    browser.goto(&app.url("/login")).await;
    browser.wait_for_text("Sign in").await;
    errors.extend(
        browser
            .console_errors()
            .await
            .into_iter()
            .map(|e| format!("/login: {e}")),
    );
    browser.fill("Email", ADMIN_EMAIL).await;
    browser.fill("Password", PASSWORD).await;
    browser.click_button("Sign in").await;
    browser.wait_for_text("Welcome").await;

    let pages = [
        "/".to_string(),
        "/development".into(),
        "/development/keys/new".into(),
        format!("/development/keys/{key_id}"),
        format!("/development/keys/{key_id}/edit"),
        "/roles".into(),
        "/roles/new".into(),
        format!("/roles/{role}"),
        "/roles/permissions".into(),
        "/roles/permissions/documents.render".into(),
        "/team".into(),
        "/team/invite".into(),
        format!("/team/{member}"),
        "/audit".into(),
        "/account".into(),
        "/account/password".into(),
        "/api-reference".into(),
    ];
    for page in &pages {
        browser.goto(&app.url(page)).await;
        browser.wait_for("main").await;
        assert_eq!(browser.current_url().await, app.url(page), "no redirect");
        errors.extend(
            browser
                .console_errors()
                .await
                .into_iter()
                .map(|e| format!("{page}: {e}")),
        );
    }
    assert!(
        errors.is_empty(),
        "the console reported errors:\n{}",
        errors.join("\n")
    );
}

#[tokio::test]
async fn a_head_request_consumes_no_one_time_secret_link_or_message() {
    let app = spawn_app().await;
    app.signed_in_admin().await;
    let head = |path: String| {
        let request = app.client.head(app.url(&path));
        async move {
            let response = request.send().await.expect("HEAD");
            assert_eq!(response.status(), 200, "HEAD {path}");
        }
    };

    // A new key's secret: a HEAD (a link checker, a prefetching proxy) first, then the GET.
    let create = app
        .post_form(
            "/development/keys",
            &[("name", "Billing"), ("expiry", "never")],
        )
        .await;
    assert_eq!(create.status(), 303);
    let key_page = location(&create);
    head(key_page.clone()).await;
    let shown = body(app.get(&key_page).await).await;
    assert!(
        shown.contains("id=\"new-key-secret\""),
        "the GET after the HEAD shows the secret"
    );
    let again = body(app.get(&key_page).await).await;
    assert!(!again.contains("id=\"new-key-secret\""), "and only once");

    // An invitation's set-password link.
    let invite = app
        .post_form(
            "/team/invite",
            &[("email", "new@example.com"), ("display_name", "New Person")],
        )
        .await;
    assert_eq!(invite.status(), 303);
    let link_page = location(&invite);
    head(link_page.clone()).await;
    assert!(body(app.get(&link_page).await)
        .await
        .contains("/set-password?token="));
    assert!(!body(app.get(&link_page).await)
        .await
        .contains("/set-password?token="));

    // A flash message for the next page.
    let key_id = key_page
        .trim_start_matches("/development/keys/")
        .trim_end_matches("/created")
        .to_string();
    let revoke = app
        .post_form(&format!("/development/keys/{key_id}/revoke"), &[])
        .await;
    assert_eq!(location(&revoke), "/development");
    head("/development".to_string()).await;
    assert!(body(app.get("/development").await)
        .await
        .contains("revoked. It can never authenticate again."));
    assert!(!body(app.get("/development").await)
        .await
        .contains("revoked. It can never authenticate again."));
}
