//! Verifying API keys on the hot path.
//!
//! A verified key is cached by its public id with what it may do. The cache never serves stale
//! rights for long: a change made on this instance clears it at once (see
//! [`crate::services::in_authz_transaction`]), and a background thread reads the database's
//! `authz_version` every second, so a change made by another instance is seen within about one
//! second (two at most). Entries also expire after [`CACHE_TTL`]. Unknown public ids are cached as
//! missing the same way, so a flood of invalid keys costs no more than valid ones.
//!
//! **During a database outage** the cache keeps answering: a key whose entry expired and cannot be
//! reloaded because the database is unavailable is served from a second cache holding the same
//! entries for [`OUTAGE_GRACE`] (counted from when they were read from the database). So no
//! verdict served is ever older than five minutes, and a key checked within the minute before an
//! outage keeps verifying for at least four minutes into it. Expiry is still checked against the
//! clock at every request, and nothing is evicted because the version poll fails. Changes cannot be
//! made while the database is down; only an instance cut off from a database that others still
//! reach could serve a revoked key, for [`OUTAGE_GRACE`] at most. A key in neither cache (and any
//! key not found, which the second cache does not keep) answers 503 during an outage.
//!
//! Verification never writes to the database: `last_used_at` is kept in memory and written in
//! batches, at most once per key per minute, and once more at shutdown.
//!
//! Guessing is limited where it is guessing: [`KeyVerifier::verify_limited`] counts the keys that
//! fail per client address (an IPv6 client per /64, see [`crate::limits::client_network`]) and
//! answers 429 to the failures beyond [`FAILURE_LIMIT`] in [`FAILURE_WINDOW`]. The key is always
//! checked first, so a key that verifies passes whatever others sent from the same address (a
//! proxy, a NAT): someone else's bad keys can never lock a service out. A valid key costs the
//! limiter nothing (it is not even looked up); the counters live in a bounded TTL cache.
//!
//! Here: checking a key, and [`KeyVerifier::authenticate`], the JSON API's one way in.
//! `verification` holds what is known of a key and the verdict, `cache` the caches and their
//! clearing, `failure_limit` the guessing limit, `last_used` the batched `last_used_at`.

mod cache;
mod failure_limit;
mod last_used;
mod verification;

use std::net::IpAddr;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use actix_web::http::header::HeaderMap;
use moka::sync::Cache;

use crate::auth::api_key::{parse, secret_matches};
use crate::authz::KeyRefusal;
use crate::db::{now, Db};
use crate::error::AppError;
use failure_limit::FailureLimiter;
pub use failure_limit::{FAILURE_LIMIT, FAILURE_TRACKED_ADDRESSES, FAILURE_WINDOW};
use last_used::LastUses;
pub use last_used::LAST_USED_INTERVAL;
use verification::load;
pub use verification::{AuthenticatedKey, CachedKey, KeyRecord, Verification};

/// How long a verified key stays cached when nothing changes.
pub const CACHE_TTL: Duration = Duration::from_secs(60);
/// The oldest cached verdict served when the database cannot be reached to reload it.
pub const OUTAGE_GRACE: Duration = Duration::from_secs(5 * 60);
/// How often each instance looks for changes made by other instances.
pub const VERSION_POLL: Duration = Duration::from_secs(1);
/// The most keys kept in the cache.
pub const CACHE_CAPACITY: u64 = 100_000;

pub struct KeyVerifier {
    db: Db,
    cache: Cache<String, Arc<CachedKey>>,
    /// The same entries, kept [`OUTAGE_GRACE`] and read only when a lookup finds the database
    /// unavailable (so the hot path is the plain cache's, with no clock read of its own). Cleared
    /// with the cache.
    outage_cache: Cache<String, Arc<CachedKey>>,
    /// The local generation the cache reflects (see [`Db::note_authz_change`]).
    seen_generation: AtomicU64,
    /// Bumped at every clear, so that a lookup that raced with a change is not cached.
    epoch: AtomicU64,
    /// The database's `authz_version` when last read.
    seen_version: Mutex<Option<String>>,
    last_used: LastUses,
    failures: FailureLimiter,
}

impl KeyVerifier {
    pub fn new(db: Db) -> Arc<Self> {
        Self::with_cache_ttl(db, CACHE_TTL)
    }

    /// A verifier whose entries are fresh for `ttl` instead of [`CACHE_TTL`] (tests of what
    /// happens past it); [`OUTAGE_GRACE`] is unchanged.
    pub fn with_cache_ttl(db: Db, ttl: Duration) -> Arc<Self> {
        let cache = Cache::builder()
            .max_capacity(CACHE_CAPACITY)
            .time_to_live(ttl)
            .build();
        let outage_cache = Cache::builder()
            .max_capacity(CACHE_CAPACITY)
            .time_to_live(OUTAGE_GRACE)
            .build();
        Arc::new(Self {
            seen_generation: AtomicU64::new(db.authz_generation()),
            epoch: AtomicU64::new(0),
            db,
            cache,
            outage_cache,
            seen_version: Mutex::new(None),
            last_used: LastUses::default(),
            failures: FailureLimiter::new(),
        })
    }

