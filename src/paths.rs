//! Which part of the server a path belongs to. The JSON API answers in JSON and authenticates with
//! keys only; every other path is the console's.

/// Where every path of the JSON API starts.
pub const API_PREFIX: &str = "/api/";

/// Whether a path belongs to the JSON API.
pub fn is_api(path: &str) -> bool {
    path.starts_with(API_PREFIX)
}
