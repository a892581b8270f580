//! The Development tab: API keys. The list, the form that creates and edits a key (with the
//! "Roles & access" field and its inline role), the page that shows a new key's secret once, the
//! detail page with effective permissions and history, and revocation. URLs stay `/development/…`.

pub mod detail;
pub mod form;
pub mod list;
pub mod revoke;
