//! The gateway over real sockets: a scripted upstream on loopback, the real
//! server on 127.0.0.1:0, plain HTTP clients.

mod common;

use std::sync::atomic::Ordering;
use std::time::Duration;

use common::*;
use serde_json::{Value, json};

fn chat_request() -> Value {
    json!({
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "You are a billing assistant."},
            {"role": "user", "content": "Read invoice-0412.txt and tell me what I owe."}
        ],
        "tools": [
            {"type": "function", "function": {"name": "read_file", "parameters": {"type": "object", "properties": {"path": {"type": "string"}}}}},
            {"type": "function", "function": {"name": "wire_money", "parameters": {"type": "object", "properties": {"iban": {"type": "string"}, "amount": {"type": "number"}}}}}
        ]
    })
}

fn chat_text_response() -> Value {
    json!({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1730000000, "model": "gpt-4o-mini",
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": "You owe 42.10 EUR."}}],
        "usage": {"prompt_tokens": 30, "completion_tokens": 8, "total_tokens": 38}
    })
}

fn chat_tool_response() -> Value {
    json!({
        "id": "chatcmpl-2", "object": "chat.completion", "created": 1730000001, "model": "gpt-4o-mini",
        "choices": [{"index": 0, "finish_reason": "tool_calls",
            "message": {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_read", "type": "function", "function": {"name": "read_file", "arguments": "{\"path\":\"invoice-0412.txt\"}"}},
                {"id": "call_wire", "type": "function", "function": {"name": "wire_money", "arguments": "{\"iban\":\"DE89370400440532013000\",\"amount\":4210}"}}
            ]}}]
    })
}

fn config(extra: &str) -> String {
    format!("{CHAT_UPSTREAM}\n{extra}")
}

