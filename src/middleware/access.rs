//! Enforces the access level that the route table gives each route, before the handler runs, and
//! audits every refusal of a known caller: its own, and the ones the handler's service decided (a
//! rank rule, a permission an object needs).

use std::future::{ready, Future, Ready};
use std::pin::Pin;
use std::rc::Rc;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::{web, Error, HttpMessage};

use crate::auth::Principal;
use crate::db::Db;
use crate::error::AppError;
use crate::services::audit_log;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, signed in or not (sign-in page, health checks, assets).
    Public,
    /// Any signed-in user, whatever their roles.
    SignedIn,
    /// A signed-in user holding this permission.
    Permission(&'static str),
}

/// Middleware factory: `route.wrap(RequireAccess(Access::Permission("roles.create")))`.
#[derive(Debug, Clone, Copy)]
pub struct RequireAccess(pub Access);

impl<S, B> Transform<S, ServiceRequest> for RequireAccess
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<BoxBody>;
    type Error = Error;
    type Transform = RequireAccessService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, ()>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(RequireAccessService {
            service: Rc::new(service),
            access: self.0,
        }))
    }
}

pub struct RequireAccessService<S> {
    service: Rc<S>,
    access: Access,
}

impl<S, B> Service<ServiceRequest> for RequireAccessService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<BoxBody>;
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Error>>>>;

    actix_web::dev::forward_ready!(service);

    fn call(&self, mut req: ServiceRequest) -> Self::Future {
        let service = Rc::clone(&self.service);
        let access = self.access;
        Box::pin(async move {
            if access != Access::Public {
                // Extracting keeps the principal on the request (see `Principal::from_request`),
                // before the check, so that a refusal can be audited with its actor.
                let principal = match req.extract::<Principal>().await {
                    Ok(principal) => principal,
                    Err(err) => return Ok(req.error_response(err)),
                };
                if let Access::Permission(permission) = access {
                    if !principal.can(permission) {
                        let path =
                            crate::limits::truncate(req.path(), crate::limits::AUDIT_TEXT_MAX);
                        tracing::info!(actor = %principal.label, permission, path = %path, "permission denied");
                        record_denial(req.request(), permission).await;
                        return Ok(req.error_response(AppError::forbidden(permission)));
                    }
                }
            }
            let res = service.call(req).await?;
            if let Some(AppError::Forbidden { permission, .. }) = res
                .response()
                .error()
                .and_then(|e| e.as_error::<AppError>())
            {
                record_denial(res.request(), permission).await;
            }
            Ok(res.map_into_boxed_body())
        })
    }
}

/// Audits a refusal, when the caller is known: key checks for other services (forward auth) stay
/// free of database writes.
async fn record_denial(request: &actix_web::HttpRequest, permission: &str) {
    let Some(principal) = request.extensions().get::<Principal>().cloned() else {
        return;
    };
    let Some(db) = request.app_data::<web::Data<Db>>() else {
        return;
    };
    let attempt = format!("{} {}", request.method(), request.path());
    audit_log::record_denial(db, principal, attempt, permission.to_string()).await;
}
