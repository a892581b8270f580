//! The route table: every route with the access it needs, in one place. The same table registers the
//! routes and lets a test walk them all to prove each refuses a caller without that access.

pub mod api;
pub mod assets;
pub mod health;
pub mod web;

use actix_web::error::UrlencodedError;
use actix_web::web as aw;

use crate::authz::catalog::*;
use crate::authz::AuditAction;
use crate::error::AppError;
use crate::limits::FORM_LIMIT_BYTES;
use crate::middleware::access::{Access, RequireAccess};

/// One row of the route table.
#[derive(Debug, Clone, Copy)]
pub struct RouteSpec {
    pub method: &'static str,
    pub path: &'static str,
    pub access: Access,
    /// The audit action a successful call records (every state-changing route has one).
    pub audit: Option<AuditAction>,
}

macro_rules! audit_action {
    () => {
        None
    };
    ($action:ident) => {
        Some(AuditAction::$action)
    };
}

/// The scope of the JSON API's routes.
const API_SCOPE: &str = "/api/v1";

/// The path of an API route inside [`API_SCOPE`] (`/api/v1/whoami` → `/whoami`).
fn api_route(path: &'static str) -> Option<&'static str> {
    path.strip_prefix(API_SCOPE)
        .filter(|rest| rest.starts_with('/'))
}

macro_rules! route_table {
    ($($method:ident $path:literal, $access:expr $(, audit $action:ident)? => $handler:path;)*) => {
        pub const ROUTES: &[RouteSpec] = &[
            $(RouteSpec { method: stringify!($method), path: $path, access: $access, audit: audit_action!($($action)?) },)*
        ];

        /// Registers every route, one resource per path: each of its methods (and HEAD wherever
        /// GET is, answered as GET without the body), and for any other method a 405 naming them in
        /// `Allow`. The JSON API's paths go first, in one `/api/v1` scope: the router tries
        /// resources in order (the console's paths with `{…}` cost a regex match each), so an API
        /// request is matched against the API's paths only, and a page request passes the whole
        /// API with one prefix check. Paths keep the table's order (`/roles/new` before
        /// `/roles/{id}`).
        pub fn configure(cfg: &mut aw::ServiceConfig) {
            let mut resources: Vec<(&'static str, actix_web::Resource)> = Vec::new();
            $(
                {
                    let index = match resources.iter().position(|(path, _)| *path == $path) {
                        Some(index) => index,
                        None => {
                            resources.push(($path, path_resource($path)));
                            resources.len() - 1
                        }
                    };
                    let entry = &mut resources[index].1;
                    let mut resource = std::mem::replace(entry, aw::resource($path));
                    let method = actix_web::http::Method::$method;
                    if method == actix_web::http::Method::GET {
                        resource = resource.route(
                            aw::method(actix_web::http::Method::HEAD)
                                .to($handler)
                                .wrap(RequireAccess($access)),
                        );
                    }
                    *entry = resource.route(
                        aw::method(method).to($handler).wrap(RequireAccess($access)),
                    );
                }
            )*
            let mut api = aw::scope(API_SCOPE);
            let mut pages = Vec::new();
            for (path, resource) in resources {
                if api_route(path).is_some() {
                    api = api.service(resource);
                } else {
                    pages.push(resource);
                }
            }
            cfg.service(api);
            for resource in pages {
                cfg.service(resource);
            }
        }
    };
}

/// The resource for one path of the table (relative to [`API_SCOPE`] for the API's), answering a
/// method it lacks with 405 and `Allow`.
fn path_resource(path: &'static str) -> actix_web::Resource {
    let allow = allowed_methods(path);
    aw::resource(api_route(path).unwrap_or(path)).default_service(aw::to(move || {
        let allow = allow.clone();
        async move { Err::<actix_web::HttpResponse, _>(AppError::MethodNotAllowed { allow }) }
    }))
}

/// The methods the table lists for `path`, with HEAD after GET: `GET, HEAD, POST`.
pub fn allowed_methods(path: &str) -> String {
    let mut methods = Vec::new();
    for route in ROUTES.iter().filter(|route| route.path == path) {
        methods.push(route.method);
        if route.method == "GET" {
            methods.push("HEAD");
        }
    }
    methods.join(", ")
}

use Access::{Permission, Public, SignedIn};

route_table! {
    GET  "/healthz", Public => health::healthz;
    GET  "/readyz", Public => health::readyz;
    GET  "/static/{file:.*}", Public => assets::serve;
    GET  "/favicon.ico", Public => assets::favicon;
    GET  "/setup", Public => web::setup::form;
    POST "/setup", Public, audit SetupCompleted => web::setup::submit;
    GET  "/login", Public => web::auth::form;
    POST "/login", Public, audit SignedIn => web::auth::submit;
    POST "/logout", SignedIn, audit SignedOut => web::auth::sign_out;
    GET  "/set-password", Public => web::account::set_password_form;
    POST "/set-password", Public, audit InvitationAccepted => web::account::set_password;

    GET  "/", SignedIn => web::console::overview;
    GET  "/account", SignedIn => web::account::show;
    POST "/account/sessions/end-others", SignedIn, audit OtherSessionsEnded => web::account::end_other_sessions;
    GET  "/account/password", SignedIn => web::account::password_form;
    POST "/account/password", SignedIn, audit PasswordChanged => web::account::change_password;

    GET  "/development", Permission(SERVICE_ACCOUNTS_RETRIEVE) => web::keys::list::list;
    GET  "/development/keys/new", Permission(SERVICE_ACCOUNTS_CREATE) => web::keys::form::new_form;
    POST "/development/keys", Permission(SERVICE_ACCOUNTS_CREATE), audit KeyCreated => web::keys::form::create;
    POST "/development/keys/inline-role", Permission(ROLES_CREATE), audit RoleCreated => web::keys::form::inline_role;
    GET  "/development/keys/{id}", Permission(SERVICE_ACCOUNTS_RETRIEVE) => web::keys::detail::show;
    GET  "/development/keys/{id}/created", Permission(SERVICE_ACCOUNTS_CREATE) => web::keys::detail::created;
    GET  "/development/keys/{id}/edit", Permission(SERVICE_ACCOUNTS_UPDATE) => web::keys::form::edit_form;
    POST "/development/keys/{id}", Permission(SERVICE_ACCOUNTS_UPDATE), audit KeyUpdated => web::keys::form::update;
    GET  "/development/keys/{id}/revoke", Permission(SERVICE_ACCOUNTS_DELETE) => web::keys::revoke::confirm_revoke;
    POST "/development/keys/{id}/revoke", Permission(SERVICE_ACCOUNTS_DELETE), audit KeyRevoked => web::keys::revoke::revoke;

    GET  "/roles", Permission(ROLES_RETRIEVE) => web::roles::list;
    GET  "/roles/new", Permission(ROLES_CREATE) => web::roles::new_form;
    POST "/roles", Permission(ROLES_CREATE), audit RoleCreated => web::roles::create;
    GET  "/roles/permissions", Permission(PERMISSIONS_RETRIEVE) => web::permissions::list;
    POST "/roles/permissions", Permission(PERMISSIONS_CREATE), audit PermissionCreated => web::permissions::create;
    GET  "/roles/permissions/{name}", Permission(PERMISSIONS_RETRIEVE) => web::permissions::show;
    POST "/roles/permissions/{name}", Permission(PERMISSIONS_UPDATE), audit PermissionUpdated => web::permissions::update;
    GET  "/roles/permissions/{name}/delete", Permission(PERMISSIONS_DELETE) => web::permissions::confirm_delete;
    POST "/roles/permissions/{name}/delete", Permission(PERMISSIONS_DELETE), audit PermissionDeleted => web::permissions::delete;
    GET  "/roles/{id}", Permission(ROLES_RETRIEVE) => web::roles::show;
    POST "/roles/{id}", Permission(ROLES_UPDATE), audit RoleUpdated => web::roles::update;
    GET  "/roles/{id}/delete", Permission(ROLES_DELETE) => web::roles::confirm_delete;
    POST "/roles/{id}/delete", Permission(ROLES_DELETE), audit RoleDeleted => web::roles::delete;

    GET  "/team", Permission(USERS_RETRIEVE) => web::team::list;
    GET  "/team/invite", Permission(USERS_CREATE) => web::team::invitations::invite_form;
    POST "/team/invite", Permission(USERS_CREATE), audit UserInvited => web::team::invitations::invite;
    GET  "/team/{id}", Permission(USERS_RETRIEVE) => web::team::members::show;
    GET  "/team/{id}/link", Permission(USERS_RETRIEVE) => web::team::invitations::issued_link;
    POST "/team/{id}/roles", Permission(USERS_UPDATE), audit UserRolesGranted => web::team::members::update_roles;
    POST "/team/{id}/password-link", Permission(USERS_UPDATE), audit PasswordLinkIssued => web::team::invitations::password_link;
    GET  "/team/{id}/deactivate", Permission(USERS_DELETE) => web::team::members::confirm_deactivate;
    POST "/team/{id}/deactivate", Permission(USERS_DELETE), audit UserDeactivated => web::team::members::deactivate;
    POST "/team/{id}/reactivate", Permission(USERS_DELETE), audit UserReactivated => web::team::members::reactivate;

    GET  "/audit", Permission(AUDIT_LOG_RETRIEVE) => web::audit::list;
    GET  "/audit/export.csv", Permission(AUDIT_LOG_RETRIEVE) => web::audit::export_csv;
    GET  "/audit/export.json", Permission(AUDIT_LOG_RETRIEVE) => web::audit::export_json;

    GET  "/api-reference", SignedIn => web::api_reference::show;

    POST "/api/v1/keys/verify", Public => api::verify::verify;
    GET  "/api/v1/auth/forward", Public => api::verify::forward;
    GET  "/api/v1/whoami", SignedIn => api::keys::whoami;
    GET  "/api/v1/roles", Permission(ROLES_RETRIEVE) => api::roles::list;
    POST "/api/v1/roles", Permission(ROLES_CREATE), audit RoleCreated => api::roles::create;
    GET  "/api/v1/roles/{id}", Permission(ROLES_RETRIEVE) => api::roles::show;
    PATCH "/api/v1/roles/{id}", Permission(ROLES_UPDATE), audit RoleUpdated => api::roles::update;
    DELETE "/api/v1/roles/{id}", Permission(ROLES_DELETE), audit RoleDeleted => api::roles::delete;
    GET  "/api/v1/service-accounts", Permission(SERVICE_ACCOUNTS_RETRIEVE) => api::keys::list;
    POST "/api/v1/service-accounts", Permission(SERVICE_ACCOUNTS_CREATE), audit KeyCreated => api::keys::create;
    GET  "/api/v1/service-accounts/{id}", Permission(SERVICE_ACCOUNTS_RETRIEVE) => api::keys::show;
    PATCH "/api/v1/service-accounts/{id}", Permission(SERVICE_ACCOUNTS_UPDATE), audit KeyUpdated => api::keys::update;
    DELETE "/api/v1/service-accounts/{id}", Permission(SERVICE_ACCOUNTS_DELETE), audit KeyRevoked => api::keys::delete;
    PUT  "/api/v1/service-accounts/{id}/roles/{role_id}", Permission(SERVICE_ACCOUNTS_UPDATE), audit KeyUpdated => api::keys::add_role;
    DELETE "/api/v1/service-accounts/{id}/roles/{role_id}", Permission(SERVICE_ACCOUNTS_UPDATE), audit KeyUpdated => api::keys::remove_role;
    GET  "/api/v1/permissions", Permission(PERMISSIONS_RETRIEVE) => api::permissions::list;
    POST "/api/v1/permissions", Permission(PERMISSIONS_CREATE), audit PermissionCreated => api::permissions::create;
    PATCH "/api/v1/permissions/{name}", Permission(PERMISSIONS_UPDATE), audit PermissionUpdated => api::permissions::update;
    DELETE "/api/v1/permissions/{name}", Permission(PERMISSIONS_DELETE), audit PermissionDeleted => api::permissions::delete;
    GET  "/api/v1/users", Permission(USERS_RETRIEVE) => api::users::list;
    PUT  "/api/v1/users/{id}/roles/{role_id}", Permission(USERS_UPDATE), audit UserRolesGranted => api::users::grant_role;
    DELETE "/api/v1/users/{id}/roles/{role_id}", Permission(USERS_UPDATE), audit UserRolesRevoked => api::users::revoke_role;
    GET  "/api/v1/audit-events", Permission(AUDIT_LOG_RETRIEVE) => api::audit::list;
    GET  "/api/v1/openapi.json", Public => api::openapi::document;
}

/// Form bodies: a generous limit for role forms with many permissions, and a clear 413 beyond it.
pub fn form_config() -> aw::FormConfig {
    aw::FormConfig::default()
        .limit(FORM_LIMIT_BYTES)
        .error_handler(|err, _req| {
            let app_err = match err {
                UrlencodedError::Overflow { .. } => AppError::PayloadTooLarge {
                    limit_kib: FORM_LIMIT_BYTES / 1024,
                },
                other => AppError::BadRequest(format!("The form could not be read: {other}")),
            };
            app_err.into()
        })
}

pub async fn not_found() -> Result<actix_web::HttpResponse, AppError> {
    Err(AppError::NotFound)
}
