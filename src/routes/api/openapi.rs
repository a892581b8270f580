//! The OpenAPI 3.1 document of the JSON API, served at `GET /api/v1/openapi.json`.
//!
//! It is generated from the code: the request and response types derive their schemas, each handler
//! carries `#[utoipa::path]` with its own answers, and the answers that follow from the route table
//! (401 and 403 for guarded routes, 400 and 413 for every endpoint that reads JSON, 422 for a bad query
//! string, 503) are added here from [`crate::routes::ROUTES`], so the document and the access rules
//! cannot drift apart.

use std::sync::OnceLock;

use actix_web::HttpResponse;
use serde_json::json;
use utoipa::openapi::extensions::ExtensionsBuilder;
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{Modify, OpenApi};

use super::responses::*;
use super::{audit, keys, permissions, roles, users, verify};
use crate::error::{ErrorBody, ErrorDetail};
use crate::middleware::access::Access;
use crate::routes::ROUTES;

pub const DOCUMENT_PATH: &str = "/api/v1/openapi.json";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Latchkey API",
        description = "The JSON API of Latchkey, for the systems that hold its API keys and the \
services that check them. Send a key as `Authorization: Bearer lk_<id>_<secret>` (or \
`X-Api-Key: lk_<id>_<secret>`); a key may do exactly what the permissions of its roles allow. \
Every error is `{\"error\": {\"code\", \"message\", \"field\"?, \"required\"?}}`.",
    ),
    paths(
        verify::verify,
        verify::forward,
        keys::whoami,
        roles::list,
        roles::create,
        roles::show,
        roles::update,
        roles::delete,
        keys::list,
        keys::create,
        keys::show,
        keys::update,
        keys::delete,
        keys::add_role,
        keys::remove_role,
        permissions::list,
        permissions::create,
        permissions::update,
        permissions::delete,
        users::list,
        users::grant_role,
        users::revoke_role,
        audit::list,
        document,
    ),
    components(
        schemas(ErrorBody, ErrorDetail),
        responses(
            BadRequest,
            Unauthorized,
            Forbidden,
            NotFound,
            Conflict,
            PayloadTooLarge,
            ValidationFailed,
            RateLimited,
            Unavailable,
        )
    ),
    modifiers(&RouteTableRules),
    security(("bearer" = []), ("api_key" = [])),
    tags(
        (name = "keys", description = "Checking keys: whoami, verification, forward auth for proxies."),
        (name = "service-accounts", description = "API keys and their roles."),
        (name = "roles", description = "Named sets of permissions."),
        (name = "permissions", description = "The permission catalog."),
        (name = "users", description = "Team members and their roles."),
        (name = "audit-log", description = "Who did what, when."),
        (name = "meta", description = "This document."),
    )
)]
pub struct ApiDoc;

/// The OpenAPI document
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    operation_id = "openapi",
    tag = "meta",
    security(),
    responses(
        (status = 200, description = "This OpenAPI 3.1 document.", content_type = "application/json",
            body = inline(Object)),
    )
)]
pub async fn document() -> HttpResponse {
    static DOCUMENT: OnceLock<String> = OnceLock::new();
    let text = DOCUMENT.get_or_init(|| {
        let mut document =
            serde_json::to_value(api_doc()).expect("the OpenAPI document serializes");
        forbid_nul_in_requests(&mut document);
        document.to_string()
    });
    HttpResponse::Ok()
        .content_type("application/json")
        .body(text.as_str())
}

/// No text Latchkey reads may hold the NUL character (PostgreSQL cannot store or compare it; it is
/// refused with 422 everywhere): every free-text string of a request (parameters and bodies, through
/// the components they use) says so with a pattern.
fn forbid_nul_in_requests(document: &mut serde_json::Value) {
    let mut components = document
        .pointer_mut("/components/schemas")
        .map(serde_json::Value::take)
        .unwrap_or_default();
    let mut referenced = std::collections::BTreeSet::new();
    if let Some(paths) = document.get_mut("paths").and_then(|p| p.as_object_mut()) {
        for item in paths.values_mut() {
            let Some(item) = item.as_object_mut() else {
                continue;
            };
            for operation in item.values_mut() {
                if let Some(parameters) = operation
                    .get_mut("parameters")
                    .and_then(|p| p.as_array_mut())
                {
                    for parameter in parameters {
                        if let Some(schema) = parameter.get_mut("schema") {
                            no_nul(schema, &mut referenced);
                        }
                    }
                }
                if let Some(contents) = operation
                    .pointer_mut("/requestBody/content")
                    .and_then(|c| c.as_object_mut())
                {
                    for content in contents.values_mut() {
                        if let Some(schema) = content.get_mut("schema") {
                            no_nul(schema, &mut referenced);
                        }
                    }
                }
            }
        }
    }
    let mut done = std::collections::BTreeSet::new();
    while let Some(name) = referenced.iter().find(|n| !done.contains(*n)).cloned() {
        done.insert(name.clone());
        if let Some(schema) = components.get_mut(&name) {
            no_nul(schema, &mut referenced);
        }
    }
    if let Some(slot) = document.pointer_mut("/components/schemas") {
        *slot = components;
    }
}

