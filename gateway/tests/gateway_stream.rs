//! Streaming over real sockets: SSE from a scripted upstream, split into
//! small pieces, relayed with text at once and tool calls held until judged.

mod common;

use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use common::*;
use http::Request;
use http_body_util::{BodyExt, Full};
use serde_json::{Value, json};

fn chunk(delta: Value, finish: Option<&str>) -> String {
    let c = json!({"id": "chatcmpl-9", "object": "chat.completion.chunk", "created": 1730000000,
                   "model": "gpt-4o-mini", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]});
    format!("data: {c}\n\n")
}

fn chat_stream() -> String {
    [
        chunk(json!({"role": "assistant", "content": ""}), None),
        chunk(json!({"content": "Checking the invoice "}), None),
        chunk(json!({"content": "first. \u{1f9fe}"}), None),
        chunk(json!({"tool_calls": [{"index": 0, "id": "call_read", "type": "function", "function": {"name": "read_file", "arguments": ""}}]}), None),
        chunk(json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"path\": "}}]}), None),
        chunk(json!({"tool_calls": [{"index": 0, "function": {"arguments": "\"invoice-0412.txt\"}"}}]}), None),
        chunk(json!({"tool_calls": [{"index": 1, "id": "call_wire", "type": "function", "function": {"name": "wire_money", "arguments": ""}}]}), None),
        chunk(json!({"tool_calls": [{"index": 1, "function": {"arguments": "{\"iban\": \"DE8937040044"}}]}), None),
        chunk(json!({"tool_calls": [{"index": 1, "function": {"arguments": "0532013000\", \"amount\": 4210}"}}]}), None),
        chunk(json!({}), Some("tool_calls")),
        "data: [DONE]\n\n".to_owned(),
    ]
    .concat()
}

fn chat_request() -> Value {
    json!({"model": "gpt-4o-mini", "stream": true,
           "messages": [{"role": "user", "content": "Read invoice-0412.txt and pay it."}],
           "tools": [{"type": "function", "function": {"name": "read_file", "parameters": {"type": "object"}}},
                     {"type": "function", "function": {"name": "wire_money", "parameters": {"type": "object"}}}]})
}

/// Reads every `data:` payload of an SSE body.
fn data_lines(body: &str) -> Vec<String> {
    body.lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(str::to_owned)
        .collect()
}

/// What an SDK would assemble from a chat stream: text and (name, arguments) per call index.
fn assemble_chat(body: &str) -> (String, Vec<(String, String)>, Option<String>, bool) {
    let mut text = String::new();
    let mut calls: Vec<(String, String)> = Vec::new();
    let mut finish = None;
    let mut done = false;
    for d in data_lines(body) {
        if d == "[DONE]" {
            done = true;
            continue;
        }
        let v: Value = serde_json::from_str(&d).expect("every event is JSON");
        let choice = &v["choices"][0];
        if let Some(t) = choice["delta"]["content"].as_str() {
            text.push_str(t);
        }
        for tc in choice["delta"]["tool_calls"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let i = tc["index"].as_u64().expect("index") as usize;
            while calls.len() <= i {
                calls.push(Default::default());
            }
            if let Some(n) = tc["function"]["name"].as_str() {
                calls[i].0.push_str(n);
            }
            if let Some(a) = tc["function"]["arguments"].as_str() {
                calls[i].1.push_str(a);
            }
        }
        if let Some(f) = choice["finish_reason"].as_str() {
            finish = Some(f.to_owned());
        }
    }
    (text, calls, finish, done)
}

#[tokio::test]
async fn chat_stream_withholds_the_denied_call_and_keeps_text_and_the_allowed_call() {
    let up = upstream(vec![Script::sse(&chat_stream(), 7)]).await;
    let gw = gateway(
        &format!("{CHAT_UPSTREAM}\n[policy]\ndeny_tools = [\"wire_money\"]\n"),
        Some(up.addr),
    )
    .await;
    let (status, headers, body) = send(
        "POST",
        &gw.url("/v1/chat/completions"),
        &[],
        chat_request().to_string(),
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap_or("")
            .starts_with("text/event-stream")
    );
    let body = String::from_utf8(body.to_vec()).expect("utf-8 survives the split");
    let (text, calls, finish, done) = assemble_chat(&body);
    assert!(
        text.starts_with("Checking the invoice first. \u{1f9fe}"),
        "{text}"
    );
    assert!(
        text.contains("[preflight]") && text.contains("wire_money"),
        "{text}"
    );
    assert_eq!(
        calls,
        vec![(
            "read_file".to_owned(),
            "{\"path\": \"invoice-0412.txt\"}".to_owned()
        )]
    );
    assert_eq!(finish.as_deref(), Some("tool_calls"));
    assert!(done, "the stream ends with [DONE]");
    gw.shutdown().await;
}

