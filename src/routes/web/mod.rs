//! HTML pages and htmx fragments.

pub mod account;
pub mod api_reference;
pub mod audit;
pub mod auth;
pub mod console;
pub mod form;
pub mod keys;
pub mod layout;
pub mod permissions;
pub mod pickers;
pub mod roles;
pub mod setup;
pub mod team;
pub mod views;

use actix_web::http::{header, StatusCode};
use actix_web::{HttpRequest, HttpResponse};
use askama::Template;

use crate::error::AppError;

/// The client's address, as text for the audit log ([`crate::auth::client_address`]: the peer, or
/// what a trusted proxy says).
pub fn client_ip(req: &HttpRequest) -> Option<String> {
    crate::auth::client_address(req).map(|ip| ip.to_string())
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

/// The origin `next` paths are resolved against. Any fixed origin does: what matters is only whether
/// the resolved URL is still on it, and then only its path and query are kept.
const RETURN_BASE: &str = "http://latchkey.invalid/";

/// A local path to return to after sign-in; anything else becomes `/`.
///
/// `next` is resolved as a browser would resolve it against the console's own origin (the WHATWG URL
/// rules: tabs and newlines dropped, `\` read as `/`, `//host` naming another host), and kept only when
/// the result is on that origin. What is returned is the normalised, percent-encoded path and query,
/// so it never holds a control character (a `Location` header cannot carry one).
pub fn safe_return_path(next: Option<&str>) -> String {
    let Some(next) = next.filter(|n| n.starts_with('/')) else {
        return "/".to_string();
    };
    let Ok(base) = url::Url::parse(RETURN_BASE) else {
        return "/".to_string();
    };
    match base.join(next) {
        Ok(resolved) if resolved.origin() == base.origin() => match resolved.query() {
            Some(query) => format!("{}?{query}", resolved.path()),
            None => resolved.path().to_string(),
        },
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
        // The Host the browser sent (never `X-Forwarded-Host` / `Forwarded`, which anyone can send);
        // plain http, since the console does not terminate TLS itself.
        None => {
            let host = req
                .headers()
                .get(header::HOST)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
                .unwrap_or_else(|| req.app_config().local_addr().to_string());
            format!("http://{host}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::safe_return_path;

    fn path(next: &str) -> String {
        safe_return_path(Some(next))
    }

    #[test]
    fn paths_a_browser_reads_as_another_site_go_home() {
        for next in [
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r\n/evil.example",
            "/\\evil.example",
            "/\t\\evil.example",
            "//evil.example",
            "///evil.example",
            "\t//evil.example",
            "https://evil.example/",
            "javascript:alert(1)",
            "",
        ] {
            assert_eq!(path(next), "/", "{next:?}");
        }
        assert_eq!(safe_return_path(None), "/");
    }

    #[test]
    fn local_paths_come_back_normalised_and_without_control_characters() {
        assert_eq!(path("/roles?page=2"), "/roles?page=2");
        assert_eq!(path("/development/../audit"), "/audit");
        assert_eq!(path("/team\u{1}x"), "/team%01x");
        assert_eq!(path("/a\r\nSet-Cookie: x=y"), "/aSet-Cookie:%20x=y");
        assert_eq!(path("/audit#top"), "/audit");
        assert!(path("/r\u{7f}\u{e9}").bytes().all(|b| b.is_ascii_graphic()));
    }
}