/// Adds the no-NUL pattern to every free-text string of `schema` that has no pattern of its own (names
/// and descriptions declare theirs: no control characters, as the services check), collecting the
/// components it uses.
fn no_nul(schema: &mut serde_json::Value, referenced: &mut std::collections::BTreeSet<String>) {
    let Some(object) = schema.as_object_mut() else {
        return;
    };
    if let Some(name) = object
        .get("$ref")
        .and_then(|r| r.as_str())
        .and_then(|r| r.strip_prefix("#/components/schemas/"))
    {
        referenced.insert(name.to_string());
    }
    let is_string = match object.get("type") {
        Some(serde_json::Value::String(t)) => t == "string",
        Some(serde_json::Value::Array(types)) => types.iter().any(|t| t == "string"),
        _ => false,
    };
    let constrained = ["pattern", "format", "enum", "const"]
        .iter()
        .any(|key| object.contains_key(*key));
    if is_string && !constrained {
        object.insert("pattern".into(), json!(r"^[^\u0000]*$"));
    }
    for key in ["items", "additionalProperties", "not"] {
        if let Some(inner) = object.get_mut(key) {
            no_nul(inner, referenced);
        }
    }
    if let Some(properties) = object.get_mut("properties").and_then(|p| p.as_object_mut()) {
        for inner in properties.values_mut() {
            no_nul(inner, referenced);
        }
    }
    for key in ["allOf", "anyOf", "oneOf"] {
        if let Some(list) = object.get_mut(key).and_then(|l| l.as_array_mut()) {
            for inner in list {
                no_nul(inner, referenced);
            }
        }
    }
}

/// The document, built once.
pub fn api_doc() -> &'static utoipa::openapi::OpenApi {
    static DOC: OnceLock<utoipa::openapi::OpenApi> = OnceLock::new();
    DOC.get_or_init(ApiDoc::openapi)
}

/// The access a route of the table needs, for the API reference page and the document.
pub fn access_of(method: &str, path: &str) -> Option<Access> {
    ROUTES
        .iter()
        .find(|r| r.method.eq_ignore_ascii_case(method) && r.path == path)
        .map(|r| r.access)
}

/// What the route table and the shared extractors decide, added to every operation.
struct RouteTableRules;

impl Modify for RouteTableRules {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("lk_<id>_<secret>")
                    .description(Some(
                        "`Authorization: Bearer lk_<id>_<secret>`: a key issued in the console's Development tab or by `POST /api/v1/service-accounts`.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-Api-Key",
                "The same key in an `X-Api-Key` header, for clients that cannot set `Authorization`.",
            ))),
        );
        for (path, item) in openapi.paths.paths.iter_mut() {
            let operations = [
                ("GET", &mut item.get),
                ("POST", &mut item.post),
                ("PUT", &mut item.put),
                ("PATCH", &mut item.patch),
                ("DELETE", &mut item.delete),
            ];
            for (method, operation) in operations {
                let Some(operation) = operation.as_mut() else {
                    continue;
                };
                let access = access_of(method, path).unwrap_or_else(|| {
                    panic!("{method} {path} is documented but not in the route table")
                });
                apply_route_rules(operation, access, path != DOCUMENT_PATH);
            }
        }
    }
}

fn apply_route_rules(operation: &mut Operation, access: Access, uses_database: bool) {
    let note = match access {
        Access::Public => None,
        Access::SignedIn => Some("Any valid key may call it.".to_string()),
        Access::Permission(permission) => Some(format!("Requires the `{permission}` permission.")),
    };
    if let Some(note) = note {
        operation.description = Some(match operation.description.take() {
            Some(text) if !text.is_empty() => format!("{text}\n\n{note}"),
            _ => note,
        });
    }
    let permission = match access {
        Access::Permission(permission) => json!(permission),
        Access::SignedIn => json!("any valid key"),
        Access::Public => json!(null),
    };
    let extensions = ExtensionsBuilder::new()
        .add("x-required-permission", permission)
        .build();
    match operation.extensions.as_mut() {
        Some(existing) => existing.merge(extensions),
        None => operation.extensions = Some(extensions),
    }

    let mut add = |status: &str, name: &str| {
        operation
            .responses
            .responses
            .entry(status.to_string())
            .or_insert_with(|| RefOr::Ref(Ref::from_response_name(name)));
    };
    if access != Access::Public {
        add("401", "Unauthorized");
        // Keys that fail are limited per client address (a valid key always passes).
        add("429", "RateLimited");
    }
    if matches!(access, Access::Permission(_)) {
        add("403", "Forbidden");
    }
    if operation.request_body.is_some() {
        add("400", "BadRequest");
        add("413", "PayloadTooLarge");
    }
    // Any query string holding a NUL character is refused (see `request_guard`).
    add("422", "ValidationFailed");
    if uses_database {
        add("503", "Unavailable");
    }
}