    /// Starts the threads that watch for changes by other instances and write `last_used_at`.
    /// They end when the verifier is dropped.
    pub fn start_background(self: &Arc<Self>, flush_every: Duration) {
        // The version as of now, before any key is cached: otherwise the first poll finds "no
        // version seen yet", takes it for a change and drops every key cached in the first second.
        self.check_version();
        let watcher = Arc::downgrade(self);
        std::thread::spawn(move || {
            run_every(watcher, VERSION_POLL, |verifier| verifier.check_version())
        });
        let flusher = Arc::downgrade(self);
        std::thread::spawn(move || {
            run_every(flusher, flush_every, |verifier| {
                verifier.flush_last_used(false)
            })
        });
    }

    /// Checks a presented key; uncached keys are looked up on a blocking thread.
    pub async fn verify(
        &self,
        presented: &str,
        ip: Option<IpAddr>,
    ) -> Result<Verification, AppError> {
        let Some((public_id, secret)) = parse(presented) else {
            return Ok(Verification::Malformed);
        };
        let (cached, epoch) = self.cached(public_id);
        let entry = match cached {
            Some(entry) => entry,
            None => {
                let id = public_id.to_string();
                let loaded = self.db.run(move |conn| load(conn, &id)).await;
                self.stored_or_kept(public_id, loaded, epoch)?
            }
        };
        Ok(self.evaluate(entry, secret, ip))
    }

    /// The same check, entirely on the calling thread (benchmarks, blocking callers).
    pub fn verify_blocking(
        &self,
        presented: &str,
        ip: Option<IpAddr>,
    ) -> Result<Verification, AppError> {
        let Some((public_id, secret)) = parse(presented) else {
            return Ok(Verification::Malformed);
        };
        let (cached, epoch) = self.cached(public_id);
        let entry = match cached {
            Some(entry) => entry,
            None => {
                let loaded = self
                    .db
                    .get()
                    .and_then(|mut conn| load(&mut conn, public_id));
                self.stored_or_kept(public_id, loaded, epoch)?
            }
        };
        Ok(self.evaluate(entry, secret, ip))
    }

    fn evaluate(&self, entry: Arc<CachedKey>, secret: &str, ip: Option<IpAddr>) -> Verification {
        let CachedKey::Found(record) = entry.as_ref() else {
            return Verification::NotFound;
        };
        if !secret_matches(secret, &record.secret_hash) {
            return Verification::NotFound;
        }
        if record.revoked {
            return Verification::Revoked;
        }
        if record.expires_at.is_some_and(|at| at <= now()) {
            return Verification::Expired;
        }
        self.last_used.note(&record.id, ip);
        Verification::Valid(entry)
    }

    /// Checks a presented key and limits guessing: a key that does not verify counts against the
    /// client's address, and once that address has failed [`FAILURE_LIMIT`] times in the window
    /// its further failures are refused with 429. A key that verifies is never refused, and never
    /// touches the limiter.
    pub async fn verify_limited(
        &self,
        presented: &str,
        ip: Option<IpAddr>,
    ) -> Result<Verification, AppError> {
        let verification = self.verify(presented, ip).await?;
        if !matches!(verification, Verification::Valid(_)) {
            self.count_failure(ip)?;
        }
        Ok(verification)
    }

    /// Authenticates the key a request presents, as the JSON API does (its Bearer or `X-Api-Key`
    /// header): a missing key, or one that does not verify, is the API's 401 answer; failures are
    /// limited as by [`Self::verify_limited`].
    pub async fn authenticate(
        &self,
        headers: &HeaderMap,
        ip: Option<IpAddr>,
    ) -> Result<AuthenticatedKey, AppError> {
        let presented = presented_key(headers).ok_or(AppError::InvalidKey {
            refusal: KeyRefusal::Missing,
        })?;
        self.verify_limited(presented, ip).await?.authenticated()
    }

    /// Sets how many failing keys one network may present per window (`--key-failures-per-minute`).
    pub fn limit_failures_to(&self, per_window: u32) {
        self.failures.limit_to(per_window);
    }

    /// Counts a failed verification against the client's network; 429 beyond the limit.
    pub fn count_failure(&self, ip: Option<IpAddr>) -> Result<(), AppError> {
        self.failures.count(ip)
    }
}

fn run_every(verifier: Weak<KeyVerifier>, every: Duration, work: impl Fn(&KeyVerifier)) {
    loop {
        std::thread::sleep(every);
        match verifier.upgrade() {
            Some(verifier) => work(&verifier),
            None => return,
        }
    }
}

/// The key a request presents: `Authorization: Bearer <key>` or `X-Api-Key: <key>`.
pub fn presented_key(headers: &HeaderMap) -> Option<&str> {
    if let Some(value) = headers
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let (scheme, token) = value.trim().split_once(' ')?;
        return scheme.eq_ignore_ascii_case("bearer").then(|| token.trim());
    }
    headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}
