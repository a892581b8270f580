//! Rank: the one rule for acting on something that holds roles. You may change, revoke, reset or
//! rename only what you could have created or given yourself: every permission of its roles is
//! yours (the Admin role's "every permission" only to a holder of the Admin role). Keys, roles and
//! people all go through here, in the console and the API alike, inside the operation's transaction.
//! And a key that expires cannot hand out more time than it has: no key may outlive it.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDateTime;

use crate::auth::{Principal, PrincipalKind};
use crate::authz::PermissionSet;
use crate::db::DbConnection;
use crate::error::AppError;
use crate::models::role::Role;
use crate::models::{api_key, permission, role, user};
use crate::services::roles::{check_role_count, ROLES_FIELD};
use crate::services::FieldErrors;

/// The first permission (by name) that the roles hold and `holder` does not, or `None` when
/// `holder` could give every one of these roles. An Admin role (every permission) names the first
/// permission of the catalog the holder lacks.
pub fn first_missing(
    conn: &mut DbConnection,
    holder: &PermissionSet,
    role_ids: &[String],
) -> Result<Option<String>, AppError> {
    Ok(
        first_missing_each(conn, holder, std::slice::from_ref(&role_ids.to_vec()))?
            .pop()
            .flatten(),
    )
}

/// [`first_missing`] for several sets of roles at once (a page of keys), in a few queries.
pub fn first_missing_each(
    conn: &mut DbConnection,
    holder: &PermissionSet,
    role_sets: &[Vec<String>],
) -> Result<Vec<Option<String>>, AppError> {
    if holder.holds_all() {
        return Ok(vec![None; role_sets.len()]);
    }
    let mut all_ids: Vec<String> = role_sets.iter().flatten().cloned().collect();
    all_ids.sort();
    all_ids.dedup();
    if all_ids.is_empty() {
        return Ok(vec![None; role_sets.len()]);
    }
    let admin_ids: Vec<String> = role::find_many(conn, &all_ids)?
        .into_iter()
        .filter(|r| r.grants_all)
        .map(|r| r.id)
        .collect();
    let catalog = if admin_ids.is_empty() {
        Vec::new()
    } else {
        permission::names(conn)?
    };
    let by_role = role::permissions_by_role(conn, &all_ids)?;
    Ok(role_sets
        .iter()
        .map(|set| {
            let mut needed: Vec<&String> = Vec::new();
            if set.iter().any(|id| admin_ids.contains(id)) {
                // Holding every permission one by one is still not the Admin role, which also
                // gives the permissions added later.
                if catalog.iter().all(|p| holder.can(p)) {
                    return Some(ADMIN_ONLY.to_string());
                }
                needed.extend(catalog.iter());
            }
            needed.extend(set.iter().filter_map(|id| by_role.get(id)).flatten());
            needed.sort();
            needed.into_iter().find(|p| !holder.can(p)).cloned()
        })
        .collect())
}

/// What a refusal names when only the Admin role itself is missing.
pub const ADMIN_ONLY: &str = "every permission (the Admin role)";

/// Fails (403, naming the first permission of these roles the principal lacks, with the sentence of
/// the page's disabled action `what`, "change this key") when acting on them is beyond the principal.
fn require_can_give_all(
    conn: &mut DbConnection,
    principal: &Principal,
    role_ids: &[String],
    what: &str,
) -> Result<(), AppError> {
    match first_missing(conn, &principal.permissions, role_ids)? {
        Some(permission) => Err(outranked(what, &permission)),
        None => Ok(()),
    }
}

/// The 403 of a refusal by rank, with the sentence pages show for it.
pub fn outranked(what: &str, permission: &str) -> AppError {
    AppError::outranked(permission, outranked_sentence(what, permission))
}

/// [`require_can_give_all`] for a key's roles.
pub fn require_can_change_key(
    conn: &mut DbConnection,
    principal: &Principal,
    key_id: &str,
    what: &str,
) -> Result<(), AppError> {
    let held = api_key::role_ids(conn, key_id)?;
    require_can_give_all(conn, principal, &held, what)
}

/// [`require_can_give_all`] for a role itself.
pub fn require_can_change_role(
    conn: &mut DbConnection,
    principal: &Principal,
    role_id: &str,
    what: &str,
) -> Result<(), AppError> {
    require_can_give_all(conn, principal, &[role_id.to_string()], what)
}

/// For pages that offer an action on a key: the permission that the viewer lacks to act on it.
pub fn missing_for_key(
    conn: &mut DbConnection,
    holder: &PermissionSet,
    key_id: &str,
) -> Result<Option<String>, AppError> {
    let held = api_key::role_ids(conn, key_id)?;
    first_missing(conn, holder, &held)
}

