//! Readiness: whether the database answers and holds Latchkey's schema.

use crate::db::Db;
use crate::error::AppError;
use crate::models::setting;

/// `Ok` when the database answers a query against Latchkey's own tables.
pub async fn check_ready(db: &Db) -> Result<(), AppError> {
    db.run(|conn| setting::ping(conn).map(|_| ()).map_err(AppError::from))
        .await
}
