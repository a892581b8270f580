//! Who is asking: credentials (passwords, sessions, the key format and its verifier) and the
//! principal they establish.

pub mod api_key;
pub mod client_address;
pub mod key_verifier;
pub mod password;
pub mod principal;
pub mod session;
pub mod session_store;
pub mod token;

pub use client_address::client_address;
pub use principal::{Principal, PrincipalKind};
