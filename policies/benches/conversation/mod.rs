//! The benchmark conversations, shared by the bench and the profiling
//! example: the 20-step conversation the issue sets its target on, and the
//! small OpenAI exchange the gateway proxies in its perf harness
//! (`planner-adapters/benches/data/chat-request.json` + `chat-response.json`, the one copy).

use preflight_adapters::graph::ActionGraph;
use preflight_adapters::{Format, Plan, parse, parse_exchange};
use preflight_policies::{RequestMeta, build_input};
use serde_json::{Value, json};

/// A deterministic ~`len`-byte tool result: prose, addresses and amounts.
pub fn result_text(seed: usize, len: usize) -> String {
    const WORDS: &[&str] = &[
        "invoice",
        "shipment",
        "customer",
        "quarterly",
        "report",
        "the",
        "of",
        "and",
        "delivery",
        "payment",
        "schedule",
        "review",
        "team",
        "status",
        "ticket",
        "server",
        "budget",
        "a",
        "to",
        "in",
    ];
    let mut s = String::with_capacity(len + 64);
    let mut x = seed as u64 * 2_654_435_761 + 1;
    let mut i = 0;
    while s.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s.push_str(WORDS[(x % WORDS.len() as u64) as usize]);
        i += 1;
        if i % 40 == 0 {
            s.push_str(&format!(" contact{}@partner{}.example ", x % 97, x % 13));
        }
        s.push(' ');
    }
    s
}

/// An OpenAI chat request: a goal, 19 executed calls with 10 KB results,
/// and one proposed call (an e-mail to an address from the user's request).
pub fn conversation() -> Plan {
    conversation_ending_with(None)
}

/// The same conversation whose proposed call is a risky shell command
/// (`git push --force`): its triggers hold, so five rules run in regorus.
pub fn risky_conversation() -> Plan {
    conversation_ending_with(Some((
        "run_shell",
        json!({"command": "git push --force origin main"}),
    )))
}

fn conversation_ending_with(last: Option<(&str, Value)>) -> Plan {
    let tools: Vec<Value> = ["search_docs", "read_file", "send_email", "run_shell"]
        .iter()
        .map(|n| json!({"type": "function", "function": {"name": n, "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}}}))
        .collect();
    let mut messages = vec![
        json!({"role": "system", "content": "You are an operations assistant for Acme."}),
        json!({"role": "user", "content": "Go through the Q3 shipment reports and email a summary to ops-lead@acme.example."}),
    ];
    for i in 0..20 {
        let (tool, args) = match i % 4 {
            0 => (
                "search_docs",
                json!({"q": format!("q3 shipment report part {i}")}),
            ),
            1 => (
                "read_file",
                json!({"path": format!("reports/q3/part-{i}.txt")}),
            ),
            2 => (
                "run_shell",
                json!({"command": format!("grep -c delayed reports/q3/part-{i}.txt")}),
            ),
            _ => (
                "send_email",
                json!({"to": "ops-lead@acme.example", "subject": format!("Q3 part {i}"), "body": "Summary attached."}),
            ),
        };
        let (tool, args) = match (&last, i) {
            (Some((t, a)), 19) => (*t, a.clone()),
            _ => (tool, args),
        };
        let id = format!("call_{i:02}");
        messages.push(json!({"role": "assistant", "content": null, "tool_calls": [{"id": id, "type": "function", "function": {"name": tool, "arguments": args.to_string()}}]}));
        if i < 19 {
            messages.push(
                json!({"role": "tool", "tool_call_id": id, "content": result_text(i, 10 * 1024)}),
            );
        }
    }
    let bytes =
        serde_json::to_vec(&json!({"model": "gpt-4.1", "messages": messages, "tools": tools}))
            .unwrap_or_default();
    parse(&bytes, Some(Format::OpenaiChat)).unwrap_or_else(|_| Plan::new(Format::OpenaiChat))
}

pub fn input() -> Value {
    build_input(
        ActionGraph::build(&conversation()).to_json(),
        None,
        &RequestMeta::default(),
    )
}

/// The policy input of [`risky_conversation`].
pub fn risky_input() -> Value {
    build_input(
        ActionGraph::build(&risky_conversation()).to_json(),
        None,
        &RequestMeta::default(),
    )
}

/// The gateway's perf exchange: a short chat with one executed call and two
/// proposed calls (a weather lookup and an e-mail the user asked for).
pub fn gateway_exchange() -> Plan {
    let request: Value = serde_json::from_str(include_str!(
        "../../../planner-adapters/benches/data/chat-request.json"
    ))
    .unwrap_or(Value::Null);
    let response: Value = serde_json::from_str(include_str!(
        "../../../planner-adapters/benches/data/chat-response.json"
    ))
    .unwrap_or(Value::Null);
    parse_exchange(Format::OpenaiChat, &request, &response)
        .unwrap_or_else(|_| Plan::new(Format::OpenaiChat))
}

/// The policy input of [`gateway_exchange`].
pub fn gateway_input() -> Value {
    build_input(
        ActionGraph::build(&gateway_exchange()).to_json(),
        None,
        &RequestMeta::default(),
    )
}
