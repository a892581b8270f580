//! One log line per request: method, path (cut to 512 characters; never the query string, which may hold a token), status,
//! duration and a request id that is also sent back in `X-Request-Id`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::Error;
use rand::RngCore;
use uuid::Uuid;

pub async fn log_requests(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let mut id_buffer = Uuid::encode_buffer();
    let request_id: &str = request_id().simple().encode_lower(&mut id_buffer);
    // What the line needs is copied only when the line is written (not with LATCHKEY_LOG=warn).
    let logged = tracing::enabled!(tracing::Level::INFO).then(|| {
        let path = crate::limits::truncate(req.path(), crate::limits::AUDIT_TEXT_MAX);
        (req.method().clone(), path.into_owned())
    });
    let outcome = next.call(req).await;
    let status = match &outcome {
        Ok(res) => res.status(),
        Err(err) => err.as_response_error().status_code(),
    };
    if let Some((method, path)) = logged {
        let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
        tracing::info!(%method, %path, status = status.as_u16(), duration_ms = format!("{duration_ms:.2}"), request_id = %request_id, "request");
    }
    let mut res = outcome?;
    if let Ok(value) = HeaderValue::from_str(request_id) {
        res.headers_mut()
            .insert(HeaderName::from_static("x-request-id"), value);
    }
    Ok(res)
}

/// A UUID v7 (time-ordered, like the ids in the database) whose random part is this process's random
/// seed plus a counter: unique, and without asking the operating system for randomness on every
/// request as `Uuid::now_v7` does.
fn request_id() -> Uuid {
    static SEED: OnceLock<(u16, u64)> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let (high, low) = *SEED.get_or_init(|| {
        let mut rng = rand::rngs::OsRng;
        (rng.next_u32() as u16, rng.next_u64())
    });
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut random = [0u8; 10];
    random[..2].copy_from_slice(&high.to_be_bytes());
    random[2..].copy_from_slice(&low.wrapping_add(count).to_be_bytes());
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    uuid::Builder::from_unix_timestamp_millis(millis, &random).into_uuid()
}
