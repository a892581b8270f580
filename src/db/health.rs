//! Whether the database can be reached, learnt from the pool's own connection attempts.
//!
//! The pool's manager reports every attempt to open a connection here. The first failure after a
//! success starts an outage (logged once, at ERROR), the first success after failures ends it
//! (logged once, at INFO); requests during an outage log nothing. While an attempt failed less than
//! [`FAIL_FAST_FOR`] ago and the pool holds no connection at all, [`Db`](super::Db) answers
//! "unavailable" at once instead of waiting on the pool: the pool keeps retrying in the background
//! (every half second at most), and each of its attempts is the probe that ends the outage.
//!
//! A pool whose connections are all in use is not an outage: no connection attempt fails, so
//! requests wait for a free connection as long as they always did.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long after a failed connection attempt requests are refused without waiting on the pool.
pub const FAIL_FAST_FOR: Duration = Duration::from_secs(1);
/// The pool-exhaustion warning is written at most this often.
const EXHAUSTED_LOG_EVERY: Duration = Duration::from_secs(10);

/// What a reported attempt changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// The database was reachable and no longer is: the outage begins.
    WentDown,
    /// The database is reachable again after an outage of this length.
    CameBack(Duration),
    /// Nothing changed (another failure during an outage, another success outside one).
    Unchanged,
}

#[derive(Debug, Default)]
struct State {
    /// When the first failed attempt of the current outage happened.
    down_since: Option<Instant>,
    /// When the latest attempt failed.
    last_failure: Option<Instant>,
    /// When the pool-exhaustion warning was last written.
    exhausted_logged: Option<Instant>,
}

/// The outage tracker; one per pool, shared by the pool's manager and [`super::Db`].
#[derive(Debug, Default)]
pub struct Health {
    state: Mutex<State>,
}

impl Health {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a failed attempt to open a connection.
    pub fn connect_failed(&self) -> Transition {
        self.connect_failed_at(Instant::now())
    }

    /// Records a connection opened.
    pub fn connected(&self) -> Transition {
        self.connected_at(Instant::now())
    }

    pub fn connect_failed_at(&self, at: Instant) -> Transition {
        let Ok(mut state) = self.state.lock() else {
            return Transition::Unchanged;
        };
        state.last_failure = Some(at);
        if state.down_since.is_some() {
            return Transition::Unchanged;
        }
        state.down_since = Some(at);
        Transition::WentDown
    }

    pub fn connected_at(&self, at: Instant) -> Transition {
        let Ok(mut state) = self.state.lock() else {
            return Transition::Unchanged;
        };
        state.last_failure = None;
        match state.down_since.take() {
            Some(since) => Transition::CameBack(at.saturating_duration_since(since)),
            None => Transition::Unchanged,
        }
    }

    /// True while the latest connection attempt failed (and none succeeded since).
    pub fn is_down(&self) -> bool {
        self.state
            .lock()
            .map(|state| state.down_since.is_some())
            .unwrap_or(false)
    }

    /// True when the database is down and an attempt failed less than [`FAIL_FAST_FOR`] before `at`:
    /// waiting on the pool now would only wait for the next failure.
    pub fn failing_fast_at(&self, at: Instant) -> bool {
        self.state
            .lock()
            .map(|state| {
                state.down_since.is_some()
                    && state
                        .last_failure
                        .is_some_and(|failed| at.saturating_duration_since(failed) < FAIL_FAST_FOR)
            })
            .unwrap_or(false)
    }

    pub fn failing_fast(&self) -> bool {
        self.failing_fast_at(Instant::now())
    }

    /// Whether to write the "every connection is in use" warning now (at most once per 10 s).
    pub fn should_log_exhaustion(&self) -> bool {
        let Ok(mut state) = self.state.lock() else {
            return false;
        };
        let now = Instant::now();
        if state
            .exhausted_logged
            .is_some_and(|logged| now.saturating_duration_since(logged) < EXHAUSTED_LOG_EVERY)
        {
            return false;
        }
        state.exhausted_logged = Some(now);
        true
    }
}
