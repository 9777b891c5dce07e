//! `preflight serve` (work in progress).

use super::{CliError, CliResult};

/// Arguments of `preflight serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {}

/// Runs the command.
pub fn run(_args: ServeArgs) -> CliResult {
    Err(CliError::internal(anyhow::anyhow!("preflight serve: not implemented yet")))
}
