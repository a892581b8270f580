//! `last_used_at`, kept in memory and written in batches, at most once per key per
//! [`LAST_USED_INTERVAL`], and once more at shutdown: verification itself never writes.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::NaiveDateTime;

use super::KeyVerifier;
use crate::db::now;
use crate::error::AppError;
use crate::models::api_key;

/// A key's `last_used_at` is written at most this often.
pub const LAST_USED_INTERVAL: Duration = Duration::from_secs(60);

/// The last use of each key seen by this instance.
#[derive(Default)]
pub(super) struct LastUses {
    uses: Mutex<HashMap<String, LastUse>>,
}

#[derive(Debug, Clone)]
struct LastUse {
    at: NaiveDateTime,
    ip: Option<IpAddr>,
    written: Option<Instant>,
    dirty: bool,
}

impl LastUses {
    pub(super) fn note(&self, key_id: &str, ip: Option<IpAddr>) {
        let at = now();
        let Ok(mut uses) = self.uses.lock() else {
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

    /// The uses that are due to be written (every one when `all`), marked as written.
    fn take_due(&self, all: bool) -> Vec<(String, LastUse)> {
        let Ok(mut uses) = self.uses.lock() else {
            return Vec::new();
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
    }

    /// Marks uses that could not be written as still to write, at the next flush.
    fn keep_for_next_flush(&self, due: &[(String, LastUse)]) {
        let Ok(mut uses) = self.uses.lock() else {
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

impl KeyVerifier {
    /// Writes the last uses that are due (every one when `all`, at shutdown).
    pub fn flush_last_used(&self, all: bool) {
        let due = self.last_used.take_due(all);
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
            Err(AppError::Unavailable(_)) => self.last_used.keep_for_next_flush(&due),
            Err(err) => tracing::warn!(error = ?err, "cannot record key use"),
        }
    }
}
