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

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use chrono::NaiveDateTime;
use moka::sync::Cache;

use crate::auth::api_key::{parse, secret_matches};
use crate::authz::{KeyRefusal, PermissionSet};
use crate::db::{now, Db, DbConnection};
use crate::error::AppError;
use crate::models::{api_key, permission, setting};

/// How long a verified key stays cached when nothing changes.
pub const CACHE_TTL: Duration = Duration::from_secs(60);
/// The oldest cached verdict served when the database cannot be reached to reload it.
pub const OUTAGE_GRACE: Duration = Duration::from_secs(5 * 60);
/// How often each instance looks for changes made by other instances.
pub const VERSION_POLL: Duration = Duration::from_secs(1);
/// The most keys kept in the cache.
pub const CACHE_CAPACITY: u64 = 100_000;
/// Failed verifications one client address may make per [`FAILURE_WINDOW`]; the failures beyond
/// get 429 (valid keys never do).
pub const FAILURE_LIMIT: u32 = 30;
pub const FAILURE_WINDOW: Duration = Duration::from_secs(60);
/// The most client addresses whose failures are counted at once (about 100 bytes each).
pub const FAILURE_TRACKED_ADDRESSES: u64 = 100_000;
/// A key's `last_used_at` is written at most this often.
pub const LAST_USED_INTERVAL: Duration = Duration::from_secs(60);

/// What the cache knows about a public id.
#[derive(Debug)]
pub enum CachedKey {
    Found(KeyRecord),
    Missing,
}

/// A key with everything verification needs.
#[derive(Debug, Clone)]
pub struct KeyRecord {
    pub id: String,
    pub name: String,
    pub secret_hash: String,
    pub expires_at: Option<NaiveDateTime>,
    pub revoked: bool,
    /// (id, name) of its roles.
    pub roles: Vec<(String, String)>,
    pub permissions: PermissionSet,
    /// The permission names it holds, sorted (for an Admin key: the catalog when it was loaded).
    pub permission_names: Vec<String>,
}

/// The outcome of checking a presented key.
#[derive(Debug, Clone)]
pub enum Verification {
    Valid(Arc<CachedKey>),
    Malformed,
    NotFound,
    Expired,
    Revoked,
}

impl Verification {
    /// The cache entry of a valid key.
    pub fn entry(&self) -> Option<&Arc<CachedKey>> {
        match self {
            Self::Valid(entry) => Some(entry),
            _ => None,
        }
    }

    /// The key when it is valid.
    pub fn record(&self) -> Option<&KeyRecord> {
        match self {
            Self::Valid(entry) => match entry.as_ref() {
                CachedKey::Found(record) => Some(record),
                CachedKey::Missing => None,
            },
            _ => None,
        }
    }

    /// Why the API refuses a key that does not authenticate (its 401 answer).
    pub fn refusal(&self) -> KeyRefusal {
        match self {
            Self::Malformed => KeyRefusal::MalformedKey,
            Self::Expired => KeyRefusal::Expired,
            Self::Revoked => KeyRefusal::Revoked,
            _ => KeyRefusal::InvalidKey,
        }
    }

    /// The reason code used by the API: `VALID`, `MALFORMED`, `NOT_FOUND`, `EXPIRED`, `REVOKED`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Valid(_) => "VALID",
            Self::Malformed => "MALFORMED",
            Self::NotFound => "NOT_FOUND",
            Self::Expired => "EXPIRED",
            Self::Revoked => "REVOKED",
        }
    }
}

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
    last_used: Mutex<HashMap<String, LastUse>>,
    /// Failed verifications per client network in the current window (the entry expires with it).
    failures: Cache<IpAddr, Arc<FailureWindow>>,
    /// Failures one network may make in a window before the next are refused ([`FAILURE_LIMIT`]
    /// unless configured).
    failure_limit: AtomicU32,
}

#[derive(Debug)]
struct FailureWindow {
    started: Instant,
    count: AtomicU32,
}

