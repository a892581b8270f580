//! The API key format: `lk_<public id>_<secret>`. The public id (16 base62 characters) finds the row;
//! the secret (32 base62 characters, about 190 bits) is checked against its SHA-256, in constant time.
//! The `lk_` prefix lets secret scanners recognise leaked keys.

use rand::distributions::{Alphanumeric, DistString};
use rand::rngs::OsRng;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::auth::token::hex;

pub const PREFIX: &str = "lk_";
pub const PUBLIC_ID_LENGTH: usize = 16;
pub const SECRET_LENGTH: usize = 32;

/// A freshly generated key: the full text is shown once, only `secret_hash` is stored.
#[derive(Debug, Clone)]
pub struct GeneratedKey {
    pub public_id: String,
    pub full_key: String,
    pub secret_hash: String,
}

pub fn generate() -> GeneratedKey {
    let public_id = Alphanumeric.sample_string(&mut OsRng, PUBLIC_ID_LENGTH);
    let secret = Alphanumeric.sample_string(&mut OsRng, SECRET_LENGTH);
    GeneratedKey {
        full_key: format!("{PREFIX}{public_id}_{secret}"),
        secret_hash: hash_secret(&secret),
        public_id,
    }
}

pub fn hash_secret(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

/// Splits a presented key into (public id, secret); `None` when it does not have the key's shape.
pub fn parse(presented: &str) -> Option<(&str, &str)> {
    let rest = presented.strip_prefix(PREFIX)?;
    let (public_id, secret) = rest.split_once('_')?;
    let well_formed = |part: &str, len: usize| {
        part.len() == len && part.bytes().all(|b| b.is_ascii_alphanumeric())
    };
    (well_formed(public_id, PUBLIC_ID_LENGTH) && well_formed(secret, SECRET_LENGTH))
        .then_some((public_id, secret))
}

/// Whether `secret` matches the stored hash, compared in constant time.
pub fn secret_matches(secret: &str, stored_hash: &str) -> bool {
    bool::from(hash_secret(secret).as_bytes().ct_eq(stored_hash.as_bytes()))
}
