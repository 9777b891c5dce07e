//! The official Python SDKs (openai, anthropic, mcp) drive the real gateway
//! over loopback: the agent changes nothing but its base URL. LLM answers
//! come from a scripted upstream replaying recorded responses; MCP tools
//! from a real FastMCP server.

use std::time::Duration;

use preflight_e2e::*;
use serde_json::{Value, json};

const LIMIT: Duration = Duration::from_secs(120);

fn chat_json() -> Value {
    json!({
        "id": "chatcmpl-A1", "object": "chat.completion", "created": 1730000000, "model": "gpt-4o-mini",
        "system_fingerprint": "fp_1",
        "choices": [{"index": 0, "finish_reason": "tool_calls", "logprobs": null,
            "message": {"role": "assistant", "content": null, "refusal": null, "tool_calls": [
                {"id": "call_read", "type": "function", "function": {"name": "read_file", "arguments": "{\"path\":\"invoice-0412.txt\"}"}},
                {"id": "call_wire", "type": "function", "function": {"name": "wire_money", "arguments": "{\"iban\":\"DE89370400440532013000\",\"amount\":4210}"}}
            ]}}],
        "usage": {"prompt_tokens": 80, "completion_tokens": 40, "total_tokens": 120}
    })
}

fn chat_sse() -> String {
    let chunk = |delta: Value, finish: Value| {
        let c = json!({"id": "chatcmpl-A2", "object": "chat.completion.chunk", "created": 1730000000, "model": "gpt-4o-mini",
                       "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": null}]});
        format!("data: {c}\n\n")
    };
    [
        chunk(json!({"role": "assistant", "content": ""}), Value::Null),
        chunk(json!({"content": "Let me check."}), Value::Null),
        chunk(json!({"tool_calls": [{"index": 0, "id": "call_r", "type": "function", "function": {"name": "read_file", "arguments": ""}}]}), Value::Null),
        chunk(json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"path\":\"invoice-0412.txt\"}"}}]}), Value::Null),
        chunk(json!({"tool_calls": [{"index": 1, "id": "call_w", "type": "function", "function": {"name": "wire_money", "arguments": "{\"iban\":"}}]}), Value::Null),
        chunk(json!({"tool_calls": [{"index": 1, "function": {"arguments": "\"DE89370400440532013000\",\"amount\":4210}"}}]}), Value::Null),
        chunk(json!({}), json!("tool_calls")),
        "data: [DONE]\n\n".to_owned(),
    ]
    .concat()
}

const DENY_WIRE: &str = "[policy]\ndeny_tools = [\"wire_money\", \"send_email\"]\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openai_sdk_agent_gets_the_denied_call_removed_plain_and_streamed() {
    let up = upstream(vec![
        Script::json(&chat_json()),
        Script::sse(&chat_sse(), 9),
    ])
    .await;
    let gw = gateway(&format!("{CHAT_UPSTREAM}\n{DENY_WIRE}"), Some(up.addr)).await;
    let out = run_python(
        "examples/agent_openai.py",
        &[],
        &[
            ("PREFLIGHT_URL", gw.url("/v1")),
            ("OPENAI_API_KEY", "sk-test".into()),
        ],
        LIMIT,
    )
    .await;
    for mode in ["plain", "stream"] {
        let calls = out[mode]["tool_calls"].as_array().expect("tool_calls");
        let names: Vec<&str> = calls.iter().filter_map(|c| c["name"].as_str()).collect();
        assert_eq!(names, vec!["read_file"], "{mode}: {out}");
        assert!(
            out[mode]["content"]
                .as_str()
                .unwrap_or("")
                .contains("[preflight]"),
            "{mode}: {out}"
        );
    }
    assert!(
        out["stream"]["content"]
            .as_str()
            .unwrap_or("")
            .starts_with("Let me check.")
    );
    gw.shutdown().await;
}

fn anthropic_json() -> Value {
    json!({"id": "msg_01", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
           "stop_reason": "tool_use", "stop_sequence": null,
           "usage": {"input_tokens": 50, "output_tokens": 30},
           "content": [{"type": "text", "text": "Paying it now."},
                       {"type": "tool_use", "id": "toolu_01", "name": "wire_money",
                        "input": {"iban": "DE89370400440532013000", "amount": 4210}}]})
}

