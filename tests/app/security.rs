use crate::helpers::*;

#[tokio::test]
async fn cross_site_form_posts_are_refused() {
    let app = spawn_app().await;
    app.create_admin().await;
    let plain = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let form = [("email", ADMIN_EMAIL), ("password", PASSWORD)];

    let from_elsewhere = plain
        .post(app.url("/login"))
        .header("Origin", "https://evil.example")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(from_elsewhere.status(), 403);
    assert!(body(from_elsewhere)
        .await
        .contains("came from another site"));

    let fetch_metadata = plain
        .post(app.url("/login"))
        .header("Sec-Fetch-Site", "cross-site")
        .header("Origin", app.address.as_str())
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(
        fetch_metadata.status(),
        403,
        "Sec-Fetch-Site wins over a forged Origin"
    );

    let no_headers = plain
        .post(app.url("/login"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(
        no_headers.status(),
        403,
        "a post with no origin information is refused"
    );

    let same_origin = plain
        .post(app.url("/login"))
        .header("Origin", app.address.as_str())
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(
        same_origin.status(),
        303,
        "a same-origin post from an older browser works"
    );
}

#[tokio::test]
async fn a_one_megabyte_form_gets_a_clear_413() {
    let app = spawn_app().await;
    let huge = "x".repeat(1024 * 1024);
    let response = app
        .post_form("/login", &[("email", &huge), ("password", "p")])
        .await;
    assert_eq!(response.status(), 413);
    assert!(body(response).await.contains("The request is too large"));
    assert_eq!(
        app.get("/healthz").await.status(),
        200,
        "the server is fine"
    );
}

#[tokio::test]
async fn security_headers_are_on_every_response() {
    let app = spawn_app().await;
    for path in ["/login", "/healthz", "/static/app.css", "/no-such-page"] {
        let response = app.get(path).await;
        let headers = response.headers();
        let csp = headers
            .get("content-security-policy")
            .unwrap()
            .to_str()
            .unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
            "{path}: {csp}"
        );
        assert_eq!(
            headers.get("x-content-type-options").unwrap(),
            "nosniff",
            "{path}"
        );
        assert_eq!(
            headers.get("referrer-policy").unwrap(),
            "same-origin",
            "{path}"
        );
        assert!(headers.get("x-request-id").is_some(), "{path}");
    }
}

#[tokio::test]
async fn unknown_pages_render_html_and_unknown_api_paths_answer_json() {
    let app = spawn_app().await;
    let page = app.get("/no-such-page").await;
    assert_eq!(page.status(), 404);
    assert!(page
        .headers()
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(body(page).await.contains("does not exist"));

    let api = app.get("/api/v1/no-such-thing").await;
    assert_eq!(api.status(), 404);
    let json: serde_json::Value = api.json().await.unwrap();
    assert_eq!(json["error"]["code"], "NOT_FOUND");
    assert!(json["error"]["message"]
        .as_str()
        .unwrap()
        .contains("does not exist"));
}

#[tokio::test]
async fn static_assets_have_types_and_cache_validators() {
    let app = spawn_app().await;
    let htmx = app.get("/static/htmx.min.js").await;
    assert_eq!(htmx.status(), 200);
    assert!(htmx
        .headers()
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap()
        .contains("javascript"));
    assert!(htmx
        .headers()
        .get("cache-control")
        .unwrap()
        .to_str()
        .unwrap()
        .contains("max-age"));
    let etag = htmx
        .headers()
        .get("etag")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        body(htmx).await.starts_with("/*! htmx 4."),
        "the licence comment is intact"
    );

    let again = app
        .client
        .get(app.url("/static/htmx.min.js"))
        .header("If-None-Match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    let css = app.get("/static/app.css").await;
    assert!(css
        .headers()
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("text/css"));
    assert_eq!(app.get("/static/missing.js").await.status(), 404);
}
