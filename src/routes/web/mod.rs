//! HTML pages and htmx fragments.

pub mod account;
pub mod api_reference;
pub mod audit;
pub mod auth;
pub mod console;
pub mod development;
pub mod form;
pub mod permissions;
pub mod pickers;
pub mod roles;
pub mod setup;
pub mod team;

use std::net::IpAddr;

use actix_web::http::{header, StatusCode};
use actix_web::{HttpRequest, HttpResponse};
use askama::Template;

use crate::error::AppError;

/// The client's address: the connected peer (not a forwarded header, which a client could forge).
/// Every per-address limit and every address in the audit log comes from here.
pub fn client_addr(req: &HttpRequest) -> Option<IpAddr> {
    req.peer_addr().map(|addr| addr.ip())
}

/// [`client_addr`] as text, as the audit log records it.
pub fn client_ip(req: &HttpRequest) -> Option<String> {
    client_addr(req).map(|ip| ip.to_string())
}

/// The browser's `User-Agent`, to tell a person's sessions apart on the Account page.
pub fn user_agent(req: &HttpRequest) -> Option<&str> {
    req.headers()
        .get(header::USER_AGENT)
        .and_then(|value| value.to_str().ok())
}

/// A redirect after a successful form post (Post/Redirect/Get).
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

/// A local path to return to after sign-in; anything else (another site, `//host`) becomes `/`.
pub fn safe_return_path(next: Option<&str>) -> String {
    match next {
        Some(path) if path.starts_with('/') && !path.starts_with("//") && !path.contains('\\') => {
            path.to_string()
        }
        _ => "/".to_string(),
    }
}

/// Renders a page with a status (422 for a form with errors, 200 otherwise).
pub fn render(page: impl Template, status: StatusCode) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(page.render()?))
}

/// The origin people use to reach the console, for links handed to someone else.
pub fn public_origin(req: &HttpRequest, configured: Option<&str>) -> String {
    match configured {
        Some(origin) => origin.to_string(),
        None => {
            let info = req.connection_info();
            format!("{}://{}", info.scheme(), info.host())
        }
    }
}

/// A list page: the page shown (the one asked for, within range), how many pages there are, and the
/// offset of its first row.
pub struct PageWindow {
    pub page: i64,
    pub pages: i64,
    pub offset: i64,
}

impl PageWindow {
    pub fn new(total: i64, requested: i64, size: i64) -> Self {
        let pages = ((total + size - 1) / size).max(1);
        let page = requested.clamp(1, pages);
        Self {
            page,
            pages,
            offset: (page - 1) * size,
        }
    }
}