#[derive(Debug, Clone)]
struct LastUse {
    at: NaiveDateTime,
    ip: Option<IpAddr>,
    written: Option<Instant>,
    dirty: bool,
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
            last_used: Mutex::new(HashMap::new()),
            failure_limit: AtomicU32::new(FAILURE_LIMIT),
            failures: Cache::builder()
                .max_capacity(FAILURE_TRACKED_ADDRESSES)
                .time_to_live(FAILURE_WINDOW)
                .build(),
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

    /// The entry just loaded (cached), or, when the database is unavailable, the one kept for the
    /// outage (read from the database less than [`OUTAGE_GRACE`] ago), if any.
    fn stored_or_kept(
        &self,
        public_id: &str,
        loaded: Result<CachedKey, AppError>,
        epoch: u64,
    ) -> Result<Arc<CachedKey>, AppError> {
        match loaded {
            Ok(loaded) => Ok(self.store(public_id, loaded, epoch)),
            Err(AppError::Unavailable(detail)) => self
                .outage_cache
                .get(public_id)
                .ok_or(AppError::Unavailable(detail)),
            Err(err) => Err(err),
        }
    }

    /// The cached entry, and the epoch to hand to [`Self::store`] after a lookup.
    fn cached(&self, public_id: &str) -> (Option<Arc<CachedKey>>, u64) {
        let generation = self.db.authz_generation();
        if self.seen_generation.load(Ordering::Acquire) != generation {
            // Cleared before the new generation is recorded: a request that finds it recorded
            // can no longer read an entry from before the change.
            self.invalidate_all();
            self.seen_generation.fetch_max(generation, Ordering::AcqRel);
        }
        let epoch = self.epoch.load(Ordering::Acquire);
        (self.cache.get(public_id), epoch)
    }

