//! Enforces the access level that the route table gives each route, before the handler runs.

use std::future::{ready, Future, Ready};
use std::pin::Pin;
use std::rc::Rc;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::Error;

use crate::auth::Principal;
use crate::error::AppError;

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
                        return Ok(req.error_response(AppError::forbidden(permission)));
                    }
                }
            }
            service
                .call(req)
                .await
                .map(ServiceResponse::map_into_boxed_body)
        })
    }
}
