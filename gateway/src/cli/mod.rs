//! Command-line entry: one subcommand per file, each owning its arguments.
//!
//! Exit codes are the same for every subcommand (documented in the README):
//! 0 success, 1 the command ran and found a problem (a failing policy test, a
//! broken audit chain, a blocked step with `--fail-on`), 2 bad input or usage,
//! 3 an internal or environment error (unreadable file, port in use).

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub mod audit;
pub mod check;
pub mod datagen;
pub mod guard;
pub mod policy;
pub mod serve;

/// Exit code: the command ran and found a problem.
pub const EXIT_FINDING: u8 = 1;
/// Exit code: bad input or usage.
pub const EXIT_BAD_INPUT: u8 = 2;
/// Exit code: internal or environment error.
pub const EXIT_INTERNAL: u8 = 3;

/// Preflight: an agent pre-execution policy gateway.
#[derive(Debug, Parser)]
#[command(name = "preflight", version, about)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Analyze a plan or conversation file (or many eval cases) and print the result.
    Check(check::CheckArgs),
    /// Run the gateway.
    Serve(serve::ServeArgs),
    /// Test, check, explain and diff policy bundles.
    #[command(subcommand)]
    Policy(policy::PolicyCommand),
    /// Verify, query, export the audit log.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Generate labelled synthetic agent trajectories (train/val/test JSONL).
    Datagen(datagen::DatagenArgs),
    /// Train and evaluate the guard model.
    #[command(subcommand)]
    Guard(guard::GuardCommand),
}

/// An error with the exit code it maps to.
#[derive(Debug)]
pub struct CliError {
    /// The process exit code.
    pub code: u8,
    /// The error chain to print.
    pub error: anyhow::Error,
}

impl CliError {
    /// Bad input (exit 2).
    pub fn bad_input(error: impl Into<anyhow::Error>) -> Self {
        CliError {
            code: EXIT_BAD_INPUT,
            error: error.into(),
        }
    }
    /// Internal or environment error (exit 3).
    pub fn internal(error: impl Into<anyhow::Error>) -> Self {
        CliError {
            code: EXIT_INTERNAL,
            error: error.into(),
        }
    }
}

impl From<anyhow::Error> for CliError {
    fn from(error: anyhow::Error) -> Self {
        CliError::internal(error)
    }
}

/// What a command returns: its exit code on success (0, or 1 for a finding).
pub type CliResult = Result<u8, CliError>;

/// Parses the command line, runs the command, and maps the outcome to an exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check(args) => check::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Policy(cmd) => policy::run(cmd),
        Command::Audit(cmd) => audit::run(cmd),
        Command::Datagen(args) => datagen::run(args),
        Command::Guard(cmd) => guard::run(cmd),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(CliError { code, error }) => {
            #[expect(clippy::print_stderr, reason = "the CLI reports errors on stderr")]
            {
                eprintln!("error: {error}");
                for cause in error.chain().skip(1) {
                    eprintln!("  caused by: {cause}");
                }
            }
            ExitCode::from(code)
        }
    }
}
