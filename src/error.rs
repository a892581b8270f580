//! One error type for the whole application. It renders itself as an HTML page; the
//! [`crate::middleware::error_format`] middleware re-renders it as JSON under `/api/` and turns
//! "sign in required" into a redirect for pages.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use askama::Template;
use serde::Serialize;

use crate::authz::{catalog, KeyRefusal};

/// The `Retry-After` (seconds) of a 503 while the database is unavailable: Latchkey notices the
/// database's return within about a second, so a client retrying after this finds it served.
pub const UNAVAILABLE_RETRY_AFTER_SECS: u64 = 5;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("The page or object you asked for does not exist.")]
    NotFound,
    #[error("Sign in to continue.")]
    Unauthenticated,
    /// An API request whose key does not authenticate.
    #[error("{}", .refusal.sentence())]
    InvalidKey { refusal: KeyRefusal },
    /// `permission` is missing; `reason`, when the refusal is by rank (the object's roles reach
    /// beyond the principal's), is the sentence the page shows beside the disabled action.
    #[error("{}", .reason.clone().unwrap_or_else(|| forbidden_sentence(.permission)))]
    Forbidden {
        permission: String,
        reason: Option<String>,
    },
    #[error("{message}")]
    Validation { field: String, message: String },
    #[error("{0}")]
    Conflict(String),
    /// A field at odds with the current state (a name taken, a reference to something absent).
    #[error("{message}")]
    FieldConflict { field: String, message: String },
    #[error("{message}")]
    TooManyRequests {
        message: String,
        retry_after_secs: u64,
    },
    /// The address exists but does not answer this method; `allow` lists those it does (`GET, HEAD`).
    #[error("This address does not answer that method. It answers {allow}.")]
    MethodNotAllowed { allow: String },
    #[error("The request is too large: the limit is {limit_kib} KiB.")]
    PayloadTooLarge { limit_kib: usize },
    #[error("{0}")]
    BadRequest(String),
    #[error("This request came from another site and was blocked to protect your account. Go back, reload the page and try again.")]
    CrossSiteRequest,
    /// The database cannot be reached (or no connection became free); the detail is for logs.
    #[error("Latchkey cannot reach its database right now, so this could not be done. Try again in a few seconds.")]
    Unavailable(String),
    #[error("Something went wrong on our side. Try again; if it keeps happening, ask your operator to check the server log.")]
    Internal(String),
}

/// The sentence shown to someone who lacks a permission, on pages and in API answers alike.
pub fn forbidden_sentence(permission: &str) -> String {
    match catalog::builtin(permission) {
        Some(entry) => format!(
            "You need the `{permission}` permission to {}. Ask someone who can manage your roles to grant it.",
            entry.action_phrase
        ),
        None => format!(
            "You need the `{permission}` permission to do this. Ask someone who can manage your roles to grant it."
        ),
    }
}

impl AppError {
    pub fn forbidden(permission: &str) -> Self {
        Self::Forbidden {
            permission: permission.to_string(),
            reason: None,
        }
    }

    /// Refused by rank: acting on the object needs `permission`, which the principal lacks;
    /// `reason` says so as the page does.
    pub fn outranked(permission: &str, reason: String) -> Self {
        Self::Forbidden {
            permission: permission.to_string(),
            reason: Some(reason),
        }
    }

    pub fn validation(field: &str, message: impl Into<String>) -> Self {
        Self::Validation {
            field: field.to_string(),
            message: message.into(),
        }
    }

