//! Refuses, before any handler runs, state-changing requests that come from another site, bodies
//! that are too large, and addresses holding a NUL character.
//!
//! Cross-site protection checks where the browser says the request comes from: `Sec-Fetch-Site` must be
//! `same-origin`, or, from browsers that do not send it, `Origin` must be this console's origin. A
//! request with neither header is refused too. Session cookies are also `SameSite=Lax`. The JSON API
//! under `/api/` is exempt: a browser session never authorizes it.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method};
use actix_web::middleware::Next;
use actix_web::{web, Error};

use crate::error::AppError;
use crate::startup::{AppState, MAX_BODY_BYTES};

pub async fn guard_requests(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    if declared_length(&req).is_some_and(|len| len > MAX_BODY_BYTES) {
        return Ok(req.error_response(AppError::PayloadTooLarge {
            limit_kib: MAX_BODY_BYTES / 1024,
        }));
    }
    if let Some(refusal) = nul_in_address(&req) {
        return Ok(req.error_response(refusal));
    }
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe && !req.path().starts_with("/api/") && !is_same_origin(&req) {
        tracing::warn!(path = req.path(), "cross-site request refused");
        return Ok(req.error_response(AppError::CrossSiteRequest));
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_boxed_body)
}

/// A NUL character (`%00`) in the path or the query string: no id, name or filter holds one, and
/// PostgreSQL refuses to store or even compare text containing it. A path with one names nothing (404);
/// a query string with one is invalid input (422 under `/api/`, 400 for pages).
fn nul_in_address(req: &ServiceRequest) -> Option<AppError> {
    let has_nul = |text: &str| text.as_bytes().windows(3).any(|w| w == b"%00");
    if has_nul(req.uri().path()) {
        return Some(AppError::NotFound);
    }
    if !req.uri().query().is_some_and(has_nul) {
        return None;
    }
    let message = "The query string may not contain the NUL character (%00).";
    Some(if req.path().starts_with("/api/") {
        AppError::validation("query", message)
    } else {
        AppError::BadRequest(message.into())
    })
}

fn declared_length(req: &ServiceRequest) -> Option<usize> {
    req.headers()
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

fn is_same_origin(req: &ServiceRequest) -> bool {
    let headers = req.headers();
    if let Some(site) = headers.get("sec-fetch-site") {
        return site.as_bytes() == b"same-origin";
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let configured = req
        .app_data::<web::Data<AppState>>()
        .and_then(|state| state.public_origin.clone());
    match configured {
        Some(expected) => origin.eq_ignore_ascii_case(&expected),
        None => {
            let host = req.connection_info().host().to_string();
            origin
                .split_once("://")
                .is_some_and(|(_, authority)| authority.eq_ignore_ascii_case(&host))
        }
    }
}
