//! `preflight check` (work in progress).

use super::{CliError, CliResult};

/// Arguments of `preflight check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {}

/// Runs the command.
pub fn run(_args: CheckArgs) -> CliResult {
    Err(CliError::internal(anyhow::anyhow!("preflight check: not implemented yet")))
}