/// The sentence a page shows beside an action refused by rank: `what` is, for example, "change
/// this key".
pub fn outranked_sentence(what: &str, permission: &str) -> String {
    if permission == ADMIN_ONLY {
        format!(
            "You cannot {what}: that needs the Admin role, which only an administrator may give."
        )
    } else {
        format!(
            "You cannot {what}: that needs `{permission}`, which you do not hold. You may act only on what you could have given yourself."
        )
    }
}

/// When the principal is a key that expires: its expiry (read in the transaction, not from the
/// verification cache, so an expiry just shortened by someone else already counts).
fn caller_key_expiry(
    conn: &mut DbConnection,
    principal: &Principal,
) -> Result<Option<NaiveDateTime>, AppError> {
    if principal.kind != PrincipalKind::Key {
        return Ok(None);
    }
    Ok(api_key::find(conn, &principal.id)?.and_then(|k| k.expires_at))
}

/// A key that expires may give a key (a new one, another, or itself) only an expiry at or before its
/// own: never "no expiry", never a later one. People and keys that never expire are not limited.
/// Answers the message to show against `expires_at`, or `None` when the expiry is allowed.
pub fn expiry_beyond_caller(
    conn: &mut DbConnection,
    principal: &Principal,
    expires_at: Option<NaiveDateTime>,
) -> Result<Option<String>, AppError> {
    let Some(limit) = caller_key_expiry(conn, principal)? else {
        return Ok(None);
    };
    let limit_text = limit.format("%Y-%m-%dT%H:%M:%SZ");
    Ok(match expires_at {
        None => Some(format!(
            "This key expires at {limit_text}: it cannot give a key no expiry. Choose a time at or before {limit_text}."
        )),
        Some(at) if at > limit => Some(format!(
            "This key expires at {limit_text}: it cannot give a key a later expiry. Choose a time at or before {limit_text}."
        )),
        Some(_) => None,
    })
}

/// Whether a set-password link still carries its issuer's authority when it is used: the person who
/// issued it (if a person did) is still active and could still give every role the link's holder
/// holds now. A link issued before the holder was promoted, or by someone since deactivated or
/// demoted, would otherwise hand its issuer an account beyond their rank.
pub fn link_issuer_still_outranks(
    conn: &mut DbConnection,
    issued_by: Option<&str>,
    holder_id: &str,
) -> Result<bool, AppError> {
    let Some(issuer_id) = issued_by else {
        // Issued by Latchkey itself (first-run setup, or an operator's command).
        return Ok(true);
    };
    if issuer_id == holder_id {
        return Ok(true);
    }
    match user::find(conn, issuer_id)? {
        Some(issuer) if issuer.is_active() => {
            let permissions = permission::effective_for_user(conn, issuer_id)?;
            let held = user::role_ids(conn, holder_id)?;
            Ok(first_missing(conn, &permissions, &held)?.is_none())
        }
        _ => Ok(false),
    }
}

/// Whether `holder` may hand out a role with these permissions (or, for Admin, every permission).
pub fn can_grant(holder: &PermissionSet, role: &Role, permissions: &[String]) -> bool {
    if role.grants_all {
        return holder.holds_all();
    }
    permissions.iter().all(|p| holder.can(p))
}

/// The permissions of a role that `holder` lacks, for the "you cannot give this role" message.
pub fn missing_for(holder: &PermissionSet, role: &Role, permissions: &[String]) -> Vec<String> {
    if role.grants_all && !holder.holds_all() {
        return vec![ADMIN_ONLY.to_string()];
    }
    permissions
        .iter()
        .filter(|p| !holder.can(p))
        .cloned()
        .collect()
}

/// The one role (by id or name) that `principal` asks to give, when they may: a single grant's
/// check, for keys and people alike. `held` are the roles the holder has already.
pub fn grantable_role(
    conn: &mut DbConnection,
    principal: &Principal,
    role_ref: &str,
    held: &[String],
) -> Result<Role, AppError> {
    let mut errors = FieldErrors::default();
    let found = check_grantable_roles(conn, principal, &[role_ref.to_string()], held, &mut errors)?;
    errors.into_result()?;
    // A blank reference names no role: like an unknown one, there is nothing to give.
    found.into_iter().next().ok_or(AppError::NotFound)
}

