//! Cross-cutting request handling: access checks per route, the cross-site guard, error rendering,
//! security headers, request logging, and keeping the session middleware off the JSON API.

pub mod access;
pub mod error_format;
pub mod except_api;
pub mod request_guard;
pub mod request_log;
pub mod security_headers;