fn tool_names(resp: &Value) -> Vec<String> {
    resp.pointer("/choices/0/message/tool_calls")
        .and_then(Value::as_array)
        .map(|calls| {
            calls
                .iter()
                .filter_map(|c| {
                    c.pointer("/function/name")
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                })
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn passes_a_text_answer_through_byte_for_byte() {
    let body = chat_text_response();
    let up = upstream(vec![Script::json(&body)]).await;
    let gw = gateway(&config(""), Some(up.addr)).await;
    let (status, headers, bytes) = send(
        "POST",
        &gw.url("/v1/chat/completions"),
        &[
            ("content-type", "application/json"),
            ("authorization", "Bearer sk-client"),
        ],
        chat_request().to_string(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(bytes, body.to_string().as_bytes());
    assert_eq!(
        headers.get("x-request-id").map(|v| v.as_bytes()),
        Some(&b"req_upstream"[..])
    );
    assert_eq!(up.bodies.lock().expect("lock")[0], chat_request());
    gw.shutdown().await;
}

#[tokio::test]
async fn strips_a_denied_call_keeps_the_allowed_one_and_tells_the_model_why() {
    let up = upstream(vec![Script::json(&chat_tool_response())]).await;
    let gw = gateway(
        &config("[policy]\ndeny_tools = [\"wire_money\"]\n"),
        Some(up.addr),
    )
    .await;
    let (status, headers, resp) = post_json(&gw.url("/v1/chat/completions"), &chat_request()).await;
    assert_eq!(status, 200, "{resp}");
    assert_eq!(tool_names(&resp), vec!["read_file"]);
    assert!(
        resp.to_string().contains("[preflight]"),
        "the model is told why: {resp}"
    );
    assert!(headers.contains_key("x-preflight-decision-id"));
    gw.shutdown().await;
}

#[tokio::test]
async fn a_request_the_typed_reader_declines_is_judged_the_same_way() {
    // Legacy `functions` and content parts with an unknown part type: the
    // gateway reads this request through the `Value` reader, not the typed
    // one, and must decide exactly as it does for the common shape.
    let mut request = chat_request();
    request["functions"] = request["tools"]
        .as_array()
        .map(|t| t.iter().map(|t| t["function"].clone()).collect())
        .unwrap_or_default();
    request.as_object_mut().map(|o| o.remove("tools"));
    request["messages"][1]["content"] = json!([
        {"type": "text", "text": "Read invoice-0412.txt and tell me what I owe."},
        {"type": "input_audio", "input_audio": {"data": "", "format": "wav"}}
    ]);
    let up = upstream(vec![
        Script::json(&chat_tool_response()),
        Script::json(&chat_tool_response()),
    ])
    .await;
    let gw = gateway(
        &config("[policy]\ndeny_tools = [\"wire_money\"]\n"),
        Some(up.addr),
    )
    .await;
    for body in [&request, &chat_request()] {
        let (status, _, resp) = post_json(&gw.url("/v1/chat/completions"), body).await;
        assert_eq!(status, 200, "{resp}");
        assert_eq!(tool_names(&resp), vec!["read_file"], "{body}");
    }
    gw.shutdown().await;
}

#[tokio::test]
async fn error_mode_answers_403_with_the_decision() {
    let up = upstream(vec![Script::json(&chat_tool_response())]).await;
    let gw = gateway(
        &config("[policy]\ndeny_tools = [\"wire_money\"]\nverdict_mode = \"error\"\n"),
        Some(up.addr),
    )
    .await;
    let (status, _, resp) = post_json(&gw.url("/v1/chat/completions"), &chat_request()).await;
    assert_eq!(status, 403);
    assert_eq!(
        resp.pointer("/error/type"),
        Some(&json!("preflight_blocked"))
    );
    assert_eq!(resp.pointer("/decision/verdict"), Some(&json!("block")));
    let steps = resp
        .pointer("/decision/steps")
        .and_then(Value::as_array)
        .expect("steps");
    let wire = steps
        .iter()
        .find(|s| s["tool"] == "wire_money")
        .expect("wire step");
    assert!(
        wire["rules"]
            .as_array()
            .is_some_and(|r| r.contains(&json!("operator.deny_tools"))),
        "{wire}"
    );
    gw.shutdown().await;
}

#[tokio::test]
async fn replan_mode_shows_the_model_its_blocked_call_and_returns_the_new_plan() {
    let up = upstream(vec![
        Script::json(&chat_tool_response()),
        Script::json(&chat_text_response()),
    ])
    .await;
    let gw = gateway(
        &config("[policy]\ndeny_tools = [\"wire_money\"]\nverdict_mode = \"replan\"\n"),
        Some(up.addr),
    )
    .await;
    let (status, _, resp) = post_json(&gw.url("/v1/chat/completions"), &chat_request()).await;
    assert_eq!(status, 200);
    assert_eq!(resp, chat_text_response());
    assert_eq!(up.hits.load(Ordering::SeqCst), 2);
    let second = up.bodies.lock().expect("lock")[1].clone();
    let messages = second["messages"].as_array().expect("messages");
    let tool_msg = messages.last().expect("last");
    assert_eq!(tool_msg["role"], "tool");
    assert_eq!(tool_msg["tool_call_id"], "call_wire");
    assert!(
        tool_msg["content"]
            .as_str()
            .unwrap_or("")
            .contains("blocked")
    );
    gw.shutdown().await;
}

#[tokio::test]
async fn approval_withholds_the_call_until_a_person_approves_the_retry() {
    let up = upstream(vec![Script::json(&chat_tool_response())]).await;
    // Rules only: the guard blocks this unrequested transfer outright (risk
    // near 1), so no person would be asked; the subject here is approvals.
    let gw = gateway(
        &config("[guard]\nenabled = false\n[policy]\napproval_tools = [\"wire_money\"]\n"),
        Some(up.addr),
    )
    .await;
    let url = gw.url("/v1/chat/completions");
    let (_, _, first) = post_json(&url, &chat_request()).await;
    assert_eq!(tool_names(&first), vec!["read_file"]);
    assert!(
        first.to_string().contains("waiting for human approval"),
        "{first}"
    );

    let (status, _, list) = send("GET", &gw.url("/v1/approvals"), &[], "").await;
    assert_eq!(status, 200);
    let list: Value = serde_json::from_slice(&list).expect("json");
    let pending = list["approvals"].as_array().expect("approvals");
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0]["tool"], "wire_money");
    assert_eq!(pending[0]["state"], "pending");
    let id = pending[0]["id"].as_str().expect("id");

    let (status, _, decided) = post_json(
        &gw.url(&format!("/v1/approvals/{id}")),
        &json!({"approve": true}),
    )
    .await;
    assert_eq!(status, 200, "{decided}");
    let (_, _, retry) = post_json(&url, &chat_request()).await;
    assert_eq!(tool_names(&retry), vec!["read_file", "wire_money"]);
    let (_, _, again) = post_json(&url, &chat_request()).await;
    assert_eq!(
        tool_names(&again),
        vec!["read_file"],
        "an approval is used once"
    );
    gw.shutdown().await;
}

#[tokio::test]
async fn anthropic_messages_strip_a_denied_tool_use() {
    let response = json!({
        "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
        "stop_reason": "tool_use", "stop_sequence": null,
        "usage": {"input_tokens": 40, "output_tokens": 30},
        "content": [
            {"type": "text", "text": "I'll pay the invoice."},
            {"type": "tool_use", "id": "toolu_1", "name": "wire_money", "input": {"iban": "DE89370400440532013000", "amount": 4210}}
        ]
    });
    let request = json!({
        "model": "claude-sonnet-4-5", "max_tokens": 512,
        "messages": [{"role": "user", "content": "Pay invoice 0412."}],
        "tools": [{"name": "wire_money", "input_schema": {"type": "object"}}]
    });
    let up = upstream(vec![Script::json(&response)]).await;
    let gw = gateway(
        &config("[policy]\ndeny_tools = [\"wire_money\"]\n"),
        Some(up.addr),
    )
    .await;
    let (status, _, resp) = post_json(&gw.url("/v1/messages"), &request).await;
    assert_eq!(status, 200, "{resp}");
    let blocks = resp["content"].as_array().expect("content");
    assert!(blocks.iter().all(|b| b["type"] != "tool_use"), "{resp}");
    assert!(resp.to_string().contains("[preflight]"));
    gw.shutdown().await;
}

#[tokio::test]
async fn a_wrong_or_missing_key_is_401_and_never_reaches_the_upstream() {
    let up = upstream(vec![Script::json(&chat_text_response())]).await;
    let hash = preflight_gateway::server::auth::key_hash("pf-acme-1");
    let gw = gateway(
        &config(&format!(
            "[[keys]]\nsha256 = \"{hash}\"\ntenant = \"acme\"\n"
        )),
        Some(up.addr),
    )
    .await;
    let url = gw.url("/v1/chat/completions");
    let body = chat_request().to_string();
    for headers in [vec![], vec![("authorization", "Bearer pf-wrong")]] {
        let (status, _, resp) = send("POST", &url, &headers, body.clone()).await;
        assert_eq!(status, 401);
        let resp: Value = serde_json::from_slice(&resp).expect("json error");
        assert_eq!(resp["error"]["type"], "authentication_error");
    }
    assert_eq!(up.hits.load(Ordering::SeqCst), 0);
    let (status, _, _) = send("POST", &url, &[("x-preflight-key", "pf-acme-1")], body).await;
    assert_eq!(status, 200);
    assert_eq!(up.hits.load(Ordering::SeqCst), 1);
    gw.shutdown().await;
}

#[tokio::test]
async fn oversized_and_malformed_bodies_are_refused_with_a_located_error() {
    let up = upstream(vec![Script::json(&chat_text_response())]).await;
    let gw = gateway(&config("[server]\nmax_body_bytes = 1024\n"), Some(up.addr)).await;
    let url = gw.url("/v1/chat/completions");
    let (status, _, resp) = send("POST", &url, &[], vec![b' '; 4096]).await;
    assert_eq!(status, 413);
    assert!(String::from_utf8_lossy(&resp).contains("request_too_large"));
    let (status, _, resp) =
        send("POST", &url, &[], "{\n\"model\": \"x\",\n\"messages\": [\n").await;
    assert_eq!(status, 400);
    let resp: Value = serde_json::from_slice(&resp).expect("json");
    assert!(
        resp["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("line 4"),
        "{resp}"
    );
    assert_eq!(up.hits.load(Ordering::SeqCst), 0);
    let (status, _, _) = send("GET", &url, &[], "").await;
    assert_eq!(status, 405);
    let (status, _, _) = send("GET", &gw.url("/nope"), &[], "").await;
    assert_eq!(status, 404);
    gw.shutdown().await;
}

#[tokio::test]
async fn upstream_down_is_502_and_slow_upstream_is_504() {
    // A port that was just free: nothing listens there.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr")
    };
    let gw = gateway(&config(""), Some(dead)).await;
    let (status, _, resp) = post_json(&gw.url("/v1/chat/completions"), &chat_request()).await;
    assert_eq!(status, 502, "{resp}");
    assert_eq!(resp["error"]["type"], "upstream_error");
    gw.shutdown().await;

    let slow = Script {
        delay: Duration::from_secs(5),
        ..Script::json(&chat_text_response())
    };
    let up = upstream(vec![slow]).await;
    let gw = gateway(
        &config("").replace("timeout_ms = 2000", "timeout_ms = 200"),
        Some(up.addr),
    )
    .await;
    let (status, _, resp) = post_json(&gw.url("/v1/chat/completions"), &chat_request()).await;
    assert_eq!(status, 504, "{resp}");
    let (_, _, metrics) = send("GET", &gw.url("/metrics"), &[], "").await;
    assert!(
        String::from_utf8_lossy(&metrics)
            .contains("preflight_upstream_errors_total{upstream=\"openai\",kind=\"timeout\"} 1")
    );
    gw.shutdown().await;
}

#[tokio::test]
async fn an_unreadable_upstream_answer_fails_closed() {
    let bad = Script {
        body: "{\"choices\": [".into(),
        ..Script::json(&json!({}))
    };
    let up = upstream(vec![bad]).await;
    let gw = gateway(&config(""), Some(up.addr)).await;
    let (status, _, resp) = post_json(&gw.url("/v1/chat/completions"), &chat_request()).await;
    assert_eq!(status, 502);
    assert_eq!(resp["error"]["type"], "upstream_unjudgeable");
    gw.shutdown().await;
}

#[tokio::test]
async fn upstream_errors_pass_through_with_their_status() {
    let err = json!({"error": {"message": "Rate limit reached", "type": "rate_limit_error"}});
    let up = upstream(vec![Script {
        status: 429,
        ..Script::json(&err)
    }])
    .await;
    let gw = gateway(&config(""), Some(up.addr)).await;
    let (status, _, resp) = post_json(&gw.url("/v1/chat/completions"), &chat_request()).await;
    assert_eq!(status, 429);
    assert_eq!(resp, err);
    gw.shutdown().await;
}

#[tokio::test]
async fn sheds_load_past_the_concurrency_limit_with_503_and_retry_after() {
    let slow = Script {
        delay: Duration::from_millis(800),
        ..Script::json(&chat_text_response())
    };
    let up = upstream(vec![slow]).await;
    let gw = gateway(
        &config("[server]\nmax_concurrent_requests = 1\nretry_after_secs = 3\n"),
        Some(up.addr),
    )
    .await;
    let url = gw.url("/v1/chat/completions");
    let first = tokio::spawn({
        let url = url.clone();
        async move { post_json(&url, &chat_request()).await.0 }
    });
    while up.hits.load(Ordering::SeqCst) == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let (status, headers, resp) = post_json(&url, &chat_request()).await;
    assert_eq!(status, 503, "{resp}");
    assert_eq!(
        headers.get("retry-after").map(|v| v.as_bytes()),
        Some(&b"3"[..])
    );
    let (health, _, _) = send("GET", &gw.url("/healthz"), &[], "").await;
    assert_eq!(health, 200, "health is exempt from shedding");
    assert_eq!(first.await.expect("first"), 200);
    let (_, _, metrics) = send("GET", &gw.url("/metrics"), &[], "").await;
    assert!(String::from_utf8_lossy(&metrics).contains("preflight_shed_requests_total 1"));
    gw.shutdown().await;
}

#[tokio::test]
async fn check_api_returns_the_decision_without_proxying() {
    let gw = gateway(&config("[policy]\ndeny_tools = [\"wire_money\"]\n"), None).await;
    let plan = json!({"goal": "pay the bill", "steps": [
        {"tool": "read_file", "args": {"path": "bill.pdf"}},
        {"tool": "wire_money", "args": {"amount": 10}}
    ]});
    let (status, _, d) = post_json(&gw.url("/v1/check?format=generic"), &plan).await;
    assert_eq!(status, 200, "{d}");
    assert_eq!(d["verdict"], "block");
    assert_eq!(d["steps"].as_array().map(Vec::len), Some(2));
    assert_eq!(d["steps"][1]["verdict"], "block");
    assert_eq!(d["steps"][0]["verdict"], "allow", "{d}");
    for key in ["decision_id", "policy_digest", "model_id", "latency_us"] {
        assert!(d.get(key).is_some(), "{key} missing: {d}");
    }
    let (status, _, e) = send("POST", &gw.url("/v1/check"), &[], "not a plan at all").await;
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&e));
    let (status, _, _) = send("POST", &gw.url("/v1/check?format=nonsense"), &[], "{}").await;
    assert_eq!(status, 400);
    gw.shutdown().await;
}

#[tokio::test]
async fn metrics_count_requests_and_verdicts_by_rule() {
    let up = upstream(vec![Script::json(&chat_tool_response())]).await;
    let gw = gateway(
        &config("[policy]\ndeny_tools = [\"wire_money\"]\n"),
        Some(up.addr),
    )
    .await;
    post_json(&gw.url("/v1/chat/completions"), &chat_request()).await;
    let (status, headers, text) = send("GET", &gw.url("/metrics"), &[], "").await;
    assert_eq!(status, 200);
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap_or("")
            .starts_with("text/plain")
    );
    let text = String::from_utf8_lossy(&text);
    assert!(
        text.contains("preflight_requests_total{route=\"chat_completions\",status=\"2xx\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("preflight_verdicts_total{verdict=\"block\",rule=\"operator.deny_tools\"")
    );
    assert!(text.contains("preflight_steps_total{verdict=\"allow\"} 1"));
    assert!(text.contains("stage=\"judge\""));
    gw.shutdown().await;
}

#[tokio::test]
async fn shutdown_drains_every_accepted_request_then_refuses_new_connections() {
    let slow = Script {
        delay: Duration::from_millis(400),
        ..Script::json(&chat_text_response())
    };
    let up = upstream(vec![slow]).await;
    let gw = gateway(&config(""), Some(up.addr)).await;
    let url = gw.url("/v1/chat/completions");
    let mut in_flight = Vec::new();
    for _ in 0..8 {
        let url = url.clone();
        in_flight.push(tokio::spawn(async move {
            post_json(&url, &chat_request()).await.0
        }));
    }
    while up.hits.load(Ordering::SeqCst) < 8 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let addr = gw.addr;
    gw.shutdown().await;
    for h in in_flight {
        assert_eq!(
            h.await.expect("task"),
            200,
            "an accepted request was dropped"
        );
    }
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "listener closed"
    );
}

