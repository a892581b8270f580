//! One-time secrets (`sealed.…` entries) stored encrypted with a key derived from the session id.

use std::collections::HashMap;

use actix_web::cookie::{Cookie, CookieJar, Key};
use sha2::{Digest, Sha512};

use crate::auth::session::SEALED_PREFIX;

/// The key that seals a session's one-time entries: derived from the session id itself, so only a
/// request presenting the cookie can open them.
fn sealing_key(session_key: &str) -> Option<Key> {
    let digest = Sha512::new()
        .chain_update(b"latchkey sealed session entries\0")
        .chain_update(session_key.as_bytes())
        .finalize();
    Key::try_from(digest.as_slice()).ok()
}

fn seal(key: &Key, name: &str, value: &str) -> Option<String> {
    let mut jar = CookieJar::new();
    jar.private_mut(key)
        .add(Cookie::new(name.to_string(), value.to_string()));
    jar.get(name).map(|cookie| cookie.value().to_string())
}

fn open(key: &Key, name: &str, sealed: &str) -> Option<String> {
    let mut jar = CookieJar::new();
    jar.add_original(Cookie::new(name.to_string(), sealed.to_string()));
    jar.private(key)
        .get(name)
        .map(|cookie| cookie.value().to_string())
}

/// Seals (or, when loading, opens) the `sealed.…` entries in place; one that cannot be sealed or
/// opened is dropped.
pub(super) fn transform_sealed(
    state: &mut HashMap<String, String>,
    session_key: &str,
    sealing: bool,
) {
    let names: Vec<String> = state
        .keys()
        .filter(|name| name.starts_with(SEALED_PREFIX))
        .cloned()
        .collect();
    if names.is_empty() {
        return;
    }
    let key = sealing_key(session_key);
    for name in names {
        let Some(value) = state.remove(&name) else {
            continue;
        };
        let changed = key.as_ref().and_then(|key| {
            if sealing {
                seal(key, &name, &value)
            } else {
                open(key, &name, &value)
            }
        });
        if let Some(changed) = changed {
            state.insert(name, changed);
        }
    }
}
