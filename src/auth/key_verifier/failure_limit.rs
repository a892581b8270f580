//! Limiting guesses: failed verifications counted per client network (an IPv6 client per /64, see
//! [`crate::limits::client_network`]), with 429 for the failures beyond the limit in a window.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use moka::sync::Cache;

use crate::error::AppError;

/// Failed verifications one client address may make per [`FAILURE_WINDOW`]; the failures beyond
/// get 429 (valid keys never do).
pub const FAILURE_LIMIT: u32 = 30;
pub const FAILURE_WINDOW: Duration = Duration::from_secs(60);
/// The most client addresses whose failures are counted at once (about 100 bytes each).
pub const FAILURE_TRACKED_ADDRESSES: u64 = 100_000;

/// The failure counters, in a bounded TTL cache.
pub(super) struct FailureLimiter {
    /// Failed verifications per client network in the current window (the entry expires with it).
    failures: Cache<IpAddr, Arc<FailureWindow>>,
    /// Failures one network may make in a window before the next are refused ([`FAILURE_LIMIT`]
    /// unless configured).
    limit: AtomicU32,
}

#[derive(Debug)]
struct FailureWindow {
    started: Instant,
    count: AtomicU32,
}

impl FailureLimiter {
    pub(super) fn new() -> Self {
        Self {
            failures: Cache::builder()
                .max_capacity(FAILURE_TRACKED_ADDRESSES)
                .time_to_live(FAILURE_WINDOW)
                .build(),
            limit: AtomicU32::new(FAILURE_LIMIT),
        }
    }

    pub(super) fn limit_to(&self, per_window: u32) {
        self.limit.store(per_window, Ordering::Relaxed);
    }

    /// Counts a failed verification against the client's network; 429 beyond the limit.
    pub(super) fn count(&self, ip: Option<IpAddr>) -> Result<(), AppError> {
        let Some(ip) = ip else {
            return Ok(());
        };
        let network = crate::limits::client_network(ip);
        let window = self.failures.get_with(network, || {
            Arc::new(FailureWindow {
                started: Instant::now(),
                count: AtomicU32::new(0),
            })
        });
        let failures = window
            .count
            .fetch_add(1, Ordering::Relaxed)
            .saturating_add(1);
        let limit = self.limit.load(Ordering::Relaxed);
        if failures <= limit {
            return Ok(());
        }
        let retry_after_secs = FAILURE_WINDOW
            .saturating_sub(window.started.elapsed())
            .as_secs()
            .max(1);
        if failures == limit.saturating_add(1) {
            tracing::warn!(%network, "key verification rate-limited after repeated failures");
        }
        Err(AppError::TooManyRequests {
            message: format!(
                "Too many invalid keys from this address. Try again in {retry_after_secs} seconds."
            ),
            retry_after_secs,
        })
    }
}
