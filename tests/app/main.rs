//! Latchkey's integration tests: one binary, each test on its own database and server.
//! Set TEST_DATABASE_URL=postgres://… to run them all on PostgreSQL.

mod access;
mod api;
mod architecture;
mod audit;
mod browser;
mod browser_flows;
mod catalog;
mod cli;
mod concurrency;
mod database;
mod durability;
mod forward_auth;
mod helpers;
mod http;
mod keys;
mod limits;
mod openapi;
mod outage;
mod propagation;
mod rank;
mod role_refusals;
mod roles;
mod screenshots;
mod security;
mod services;
mod sessions;
mod setup;
mod sign_in;
mod team;
