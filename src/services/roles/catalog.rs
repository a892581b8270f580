//! Reading roles: the catalog the pickers and the Roles tab show, one role with its permissions, the
//! role form with what its viewer may do, and the API's pages.

use super::{CHANGE_ROLE, DELETE_ROLE};
use std::collections::HashMap;

use crate::auth::Principal;
use crate::authz::catalog::{ROLES_CREATE, ROLES_DELETE, ROLES_RETRIEVE, ROLES_UPDATE};
use crate::db::{Db, DbConnection};
use crate::error::AppError;
use crate::models::permission::{self, Permission};
use crate::models::role::{self, Role, RoleCounts};
use crate::services::roles::{can_delete, can_edit};
use crate::services::{grants, permitted, require_either, Refusal};

/// Everything the role pickers need: the permission catalog, the roles, and each role's permissions.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    pub permissions: Vec<Permission>,
    pub roles: Vec<Role>,
    pub role_permissions: HashMap<String, Vec<String>>,
    pub counts: HashMap<String, RoleCounts>,
}

impl Catalog {
    pub fn permissions_of(&self, role_id: &str) -> &[String] {
        self.role_permissions
            .get(role_id)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }
}

pub fn catalog(conn: &mut DbConnection) -> Result<Catalog, AppError> {
    let permissions = permission::list(conn)?;
    let roles = role::list(conn)?;
    let ids: Vec<String> = roles.iter().map(|r| r.id.clone()).collect();
    let role_permissions = role::permissions_by_role(conn, &ids)?;
    let counts = role::counts(conn)?;
    Ok(Catalog {
        permissions,
        roles,
        role_permissions,
        counts,
    })
}

/// The Roles tab: every role, with how many permissions, keys and people each has.
pub async fn all(db: &Db, principal: &Principal) -> Result<Catalog, AppError> {
    principal.require(ROLES_RETRIEVE)?;
    db.run(catalog).await
}

/// A role and the permissions it holds.
#[derive(Debug, Clone)]
pub struct RoleDetail {
    pub role: Role,
    pub permissions: Vec<String>,
}

fn find_detail(conn: &mut DbConnection, role_id: &str) -> Result<RoleDetail, AppError> {
    let role = role::find(conn, role_id)?.ok_or(AppError::NotFound)?;
    let permissions = role::permissions_of(conn, role_id)?;
    Ok(RoleDetail { role, permissions })
}

/// One role with its permissions.
pub async fn detail(
    db: &Db,
    principal: &Principal,
    role_id: String,
) -> Result<RoleDetail, AppError> {
    principal.require(ROLES_RETRIEVE)?;
    db.run(move |conn| find_detail(conn, &role_id)).await
}

/// The permissions of a role a write just answered with, to answer it whole.
pub async fn with_permissions(db: &Db, role: Role) -> Result<RoleDetail, AppError> {
    db.run(move |conn| {
        let permissions = role::permissions_of(conn, &role.id)?;
        Ok(RoleDetail { role, permissions })
    })
    .await
}

/// A page of roles by id, after the role `after` (the API's cursor pages).
pub async fn page(
    db: &Db,
    principal: &Principal,
    after: Option<String>,
    limit: i64,
) -> Result<Vec<RoleDetail>, AppError> {
    principal.require(ROLES_RETRIEVE)?;
    db.run(move |conn| {
        let roles = role::list_after(conn, after.as_deref(), limit)?;
        let ids: Vec<String> = roles.iter().map(|r| r.id.clone()).collect();
        let mut by_role = role::permissions_by_role(conn, &ids)?;
        Ok(roles
            .into_iter()
            .map(|role| {
                let permissions = by_role.remove(&role.id).unwrap_or_default();
                RoleDetail { role, permissions }
            })
            .collect())
    })
    .await
}

/// What the role form shows: the permissions it offers and, when it edits a role, that role.
#[derive(Debug, Clone)]
pub struct RoleForm {
    pub catalog: Vec<Permission>,
    pub role: Option<EditedRole>,
}

/// A role on its form, with what the viewer may do with it and why not.
#[derive(Debug, Clone)]
pub struct EditedRole {
    pub role: Role,
    /// What the form shows checked: every permission of the catalog for the Admin role.
    pub permissions: Vec<String>,
    pub edit: Result<(), Refusal>,
    pub delete: Result<(), Refusal>,
}

/// The form for a new role (`role_id` is `None`) or for changing one.
pub async fn form(
    db: &Db,
    principal: &Principal,
    role_id: Option<String>,
) -> Result<RoleForm, AppError> {
    match role_id {
        None => principal.require(ROLES_CREATE)?,
        Some(_) => require_either(principal, ROLES_RETRIEVE, ROLES_UPDATE)?,
    }
    let viewer = principal.clone();
    db.run(move |conn| {
        let catalog = permission::list(conn)?;
        let role = match role_id {
            Some(id) => Some(edited_role(conn, &viewer, &id, &catalog)?),
            None => None,
        };
        Ok(RoleForm { catalog, role })
    })
    .await
}

fn edited_role(
    conn: &mut DbConnection,
    viewer: &Principal,
    role_id: &str,
    catalog: &[Permission],
) -> Result<EditedRole, AppError> {
    let RoleDetail {
        role,
        mut permissions,
    } = find_detail(conn, role_id)?;
    if role.grants_all {
        permissions = catalog.iter().map(|p| p.name.clone()).collect();
    }
    // A role the viewer could not give is beyond their rank: they may neither change nor delete it.
    let beyond = if role.is_builtin {
        None
    } else {
        grants::first_missing(conn, &viewer.permissions, std::slice::from_ref(&role.id))?
    };
    let within_rank = |what: &str| match &beyond {
        Some(missing) => Err(Refusal::new(grants::outranked_sentence(what, missing))),
        None => Ok(()),
    };
    let edit = can_edit(&role)
        .and_then(|()| permitted(viewer, ROLES_UPDATE))
        .and_then(|()| within_rank(CHANGE_ROLE));
    let delete = can_delete(&role)
        .and_then(|()| permitted(viewer, ROLES_DELETE))
        .and_then(|()| within_rank(DELETE_ROLE));
    Ok(EditedRole {
        role,
        permissions,
        edit,
        delete,
    })
}

/// What deleting a role would touch, for its confirmation page.
#[derive(Debug, Clone)]
pub struct RoleDeletion {
    pub role: Role,
    pub holders: RoleCounts,
}

/// The role about to be deleted, refused as its deletion would be.
pub async fn deletion(
    db: &Db,
    principal: &Principal,
    role_id: String,
) -> Result<RoleDeletion, AppError> {
    principal.require(ROLES_DELETE)?;
    let viewer = principal.clone();
    db.run(move |conn| {
        let role = role::find(conn, &role_id)?.ok_or(AppError::NotFound)?;
        can_delete(&role)?;
        grants::require_can_change_role(conn, &viewer, &role_id, DELETE_ROLE)?;
        let holders = role::holder_counts(conn, &role_id)?;
        Ok(RoleDeletion { role, holders })
    })
    .await
}
