//! Parse + graph + analyses on a 20-step OpenAI conversation whose tool
//! results are 10 KB each (200 KB of history), the shape the Foundation issue
//! sets its 200 µs target on.
//!
//! Run: `cargo bench -p preflight-adapters --bench graph`

use preflight_adapters::graph::ActionGraph;
use preflight_adapters::{Format, parse};
use serde_json::{Value, json};

/// Counts allocations per iteration (shown next to the timings): the
/// gateway profile spends about a third of its time in malloc/free/memcpy.
#[global_allocator]
static ALLOC: divan::AllocProfiler = divan::AllocProfiler::system();

fn main() {
    divan::main();
}

const WORDS: &[&str] = &[
    "invoice",
    "shipment",
    "customer",
    "quarterly",
    "report",
    "meeting",
    "the",
    "of",
    "and",
    "delivery",
    "contract",
    "payment",
    "schedule",
    "update",
    "review",
    "team",
    "project",
    "status",
    "ticket",
    "priority",
    "server",
    "deploy",
    "budget",
    "forecast",
    "a",
    "to",
    "in",
];

/// A deterministic ~`len`-byte tool result with prose, addresses and numbers.
fn result_text(seed: usize, len: usize) -> String {
    let mut s = String::with_capacity(len + 64);
    let mut x = seed as u64 * 2654435761 + 1;
    let mut i = 0;
    while s.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let w = WORDS[(x % WORDS.len() as u64) as usize];
        s.push_str(w);
        i += 1;
        if i % 40 == 0 {
            s.push_str(&format!(" contact{}@partner{}.example ", x % 97, x % 13));
        }
        if i % 55 == 0 {
            s.push_str(&format!(" total {}.{:02} EUR.\n", x % 100_000, x % 100));
        } else {
            s.push(' ');
        }
    }
    s
}

/// The OpenAI Chat Completions request: a user goal, then 20 tool calls
/// (19 executed with 10 KB results, the last proposed).
pub fn conversation() -> Vec<u8> {
    let tools: Vec<Value> = ["search_docs", "read_file", "send_email", "run_shell"]
        .iter()
        .map(|n| json!({"type": "function", "function": {"name": n, "description": format!("{n} tool"), "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}}}))
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
                json!({"to": "ops-lead@acme.example", "subject": format!("Q3 part {i}"), "body": format!("Summary of part {i}: totals attached.")}),
            ),
        };
        let id = format!("call_{i:02}");
        messages.push(json!({"role": "assistant", "content": null, "tool_calls": [{"id": id, "type": "function", "function": {"name": tool, "arguments": args.to_string()}}]}));
        if i < 19 {
            messages.push(
                json!({"role": "tool", "tool_call_id": id, "content": result_text(i, 10 * 1024)}),
            );
        }
    }
    serde_json::to_vec(&json!({"model": "gpt-4.1", "messages": messages, "tools": tools}))
        .unwrap_or_default()
}

#[divan::bench]
fn parse_only(b: divan::Bencher) {
    let bytes = conversation();
    b.bench(|| parse(divan::black_box(&bytes), Some(Format::OpenaiChat)).map(|p| p.steps.len()));
}

#[divan::bench]
fn graph_only(b: divan::Bencher) {
    let bytes = conversation();
    let Ok(plan) = parse(&bytes, Some(Format::OpenaiChat)) else {
        return;
    };
    b.bench(|| ActionGraph::build(divan::black_box(&plan)).steps.len());
}

#[divan::bench]
fn parse_graph_analyses(b: divan::Bencher) {
    let bytes = conversation();
    b.bench(|| {
        let plan = parse(divan::black_box(&bytes), Some(Format::OpenaiChat)).ok()?;
        Some(ActionGraph::build(&plan).steps.len())
    });
}

/// Components of `graph_only`, to see where the time goes.
mod stages {
    use preflight_adapters::graph::{injection, patterns, provenance};
    use preflight_adapters::{Format, Origin, parse};

    fn plan() -> Option<preflight_adapters::Plan> {
        parse(&super::conversation(), Some(Format::OpenaiChat)).ok()
    }

    #[divan::bench]
    fn injection_scan(b: divan::Bencher) {
        let Some(plan) = plan() else { return };
        b.bench(|| {
            plan.segments
                .iter()
                .filter(|s| matches!(s.origin, Origin::ToolResult { .. }))
                .map(|s| injection::find_spans(divan::black_box(&s.text)).len())
                .sum::<usize>()
        });
    }

    #[divan::bench]
    fn provenance_trace(b: divan::Bencher) {
        let Some(plan) = plan() else { return };
        let spans = vec![Vec::new(); plan.segments.len()];
        let lower: Vec<Vec<u8>> = plan
            .segments
            .iter()
            .map(|s| s.text.as_bytes().to_ascii_lowercase())
            .collect();
        b.bench(|| provenance::trace(divan::black_box(&plan), &lower, &spans).len());
    }

    #[divan::bench]
    fn argument_patterns(b: divan::Bencher) {
        b.bench(|| {
            patterns::arg_labels(divan::black_box("grep -c delayed reports/q3/part-2.txt\n"))
        });
    }
}

/// The gateway's per-request shape: an OpenAI chat request (system prompt,
/// two user turns, one executed call with a small JSON result, 3 tools) and
/// the upstream's response proposing 2 parallel calls (`benches/data/`, the
/// same pair the gateway perf harness replays). The gateway parses both
/// bodies into `Value`s itself, then calls `parse_exchange`, builds the
/// graph and serializes it for the policy input (`to_json`).
mod chat {
    use preflight_adapters::graph::ActionGraph;
    use preflight_adapters::{Format, parse_exchange};
    use serde_json::Value;

    const REQUEST: &[u8] = include_bytes!("data/chat-request.json");
    const RESPONSE: &[u8] = include_bytes!("data/chat-response.json");

    fn docs() -> (Value, Value) {
        (
            serde_json::from_slice(REQUEST).unwrap_or_default(),
            serde_json::from_slice(RESPONSE).unwrap_or_default(),
        )
    }

    #[divan::bench]
    fn exchange_parse(b: divan::Bencher) {
        let (req, resp) = docs();
        b.bench(|| {
            parse_exchange(Format::OpenaiChat, divan::black_box(&req), &resp).map(|p| p.steps.len())
        });
    }

    #[divan::bench]
    fn exchange_parse_graph(b: divan::Bencher) {
        let (req, resp) = docs();
        b.bench(|| {
            let plan = parse_exchange(Format::OpenaiChat, divan::black_box(&req), &resp).ok()?;
            Some(ActionGraph::build(&plan).steps.len())
        });
    }

    #[divan::bench]
    fn exchange_parse_graph_json(b: divan::Bencher) {
        let (req, resp) = docs();
        b.bench(|| {
            let plan = parse_exchange(Format::OpenaiChat, divan::black_box(&req), &resp).ok()?;
            Some(ActionGraph::build(&plan).to_json())
        });
    }
}
