//! Latchkey: a self-hosted console for API keys and the roles that authorize them.

pub mod auth;
pub mod authz;
pub mod config;
pub mod db;
pub mod error;
pub mod limits;
pub mod middleware;
pub mod models;
pub mod paths;
pub mod routes;
pub mod services;
pub mod startup;
pub mod state;
pub mod telemetry;
