//! Who is asking and what they may do: the permission catalog, password hashing, the principal.

pub mod api_key;
pub mod catalog;
pub mod client_address;
pub mod key_verifier;
pub mod password;
pub mod principal;
pub mod session;
pub mod session_store;
pub mod token;

pub use client_address::client_address;
pub use principal::{PermissionSet, Principal, PrincipalKind};