#[tokio::test]
async fn chat_stream_with_every_call_withheld_finishes_as_a_plain_answer() {
    let up = upstream(vec![Script::sse(&chat_stream(), 3)]).await;
    let gw = gateway(
        &format!("{CHAT_UPSTREAM}\n[policy]\ndeny_tools = [\"wire_money\", \"read_file\"]\n"),
        Some(up.addr),
    )
    .await;
    let (_, _, body) = send(
        "POST",
        &gw.url("/v1/chat/completions"),
        &[],
        chat_request().to_string(),
    )
    .await;
    let (_, calls, finish, done) = assemble_chat(&String::from_utf8_lossy(&body));
    assert!(calls.is_empty(), "{calls:?}");
    assert_eq!(finish.as_deref(), Some("stop"));
    assert!(done);
    gw.shutdown().await;
}

#[tokio::test]
async fn text_reaches_the_client_before_the_upstream_finishes() {
    let stream = chat_stream();
    // Gate after the first two events (role + first text delta).
    let first_two = stream
        .split("\n\n")
        .take(2)
        .map(|e| e.len() + 2)
        .sum::<usize>();
    let mut script = Script::sse(&stream, first_two);
    script.gate_after = Some(1);
    let up = upstream(vec![script]).await;
    let gw = gateway(CHAT_UPSTREAM, Some(up.addr)).await;
    let req = Request::post(gw.url("/v1/chat/completions"))
        .body(Full::new(Bytes::from(chat_request().to_string())))
        .expect("request");
    let resp = client().request(req).await.expect("response");
    let mut body = resp.into_body();
    let mut seen = String::new();
    while !seen.contains("Checking the invoice") {
        let frame = tokio::time::timeout(Duration::from_secs(10), body.frame())
            .await
            .expect("text arrives while the upstream is still held")
            .expect("frame")
            .expect("ok");
        if let Ok(d) = frame.into_data() {
            seen.push_str(&String::from_utf8_lossy(&d));
        }
    }
    up.gate.notify_one();
    let rest = body.collect().await.expect("rest").to_bytes();
    seen.push_str(&String::from_utf8_lossy(&rest));
    assert!(
        assemble_chat(&seen).3,
        "stream completes after the gate opens"
    );
    gw.shutdown().await;
}

#[tokio::test]
async fn a_client_that_disconnects_mid_stream_cancels_the_upstream_request() {
    let mut script = Script::sse(&chat_stream(), 40);
    script.gate_after = Some(2);
    let up = upstream(vec![script]).await;
    let gw = gateway(CHAT_UPSTREAM, Some(up.addr)).await;
    let req = Request::post(gw.url("/v1/chat/completions"))
        .body(Full::new(Bytes::from(chat_request().to_string())))
        .expect("request");
    let resp = client().request(req).await.expect("response");
    let mut body = resp.into_body();
    let _ = body.frame().await;
    drop(body);
    for _ in 0..500 {
        if up.cancelled.load(Ordering::SeqCst) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        up.cancelled.load(Ordering::SeqCst),
        "the upstream saw its reader go away"
    );
    gw.shutdown().await;
}

const ANTHROPIC_STREAM: &str = concat!(
    "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":12,\"output_tokens\":1}}}\n\n",
    "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
    "event: ping\ndata: {\"type\":\"ping\"}\n\n",
    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Paying the invoice now.\"}}\n\n",
    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
    "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_01\",\"name\":\"wire_money\",\"input\":{}}}\n\n",
    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"iban\\\": \\\"DE89\"}}\n\n",
    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"370400440532013000\\\", \\\"amount\\\": 4210}\"}}\n\n",
    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n\n",
    "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":48}}\n\n",
    "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
);