#[tokio::test]
async fn responses_api_strips_a_denied_function_call_item() {
    let response = json!({
        "id": "resp_1", "object": "response", "created_at": 1730000000, "status": "completed", "model": "gpt-4.1",
        "output": [
            {"type": "function_call", "id": "fc_1", "call_id": "call_read", "name": "read_file",
             "arguments": "{\"path\":\"invoice-0412.txt\"}", "status": "completed"},
            {"type": "function_call", "id": "fc_2", "call_id": "call_wire", "name": "wire_money",
             "arguments": "{\"iban\":\"DE89370400440532013000\",\"amount\":4210}", "status": "completed"}
        ],
        "usage": {"input_tokens": 60, "output_tokens": 40, "total_tokens": 100}
    });
    let request = json!({
        "model": "gpt-4.1", "input": "Read invoice-0412.txt and tell me what I owe.",
        "tools": [{"type": "function", "name": "read_file", "parameters": {"type": "object"}},
                  {"type": "function", "name": "wire_money", "parameters": {"type": "object"}}]
    });
    let up = upstream(vec![Script::json(&response)]).await;
    let gw = gateway(&config(""), Some(up.addr)).await;
    let (status, _, resp) = post_json(&gw.url("/v1/responses"), &request).await;
    assert_eq!(status, 200, "{resp}");
    let calls: Vec<&str> = resp["output"]
        .as_array()
        .expect("output")
        .iter()
        .filter(|i| i["type"] == "function_call")
        .filter_map(|i| i["name"].as_str())
        .collect();
    assert_eq!(
        calls,
        vec!["read_file"],
        "the default policy withholds the unrequested payment: {resp}"
    );
    assert!(resp.to_string().contains("[preflight]"));
    gw.shutdown().await;
}

