//! The answers endpoints share: the error responses and the string enums of the document's
//! schemas. Handlers name them in `#[utoipa::path]`; the document ([`super::openapi`]) adds the ones
//! the route table implies.

use utoipa::openapi::schema::{AllOfBuilder, ObjectBuilder, Schema, Type};
use utoipa::openapi::{Content, Header, Ref, RefOr, Response, ResponseBuilder};
use utoipa::ToResponse;

use crate::authz::{KeyRefusal, UserStatus};
use crate::error::AppError;
use crate::models::api_key::KeyStatus;

/// The JSON error body with `code` narrowed to `codes`, and `field` or `required` present when given.
pub fn error_content(codes: &[&str], required_member: Option<&str>) -> Content {
    let mut detail = ObjectBuilder::new().property(
        "code",
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(codes.iter().copied())),
    );
    if let Some(member) = required_member {
        detail = detail.required(member);
    }
    let narrowed = ObjectBuilder::new().property("error", detail);
    let schema = AllOfBuilder::new()
        .item(Ref::from_schema_name("Error"))
        .item(narrowed)
        .build();
    Content::new(Some(Schema::AllOf(schema)))
}

pub fn error_response(
    description: &str,
    codes: &[&str],
    required_member: Option<&str>,
    headers: &[(&str, &str)],
) -> RefOr<Response> {
    let mut response = ResponseBuilder::new()
        .description(description)
        .content("application/json", error_content(codes, required_member));
    for (name, header_description) in headers {
        let mut header = Header::new(ObjectBuilder::new().schema_type(Type::String));
        header.description = Some(header_description.to_string());
        response = response.header(*name, header);
    }
    RefOr::T(response.build())
}

macro_rules! error_responses {
    ($($name:ident => $build:expr;)*) => {
        $(
            pub struct $name;

            impl<'r> ToResponse<'r> for $name {
                fn response() -> (&'r str, RefOr<Response>) {
                    (stringify!($name), $build)
                }
            }
        )*
    };
}

error_responses! {
    BadRequest => error_response(
        "The request could not be read (for example a body without `Content-Type: application/json`).",
        &["BAD_REQUEST"],
        None,
        &[],
    );
    Unauthorized => error_response(
        "The request carries no key, or its key does not authenticate: `MALFORMED_KEY` (not `lk_<id>_<secret>`), `INVALID_KEY` (unknown, wrong secret, or no key at all, with a message saying how to send one), `EXPIRED` or `REVOKED`.",
        &key_refusal_codes(),
        None,
        &[("WWW-Authenticate", "`Bearer realm=\"latchkey\"`")],
    );
    Forbidden => error_response(
        "The key lacks a permission; `required` names it.",
        &["INSUFFICIENT_PERMISSIONS"],
        Some("required"),
        &[],
    );
    NotFound => error_response(
        "No such object.",
        &["NOT_FOUND"],
        None,
        &[],
    );
    Conflict => error_response(
        "The object's state does not allow this (for example a revoked key, the built-in Admin role, the last administrator), or a field is at odds with it (`field` names it: a name already taken, a role or permission that does not exist, an expiry already past).",
        &["CONFLICT"],
        None,
        &[],
    );
    PayloadTooLarge => error_response(
        "The body is larger than 256 KiB.",
        &["PAYLOAD_TOO_LARGE"],
        None,
        &[],
    );
    ValidationFailed => error_response(
        "The input is not valid; `field` names the input at fault: a body field (`name`, `new_roles[0].name`), `body` for a body that does not parse, `query` for an unknown or malformed query parameter or one holding a NUL character, `limit`, `cursor`. Text may not contain the NUL character anywhere.",
        &["VALIDATION_FAILED"],
        Some("field"),
        &[],
    );
    RateLimited => error_response(
        "Too many failed verifications from this client address; retry after `Retry-After` seconds.",
        &["RATE_LIMITED"],
        None,
        &[("Retry-After", "Seconds to wait before retrying.")],
    );
    Unavailable => error_response(
        "The database cannot be reached right now (or no connection became free); nothing was changed. Retry after `Retry-After` seconds. Key checks answered from the verification cache keep working during an outage.",
        &["UNAVAILABLE"],
        None,
        &[("Retry-After", "Seconds to wait before retrying.")],
    );
}

/// The `code`s a refused key answers, as [`AppError::code`] renders them.
pub fn key_refusal_codes() -> Vec<&'static str> {
    let mut codes: Vec<&'static str> = Vec::new();
    for &refusal in KeyRefusal::ALL {
        let rendered = AppError::InvalidKey { refusal }.code();
        if !codes.contains(&rendered) {
            codes.push(rendered);
        }
    }
    codes
}

fn string_enum(values: impl IntoIterator<Item = &'static str>) -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values))
        .build()
        .into()
}

/// `status` of a key.
pub fn key_status_schema() -> Schema {
    string_enum(
        [KeyStatus::Active, KeyStatus::Expired, KeyStatus::Revoked].map(|status| status.as_str()),
    )
}

/// `status` of a user.
pub fn user_status_schema() -> Schema {
    string_enum(UserStatus::ALL.iter().map(|status| status.as_str()))
}

/// `code` of a verification.
pub fn verify_code_schema() -> Schema {
    string_enum([
        "VALID",
        "NOT_FOUND",
        "MALFORMED",
        "EXPIRED",
        "REVOKED",
        "INSUFFICIENT_PERMISSIONS",
    ])
}
