//! What a principal may do: a set of permission names, or all of them.

use std::collections::BTreeSet;
use std::sync::Arc;

/// A set of permission names, or every permission (the Admin role).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PermissionSet {
    all: bool,
    /// Shared, so that handing a cached key's permissions to each request costs no copy.
    names: Arc<BTreeSet<String>>,
}

impl PermissionSet {
    pub fn all() -> Self {
        Self {
            all: true,
            names: Arc::new(BTreeSet::new()),
        }
    }

    pub fn from_names(names: impl IntoIterator<Item = String>) -> Self {
        Self {
            all: false,
            names: Arc::new(names.into_iter().collect()),
        }
    }

    pub fn can(&self, permission: &str) -> bool {
        self.all || self.names.contains(permission)
    }

    pub fn holds_all(&self) -> bool {
        self.all
    }

    /// The names held explicitly (empty for "all").
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.names.iter().map(String::as_str)
    }
}
