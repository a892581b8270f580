//! The cache of verified keys, and the second cache that serves them during an outage (see the
//! parent module's documentation).

use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::{CachedKey, KeyVerifier};
use crate::error::AppError;
use crate::models::setting;

impl KeyVerifier {
    /// The entry just loaded (cached), or, when the database is unavailable, the one kept for the
    /// outage (read from the database less than [`OUTAGE_GRACE`](super::OUTAGE_GRACE) ago), if any.
    pub(super) fn stored_or_kept(
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
    pub(super) fn cached(&self, public_id: &str) -> (Option<Arc<CachedKey>>, u64) {
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

    /// Drops every cached key (keys, roles or permissions changed).
    pub fn invalidate_all(&self) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        self.cache.invalidate_all();
        self.outage_cache.invalidate_all();
    }

    /// Clears the cache when another instance changed what keys may do. While the database cannot
    /// be reached this changes nothing (the cache is kept, see the module's documentation) and
    /// logs nothing: the outage is logged once by the database layer.
    pub(super) fn check_version(&self) {
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
}