#[tokio::test]
async fn anthropic_replan_sends_the_model_a_tool_result_explaining_the_block() {
    let blocked = json!({
        "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
        "stop_reason": "tool_use", "stop_sequence": null, "usage": {"input_tokens": 40, "output_tokens": 30},
        "content": [{"type": "tool_use", "id": "toolu_1", "name": "wire_money",
                     "input": {"iban": "DE89370400440532013000", "amount": 4210}}]
    });
    let answer = json!({
        "id": "msg_2", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
        "stop_reason": "end_turn", "stop_sequence": null, "usage": {"input_tokens": 90, "output_tokens": 20},
        "content": [{"type": "text", "text": "I can't pay that without your confirmation."}]
    });
    let up = upstream(vec![Script::json(&blocked), Script::json(&answer)]).await;
    let gw = gateway(
        &config("[policy]\ndeny_tools = [\"wire_money\"]\nverdict_mode = \"replan\"\n"),
        Some(up.addr),
    )
    .await;
    let request = json!({"model": "claude-sonnet-4-5", "max_tokens": 256,
                         "messages": [{"role": "user", "content": "Pay invoice 0412."}],
                         "tools": [{"name": "wire_money", "input_schema": {"type": "object"}}]});
    let (status, _, resp) = post_json(&gw.url("/v1/messages"), &request).await;
    assert_eq!(status, 200);
    assert_eq!(resp, answer);
    let second = up.bodies.lock().expect("lock")[1].clone();
    let messages = second["messages"].as_array().expect("messages");
    assert_eq!(messages.len(), 3);
    assert_eq!(messages[1]["content"][0]["type"], "tool_use");
    let result = &messages[2]["content"][0];
    assert_eq!(result["type"], "tool_result");
    assert_eq!(result["tool_use_id"], "toolu_1");
    assert_eq!(result["is_error"], true);
    gw.shutdown().await;
}
