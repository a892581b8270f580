//! Password hashing with argon2id at OWASP's recommended parameters (19 MiB, 2 passes, 1 lane).
//! These functions block for tens of milliseconds: call them from blocking threads only, or use the
//! `*_off_thread` versions, which run them on threads of their own.

use std::sync::{mpsc, Arc, Mutex, OnceLock};

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::error::AppError;

pub const MIN_LENGTH: usize = 12;
pub const MAX_LENGTH: usize = 256;

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

/// Password hashing has threads of its own: one per two cores (at least one), at the lowest scheduling
/// priority (see [`lower_priority`]). Each hash takes tens of milliseconds of CPU and 19 MiB: on the
/// shared blocking pool a burst of sign-ins could run hundreds at once, take every core from the
/// request workers and multiply the latency of key verification (and the memory by hundreds). Here
/// they queue instead, and when the CPU is busy the workers come first; an idle CPU still runs them
/// at full speed.
fn password_threads() -> &'static mpsc::Sender<Job> {
    static JOBS: OnceLock<mpsc::Sender<Job>> = OnceLock::new();
    JOBS.get_or_init(|| {
        let (sender, receiver) = mpsc::channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        let threads = std::thread::available_parallelism().map_or(1, |n| (n.get() / 2).max(1));
        for n in 0..threads {
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
                        // A panicking job drops its answer (its caller gets an error); the thread stays.
                        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                    }
                });
            if let Err(err) = spawned {
                tracing::error!(error = %err, "cannot start a password hashing thread");
            }
        }
        sender
    })
}

async fn on_password_thread<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, AppError> {
    let (answer, answered) = tokio::sync::oneshot::channel();
    let job: Job = Box::new(move || {
        let _ = answer.send(work());
    });
    password_threads()
        .send(job)
        .map_err(|_| AppError::Internal("the password threads have stopped".into()))?;
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
