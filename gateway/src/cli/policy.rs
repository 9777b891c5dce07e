//! `preflight policy ...` (work in progress).

use super::{CliError, CliResult};

/// `preflight policy` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum PolicyCommand {
    /// Not implemented yet.
    Todo,
}

/// Runs the command.
pub fn run(_cmd: PolicyCommand) -> CliResult {
    Err(CliError::internal(anyhow::anyhow!("preflight policy: not implemented yet")))
}