/// Loads the chosen roles and checks that each exists and may be given by `principal`. Roles already
/// on the key (`already_held`) may stay even when the principal could not give them.
pub fn check_grantable_roles(
    conn: &mut DbConnection,
    principal: &Principal,
    requested: &[String],
    already_held: &[String],
    errors: &mut FieldErrors,
) -> Result<Vec<Role>, AppError> {
    check_role_count(requested, already_held)?;
    // Roles are named by id (forms) or by id or name (the API); each distinct reference is looked
    // up once.
    let references: BTreeSet<&str> = requested
        .iter()
        .map(|r| r.trim())
        .filter(|r| !r.is_empty())
        .collect();
    let mut ids: Vec<String> = Vec::new();
    let mut unknown: Vec<String> = Vec::new();
    for reference in references {
        let found = match role::find(conn, reference)? {
            Some(by_id) => Some(by_id),
            None => role::find_by_name(conn, reference)?,
        };
        match found {
            Some(found) => ids.push(found.id),
            None => unknown.push(reference.to_string()),
        }
    }
    if !unknown.is_empty() {
        errors.add_conflict(
            ROLES_FIELD,
            format!(
                "These roles do not exist (any more): {}. Reload the page and choose again.",
                unknown.join(", ")
            ),
        );
    }
    ids.sort();
    ids.dedup();
    let found = role::find_many(conn, &ids)?;
    let role_ids: Vec<String> = found.iter().map(|r| r.id.clone()).collect();
    let permissions = role::permissions_by_role(conn, &role_ids)?;
    let refused: Vec<String> = found
        .iter()
        .filter(|r| !already_held.contains(&r.id))
        .filter_map(|r| {
            let perms = permissions.get(&r.id).map(Vec::as_slice).unwrap_or(&[]);
            (!can_grant(&principal.permissions, r, perms)).then(|| {
                format!(
                    "“{}” (needs {})",
                    r.name,
                    missing_for(&principal.permissions, r, perms).join(", ")
                )
            })
        })
        .collect();
    if !refused.is_empty() {
        errors.add(
            ROLES_FIELD,
            format!(
                "You can only give roles whose permissions you hold yourself. Not allowed: {}.",
                refused.join("; ")
            ),
        );
    }
    Ok(found)
}

/// The roles a whole-set replacement asks for (`requested`, by id or name), checked: each exists
/// and may be given by `principal`, except roles already held (`held`), which may stay; and leaving
/// out a held role asks to take it away, refused (403) unless `principal` could give it. Problems
/// with the choice are added to `errors`.
pub fn resolve_requested_roles(
    conn: &mut DbConnection,
    principal: &Principal,
    requested: &[String],
    held: &[String],
    errors: &mut FieldErrors,
) -> Result<Vec<Role>, AppError> {
    let roles = check_grantable_roles(conn, principal, requested, held, errors)?;
    let taken: Vec<String> = held
        .iter()
        .filter(|id| !roles.iter().any(|r| &r.id == *id))
        .cloned()
        .collect();
    require_may_take(conn, principal, &taken)?;
    Ok(roles)
}

/// Refuses (403, naming a permission the principal lacks) to take away any of these roles unless
/// the principal could give it: removing a role is as strong as granting it.
pub fn require_may_take(
    conn: &mut DbConnection,
    principal: &Principal,
    role_ids: &[String],
) -> Result<(), AppError> {
    let roles = role::find_many(conn, role_ids)?;
    let permissions = role::permissions_by_role(conn, role_ids)?;
    for taken in &roles {
        let perms = permissions.get(&taken.id).map(Vec::as_slice).unwrap_or(&[]);
        if can_grant(&principal.permissions, taken, perms) {
            continue;
        }
        let missing = if taken.grants_all {
            permission::names(conn)?
                .into_iter()
                .find(|p| !principal.can(p))
        } else {
            perms.iter().find(|p| !principal.can(p)).cloned()
        };
        return Err(AppError::forbidden(
            missing.as_deref().unwrap_or(ADMIN_ONLY),
        ));
    }
    Ok(())
}

/// One permission held through roles, and the roles that give it.
#[derive(Debug, Clone)]
pub struct EffectivePermission {
    pub name: String,
    pub description: String,
    pub granted_by: Vec<String>,
}

/// The union of the roles' permissions (Admin: the whole catalog), each with the roles granting it.
pub fn effective_permissions(
    conn: &mut DbConnection,
    roles: &[Role],
) -> Result<Vec<EffectivePermission>, AppError> {
    let role_ids: Vec<String> = roles.iter().map(|r| r.id.clone()).collect();
    let by_role = role::permissions_by_role(conn, &role_ids)?;
    let catalog = permission::list(conn)?;
    let mut effective: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for held in roles {
        let names: Vec<String> = if held.grants_all {
            catalog.iter().map(|p| p.name.clone()).collect()
        } else {
            by_role.get(&held.id).cloned().unwrap_or_default()
        };
        for name in names {
            effective.entry(name).or_default().push(held.name.clone());
        }
    }
    Ok(effective
        .into_iter()
        .map(|(name, granted_by)| EffectivePermission {
            description: catalog
                .iter()
                .find(|p| p.name == name)
                .map(|p| p.description.clone())
                .unwrap_or_default(),
            name,
            granted_by,
        })
        .collect())
}
