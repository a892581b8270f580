//! What every handler can reach.

use std::sync::Arc;

use crate::auth::key_verifier::KeyVerifier;
use crate::db::Db;

/// The application's shared state, one per server.
pub struct AppState {
    pub db: Db,
    /// Checks API keys, with its cache of verified keys.
    pub keys: Arc<KeyVerifier>,
    /// The configured public origin (`https://keys.example.com`), when one is set.
    pub public_origin: Option<String>,
}
