//! End-to-end harness: the real gateway on 127.0.0.1:0, a scripted LLM
//! upstream on loopback replaying recorded answers (JSON and SSE split into
//! small pieces), child processes for the Python SDK scripts, and a plain
//! hyper client. The tests themselves live in `tests/tests/`.
//!
//! The socket harness itself is the gateway's own test harness
//! (`gateway/tests/common/mod.rs`), included here so both test suites drive
//! the gateway the same way.

#[path = "../../gateway/tests/common/mod.rs"]
mod common;
pub use common::*;

use std::time::Duration;

use serde_json::Value;

/// The repository root.
pub fn repo_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The venv's Python with the official SDKs (`scripts/setup-python` makes it).
pub fn python() -> std::path::PathBuf {
    let p = repo_root().join(".venv/bin/python");
    assert!(
        p.exists(),
        "{} is missing: run scripts/setup-python to install the openai, anthropic and mcp SDKs",
        p.display()
    );
    p
}

/// Runs a Python script to completion (bounded by `limit`) and parses the
/// last line of its stdout as JSON.
pub async fn run_python(
    script: &str,
    args: &[&str],
    env: &[(&str, String)],
    limit: Duration,
) -> Value {
    let mut cmd = tokio::process::Command::new(python());
    cmd.arg(repo_root().join(script))
        .args(args)
        .kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = tokio::time::timeout(limit, cmd.output())
        .await
        .unwrap_or_else(|_| panic!("{script} did not finish in {limit:?}"))
        .unwrap_or_else(|e| panic!("cannot run {script}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{script} failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let last = stdout.lines().last().unwrap_or("");
    serde_json::from_str(last)
        .unwrap_or_else(|e| panic!("{script} printed no JSON ({e}): {stdout}"))
}

/// A free loopback port (bound then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Waits until something accepts connections on `port`.
pub async fn wait_for_port(port: u16, limit: Duration) {
    let start = std::time::Instant::now();
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(
            start.elapsed() < limit,
            "nothing listens on port {port} after {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
