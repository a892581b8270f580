//! Password hashing with argon2id at OWASP's recommended parameters (19 MiB, 2 passes, 1 lane).
//! These functions block for tens of milliseconds: call them from blocking threads only, or use the
//! `*_off_thread` versions, which run them on threads of their own.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex, OnceLock};
use std::time::Instant;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::error::AppError;

pub use crate::limits::{PASSWORD_MAX as MAX_LENGTH, PASSWORD_MIN as MIN_LENGTH};

fn hasher() -> Argon2<'static> {
    // These constants are valid, so the fallback (the same values as `Params::default`) is never taken.
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

pub fn hash(password: &str) -> Result<String, AppError> {
    let salt = SaltString::generate(&mut OsRng);
    hasher()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AppError::Internal(format!("cannot hash a password: {e}")))
}

/// Checks a password against a stored hash. With no stored hash (unknown email, invited user) it
/// verifies against a dummy hash so the answer takes as long as a real check.
pub fn verify(password: &str, stored: Option<&str>) -> bool {
    let (candidate, real) = match stored {
        Some(hash) => (hash, true),
        None => (dummy_hash(), false),
    };
    let Ok(parsed) = PasswordHash::new(candidate) else {
        return false;
    };
    let matches = hasher()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok();
    matches && real
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        hasher()
            .hash_password(b"latchkey-timing-equaliser", &salt)
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

/// A message when a new password is unacceptable.
pub fn check_strength(password: &str, email: &str) -> Result<(), String> {
    let length = password.chars().count();
    if length < MIN_LENGTH {
        return Err(format!("Use at least {MIN_LENGTH} characters."));
    }
    if length > MAX_LENGTH {
        return Err(format!("Use at most {MAX_LENGTH} characters."));
    }
    if password.eq_ignore_ascii_case(email) {
        return Err("Do not use your email address as your password.".into());
    }
    Ok(())
}

/// [`hash`] on the password threads, off the async workers.
pub async fn hash_off_thread(password: String) -> Result<String, AppError> {
    on_password_thread(move || hash(&password)).await?
}

/// [`verify`] on the password threads, off the async workers.
pub async fn verify_off_thread(password: String, stored: Option<String>) -> Result<bool, AppError> {
    on_password_thread(move || verify(&password, stored.as_deref())).await
}

type Job = Box<dyn FnOnce() + Send>;

/// How many password checks may wait for a hashing thread. Beyond that a sign-in is answered
/// "try again in a few seconds" at once, instead of joining a queue minutes long.
const MAX_WAITING: usize = 64;
const BUSY_RETRY_AFTER_SECS: u64 = 5;

/// After a check, its thread sleeps this many times as long as the check took.
const REST_FACTOR: u32 = 1;

/// Checks submitted and not yet started.
static WAITING: AtomicUsize = AtomicUsize::new(0);

/// Password hashing has its own threads (one per two cores, at idle priority, one check at a time
/// each) so that a burst of sign-ins queues instead of taking every core and hundreds of 19 MiB
/// hashes from the workers that verify keys. After each check a thread rests as long as the check
/// took, because idle priority alone is not enough: a core with no idle moment left still delays
/// the workers, and each check flushes their caches (2-core VM, whoami p99 beside failed sign-ins:
/// ×2.6 without the rest, ×1.3–2.1 with it).
fn password_threads() -> &'static mpsc::Sender<Job> {
    static JOBS: OnceLock<mpsc::Sender<Job>> = OnceLock::new();
    JOBS.get_or_init(|| {
        let (sender, receiver) = mpsc::channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        for n in 0..hashing_thread_count() {
            let receiver = Arc::clone(&receiver);
            let spawned = std::thread::Builder::new()
                .name(format!("password-{n}"))
                .spawn(move || {
                    lower_priority();
                    loop {
                        let job = match receiver.lock() {
                            Ok(receiver) => receiver.recv(),
                            Err(_) => return,
                        };
                        let Ok(job) = job else { return };
                        let started = Instant::now();
                        // A panicking job drops its answer (its caller gets an error); the thread stays.
                        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                        std::thread::sleep(started.elapsed() * REST_FACTOR);
                    }
                });
            if let Err(err) = spawned {
                tracing::error!(error = %err, "cannot start a password hashing thread");
            }
        }
        sender
    })
}

