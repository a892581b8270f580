//! The JSON API for connected systems. Every endpoint authenticates with an API key
//! (`Authorization: Bearer <key>` or `X-Api-Key`) and calls the same services as the console, so the
//! same permission checks and no-escalation rule apply.

pub mod audit;
pub mod keys;
pub mod openapi;
pub mod permissions;
pub mod responses;
pub mod roles;
pub mod users;
pub mod verify;

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::error::JsonPayloadError;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use chrono::NaiveDateTime;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::error::AppError;

/// The largest JSON body the API reads.
pub const JSON_LIMIT_BYTES: usize = 256 * 1024;
pub const DEFAULT_PAGE: i64 = 50;
pub const MAX_PAGE: i64 = 200;

/// `?limit=&cursor=` of list endpoints.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// How many items to answer (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page; absent or empty: the first page.
    pub cursor: Option<String>,
}

impl PageQuery {
    pub fn limit(&self) -> Result<i64, AppError> {
        match self.limit {
            None => Ok(DEFAULT_PAGE),
            Some(n) if (1..=MAX_PAGE).contains(&n) => Ok(n),
            Some(_) => Err(AppError::validation(
                "limit",
                format!("limit must be between 1 and {MAX_PAGE}."),
            )),
        }
    }

    pub fn cursor(&self) -> Option<String> {
        self.cursor.clone().filter(|c| !c.is_empty())
    }
}

/// A page of a list: the items and, when more follow, the cursor of the next page.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListResponse<T: Serialize> {
    pub data: Vec<T>,
    /// Pass as `?cursor=` for the next page; null on the last page.
    #[schema(required = true)]
    pub next_cursor: Option<String>,
}

impl<T: Serialize> ListResponse<T> {
    /// Builds a page from `limit + 1` fetched items: the extra one only says that more follow.
    pub fn from_fetched(mut items: Vec<T>, limit: i64, cursor_of: impl Fn(&T) -> String) -> Self {
        let more = items.len() as i64 > limit;
        items.truncate(limit as usize);
        let next_cursor = if more {
            items.last().map(&cursor_of)
        } else {
            None
        };
        Self {
            data: items,
            next_cursor,
        }
    }
}

/// JSON bodies: 256 KiB at most, unknown fields refused, every failure a JSON error.
pub fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(JSON_LIMIT_BYTES)
        .error_handler(|err, _req| {
            let app_err = match err {
                JsonPayloadError::Overflow { .. }
                | JsonPayloadError::OverflowKnownLength { .. } => AppError::PayloadTooLarge {
                    limit_kib: JSON_LIMIT_BYTES / 1024,
                },
                JsonPayloadError::ContentType => AppError::BadRequest(
                    "Send a JSON body with `Content-Type: application/json`.".into(),
                ),
                JsonPayloadError::Deserialize(e) => {
                    AppError::validation("body", format!("The JSON body is not valid: {e}."))
                }
                other => AppError::BadRequest(format!("The JSON body could not be read: {other}.")),
            };
            app_err.into()
        })
}

/// A JSON body of the API. It is read as `web::Json` reads it (same limit and errors, see
/// [`json_config`]), and text holding a NUL character (`\u0000`) is refused with 422 and the path of
/// the field that holds it: no name, description or id contains one, and PostgreSQL cannot store it.
pub struct ApiJson<T>(pub T);

impl<T> ApiJson<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for ApiJson<T> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let read = web::Json::<Value>::from_request(req, payload);
        Box::pin(async move {
            let value = read.await?.into_inner();
            if let Some(field) = field_with_nul(&value, String::new()) {
                return Err(AppError::validation(
                    &field,
                    "Text may not contain the NUL character (\\u0000).",
                )
                .into());
            }
            T::deserialize(value).map(ApiJson).map_err(|e| {
                AppError::validation("body", format!("The JSON body is not valid: {e}.")).into()
            })
        })
    }
}

/// The path (`name`, `new_roles[0].name`) of the first string, or object key, holding a NUL character.
fn field_with_nul(value: &Value, path: String) -> Option<String> {
    let at = |path: String| Some(if path.is_empty() { "body".into() } else { path });
    match value {
        Value::String(text) if text.contains('\0') => at(path),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| field_with_nul(item, format!("{path}[{i}]"))),
        Value::Object(members) => members.iter().find_map(|(key, member)| {
            let inner = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            if key.contains('\0') {
                at(path.clone())
            } else {
                field_with_nul(member, inner)
            }
        }),
        _ => None,
    }
}

/// Query strings: malformed or unknown parameters are a 422 with a message.
pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err, _req| {
        AppError::validation("query", format!("The query string is not valid: {err}.")).into()
    })
}

pub fn created<T: Serialize>(body: &T) -> HttpResponse {
    HttpResponse::Created().json(body)
}

/// RFC 3339 time as stored (UTC).
pub fn rfc3339(at: &NaiveDateTime) -> String {
    at.and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// For PATCH bodies: absent field → `None`, `null` → `Some(None)`, value → `Some(Some(v))`.
pub fn double_option<'de, T, D>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// Parses an RFC 3339 time into UTC.
pub fn parse_time(field: &str, value: &str) -> Result<NaiveDateTime, AppError> {
    chrono::DateTime::parse_from_rfc3339(value)
        .map(|t| t.naive_utc())
        .map_err(|_| {
            AppError::validation(
                field,
                "Use an RFC 3339 time, for example 2027-01-31T00:00:00Z.",
            )
        })
}

/// A role as the API shows it inside other objects.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RoleRef {
    pub id: String,
    pub name: String,
}

impl From<(String, String)> for RoleRef {
    fn from((id, name): (String, String)) -> Self {
        Self { id, name }
    }
}