    /// Caches a lookup unless the cache was cleared while it ran (it may predate the change).
    fn store(&self, public_id: &str, loaded: CachedKey, epoch: u64) -> Arc<CachedKey> {
        let entry = Arc::new(loaded);
        if self.epoch.load(Ordering::Acquire) == epoch {
            self.cache.insert(public_id.to_string(), Arc::clone(&entry));
            // Only keys that exist are kept for an outage: an unknown key then answers 503 like
            // any key not checked recently, and guessing costs no second insert.
            if matches!(*entry, CachedKey::Found(_)) {
                self.outage_cache
                    .insert(public_id.to_string(), Arc::clone(&entry));
            }
            if self.epoch.load(Ordering::Acquire) != epoch {
                self.cache.invalidate(public_id);
                self.outage_cache.invalidate(public_id);
            }
        }
        entry
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
        self.note_use(&record.id, ip);
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

    /// Sets how many failing keys one network may present per window (`--key-failures-per-minute`).
    pub fn limit_failures_to(&self, per_window: u32) {
        self.failure_limit.store(per_window, Ordering::Relaxed);
    }

    /// Counts a failed verification against the client's network; 429 beyond the limit.
    pub fn count_failure(&self, ip: Option<IpAddr>) -> Result<(), AppError> {
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
        let limit = self.failure_limit.load(Ordering::Relaxed);
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

    /// Drops every cached key (keys, roles or permissions changed).
    pub fn invalidate_all(&self) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        self.cache.invalidate_all();
        self.outage_cache.invalidate_all();
    }

    /// Clears the cache when another instance changed what keys may do. While the database cannot
    /// be reached this changes nothing (the cache is kept, see the module's documentation) and
    /// logs nothing: the outage is logged once by the database layer.
    fn check_version(&self) {
        let current = match self.db.get().and_then(|mut conn| {
            setting::get(&mut conn, setting::AUTHZ_VERSION).map_err(AppError::from)
        }) {
            Ok(value) => value,
            Err(AppError::Unavailable(_)) => return,
            Err(err) => {
                return tracing::warn!(error = ?err, "cannot read the authorization version")
            }
        };
        let Ok(mut seen) = self.seen_version.lock() else {
            return;
        };
        if *seen != current {
            self.invalidate_all();
            *seen = current;
        }
    }

    fn note_use(&self, key_id: &str, ip: Option<IpAddr>) {
        let at = now();
        let Ok(mut uses) = self.last_used.lock() else {
            return;
        };
        match uses.get_mut(key_id) {
            Some(entry) => {
                entry.at = at;
                entry.dirty = true;
                if ip.is_some() {
                    entry.ip = ip;
                }
            }
            None => {
                uses.insert(
                    key_id.to_string(),
                    LastUse {
                        at,
                        ip,
                        written: None,
                        dirty: true,
                    },
                );
            }
        }
    }

    /// Writes the last uses that are due (every one when `all`, at shutdown).
    pub fn flush_last_used(&self, all: bool) {
        let due: Vec<(String, LastUse)> = {
            let Ok(mut uses) = self.last_used.lock() else {
                return;
            };
            let now_instant = Instant::now();
            uses.iter_mut()
                .filter(|(_, u)| {
                    u.dirty
                        && (all
                            || u.written
                                .is_none_or(|w| now_instant - w >= LAST_USED_INTERVAL))
                })
                .map(|(id, u)| {
                    u.dirty = false;
                    u.written = Some(now_instant);
                    (id.clone(), u.clone())
                })
                .collect()
        };
        if due.is_empty() {
            return;
        }
        let written = self.db.get().and_then(|mut conn| {
            due.iter()
                .map(|(id, u)| {
                    let ip = u.ip.map(|ip| ip.to_string());
                    api_key::record_last_used(&mut conn, id, u.at, ip.as_deref())
                })
                .collect::<Result<Vec<()>, _>>()
                .map_err(AppError::from)
        });
        match written {
            Ok(_) => tracing::debug!(keys = due.len(), "recorded key use"),
            // The database is down (logged once elsewhere): keep the uses for the next flush.
            Err(AppError::Unavailable(_)) => self.keep_for_next_flush(&due),
            Err(err) => tracing::warn!(error = ?err, "cannot record key use"),
        }
    }

    /// Marks uses that could not be written as still to write, at the next flush.
    fn keep_for_next_flush(&self, due: &[(String, LastUse)]) {
        let Ok(mut uses) = self.last_used.lock() else {
            return;
        };
        for (id, _) in due {
            if let Some(entry) = uses.get_mut(id) {
                entry.dirty = true;
                entry.written = None;
            }
        }
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

/// Loads a key and its rights by public id, in three small queries, each a prepared statement the
/// connection keeps (a key holding the Admin role reads the catalog's names instead of its roles'
/// permissions).
fn load(conn: &mut DbConnection, public_id: &str) -> Result<CachedKey, AppError> {
    let Some(key) = api_key::credentials_by_public_id(conn, public_id)? else {
        return Ok(CachedKey::Missing);
    };
    let roles = api_key::roles_for_verification(conn, &key.id)?;
    let (permissions, permission_names) = if roles.iter().any(|(_, _, grants_all)| *grants_all) {
        (PermissionSet::all(), permission::names(conn)?)
    } else {
        let mut names = api_key::permission_names(conn, &key.id)?;
        names.sort_unstable();
        names.dedup();
        (PermissionSet::from_names(names.iter().cloned()), names)
    };
    Ok(CachedKey::Found(KeyRecord {
        id: key.id,
        name: key.name,
        secret_hash: key.secret_hash,
        expires_at: key.expires_at,
        revoked: key.revoked_at.is_some(),
        roles: roles.into_iter().map(|(id, name, _)| (id, name)).collect(),
        permissions,
        permission_names,
    }))
}

/// The key a request presents: `Authorization: Bearer <key>` or `X-Api-Key: <key>`.
pub fn presented_key(headers: &actix_web::http::header::HeaderMap) -> Option<&str> {
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
