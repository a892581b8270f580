//! The route table: every route with the access it needs, in one place. The same table registers the
//! routes and lets a test walk them all to prove each refuses a caller without that access.

pub mod assets;
pub mod health;
pub mod web;

use actix_web::error::UrlencodedError;
use actix_web::web as aw;

use crate::auth::catalog::*;
use crate::error::AppError;
use crate::middleware::access::{Access, RequireAccess};
use crate::startup::FORM_LIMIT_BYTES;

/// One row of the route table.
#[derive(Debug, Clone, Copy)]
pub struct RouteSpec {
    pub method: &'static str,
    pub path: &'static str,
    pub access: Access,
}

macro_rules! route_table {
    ($($method:ident $path:literal, $access:expr => $handler:path;)*) => {
        pub const ROUTES: &[RouteSpec] = &[
            $(RouteSpec { method: stringify!($method), path: $path, access: $access },)*
        ];

        pub fn configure(cfg: &mut aw::ServiceConfig) {
            $(
                cfg.route(
                    $path,
                    aw::method(actix_web::http::Method::$method)
                        .to($handler)
                        .wrap(RequireAccess($access)),
                );
            )*
        }
    };
}

use Access::{Permission, Public, SignedIn};

route_table! {
    GET  "/healthz",              Public => health::healthz;
    GET  "/readyz",               Public => health::readyz;
    GET  "/static/{file:.*}",     Public => assets::serve;
    GET  "/setup",                Public => web::setup::form;
    POST "/setup",                Public => web::setup::submit;
    GET  "/login",                Public => web::auth::form;
    POST "/login",                Public => web::auth::submit;
    POST "/logout",               SignedIn => web::auth::sign_out;
    GET  "/",                     SignedIn => web::console::overview;
    GET  "/development",          Permission(SERVICE_ACCOUNTS_RETRIEVE) => web::development::list;
    GET  "/development/keys/new", Permission(SERVICE_ACCOUNTS_CREATE) => web::development::new_form;
    POST "/development/keys",     Permission(SERVICE_ACCOUNTS_CREATE) => web::development::create;
    POST "/development/keys/inline-role", Permission(ROLES_CREATE) => web::development::inline_role;
    GET  "/development/keys/{id}", Permission(SERVICE_ACCOUNTS_RETRIEVE) => web::development::show;
    GET  "/development/keys/{id}/created", Permission(SERVICE_ACCOUNTS_CREATE) => web::development::created;
    GET  "/development/keys/{id}/edit", Permission(SERVICE_ACCOUNTS_UPDATE) => web::development::edit_form;
    POST "/development/keys/{id}", Permission(SERVICE_ACCOUNTS_UPDATE) => web::development::update;
    GET  "/development/keys/{id}/revoke", Permission(SERVICE_ACCOUNTS_DELETE) => web::development::confirm_revoke;
    POST "/development/keys/{id}/revoke", Permission(SERVICE_ACCOUNTS_DELETE) => web::development::revoke;
    GET  "/roles",                Permission(ROLES_RETRIEVE) => web::roles::list;
    GET  "/roles/new",            Permission(ROLES_CREATE) => web::roles::new_form;
    POST "/roles",                Permission(ROLES_CREATE) => web::roles::create;
    GET  "/roles/{id}",           Permission(ROLES_RETRIEVE) => web::roles::show;
    POST "/roles/{id}",           Permission(ROLES_UPDATE) => web::roles::update;
    GET  "/roles/{id}/delete",    Permission(ROLES_DELETE) => web::roles::confirm_delete;
    POST "/roles/{id}/delete",    Permission(ROLES_DELETE) => web::roles::delete;
    GET  "/team",                 Permission(USERS_RETRIEVE) => web::console::team;
    GET  "/audit",                Permission(AUDIT_LOG_RETRIEVE) => web::console::audit;
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
