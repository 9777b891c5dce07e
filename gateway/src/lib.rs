//! The Preflight gateway: the I/O edge around the pure crates — the CLI, the
//! server and its routes, the upstream client, the guard model and the audit log.

pub mod cli;
pub mod datagen;
pub mod guard;