/// One hashing thread per two cores, at least one.
fn hashing_thread_count() -> usize {
    std::thread::available_parallelism().map_or(1, |n| (n.get() / 2).max(1))
}

async fn on_password_thread<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, AppError> {
    if WAITING.fetch_add(1, Ordering::Relaxed) >= MAX_WAITING {
        WAITING.fetch_sub(1, Ordering::Relaxed);
        tracing::warn!("password checks queue full: a sign-in was asked to retry");
        return Err(AppError::TooManyRequests {
            message: format!(
                "Too many password checks at once right now. Try again in {BUSY_RETRY_AFTER_SECS} seconds."
            ),
            retry_after_secs: BUSY_RETRY_AFTER_SECS,
        });
    }
    let (answer, answered) = tokio::sync::oneshot::channel();
    let job: Job = Box::new(move || {
        WAITING.fetch_sub(1, Ordering::Relaxed);
        // Whoever asked has gone (closed the connection, gave up waiting): no one needs the answer.
        if answer.is_closed() {
            return;
        }
        let _ = answer.send(work());
    });
    if password_threads().send(job).is_err() {
        WAITING.fetch_sub(1, Ordering::Relaxed);
        return Err(AppError::Internal(
            "the password threads have stopped".into(),
        ));
    }
    answered
        .await
        .map_err(|_| AppError::Internal("password hashing failed".into()))
}

/// Puts the calling thread in Linux's `SCHED_IDLE` class: it runs when a core would otherwise be
/// idle, and a request worker that wakes up takes the core from it at once. It is not starved
/// outright: under a load that keeps every core busy, sign-ins slow down instead of the requests.
#[cfg(target_os = "linux")]
fn lower_priority() {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: `param` is a valid `sched_param` that outlives the call; pid 0 is the calling thread
    // (on Linux the scheduling policy belongs to the thread).
    if unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) } != 0 {
        tracing::warn!(error = %std::io::Error::last_os_error(), "cannot lower the priority of password hashing");
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_priority() {}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicBool;
    use std::sync::mpsc;
    use std::time::Duration;

    use super::*;

    /// Occupies every hashing thread until the returned sender is dropped or sent to.
    fn occupy_hashing_threads() -> Vec<mpsc::Sender<()>> {
        (0..hashing_thread_count())
            .map(|_| {
                let (release, released) = mpsc::channel::<()>();
                let (started, has_started) = mpsc::channel::<()>();
                let job: Job = Box::new(move || {
                    let _ = started.send(());
                    let _ = released.recv();
                });
                password_threads().send(job).expect("hashing threads run");
                has_started
                    .recv_timeout(Duration::from_secs(10))
                    .expect("the blocking job starts");
                release
            })
            .collect()
    }

    /// One test, because both fill the one process-wide queue.
    #[tokio::test]
    async fn a_full_queue_asks_to_retry_and_abandoned_checks_are_skipped() {
        let release = occupy_hashing_threads();

        let abandoned_ran = Arc::new(AtomicBool::new(false));
        let ran = Arc::clone(&abandoned_ran);
        let abandoned = on_password_thread(move || ran.store(true, Ordering::SeqCst));
        assert!(
            tokio::time::timeout(Duration::from_millis(20), abandoned)
                .await
                .is_err(),
            "the check waits behind the occupied threads"
        );

        let mut waiting = Vec::new();
        for _ in 1..MAX_WAITING {
            let check = tokio::spawn(on_password_thread(|| true));
            waiting.push(check);
        }
        while WAITING.load(Ordering::SeqCst) < MAX_WAITING {
            tokio::task::yield_now().await;
        }
        let refused = on_password_thread(|| true).await;
        match refused {
            Err(AppError::TooManyRequests {
                retry_after_secs, ..
            }) => assert_eq!(retry_after_secs, BUSY_RETRY_AFTER_SECS),
            other => panic!("expected a retry answer, got {other:?}"),
        }

        drop(release);
        for check in waiting {
            assert!(matches!(check.await, Ok(Ok(true))));
        }
        assert!(
            !abandoned_ran.load(Ordering::SeqCst),
            "a check nobody waits for any more is skipped"
        );
        assert_eq!(WAITING.load(Ordering::SeqCst), 0);
        assert!(verify_off_thread("anything".into(), None).await.is_ok());
    }
}
