//! `preflight serve` as a process: `--check-config` exit codes, and
//! SIGTERM during load: every accepted request is answered, then it exits 0.

mod common;

use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::Duration;

use common::*;

fn preflight() -> Command {
    Command::new(env!("CARGO_BIN_EXE_preflight"))
}

fn temp_config(name: &str, text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("preflight-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path
}

#[test]
fn check_config_accepts_a_valid_file_and_names_the_bad_key_of_an_invalid_one() {
    let good = temp_config("good.toml", "[server]\nlisten = \"127.0.0.1:0\"\n");
    let out = preflight()
        .args(["serve", "--check-config", "--config"])
        .arg(&good)
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bad = temp_config("bad.toml", "[policy]\nverdict_mode = \"shrug\"\n");
    let out = preflight()
        .args(["serve", "--check-config", "--config"])
        .arg(&bad)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("policy.verdict_mode"));
    let out = preflight()
        .args(["serve", "--check-config"])
        .env("PREFLIGHT__SERVER__MAX_BODY_BYTES", "0")
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(2),
        "environment overrides are validated too"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_load_answers_every_accepted_request_then_exits_cleanly() {
    sigterm_under_load(false).await;
}

/// On one core `preflight serve` runs a single-thread runtime: the same
/// load, drain and exit, with the server pinned to one CPU (`taskset`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_one_core_the_server_answers_concurrent_requests_and_drains_on_sigterm() {
    sigterm_under_load(true).await;
}

async fn sigterm_under_load(one_core: bool) {
    let slow = Script {
        delay: Duration::from_millis(500),
        ..Script::json(&serde_json::json!({
            "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "m",
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "ok"}}]
        }))
    };
    let up = upstream(vec![slow]).await;
    let config = temp_config(
        if one_core {
            "serve-one-core.toml"
        } else {
            "serve.toml"
        },
        &CHAT_UPSTREAM.replace("{upstream}", &format!("http://{}", up.addr)),
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let mut command = if one_core {
        let mut c = tokio::process::Command::new("taskset");
        c.args(["-c", "0", env!("CARGO_BIN_EXE_preflight")]);
        c
    } else {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_preflight"))
    };
    let mut child = command
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--config",
        ])
        .arg(&config)
        .arg("--data-dir")
        .arg(config.with_file_name(if one_core {
            "serve-data-one-core"
        } else {
            "serve-data"
        }))
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start preflight serve");
    let start = std::time::Instant::now();
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the server never listened"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let url = format!("http://127.0.0.1:{port}/v1/chat/completions");
    let body = serde_json::json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]});
    let mut in_flight = Vec::new();
    for _ in 0..10 {
        let (url, body) = (url.clone(), body.clone());
        in_flight.push(tokio::spawn(async move { post_json(&url, &body).await.0 }));
    }
    while up.hits.load(Ordering::SeqCst) < 10 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let pid = child.id().expect("pid").to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(killed.success());
    for h in in_flight {
        assert_eq!(
            h.await.expect("task"),
            200,
            "an accepted request was dropped"
        );
    }
    let status = tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .expect("exits after draining")
        .expect("status");
    assert_eq!(status.code(), Some(0));
}
