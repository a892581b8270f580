//! The ground floor: what may be done, in words every floor above shares. The permission catalog,
//! the permission set, and the typed vocabularies of the audit log, key refusals and user status.
//! It imports nothing from the crate.

pub mod catalog;
pub mod permission_set;
pub mod vocabulary;

pub use permission_set::PermissionSet;
pub use vocabulary::{ActorKind, AuditAction, KeyRefusal, Outcome, TargetKind, UserStatus};
