//! Runs a middleware on every request except the JSON API's. The API authenticates with keys only
//! and never reads the session, so the session middleware (reading the cookie, preparing a session
//! for each request) has nothing to do there.

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::Error;

use crate::paths::is_api;

/// Paths that never read the session besides the API's: static files and health checks. With the
/// session kept on the server, passing them through the session middleware would cost a database
/// read per stylesheet and script, and make `/readyz` depend on a session lookup.
fn needs_no_session(path: &str) -> bool {
    is_api(path) || path.starts_with("/static/") || path == "/healthz" || path == "/readyz"
}

/// `.wrap(ExceptApi(middleware))`: `middleware` runs for every request whose path is not under
/// `/api/` (nor a static file or a health check); those go straight to the inner service.
pub struct ExceptApi<T>(pub T);

/// The inner service, shared by the wrapped path and the direct one.
pub struct Shared<S>(Rc<S>);

impl<S, Req> Service<Req> for Shared<S>
where
    S: Service<Req>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&self, req: Req) -> S::Future {
        self.0.call(req)
    }
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T>>>;

impl<S, T, B> Transform<S, ServiceRequest> for ExceptApi<T>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    T: Transform<Shared<S>, ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
    T::Transform: 'static,
    T::Future: 'static,
    B: 'static,
{
    type Response = ServiceResponse<B>;
    type Error = Error;
    type Transform = ExceptApiService<S, T::Transform>;
    type InitError = T::InitError;
    type Future = BoxFuture<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        let direct = Rc::new(service);
        let wrapped = self.0.new_transform(Shared(Rc::clone(&direct)));
        Box::pin(async move {
            Ok(ExceptApiService {
                direct,
                wrapped: wrapped.await?,
            })
        })
    }
}

pub struct ExceptApiService<S, W> {
    direct: Rc<S>,
    wrapped: W,
}

impl<S, W, B> Service<ServiceRequest> for ExceptApiService<S, W>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    W: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
    W::Future: 'static,
    B: 'static,
{
    type Response = ServiceResponse<B>;
    type Error = Error;
    type Future = BoxFuture<Result<ServiceResponse<B>, Error>>;

    fn poll_ready(&self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.wrapped.poll_ready(cx)
    }

    fn call(&self, req: ServiceRequest) -> Self::Future {
        if needs_no_session(req.path()) {
            Box::pin(self.direct.call(req))
        } else {
            Box::pin(self.wrapped.call(req))
        }
    }
}
