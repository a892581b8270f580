//! Cross-cutting request handling: access checks per route, the cross-site guard, error rendering,
//! security headers and request logging.

pub mod access;
pub mod error_format;
pub mod request_guard;
pub mod request_log;
pub mod security_headers;
