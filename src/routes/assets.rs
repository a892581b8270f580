//! Static files compiled into the binary, with content types and cache validators.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use rust_embed::Embed;

use crate::auth::token::hex;
use crate::error::AppError;

#[derive(Embed)]
#[folder = "static/"]
struct Assets;

pub async fn serve(req: HttpRequest, path: web::Path<String>) -> Result<HttpResponse, AppError> {
    asset(&req, path.as_str())
}

/// `/favicon.ico`, for clients that ask for it without reading the pages' `<link rel="icon">`.
pub async fn favicon(req: HttpRequest) -> Result<HttpResponse, AppError> {
    asset(&req, "favicon.svg")
}

fn asset(req: &HttpRequest, path: &str) -> Result<HttpResponse, AppError> {
    let file = Assets::get(path).ok_or(AppError::NotFound)?;
    let etag = format!("\"{}\"", hex(&file.metadata.sha256_hash()[..16]));
    let cache = "public, max-age=86400";
    if req
        .headers()
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == etag.as_bytes())
    {
        return Ok(HttpResponse::NotModified()
            .insert_header((header::ETAG, etag))
            .insert_header((header::CACHE_CONTROL, cache))
            .finish());
    }
    Ok(HttpResponse::Ok()
        .content_type(file.metadata.mimetype())
        .insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, cache))
        .body(file.data.into_owned()))
}
