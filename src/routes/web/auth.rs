//! Signing in and out.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::auth::session as auth_session;
use crate::auth::Principal;
use crate::error::AppError;
use crate::routes::web::layout::ASSET_VERSION;
use crate::routes::web::{client_ip, safe_return_path, see_other, user_agent};
use crate::services::sign_in::{self, SignInOutcome};
use crate::state::AppState;

#[derive(Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
    signed_out: Option<String>,
}

#[derive(Deserialize)]
pub struct LoginForm {
    email: String,
    password: String,
    #[serde(default)]
    next: String,
}

#[derive(Template)]
#[template(path = "pages/login.html")]
struct LoginPage {
    asset_version: &'static str,
    email: String,
    next: String,
    error: Option<String>,
    notice: Option<&'static str>,
}

fn render(page: LoginPage, status: StatusCode) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(page.render()?))
}

pub async fn form(
    principal: Option<Principal>,
    query: web::Query<LoginQuery>,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    if principal.is_some() {
        return Ok(see_other(&safe_return_path(query.next.as_deref())));
    }
    render(
        LoginPage {
            asset_version: ASSET_VERSION,
            email: String::new(),
            next: safe_return_path(query.next.as_deref()),
            error: None,
            notice: query.signed_out.map(|_| "You have signed out."),
        },
        StatusCode::OK,
    )
}

pub async fn submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse, AppError> {
    let LoginForm {
        email,
        password,
        next,
    } = form.into_inner();
    let next = safe_return_path(Some(&next));
    let outcome = sign_in::sign_in(&state.db, email.clone(), password, client_ip(&req)).await?;
    let status = match outcome {
        SignInOutcome::SignedIn(ref user) => {
            auth_session::start(&session, user, client_ip(&req), user_agent(&req))?;
            return Ok(see_other(&next));
        }
        SignInOutcome::InvalidCredentials => StatusCode::UNAUTHORIZED,
        SignInOutcome::Throttled { .. }
        | SignInOutcome::AddressThrottled { .. }
        | SignInOutcome::Busy { .. } => StatusCode::TOO_MANY_REQUESTS,
    };
    let mut response = render(
        LoginPage {
            asset_version: ASSET_VERSION,
            email,
            next,
            error: outcome.refusal(),
            notice: None,
        },
        status,
    )?;
    if let Some(secs) = outcome.retry_after_secs() {
        if let Ok(value) = actix_web::http::header::HeaderValue::from_str(&secs.to_string()) {
            response
                .headers_mut()
                .insert(actix_web::http::header::RETRY_AFTER, value);
        }
    }
    Ok(response)
}

pub async fn sign_out(
    principal: Principal,
    state: web::Data<AppState>,
    session: Session,
) -> Result<HttpResponse, AppError> {
    sign_in::record_sign_out(&state.db, &principal).await?;
    auth_session::end(&session);
    Ok(see_other("/login?signed_out=1"))
}