    /// A stable machine-readable code for the JSON rendering.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotFound => "NOT_FOUND",
            Self::Unauthenticated => "UNAUTHENTICATED",
            // A request without any key is answered like an invalid one (with its own message).
            Self::InvalidKey {
                refusal: KeyRefusal::Missing,
            } => KeyRefusal::InvalidKey.as_str(),
            Self::InvalidKey { refusal } => refusal.as_str(),
            Self::Forbidden { .. } => "INSUFFICIENT_PERMISSIONS",
            Self::Validation { .. } => "VALIDATION_FAILED",
            Self::Conflict(_) | Self::FieldConflict { .. } => "CONFLICT",
            Self::TooManyRequests { .. } => "RATE_LIMITED",
            Self::MethodNotAllowed { .. } => "METHOD_NOT_ALLOWED",
            Self::PayloadTooLarge { .. } => "PAYLOAD_TOO_LARGE",
            Self::BadRequest(_) => "BAD_REQUEST",
            Self::CrossSiteRequest => "CROSS_SITE_REQUEST",
            Self::Unavailable(_) => "UNAVAILABLE",
            Self::Internal(_) => "INTERNAL",
        }
    }

    fn title(&self) -> &'static str {
        match self {
            Self::NotFound => "Not found",
            Self::Unauthenticated => "Sign in required",
            Self::InvalidKey { .. } => "API key refused",
            Self::Forbidden { .. } => "Permission needed",
            Self::Validation { .. } | Self::BadRequest(_) => "Please check your input",
            Self::Conflict(_) | Self::FieldConflict { .. } => "Already changed",
            Self::TooManyRequests { .. } => "Too many attempts",
            Self::MethodNotAllowed { .. } => "Method not allowed",
            Self::PayloadTooLarge { .. } => "Request too large",
            Self::CrossSiteRequest => "Request blocked",
            Self::Unavailable(_) => "Database unavailable",
            Self::Internal(_) => "Something went wrong",
        }
    }

    /// The JSON body used under `/api/`: `{"error": {"code", "message", "field"?, "required"?}}`.
    pub fn to_json(&self) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                code: self.code(),
                message: self.to_string(),
                field: match self {
                    Self::Validation { field, .. } | Self::FieldConflict { field, .. } => {
                        Some(field.clone())
                    }
                    _ => None,
                },
                required: match self {
                    Self::Forbidden { permission, .. } => Some(permission.clone()),
                    _ => None,
                },
            },
        }
    }

    /// Seconds a client should wait before retrying, sent as `Retry-After`.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            Self::TooManyRequests {
                retry_after_secs, ..
            } => Some(*retry_after_secs),
            Self::Unavailable(_) => Some(UNAVAILABLE_RETRY_AFTER_SECS),
            _ => None,
        }
    }

    /// Adds `Retry-After` to an answer of this error, when it has one.
    pub fn add_retry_after(&self, response: &mut actix_web::HttpResponseBuilder) {
        if let Some(secs) = self.retry_after_secs() {
            response.insert_header((actix_web::http::header::RETRY_AFTER, secs.to_string()));
        }
    }

    fn log(&self) {
        match self {
            Self::Internal(detail) => tracing::error!(error = %detail, "internal error"),
            // Not per request: the database layer logs an outage once when it starts and once when
            // it ends (see the database's outage tracker), and a pool that stays exhausted at most every 10 s.
            Self::Unavailable(detail) => tracing::debug!(error = %detail, "database unavailable"),
            _ => {}
        }
    }
}

/// Every error the API answers: `{"error": {"code", "message", "field"?, "required"?}}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Error)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// A stable machine-readable code, e.g. `NOT_FOUND`, `INSUFFICIENT_PERMISSIONS`, `VALIDATION_FAILED`.
    pub code: &'static str,
    /// A sentence for people.
    pub message: String,
    /// `VALIDATION_FAILED` only: the input at fault (a body field, `body`, `query`, `limit`, `cursor`…).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub field: Option<String>,
    /// `INSUFFICIENT_PERMISSIONS` only: the permission the caller lacks.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub required: Option<String>,
}

#[derive(Template)]
#[template(path = "errors/error.html")]
struct ErrorPage<'a> {
    status: u16,
    title: &'a str,
    message: String,
    permission: Option<&'a str>,
    /// The database is unavailable: the page says it will work again by itself.
    database_down: bool,
}

