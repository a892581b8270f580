//! First-run setup page: create the first administrator with the one-time link from the log.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::auth::session::{self as auth_session, FlashKind};
use crate::error::AppError;
use crate::routes::web::layout::ASSET_VERSION;
use crate::routes::web::{client_ip, see_other, user_agent};
use crate::services::setup::{self, AdminInput};
use crate::services::{FieldErrors, FormError};
use crate::state::AppState;

#[derive(Deserialize)]
pub struct TokenQuery {
    token: Option<String>,
}

#[derive(Deserialize)]
pub struct SetupForm {
    token: String,
    email: String,
    #[serde(default)]
    display_name: String,
    password: String,
    password_confirmation: String,
}

#[derive(Template)]
#[template(path = "pages/setup.html")]
struct SetupPage {
    asset_version: &'static str,
    token: String,
    email: String,
    display_name: String,
    errors: FieldErrors,
}

fn render(page: SetupPage, status: StatusCode) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(page.render()?))
}

pub async fn form(
    state: web::Data<AppState>,
    query: web::Query<TokenQuery>,
) -> Result<HttpResponse, AppError> {
    let token = query.into_inner().token.unwrap_or_default();
    if !setup::link_opens_setup(&state.db, token.clone()).await? {
        return Err(AppError::NotFound);
    }
    render(
        SetupPage {
            asset_version: ASSET_VERSION,
            token,
            email: String::new(),
            display_name: String::new(),
            errors: FieldErrors::default(),
        },
        StatusCode::OK,
    )
}

pub async fn submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
    form: web::Form<SetupForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let input = AdminInput {
        email: form.email.clone(),
        display_name: form.display_name.clone(),
        password: form.password,
        password_confirmation: form.password_confirmation,
    };
    match setup::complete(&state.db, form.token.clone(), input, client_ip(&req)).await {
        Ok(admin) => {
            auth_session::start(&session, &admin, client_ip(&req), user_agent(&req))?;
            auth_session::flash(
                &session,
                FlashKind::Success,
                "Welcome to Latchkey. You are the first administrator and hold every permission.",
            )?;
            Ok(see_other("/"))
        }
        Err(FormError::Invalid(errors)) => render(
            SetupPage {
                asset_version: ASSET_VERSION,
                token: form.token,
                email: form.email,
                display_name: form.display_name,
                errors,
            },
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Err(FormError::Failed(err)) => Err(err),
    }
}
