//! Liveness and readiness for orchestrators and load balancers.

use actix_web::http::header::RETRY_AFTER;
use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::error::{AppError, UNAVAILABLE_RETRY_AFTER_SECS};
use crate::services::health;
use crate::state::AppState;

/// The process is up.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// The database answers and holds Latchkey's schema; 503 (with `Retry-After`) otherwise, within a
/// fraction of a second during an outage. An outage is logged once by the database layer, not at
/// every probe.
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    match health::check_ready(&state.db).await {
        Ok(_) => HttpResponse::Ok().json(json!({ "status": "ready" })),
        Err(err) => {
            if !matches!(err, AppError::Unavailable(_)) {
                tracing::warn!(error = ?err, "readiness check failed");
            }
            HttpResponse::ServiceUnavailable()
                .insert_header((RETRY_AFTER, UNAVAILABLE_RETRY_AFTER_SECS.to_string()))
                .json(json!({ "status": "unavailable", "reason": err.to_string() }))
        }
    }
}