fn anthropic_sse() -> String {
    let ev = |v: Value| {
        format!(
            "event: {}\ndata: {v}\n\n",
            v["type"].as_str().unwrap_or("message")
        )
    };
    [
        ev(json!({"type": "message_start", "message": {"id": "msg_02", "type": "message", "role": "assistant",
                  "model": "claude-sonnet-4-5", "content": [], "stop_reason": null, "stop_sequence": null,
                  "usage": {"input_tokens": 50, "output_tokens": 1}}})),
        ev(json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})),
        ev(json!({"type": "ping"})),
        ev(json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Paying it now."}})),
        ev(json!({"type": "content_block_stop", "index": 0})),
        ev(json!({"type": "content_block_start", "index": 1, "content_block": {"type": "tool_use", "id": "toolu_02", "name": "wire_money", "input": {}}})),
        ev(json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": "{\"iban\": \"DE8937"}})),
        ev(json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": "0400440532013000\", \"amount\": 4210}"}})),
        ev(json!({"type": "content_block_stop", "index": 1})),
        ev(json!({"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": null}, "usage": {"output_tokens": 30}})),
        ev(json!({"type": "message_stop"})),
    ]
    .concat()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anthropic_sdk_reads_a_withheld_tool_use_as_text_plain_and_streamed() {
    let up = upstream(vec![
        Script::json(&anthropic_json()),
        Script::sse(&anthropic_sse(), 13),
    ])
    .await;
    let gw = gateway(&format!("{CHAT_UPSTREAM}\n{DENY_WIRE}"), Some(up.addr)).await;
    let out = run_python(
        "tests/python/anthropic_agent.py",
        &[],
        &[("PREFLIGHT_BASE", gw.url(""))],
        LIMIT,
    )
    .await;
    for mode in ["plain", "stream"] {
        let blocks = out[mode]["blocks"].as_array().expect("blocks");
        assert!(blocks.iter().all(|b| b != "tool_use"), "{mode}: {out}");
        assert!(
            out[mode]["text"]
                .as_str()
                .unwrap_or("")
                .contains("[preflight]"),
            "{mode}: {out}"
        );
        assert_eq!(out[mode]["stop_reason"], "end_turn", "{mode}: {out}");
    }
    gw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mcp_sdk_client_through_the_gateway_to_a_fastmcp_server() {
    let port = free_port();
    let mut server = tokio::process::Command::new(python())
        .arg(repo_root().join("tests/python/mcp_server.py"))
        .arg(port.to_string())
        .kill_on_drop(true)
        // FastMCP logs a traceback when a client's GET stream closes at the
        // end of the session; the client's own output is what is checked.
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start the FastMCP server");
    wait_for_port(port, LIMIT).await;
    let toml = format!(
        "[upstreams.mailbox]\nbase_url = \"http://127.0.0.1:{port}/mcp\"\nprotocol = \"mcp\"\ntimeout_ms = 10000\n{DENY_WIRE}"
    );
    let gw = gateway(&toml, None).await;
    let out = run_python(
        "tests/python/mcp_client.py",
        &[&gw.url("/mcp/mailbox")],
        &[],
        LIMIT,
    )
    .await;
    assert_eq!(out["tools"], json!(["read_inbox", "send_email"]), "{out}");
    assert_eq!(out["allowed"]["is_error"], false, "{out}");
    assert!(
        out["allowed"]["text"]
            .as_str()
            .unwrap_or("")
            .contains("invoice-0412"),
        "{out}"
    );
    assert_eq!(out["denied"]["is_error"], true, "{out}");
    assert!(
        out["denied"]["text"]
            .as_str()
            .unwrap_or("")
            .contains("[preflight]"),
        "{out}"
    );
    assert!(
        out["session"].is_string(),
        "the server's session id reached the client: {out}"
    );
    gw.shutdown().await;
    let _ = server.kill().await;
}
