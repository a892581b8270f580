//! Password hashing with argon2id at OWASP's recommended parameters (19 MiB, 2 passes, 1 lane).
//! These functions block for tens of milliseconds: call them from blocking threads only.

use std::sync::OnceLock;

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

/// [`hash`] on the blocking thread pool, off the async workers.
pub async fn hash_off_thread(password: String) -> Result<String, AppError> {
    actix_web::web::block(move || hash(&password))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?
}

/// [`verify`] on the blocking thread pool, off the async workers.
pub async fn verify_off_thread(password: String, stored: Option<String>) -> Result<bool, AppError> {
    actix_web::web::block(move || verify(&password, stored.as_deref()))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))
}