#[derive(Template)]
#[template(path = "partials/error_fragment.html")]
struct ErrorFragment<'a> {
    message: String,
    permission: Option<&'a str>,
}

impl AppError {
    /// For htmx requests: the message as a flash, swapped into the page's flash area instead of the
    /// request's own target.
    pub fn fragment_response(&self) -> HttpResponse {
        self.log();
        let fragment = ErrorFragment {
            message: self.to_string(),
            permission: match self {
                Self::Forbidden { permission, .. } => Some(permission),
                _ => None,
            },
        };
        match fragment.render() {
            Ok(html) => {
                let mut response = HttpResponse::build(self.status_code());
                self.add_retry_after(&mut response);
                response
                    .insert_header(("HX-Retarget", "#flash-area"))
                    .insert_header(("HX-Reswap", "innerHTML"))
                    .content_type("text/html; charset=utf-8")
                    .body(html)
            }
            Err(_) => self.error_response(),
        }
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Unauthenticated | Self::InvalidKey { .. } => StatusCode::UNAUTHORIZED,
            Self::Forbidden { .. } | Self::CrossSiteRequest => StatusCode::FORBIDDEN,
            Self::Validation { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Conflict(_) | Self::FieldConflict { .. } => StatusCode::CONFLICT,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        self.log();
        let status = self.status_code();
        let page = ErrorPage {
            status: status.as_u16(),
            title: self.title(),
            message: self.to_string(),
            permission: match self {
                Self::Forbidden { permission, .. } => Some(permission),
                _ => None,
            },
            database_down: matches!(self, Self::Unavailable(_)),
        };
        let mut response = HttpResponse::build(status);
        self.add_retry_after(&mut response);
        if let Self::MethodNotAllowed { allow } = self {
            response.insert_header((actix_web::http::header::ALLOW, allow.as_str()));
        }
        match page.render() {
            Ok(html) => response.content_type("text/html; charset=utf-8").body(html),
            Err(e) => {
                tracing::error!(error = %e, "cannot render the error page");
                response
                    .content_type("text/plain; charset=utf-8")
                    .body(self.to_string())
            }
        }
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(err: diesel::result::Error) -> Self {
        match err {
            diesel::result::Error::NotFound => Self::NotFound,
            // The connection broke under the query (the database went away): a 503 like any other
            // request during the outage, not a 500.
            diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::ClosedConnection,
                ref info,
            ) => Self::Unavailable(format!("the connection closed: {}", info.message())),
            // PostgreSQL cannot store text holding a NUL character; SQLite can. Typed input that
            // reaches the database with one (a console form) is the caller's mistake, not a 500.
            diesel::result::Error::DatabaseError(_, ref info)
                if info.message().starts_with("invalid byte sequence") =>
            {
                Self::BadRequest("Text may not contain the NUL character.".into())
            }
            // A unique index caught what a service's own check could not see yet (a concurrent
            // writer): the services name the field where they can; anything else is a conflict.
            diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            ) => Self::Conflict(
                "Someone else saved the same thing at the same moment. Reload and try again."
                    .into(),
            ),
            // The services check that what a change refers to exists; a foreign key that still
            // fails means it was deleted at the same moment (a role given while being deleted).
            diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::ForeignKeyViolation,
                _,
            ) => Self::Conflict(
                "Something this change refers to was deleted at the same moment. Reload and try again."
                    .into(),
            ),
            other => Self::Internal(format!("database error: {other}")),
        }
    }
}

impl From<askama::Error> for AppError {
    fn from(err: askama::Error) -> Self {
        Self::Internal(format!("template error: {err}"))
    }
}

impl From<actix_session::SessionInsertError> for AppError {
    fn from(err: actix_session::SessionInsertError) -> Self {
        Self::Internal(format!("session error: {err}"))
    }
}

impl From<actix_session::SessionGetError> for AppError {
    fn from(err: actix_session::SessionGetError) -> Self {
        Self::Internal(format!("session error: {err}"))
    }
}
