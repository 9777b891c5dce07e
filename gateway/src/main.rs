//! The `preflight` binary: parse arguments, run the command, print the error
//! chain and set the exit code. Everything else lives in the library.

use std::process::ExitCode;

fn main() -> ExitCode {
    preflight_gateway::cli::main()
}
