//! Optional OTLP/HTTP JSON export: with an endpoint set, each written record
//! reaches a collector (a real socket on loopback) as a redacted log record;
//! with the collector gone, the writer still writes and the failures are counted.

mod audit_support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;

use preflight_adapters::Verdict;
use preflight_gateway::audit::otlp::OtlpSettings;
use preflight_gateway::audit::{self, AuditLog};
use serde_json::Value;

/// Accepts `posts` requests, answers 200, and returns their JSON bodies.
fn collector(listener: TcpListener, posts: usize) -> std::thread::JoinHandle<Vec<Value>> {
    std::thread::spawn(move || {
        let mut bodies = Vec::new();
        for _ in 0..posts {
            let Ok((stream, _)) = listener.accept() else {
                break;
            };
            let mut reader = BufReader::new(stream);
            let mut len = 0usize;
            let mut request_line = String::new();
            let _ = reader.read_line(&mut request_line);
            assert!(request_line.starts_with("POST /v1/logs "), "{request_line}");
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0u8; len];
            let _ = reader.read_exact(&mut body);
            let _ = reader
                .get_mut()
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}");
            bodies.push(serde_json::from_slice(&body).unwrap_or(Value::Null));
        }
        bodies
    })
}

#[test]
fn written_records_reach_the_collector_redacted_with_their_chain_position() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let port = listener
        .local_addr()
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("{e}"));
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut settings = audit_support::settings(dir.path());
    settings.otlp = Some(OtlpSettings::new(format!("http://127.0.0.1:{port}")));
    let (handle, task) = AuditLog::open(settings).unwrap_or_else(|e| panic!("{e}"));
    // One record per POST: each is synced and acked before the next is sent.
    let server = collector(listener, 1);
    let mut rec = audit_support::decision("d-otlp", "acme", "send_email", Verdict::Block);
    rec.steps[0].arguments = serde_json::json!({"body": "key AKIAJ7Q2XMPL4RTV9KEZ"});
    let ack = handle
        .record_blocking(rec)
        .unwrap_or_else(|e| panic!("{e}"));
    let bodies = server
        .join()
        .unwrap_or_else(|_| panic!("collector panicked"));
    handle.shutdown_blocking().unwrap_or_else(|e| panic!("{e}"));
    drop(handle);
    task.join().unwrap_or_else(|e| panic!("{e}"));

    let text = bodies[0].to_string();
    assert!(!text.contains("AKIAJ7Q2XMPL4RTV9KEZ"), "{text}");
    let log = &bodies[0]["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0];
    assert_eq!(log["severityText"], "WARN");
    let attrs = log["attributes"].as_array().cloned().unwrap_or_default();
    let attr = |k: &str| {
        attrs
            .iter()
            .find(|a| a["key"] == k)
            .map(|a| a["value"].clone())
            .unwrap_or(Value::Null)
    };
    assert_eq!(attr("preflight.decision_id")["stringValue"], "d-otlp");
    assert_eq!(attr("preflight.verdict")["stringValue"], "block");
    assert_eq!(
        attr("preflight.audit.hash")["stringValue"],
        ack.hash.as_str()
    );
    assert_eq!(attr("preflight.audit.seq")["intValue"], ack.seq.to_string());
}

#[test]
fn an_absent_collector_never_stops_the_audit_log_and_failures_are_counted() {
    // Bind then drop: the port is (almost surely) closed now.
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("{e}"));
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut settings = audit_support::settings(dir.path());
    settings.otlp = Some(OtlpSettings::new(format!("http://127.0.0.1:{port}")));
    let (handle, task) = AuditLog::open(settings).unwrap_or_else(|e| panic!("{e}"));
    for i in 0..5 {
        let rec = audit_support::decision(&format!("d-{i}"), "acme", "read_file", Verdict::Block);
        handle
            .record_blocking(rec)
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let metrics = handle.metrics();
    handle.shutdown_blocking().unwrap_or_else(|e| panic!("{e}"));
    drop(handle);
    task.join().unwrap_or_else(|e| panic!("{e}"));
    let m = metrics.snapshot();
    assert_eq!(m.written, 5);
    assert_eq!(m.otlp_exported, 0);
    assert_eq!(m.otlp_failed + m.otlp_dropped, 5);
    assert!(audit::verify(dir.path()).map(|r| r.ok()).unwrap_or(false));
}
