use latchkey::routes::ROUTES;

use crate::helpers::*;

/// Performs a successful call of one state-changing route on a fresh app. A new route without a
/// scenario here fails the walk below, so every new route is checked for its audit event. Returns
/// how many audit events the scenario's seeding recorded before the route's own call.
async fn succeed(app: &TestApp, method: &str, path: &str) -> usize {
    let ok = |status: reqwest::StatusCode| {
        assert!(
            status.is_redirection() || status.is_success(),
            "{method} {path}: {status}"
        )
    };
    let mut seeded = 0;
    match path {
        "/setup" => {
            let token = app
                .setup_url
                .clone()
                .unwrap()
                .split("token=")
                .nth(1)
                .unwrap()
                .to_string();
            let form = [
                ("token", token.as_str()),
                ("email", "a@example.com"),
                ("password", PASSWORD),
                ("password_confirmation", PASSWORD),
            ];
            ok(app.post_form(path, &form).await.status());
        }
        "/login" => {
            app.create_admin().await;
            ok(app.sign_in(ADMIN_EMAIL, PASSWORD).await.status());
        }
        "/logout" => {
            app.signed_in_admin().await;
            ok(app.post_form(path, &[]).await.status());
        }
        "/set-password" => {
            app.signed_in_admin().await;
            let (_, token) = app.invite("new@example.com", &[]).await;
            let form = [
                ("token", token.as_str()),
                ("password", PASSWORD),
                ("password_confirmation", PASSWORD),
            ];
            ok(new_client()
                .post(app.url(path))
                .form(&form)
                .send()
                .await
                .unwrap()
                .status());
        }
        "/account/password" => {
            app.signed_in_admin().await;
            let form = [
                ("current_password", PASSWORD),
                ("password", "a new long passphrase"),
                ("password_confirmation", "a new long passphrase"),
            ];
            ok(app.post_form(path, &form).await.status());
        }
        "/account/sessions/end-others" => {
            app.signed_in_admin().await;
            ok(app.post_form(path, &[]).await.status());
        }
        "/development/keys" => {
            app.signed_in_admin().await;
            app.create_key("Audited", &[]).await;
        }
        "/development/keys/inline-role" => {
            app.signed_in_admin().await;
            ok(app
                .htmx_post(
                    path,
                    &[
                        ("new_role_name", "Inline"),
                        ("new_role_permissions", ROLES_RETRIEVE),
                    ],
                )
                .await
                .status());
        }
        "/development/keys/{id}" => {
            app.signed_in_admin().await;
            let id = app.create_key("Audited", &[]).await;
            ok(app
                .post_form(
                    &format!("/development/keys/{id}"),
                    &[("name", "Renamed"), ("expiry", "keep")],
                )
                .await
                .status());
        }
        "/development/keys/{id}/revoke" => {
            app.signed_in_admin().await;
            let id = app.create_key("Audited", &[]).await;
            ok(app
                .post_form(&format!("/development/keys/{id}/revoke"), &[])
                .await
                .status());
        }
        "/roles" => {
            app.signed_in_admin().await;
            ok(app.post_form(path, &[("name", "Audited")]).await.status());
        }
        "/roles/{id}" | "/roles/{id}/delete" => {
            app.signed_in_admin().await;
            let id = app.create_role("Audited", &[]).await;
            seeded = app.audit_events().await.len();
            ok(app
                .post_form(&path.replace("{id}", &id), &[("name", "Renamed")])
                .await
                .status());
        }
        "/roles/permissions" => {
            app.signed_in_admin().await;
            ok(app
                .post_form(path, &[("name", "documents.render")])
                .await
                .status());
        }
        "/roles/permissions/{name}" | "/roles/permissions/{name}/delete" => {
            app.signed_in_admin().await;
            app.post_form("/roles/permissions", &[("name", "documents.render")])
                .await;
            ok(app
                .post_form(
                    &path.replace("{name}", "documents.render"),
                    &[("description", "x")],
                )
                .await
                .status());
        }
        "/team/invite" => {
            app.signed_in_admin().await;
            app.invite("new@example.com", &[]).await;
        }
        "/team/{id}/roles" | "/team/{id}/password-link" | "/team/{id}/deactivate" => {
            app.signed_in_admin().await;
            let id = app.create_member("member@example.com", &[]).await;
            seeded = app.audit_events().await.len();
            ok(app
                .post_form(&path.replace("{id}", &id), &[("role_ids", ADMIN_ROLE_ID)])
                .await
                .status());
        }
        "/team/{id}/reactivate" => {
            app.signed_in_admin().await;
            let id = app.create_member("member@example.com", &[]).await;
            seeded = app.audit_events().await.len();
            app.post_form(&format!("/team/{id}/deactivate"), &[]).await;
            ok(app
                .post_form(&path.replace("{id}", &id), &[])
                .await
                .status());
        }
        api if api.starts_with("/api/v1/") => {
            seeded = succeed_through_the_api(app, method, api).await
        }
        other => panic!(
            "{method} {other} changes state but has no scenario in tests/app/audit.rs: add one"
        ),
    }
    seeded
}

