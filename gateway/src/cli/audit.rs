//! `preflight audit ...` (work in progress).

use super::{CliError, CliResult};

/// `preflight audit` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum AuditCommand {
    /// Not implemented yet.
    Todo,
}

/// Runs the command.
pub fn run(_cmd: AuditCommand) -> CliResult {
    Err(CliError::internal(anyhow::anyhow!(
        "preflight audit: not implemented yet"
    )))
}
