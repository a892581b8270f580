//! Rows and the queries over them: plain functions over a connection, no rules and no HTML.

pub mod api_key;
pub mod audit;
pub mod permission;
pub mod role;
pub mod session;
pub mod setting;
pub mod user;
pub mod user_token;
