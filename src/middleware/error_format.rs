//! Renders every error for its audience: JSON under `/api/`, a redirect to the sign-in page when a page
//! needs a session, a flash fragment for htmx requests, and the HTML error page otherwise (also for errors actix raises itself).

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{Error, HttpResponse, ResponseError};

use crate::error::AppError;

pub async fn render_errors(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let is_api = crate::paths::is_api(req.path());
    let is_htmx = req.headers().contains_key("hx-request");
    let res = next.call(req).await?;
    let Some(err) = res.response().error() else {
        return Ok(res.map_into_boxed_body());
    };
    let request = res.request();
    let return_to = (request.method() == Method::GET).then(|| {
        request
            .uri()
            .path_and_query()
            .map(|pq| pq.as_str().to_string())
            .unwrap_or_else(|| "/".into())
    });
    let status = res.status();
    let replacement = match err.as_error::<AppError>() {
        Some(app_err) if is_api => Some(json_response(app_err)),
        Some(AppError::Unauthenticated) => Some(sign_in_redirect(is_htmx, return_to.as_deref())),
        Some(app_err) if is_htmx => Some(app_err.fragment_response()),
        Some(_) => None,
        None => {
            let app_err = from_status(status, &err.to_string());
            Some(if is_api {
                json_response(&app_err)
            } else {
                app_err.error_response()
            })
        }
    };
    Ok(match replacement {
        Some(response) => {
            let (req, _) = res.into_parts();
            ServiceResponse::new(req, response).map_into_boxed_body()
        }
        None => res.map_into_boxed_body(),
    })
}

/// Wraps the session middleware (see [`crate::auth::session_store::scoped`]): a HEAD request's
/// changes to its session are not stored (HEAD consumes no one-time secret or flash message), and
/// when saving, updating or deleting the session failed (the database blinked between loading it
/// and saving it), the response is replaced by the "unavailable, try again" page (503 with
/// `Retry-After`; the htmx fragment for htmx requests) instead of actix-session's bare 500, so
/// that nothing of the original response (its redirect, its cookie) reaches the person as if the
/// write had happened.
pub async fn render_session_failures(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let is_htmx = req.headers().contains_key("hx-request");
    let read_only = req.method() == Method::HEAD;
    let (outcome, write_failed) =
        crate::auth::session_store::scoped(read_only, next.call(req)).await;
    let res = outcome?;
    if !write_failed {
        return Ok(res.map_into_boxed_body());
    }
    let err = AppError::Unavailable("the session could not be saved".into());
    let response = if is_htmx {
        err.fragment_response()
    } else {
        err.error_response()
    };
    let (req, _) = res.into_parts();
    Ok(ServiceResponse::new(req, response).map_into_boxed_body())
}

fn json_response(err: &AppError) -> HttpResponse {
    let mut response = HttpResponse::build(err.status_code());
    if matches!(err, AppError::InvalidKey { .. } | AppError::Unauthenticated) {
        response.insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"latchkey\""));
    }
    err.add_retry_after(&mut response);
    if let AppError::MethodNotAllowed { allow } = err {
        response.insert_header((header::ALLOW, allow.as_str()));
    }
    response.json(err.to_json())
}

fn sign_in_redirect(is_htmx: bool, return_to: Option<&str>) -> HttpResponse {
    let location = match return_to {
        Some(path) if path != "/" => format!("/login?next={}", url_encode(path)),
        _ => "/login".to_string(),
    };
    if is_htmx {
        HttpResponse::Ok()
            .insert_header(("HX-Redirect", location))
            .finish()
    } else {
        HttpResponse::SeeOther()
            .insert_header((header::LOCATION, location))
            .finish()
    }
}

fn url_encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// Maps an error raised by actix itself (a bad path, an unreadable body) to our own.
fn from_status(status: StatusCode, detail: &str) -> AppError {
    match status {
        StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED => AppError::NotFound,
        StatusCode::PAYLOAD_TOO_LARGE => AppError::PayloadTooLarge {
            limit_kib: crate::limits::FORM_LIMIT_BYTES / 1024,
        },
        s if s.is_client_error() => {
            AppError::BadRequest(format!("The request could not be read: {detail}"))
        }
        _ => AppError::Internal(detail.to_string()),
    }
}