/// Like [`succeed`], for a route of the JSON API, called with a key holding the Admin role.
async fn succeed_through_the_api(app: &TestApp, method: &str, path: &str) -> usize {
    use reqwest::Method;
    let key = app.admin_key().await;
    let seeded = app.audit_events().await.len();
    let json = |r: reqwest::RequestBuilder, body: serde_json::Value| r.json(&body);
    let role_id = || async {
        let response = json(
            app.api(Method::POST, "/api/v1/roles", &key),
            serde_json::json!({"name": format!("R{}", latchkey::db::new_id())}),
        )
        .send()
        .await
        .unwrap();
        response.json::<serde_json::Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let key_id = || async {
        let response = json(
            app.api(Method::POST, "/api/v1/service-accounts", &key),
            serde_json::json!({"name": "Audited"}),
        )
        .send()
        .await
        .unwrap();
        response.json::<serde_json::Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let response = match (method, path) {
        ("POST", "/api/v1/roles") => {
            json(
                app.api(Method::POST, path, &key),
                serde_json::json!({"name": "Audited"}),
            )
            .send()
            .await
        }
        ("PATCH", "/api/v1/roles/{id}") => {
            let id = role_id().await;
            json(
                app.api(Method::PATCH, &format!("/api/v1/roles/{id}"), &key),
                serde_json::json!({"name": "Renamed"}),
            )
            .send()
            .await
        }
        ("DELETE", "/api/v1/roles/{id}") => {
            let id = role_id().await;
            app.api(Method::DELETE, &format!("/api/v1/roles/{id}"), &key)
                .send()
                .await
        }
        ("POST", "/api/v1/service-accounts") => {
            json(
                app.api(Method::POST, path, &key),
                serde_json::json!({"name": "Audited"}),
            )
            .send()
            .await
        }
        ("PATCH", "/api/v1/service-accounts/{id}") => {
            let id = key_id().await;
            json(
                app.api(
                    Method::PATCH,
                    &format!("/api/v1/service-accounts/{id}"),
                    &key,
                ),
                serde_json::json!({"name": "Renamed"}),
            )
            .send()
            .await
        }
        ("DELETE", "/api/v1/service-accounts/{id}") => {
            let id = key_id().await;
            app.api(
                Method::DELETE,
                &format!("/api/v1/service-accounts/{id}"),
                &key,
            )
            .send()
            .await
        }
        ("PUT", "/api/v1/service-accounts/{id}/roles/{role_id}") => {
            let (id, role) = (key_id().await, role_id().await);
            app.api(
                Method::PUT,
                &format!("/api/v1/service-accounts/{id}/roles/{role}"),
                &key,
            )
            .send()
            .await
        }
        ("DELETE", "/api/v1/service-accounts/{id}/roles/{role_id}") => {
            let (id, role) = (key_id().await, role_id().await);
            app.api_put(&format!("/api/v1/service-accounts/{id}/roles/{role}"), &key)
                .await;
            app.api(
                Method::DELETE,
                &format!("/api/v1/service-accounts/{id}/roles/{role}"),
                &key,
            )
            .send()
            .await
        }
        ("POST", "/api/v1/permissions") => {
            json(
                app.api(Method::POST, path, &key),
                serde_json::json!({"name": "documents.render"}),
            )
            .send()
            .await
        }
        ("PATCH", "/api/v1/permissions/{name}") | ("DELETE", "/api/v1/permissions/{name}") => {
            json(
                app.api(Method::POST, "/api/v1/permissions", &key),
                serde_json::json!({"name": "documents.render"}),
            )
            .send()
            .await
            .unwrap();
            let target = app.api(
                Method::from_bytes(method.as_bytes()).unwrap(),
                "/api/v1/permissions/documents.render",
                &key,
            );
            if method == "PATCH" {
                json(target, serde_json::json!({"description": "x"}))
                    .send()
                    .await
            } else {
                target.send().await
            }
        }
        ("PUT", "/api/v1/users/{id}/roles/{role_id}")
        | ("DELETE", "/api/v1/users/{id}/roles/{role_id}") => {
            let user = app.create_member("member@example.com", &[]).await;
            let role = role_id().await;
            let url = format!("/api/v1/users/{user}/roles/{role}");
            let granted = app.api(Method::PUT, &url, &key).send().await;
            if method == "PUT" {
                granted
            } else {
                app.api(Method::DELETE, &url, &key).send().await
            }
        }
        (method, other) => panic!(
            "{method} {other} changes state but has no scenario in tests/app/audit.rs: add one"
        ),
    };
    let response = response.unwrap();
    assert!(
        response.status().is_success(),
        "{method} {path}: {}",
        response.status()
    );
    seeded
}

/// POST routes that only read (they check a key) and so record nothing.
const READ_ONLY_POSTS: &[&str] = &["/api/v1/keys/verify"];

#[tokio::test]
async fn every_state_changing_route_records_an_audit_event() {
    let mut walked = 0;
    for route in ROUTES
        .iter()
        .filter(|r| r.method != "GET" && !READ_ONLY_POSTS.contains(&r.path))
    {
        let action = route.audit.unwrap_or_else(|| {
            panic!(
                "{} {} has no audit action in the route table",
                route.method, route.path
            )
        });
        let app = spawn_app().await;
        let seeded = succeed(&app, route.method, route.path).await;
        let events = app.audit_events().await;
        assert!(
            events[seeded..]
                .iter()
                .any(|(a, outcome, _)| a == action.as_str() && outcome == "success"),
            "{} {} must record {action}; recorded {events:?}",
            route.method,
            route.path
        );
        walked += 1;
    }
    assert!(walked >= 30, "walked {walked} routes");
}

#[tokio::test]
async fn denied_attempts_are_recorded_with_who_and_what() {
    let app = spawn_app().await;
    app.signed_in_member(&[SERVICE_ACCOUNTS_RETRIEVE]).await;
    assert_eq!(
        app.post_form("/development/keys", &[("name", "x")])
            .await
            .status(),
        403
    );
    let events = app.audit_events().await;
    let denied = events
        .iter()
        .find(|(a, _, _)| a == "access.denied")
        .expect("a denied event");
    assert_eq!(denied.1, "denied");
    assert_eq!(denied.2, "POST /development/keys");
}

#[tokio::test]
async fn the_audit_log_filters_pages_and_exports() {
    let app = spawn_app().await;
    app.signed_in_admin().await;
    for n in 0..55 {
        app.post_form("/roles", &[("name", &format!("Role {n:02}"))])
            .await;
    }
    app.post_form(
        "/roles/permissions",
        &[
            ("name", "documents.render"),
            ("description", "=cmd|' /C calc'!A0"),
        ],
    )
    .await;

    let first = body(app.get("/audit?action=role.created").await).await;
    assert_eq!(
        first.matches("<code>role.created</code>").count(),
        50,
        "50 per page"
    );
    assert!(first.contains("Role 54"), "newest first");
    let older = first
        .split("after=")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("a link to older events");
    let second = body(
        app.get(&format!("/audit?action=role.created&after={older}"))
            .await,
    )
    .await;
    assert_eq!(second.matches("<code>role.created</code>").count(), 5);
    assert!(second.contains("Role 00"));

    let by_target = body(app.get("/audit?target=Role%2007").await).await;
    assert_eq!(by_target.matches("<code>role.created</code>").count(), 1);
    let by_actor = body(
        app.get(&format!("/audit?actor={ADMIN_EMAIL}&action=auth.signed-in"))
            .await,
    )
    .await;
    assert_eq!(by_actor.matches("<code>auth.signed-in</code>").count(), 1);
    let future = body(app.get("/audit?from=2999-01-01").await).await;
    assert!(future.contains("No events match these filters."));
    let bad_date = app.get("/audit?from=yesterday").await;
    assert_eq!(bad_date.status(), 422);
    assert!(body(bad_date)
        .await
        .contains("Enter the date as YYYY-MM-DD."));

    let csv = app.get("/audit/export.csv?action=permission.created").await;
    assert!(csv
        .headers()
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let csv = body(csv).await;
    assert_eq!(csv.lines().count(), 2, "header and one event");
    assert!(
        csv.contains(",'=cmd|' /C calc'!A0"),
        "formula-looking cells are neutralised: {csv}"
    );

    let json: serde_json::Value = app
        .get("/audit/export.json?action=role.created")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(json.as_array().unwrap().len(), 55);
    assert_eq!(json[0]["target_label"], "Role 54");
}

#[tokio::test]
async fn a_key_and_a_user_show_their_recent_history() {
    let app = spawn_app().await;
    app.signed_in_admin().await;
    let key_id = app.create_key("Historic", &[]).await;
    app.post_form(
        &format!("/development/keys/{key_id}"),
        &[("name", "Historic v2"), ("expiry", "keep")],
    )
    .await;
    let detail = body(app.get(&format!("/development/keys/{key_id}")).await).await;
    assert!(detail.contains("<code>service-account.created</code>"));
    assert!(detail.contains("<code>service-account.updated</code>"));
    assert!(detail.contains("renamed from “Historic”"));

    let member = app.create_member("m@example.com", &[]).await;
    app.post_form(&format!("/team/{member}/password-link"), &[])
        .await;
    assert!(body(app.get(&format!("/team/{member}")).await)
        .await
        .contains("<code>user.password-link-issued</code>"));
}
