//! The API reference page: how a system authenticates, and every endpoint of the JSON API with the
//! access it needs, read from the route table (the same table that enforces it) and the OpenAPI
//! document (for what each endpoint does).

use actix_session::Session;
use askama::Template;
use askama_web::WebTemplate;

use crate::auth::Principal;
use crate::authz::catalog::SERVICE_ACCOUNTS_RETRIEVE;
use crate::middleware::access::Access;
use crate::routes::api::openapi::{api_doc, DOCUMENT_PATH};
use crate::routes::web::layout::{Layout, Section, ASSET_VERSION};
use crate::routes::ROUTES;

pub struct EndpointRow {
    pub method: &'static str,
    pub path: &'static str,
    /// A permission name, shown as code.
    pub permission: Option<&'static str>,
    /// What the endpoint needs when no permission does: "any valid key", "nothing".
    pub needs: &'static str,
    pub summary: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/api_reference.html")]
pub struct ApiReferencePage {
    asset_version: &'static str,
    layout: Layout,
    endpoints: Vec<EndpointRow>,
    document_path: &'static str,
    base_url: String,
}

/// Every `/api/v1` route of the table, in the table's order.
pub fn endpoint_rows() -> Vec<EndpointRow> {
    let doc = api_doc();
    ROUTES
        .iter()
        .filter(|route| route.path.starts_with("/api/v1/"))
        .map(|route| {
            let operation = doc
                .paths
                .paths
                .get(route.path)
                .and_then(|item| match route.method {
                    "GET" => item.get.as_ref(),
                    "POST" => item.post.as_ref(),
                    "PUT" => item.put.as_ref(),
                    "PATCH" => item.patch.as_ref(),
                    "DELETE" => item.delete.as_ref(),
                    _ => None,
                });
            let public = operation
                .and_then(|op| op.security.as_ref())
                .is_some_and(|requirements| requirements.iter().all(is_empty_requirement));
            let (permission, needs) = match route.access {
                Access::Permission(permission) => (Some(permission), ""),
                Access::SignedIn => (None, "any valid key"),
                Access::Public if public => (None, "nothing (public)"),
                Access::Public => (None, "the key it checks"),
            };
            EndpointRow {
                method: route.method,
                path: route.path,
                permission,
                needs,
                summary: operation
                    .and_then(|op| op.summary.clone())
                    .unwrap_or_default(),
            }
        })
        .collect()
}

fn is_empty_requirement(requirement: &utoipa::openapi::security::SecurityRequirement) -> bool {
    serde_json::to_value(requirement)
        .is_ok_and(|value| value.as_object().is_some_and(|o| o.is_empty()))
}

pub async fn show(
    principal: Principal,
    session: Session,
    req: actix_web::HttpRequest,
    state: actix_web::web::Data<crate::state::AppState>,
) -> ApiReferencePage {
    let section = if principal.can(SERVICE_ACCOUNTS_RETRIEVE) {
        Section::Development
    } else {
        Section::Overview
    };
    ApiReferencePage {
        asset_version: ASSET_VERSION,
        layout: Layout::new(&principal, &session, section, "API reference"),
        endpoints: endpoint_rows(),
        document_path: DOCUMENT_PATH,
        base_url: super::public_origin(&req, state.public_origin.as_deref()),
    }
}
