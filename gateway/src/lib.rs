//! The Preflight gateway: the I/O edge around the pure crates — the CLI, the
//! server and its routes, the upstream client, the guard model and the audit log.

pub mod audit;
pub mod cli;
pub mod config;
pub mod datagen;
pub mod guard;
pub mod metrics;
pub mod pipeline;
pub mod policy_files;
pub mod routes;
pub mod server;
pub mod upstream;
