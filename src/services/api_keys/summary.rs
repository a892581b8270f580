//! The summaries the audit log records for a key's changes.

use chrono::NaiveDateTime;

pub(super) use crate::services::audit_log::role_names;

use crate::models::api_key::ApiKey;
use crate::models::role::Role;

pub(super) fn describe_expiry(expires_at: Option<NaiveDateTime>) -> String {
    expires_at.map_or_else(
        || "never".into(),
        |at| at.format("%Y-%m-%d %H:%M UTC").to_string(),
    )
}

pub(super) fn key_change_summary(
    before: &ApiKey,
    name: &str,
    expires_at: Option<NaiveDateTime>,
    roles_before: &[Role],
    roles_after: &[Role],
) -> String {
    let mut parts = Vec::new();
    if before.name != name {
        parts.push(format!("renamed from “{}”", before.name));
    }
    if before.expires_at != expires_at {
        parts.push(format!(
            "expiry {} → {}",
            describe_expiry(before.expires_at),
            describe_expiry(expires_at)
        ));
    }
    let added: Vec<&str> = roles_after
        .iter()
        .filter(|r| !roles_before.iter().any(|b| b.id == r.id))
        .map(|r| r.name.as_str())
        .collect();
    let removed: Vec<&str> = roles_before
        .iter()
        .filter(|r| !roles_after.iter().any(|a| a.id == r.id))
        .map(|r| r.name.as_str())
        .collect();
    if !added.is_empty() {
        parts.push(format!("roles added: {}", added.join(", ")));
    }
    if !removed.is_empty() {
        parts.push(format!("roles removed: {}", removed.join(", ")));
    }
    if parts.is_empty() {
        "details saved without changes to name, expiry or roles".into()
    } else {
        parts.join("; ")
    }
}
