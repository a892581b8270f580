//! One log line per request: method, path (never the query string, which may hold a token), status,
//! duration and a request id that is also sent back in `X-Request-Id`.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::Error;

pub async fn log_requests(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let request_id = uuid::Uuid::now_v7().simple().to_string();
    let method = req.method().clone();
    let path = req.path().to_string();
    let outcome = next.call(req).await;
    let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    match outcome {
        Ok(mut res) => {
            let status = res.status().as_u16();
            tracing::info!(%method, %path, status, duration_ms = format!("{duration_ms:.2}"), request_id = %request_id, "request");
            if let Ok(value) = HeaderValue::from_str(&request_id) {
                res.headers_mut()
                    .insert(HeaderName::from_static("x-request-id"), value);
            }
            Ok(res)
        }
        Err(err) => {
            let status = err.as_response_error().status_code().as_u16();
            tracing::info!(%method, %path, status, duration_ms = format!("{duration_ms:.2}"), request_id = %request_id, "request");
            Err(err)
        }
    }
}
