//! The `preflight` binary: parse arguments, run the command, print the error
//! chain and set the exit code. Everything else lives in the library.

use std::process::ExitCode;

// mimalloc instead of glibc malloc: a request allocates and frees thousands
// of small JSON nodes, and glibc's free-list consolidation showed as a
// fifth of the gateway's CPU per request.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    if std::env::var_os("RUST_LIB_BACKTRACE").is_none() {
        // The policy engine creates error values on ordinary lookups; with
        // RUST_BACKTRACE=1 each one would capture a backtrace, doubling the
        // cost of every decision. Panics still print theirs.
        // SAFETY: first statement of `main`: no other thread exists yet to
        // read the environment concurrently.
        #[expect(unsafe_code, reason = "set_var before any thread is started")]
        unsafe {
            std::env::set_var("RUST_LIB_BACKTRACE", "0");
        }
    }
    preflight_gateway::cli::main()
}
