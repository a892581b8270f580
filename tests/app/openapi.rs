//! The OpenAPI document covers the route table, the API reference page lists it, and
//! `latchkey create-key` prints a key that works.

use latchkey::middleware::access::Access;
use latchkey::routes::ROUTES;
use serde_json::Value;

use crate::helpers::*;

fn api_routes() -> impl Iterator<Item = &'static latchkey::routes::RouteSpec> {
    ROUTES.iter().filter(|r| r.path.starts_with("/api/v1/"))
}

async fn document(app: &TestApp) -> Value {
    let response = reqwest::get(app.url("/api/v1/openapi.json")).await.unwrap();
    assert_eq!(response.status(), 200, "the document is public");
    assert_eq!(
        response.headers()["content-type"],
        "application/json",
        "the document is JSON"
    );
    response.json().await.unwrap()
}

#[tokio::test]
async fn the_document_is_openapi_3_1_and_covers_every_api_route() {
    let app = spawn_app().await;
    let doc = document(&app).await;

    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1."),
        "OpenAPI 3.1: {}",
        doc["openapi"]
    );
    let paths = doc["paths"].as_object().expect("paths");
    let mut covered = 0;
    for route in api_routes() {
        let operation = &paths
            .get(route.path)
            .unwrap_or_else(|| panic!("{} is not in the document", route.path))
            [route.method.to_lowercase()];
        assert!(
            operation.is_object(),
            "{} {} is not in the document",
            route.method,
            route.path
        );
        assert!(
            operation["responses"]
                .as_object()
                .is_some_and(|r| !r.is_empty()),
            "{} {} documents its answers",
            route.method,
            route.path
        );
        covered += 1;
    }
    assert!(covered >= 23, "covered {covered} routes");

    // And nothing is documented that the server does not route.
    for (path, item) in paths {
        for method in item.as_object().unwrap().keys() {
            assert!(
                api_routes().any(|r| r.path == path && r.method.eq_ignore_ascii_case(method)),
                "{method} {path} is documented but not routed"
            );
        }
    }
}

#[tokio::test]
async fn the_document_declares_the_bearer_scheme_and_the_answers_of_the_route_table() {
    let app = spawn_app().await;
    let doc = document(&app).await;

    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["type"], "http");
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(schemes["bearer"]["bearerFormat"], "lk_<id>_<secret>");
    assert_eq!(schemes["api_key"]["type"], "apiKey");
    assert_eq!(schemes["api_key"]["in"], "header");
    assert_eq!(schemes["api_key"]["name"], "X-Api-Key");
    let global: Vec<String> = doc["security"]
        .as_array()
        .expect("a global security requirement")
        .iter()
        .flat_map(|requirement| requirement.as_object().unwrap().keys().cloned())
        .collect();
    assert!(global.contains(&"bearer".to_string()), "{global:?}");

    for route in api_routes() {
        let operation = &doc["paths"][route.path][route.method.to_lowercase()];
        let responses = &operation["responses"];
        let label = format!("{} {}", route.method, route.path);
        match route.access {
            Access::Permission(permission) => {
                assert_eq!(operation["x-required-permission"], permission, "{label}");
                assert!(
                    responses["401"].is_object() && responses["403"].is_object(),
                    "{label} documents 401 and 403"
                );
            }
            Access::SignedIn => assert!(responses["401"].is_object(), "{label} documents 401"),
            Access::Public => {}
        }
        if operation["requestBody"].is_object() {
            for status in ["400", "413", "422"] {
                assert!(responses[status].is_object(), "{label} documents {status}");
            }
        }
    }

    let unauthorized = &doc["components"]["responses"]["Unauthorized"];
    let codes = unauthorized["content"]["application/json"]["schema"]["allOf"][1]["properties"]
        ["error"]["properties"]["code"]["enum"]
        .clone();
    for code in ["INVALID_KEY", "MALFORMED_KEY", "EXPIRED", "REVOKED"] {
        assert!(
            codes.as_array().unwrap().contains(&Value::from(code)),
            "401 lists {code}"
        );
    }
    assert!(unauthorized["headers"]["WWW-Authenticate"].is_object());
    assert!(doc["components"]["responses"]["RateLimited"]["headers"]["Retry-After"].is_object());
    assert_eq!(
        doc["paths"]["/api/v1/roles/{id}"]["delete"]["responses"]["204"]["content"],
        Value::Null,
        "DELETE /roles/{{id}} answers 204 without a body"
    );
    assert_eq!(
        doc["components"]["schemas"]["NewRole"]["additionalProperties"], false,
        "bodies refuse unknown fields"
    );
}

#[tokio::test]
async fn the_api_reference_page_lists_every_endpoint_with_its_permission() {
    let app = spawn_app().await;
    app.signed_in_member(&[]).await;

    let response = app.get("/api-reference").await;
    assert_eq!(response.status(), 200, "any signed-in user may read it");
    let html = body(response).await;
    assert!(html.contains("Authorization: Bearer lk_&lt;id&gt;_&lt;secret&gt;"));
    assert!(html.contains("href=\"/api/v1/openapi.json\""));
    for route in api_routes() {
        assert!(
            html.contains(&format!("<code>{}</code>", route.path)),
            "{}",
            route.path
        );
        if let Access::Permission(permission) = route.access {
            assert!(
                html.contains(&format!("<code>{permission}</code>")),
                "{permission}"
            );
        }
    }
    assert!(
        body(app.get("/").await)
            .await
            .contains("href=\"/api-reference\""),
        "the overview links to it"
    );
}

#[tokio::test]
async fn the_development_tab_links_to_the_api_reference() {
    let app = spawn_app().await;
    app.signed_in_admin().await;
    let html = body(app.get("/development").await).await;
    assert!(html.contains("href=\"/api-reference\""));
}

/// utoipa takes only literals in `#[schema(max_length = …)]`: this holds them to `latchkey::limits`.
#[test]
fn the_document_states_the_role_and_permission_limits_the_services_apply() {
    use latchkey::limits::{
        PERMISSION_DESCRIPTION_MAX, PERMISSION_NAME_MAX, ROLE_DESCRIPTION_MAX, ROLE_NAME_MAX,
        ROLE_PERMISSIONS_MAX,
    };
    let doc = serde_json::to_value(latchkey::routes::api::openapi::api_doc()).unwrap();
    let bound = |schema: &str, field: &str, bound: &str| -> Value {
        doc["components"]["schemas"][schema]["properties"][field][bound].clone()
    };
    for schema in ["NewRole", "RolePatch"] {
        assert_eq!(
            bound(schema, "name", "maxLength"),
            ROLE_NAME_MAX,
            "{schema}"
        );
        assert_eq!(
            bound(schema, "description", "maxLength"),
            ROLE_DESCRIPTION_MAX,
            "{schema}"
        );
        assert_eq!(
            bound(schema, "permissions", "maxItems"),
            ROLE_PERMISSIONS_MAX,
            "{schema}"
        );
    }
    assert_eq!(
        bound("NewPermission", "name", "maxLength"),
        PERMISSION_NAME_MAX
    );
    for schema in ["NewPermission", "PermissionPatch"] {
        assert_eq!(
            bound(schema, "description", "maxLength"),
            PERMISSION_DESCRIPTION_MAX,
            "{schema}"
        );
    }
}