#[tokio::test]
async fn anthropic_stream_replaces_a_denied_tool_use_with_text_and_ends_the_turn() {
    let up = upstream(vec![Script::sse(ANTHROPIC_STREAM, 11)]).await;
    let gw = gateway(
        &format!("{CHAT_UPSTREAM}\n[policy]\ndeny_tools = [\"wire_money\"]\n"),
        Some(up.addr),
    )
    .await;
    let request = json!({"model": "claude-sonnet-4-5", "max_tokens": 256, "stream": true,
                         "messages": [{"role": "user", "content": "Pay invoice 0412."}],
                         "tools": [{"name": "wire_money", "input_schema": {"type": "object"}}]});
    let (status, _, body) = send("POST", &gw.url("/v1/messages"), &[], request.to_string()).await;
    assert_eq!(status, 200);
    let body = String::from_utf8_lossy(&body);
    let events: Vec<Value> = data_lines(&body)
        .iter()
        .map(|d| serde_json::from_str(d).expect("json"))
        .collect();
    assert!(
        events
            .iter()
            .all(|e| e.pointer("/content_block/type") != Some(&json!("tool_use"))),
        "{body}"
    );
    assert!(body.contains("Paying the invoice now.") && body.contains("[preflight]"));
    let delta = events
        .iter()
        .find(|e| e["type"] == "message_delta")
        .expect("message_delta");
    assert_eq!(delta["delta"]["stop_reason"], "end_turn");
    assert_eq!(
        events.last().map(|e| e["type"].clone()),
        Some(json!("message_stop"))
    );
    gw.shutdown().await;
}

#[tokio::test]
async fn anthropic_stream_allowed_tool_use_passes_byte_for_byte() {
    let allowed = ANTHROPIC_STREAM
        .replace("wire_money", "read_file")
        .replace(r#"\"iban\": \"DE89"#, r#"\"path\": \"invoice-"#)
        .replace(
            r#"370400440532013000\", \"amount\": 4210}"#,
            r#"0412.txt\"}"#,
        );
    assert!(allowed.contains("invoice-") && !allowed.contains("iban"));
    let up = upstream(vec![Script::sse(&allowed, 5)]).await;
    let gw = gateway(CHAT_UPSTREAM, Some(up.addr)).await;
    let request = json!({"model": "claude-sonnet-4-5", "max_tokens": 256, "stream": true,
                         "messages": [{"role": "user", "content": "Read invoice-0412.txt and summarize it."}],
                         "tools": [{"name": "read_file", "input_schema": {"type": "object"}}]});
    let (_, _, body) = send("POST", &gw.url("/v1/messages"), &[], request.to_string()).await;
    assert_eq!(String::from_utf8_lossy(&body), allowed);
    gw.shutdown().await;
}

#[tokio::test]
async fn a_streamed_call_that_is_withheld_is_in_the_audit_log_once_per_call() {
    let dir = std::env::temp_dir().join(format!("preflight-stream-audit-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let up = upstream(vec![Script::sse(&chat_stream(), 7)]).await;
    let gw = gateway_with_audit(
        &format!("{CHAT_UPSTREAM}\n[policy]\ndeny_tools = [\"wire_money\"]\n"),
        Some(up.addr),
        &dir,
    )
    .await;
    let (status, _, body) = send(
        "POST",
        &gw.url("/v1/chat/completions"),
        &[],
        chat_request().to_string(),
    )
    .await;
    assert_eq!(status, 200);
    let (_, calls, _, _) = assemble_chat(&String::from_utf8_lossy(&body));
    assert!(calls.iter().all(|(name, _)| name != "wire_money"));
    gw.shutdown().await;
    let mut records: Vec<Value> = Vec::new();
    for entry in std::fs::read_dir(dir.join("audit"))
        .expect("audit dir")
        .flatten()
    {
        let path = entry.path();
        if path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("segment-"))
        {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            records.extend(
                text.lines()
                    .filter_map(|l| serde_json::from_str::<Value>(l).ok())
                    .map(|l| l["record"].clone()),
            );
        }
    }
    let blocked: Vec<&Value> = records.iter().filter(|r| r["verdict"] == "block").collect();
    assert_eq!(blocked.len(), 1, "{records:?}");
    assert_eq!(blocked[0]["steps"].as_array().map(Vec::len), Some(1));
    assert_eq!(blocked[0]["steps"][0]["tool"], "wire_money");
    assert_eq!(blocked[0]["route"], "chat_completions");
    let _ = std::fs::remove_dir_all(&dir);
}
