use latchkey::middleware::access::Access;
use latchkey::routes::ROUTES;

use crate::helpers::*;

fn concrete(path: &str) -> String {
    path.replace("{file:.*}", "app.css")
        .split('/')
        .map(|segment| {
            if segment.starts_with('{') {
                "00000000-0000-0000-0000-000000000000"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

async fn call(
    client: &reqwest::Client,
    app: &TestApp,
    method: &str,
    path: &str,
    key: Option<&str>,
) -> reqwest::Response {
    let url = app.url(&concrete(path));
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = client.request(method.clone(), url);
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    if path.starts_with("/api/") {
        if method != reqwest::Method::GET {
            request = request.json(&serde_json::json!({}));
        }
    } else if method == reqwest::Method::POST {
        request = request.form(&[("x", "y")]);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn every_route_refuses_callers_without_its_access() {
    let app = spawn_app().await;
    app.create_member("nobody@example.com", &[]).await;
    let anonymous = new_client();
    let member = new_client();
    let signed_in = member
        .post(app.url("/login"))
        .form(&[("email", "nobody@example.com"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 303);

    let powerless_key = app.issue_key("Powerless", &[]).await;
    let mut checked = 0;
    for route in ROUTES {
        if route.path.starts_with("/api/") {
            if route.access == Access::Public {
                continue;
            }
            let without_key = call(&anonymous, &app, route.method, route.path, None).await;
            assert_eq!(
                without_key.status(),
                401,
                "{} {} without a key",
                route.method,
                route.path
            );
            let with_session = call(&member, &app, route.method, route.path, None).await;
            assert_eq!(
                with_session.status(),
                401,
                "{} {}: a browser session never authorizes the API",
                route.method,
                route.path
            );
            let json: serde_json::Value = with_session.json().await.unwrap();
            assert!(
                json["error"]["code"].is_string(),
                "the API answers JSON errors"
            );
            if let Access::Permission(permission) = route.access {
                let refused = call(
                    &anonymous,
                    &app,
                    route.method,
                    route.path,
                    Some(&powerless_key),
                )
                .await;
                assert_eq!(
                    refused.status(),
                    403,
                    "{} {} with a key lacking {permission}",
                    route.method,
                    route.path
                );
                let json: serde_json::Value = refused.json().await.unwrap();
                assert_eq!(json["error"]["code"], "INSUFFICIENT_PERMISSIONS");
                assert_eq!(json["error"]["required"], permission);
            }
            checked += 1;
            continue;
        }
        match route.access {
            Access::Public => continue,
            Access::SignedIn => {
                let response = call(&anonymous, &app, route.method, route.path, None).await;
                assert!(
                    response.status() == 303 && location(&response).starts_with("/login"),
                    "{} {} must send anonymous callers to sign in, got {}",
                    route.method,
                    route.path,
                    response.status()
                );
            }
            Access::Permission(permission) => {
                let response = call(&anonymous, &app, route.method, route.path, None).await;
                assert_eq!(
                    response.status(),
                    303,
                    "{} {} anonymous",
                    route.method,
                    route.path
                );
                let response = call(&member, &app, route.method, route.path, None).await;
                assert_eq!(
                    response.status(),
                    403,
                    "{} {} without {permission}",
                    route.method,
                    route.path
                );
                let html = body(response).await;
                assert!(html.contains(permission), "the 403 page names {permission}");
                assert!(html.contains("Ask someone who can manage your roles to grant it."));
            }
        }
        checked += 1;
    }
    assert!(checked >= 5, "the table has guarded routes");
}

#[tokio::test]
async fn a_tab_is_hidden_and_its_page_refused_without_the_permission() {
    let app = spawn_app().await;
    app.create_member("reader@example.com", &[catalog::ROLES_RETRIEVE])
        .await;
    assert_eq!(
        app.sign_in("reader@example.com", PASSWORD).await.status(),
        303
    );

    let html = body(app.get("/").await).await;
    assert!(html.contains(">Roles</a>"), "the Roles tab is shown");
    assert!(
        !html.contains(">Development</a>"),
        "the Development tab is hidden"
    );
    assert!(!html.contains(">Audit log</a>"));
    assert!(
        html.contains("<code>roles.retrieve</code>"),
        "the overview lists what the user holds"
    );

    assert_eq!(app.get("/roles").await.status(), 200);
    let refused = app.get("/development").await;
    assert_eq!(refused.status(), 403);
    let page = body(refused).await;
    assert!(
        page.contains("You need the `service-accounts.retrieve` permission to see API keys."),
        "{page}"
    );
}
