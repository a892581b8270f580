//! Liveness and readiness for orchestrators and load balancers.

use actix_web::{web, HttpResponse};
use diesel::connection::SimpleConnection;
use serde_json::json;

use crate::error::AppError;
use crate::startup::AppState;

/// The process is up.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// The database answers; 503 otherwise.
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let answer = state
        .db
        .run(|conn| conn.batch_execute("SELECT 1").map_err(AppError::from))
        .await;
    match answer {
        Ok(()) => HttpResponse::Ok().json(json!({ "status": "ready" })),
        Err(err) => {
            tracing::warn!(error = ?err, "readiness check failed");
            HttpResponse::ServiceUnavailable().json(json!({ "status": "unavailable", "reason": err.to_string() }))
        }
    }
}
