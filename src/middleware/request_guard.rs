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
use std::net::{IpAddr, SocketAddr};

use crate::error::AppError;
use crate::limits::MAX_BODY_BYTES;
use crate::paths::is_api;
use crate::state::AppState;

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
    if !safe && !is_api(req.path()) && !is_same_origin(&req) {
        // One bounded line per refusal: the path is cut like the audit log's.
        let path = crate::limits::truncate(req.path(), crate::limits::AUDIT_TEXT_MAX);
        tracing::warn!(path = %path, "cross-site request refused");
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
    Some(if is_api(req.path()) {
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
            let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
            origin_of_bound_address(origin, host, req.app_config().local_addr())
        }
    }
}

/// Without a configured public URL, the console's origin is the address it listens on: plain
/// `http://` (it does not terminate TLS), the bound port, and
/// - for a bound address (`127.0.0.1:8080`, `192.0.2.5:8080`): that address (and `localhost` for a
///   loopback one);
/// - for an unspecified one (`0.0.0.0:8080`, `[::]:8080`), which any name may reach: the `Host` the
///   browser sent, on the bound port. A cross-site page cannot choose that header (nor the Origin);
///   forwarding headers (`X-Forwarded-Host`, `Forwarded`) are never read, since any client can send them.
///
/// Behind a proxy, or with https, the origin differs from all of these: set `LATCHKEY_PUBLIC_URL`.
fn origin_of_bound_address(origin: &str, host: Option<&str>, bound: SocketAddr) -> bool {
    let Ok(origin) = url::Url::parse(origin) else {
        return false;
    };
    if origin.scheme() != "http"
        || origin.port_or_known_default() != Some(bound.port())
        || origin.path() != "/"
        || origin.query().is_some()
        || !origin.username().is_empty()
    {
        return false;
    }
    let named = match origin.host() {
        Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
        _ => None,
    };
    let bound_ip = bound.ip();
    if !bound_ip.is_unspecified() {
        return named == Some(bound_ip)
            || (bound_ip.is_loopback() && origin.host_str() == Some("localhost"));
    }
    let Some(host) = host else {
        return false;
    };
    url::Url::parse(&format!("http://{host}/"))
        .is_ok_and(|from_host| from_host.origin() == origin.origin())
}

#[cfg(test)]
mod tests {
    use super::origin_of_bound_address;

    fn accepted(origin: &str, host: Option<&str>, bound: &str) -> bool {
        origin_of_bound_address(origin, host, bound.parse().expect("a socket address"))
    }

    #[test]
    fn a_bound_address_is_its_own_origin() {
        assert!(accepted(
            "http://127.0.0.1:8080",
            Some("127.0.0.1:8080"),
            "127.0.0.1:8080"
        ));
        assert!(accepted(
            "http://localhost:8080",
            Some("localhost:8080"),
            "127.0.0.1:8080"
        ));
        assert!(accepted("http://[::1]:8080", None, "[::1]:8080"));
        assert!(accepted("http://192.0.2.5", None, "192.0.2.5:80"));
        // The scheme, the port and the host all count; Host cannot widen a bound address.
        assert!(!accepted(
            "https://127.0.0.1:8080",
            Some("127.0.0.1:8080"),
            "127.0.0.1:8080"
        ));
        assert!(!accepted(
            "http://127.0.0.1:9090",
            Some("127.0.0.1:9090"),
            "127.0.0.1:8080"
        ));
        assert!(!accepted(
            "http://evil.example:8080",
            Some("evil.example:8080"),
            "127.0.0.1:8080"
        ));
        assert!(!accepted(
            "http://localhost:8080",
            Some("localhost:8080"),
            "192.0.2.5:8080"
        ));
        assert!(!accepted("null", Some("127.0.0.1:8080"), "127.0.0.1:8080"));
    }

    #[test]
    fn an_unspecified_bind_accepts_the_host_on_the_bound_port_over_http_only() {
        assert!(accepted(
            "http://keys.lan:8080",
            Some("keys.lan:8080"),
            "0.0.0.0:8080"
        ));
        assert!(accepted(
            "http://KEYS.lan:8080",
            Some("keys.lan:8080"),
            "[::]:8080"
        ));
        assert!(!accepted(
            "http://evil.example:8080",
            Some("keys.lan:8080"),
            "0.0.0.0:8080"
        ));
        assert!(!accepted(
            "https://keys.lan:8080",
            Some("keys.lan:8080"),
            "0.0.0.0:8080"
        ));
        // A proxy on another port (Host without the bound port) needs LATCHKEY_PUBLIC_URL.
        assert!(!accepted(
            "http://keys.lan",
            Some("keys.lan"),
            "0.0.0.0:8080"
        ));
        assert!(!accepted("http://keys.lan:8080", None, "0.0.0.0:8080"));
    }
}
