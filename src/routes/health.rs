//! Liveness and readiness for orchestrators and load balancers.

use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::error::AppError;
use crate::models::setting;
use crate::startup::AppState;

/// The process is up.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// The database answers and holds Latchkey's schema; 503 otherwise.
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let answer = state
        .db
        .run(|conn| setting::ping(conn).map_err(AppError::from))
        .await;
    match answer {
        Ok(_) => HttpResponse::Ok().json(json!({ "status": "ready" })),
        Err(err) => {
            tracing::warn!(error = ?err, "readiness check failed");
            HttpResponse::ServiceUnavailable()
                .json(json!({ "status": "unavailable", "reason": err.to_string() }))
        }
    }
}
