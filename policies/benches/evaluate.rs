//! Policy evaluation with the default bundle on a 20-step conversation (19
//! executed tool calls with 10 KB results each, one proposed call), and
//! bundle compilation — the figures the policy issue sets targets on
//! (median evaluation < 100 µs, compile < 50 ms).
//!
//! Run: `cargo bench -p preflight-policies --bench evaluate`

use preflight_adapters::graph::ActionGraph;
use preflight_adapters::{Format, Plan, parse};
use preflight_policies::{
    Bundle, DecisionContext, PolicyEngine, RequestMeta, build_input, run_tests,
};
use serde_json::{Value, json};

fn main() {
    divan::main();
}

/// A deterministic ~`len`-byte tool result: prose, addresses and amounts.
fn result_text(seed: usize, len: usize) -> String {
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
fn conversation() -> Plan {
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

fn input() -> Value {
    build_input(
        ActionGraph::build(&conversation()).to_json(),
        None,
        &RequestMeta::default(),
    )
}

/// The policy alone: input validation, Rego evaluation, combination.
#[divan::bench]
fn evaluate_20_steps(b: divan::Bencher) {
    let Ok(engine) = PolicyEngine::embedded() else {
        return;
    };
    let input = input();
    let ctx = DecisionContext::default();
    b.bench(|| engine.evaluate(divan::black_box(&input), &ctx).steps.len());
}

/// Graph + policy from a parsed plan (what the gateway runs per response).
#[divan::bench]
fn graph_and_evaluate_20_steps(b: divan::Bencher) {
    let Ok(engine) = PolicyEngine::embedded() else {
        return;
    };
    let plan = conversation();
    let (meta, ctx) = (RequestMeta::default(), DecisionContext::default());
    b.bench(|| {
        engine
            .evaluate_plan(divan::black_box(&plan), None, &meta, &ctx)
            .steps
            .len()
    });
}

/// Parts of `evaluate_20_steps`, to see where the time goes.
#[divan::bench]
fn validate_input_only(b: divan::Bencher) {
    let input = input();
    b.bench(|| PolicyEngine::validate_input(divan::black_box(&input)).is_ok());
}

/// Compiling the default bundle (parse, lint, prepare), as a reload does.
#[divan::bench(sample_count = 20)]
fn compile_bundle(b: divan::Bencher) {
    let bundle = Bundle::embedded();
    b.bench(|| PolicyEngine::compile(divan::black_box(&bundle)).is_ok());
}

/// A full reload check: compile plus the bundle's ~100 Rego tests.
#[divan::bench(sample_count = 5)]
fn compile_and_test_bundle(b: divan::Bencher) {
    let bundle = Bundle::embedded();
    b.bench(|| {
        run_tests(divan::black_box(&bundle))
            .map(|r| r.results.len())
            .unwrap_or(0)
    });
}

/// Each rule alone (with lib.rego and data.json), to find the expensive ones.
#[divan::bench(args = ["sensitive_exfiltration", "untrusted_flow", "injected_flow", "off_goal_after_injection",
    "destructive_shell", "destructive_sql", "destructive_action", "payment_limits", "credential_access",
    "safety_controls", "log_tamper", "guard_threshold", "tool_pinning", "malformed_arguments",
    "availability_disruption", "user_forbade", "lib"])]
fn one_rule(b: divan::Bencher, rule: &str) {
    let files: Vec<(String, String)> = Bundle::embedded()
        .files
        .into_iter()
        .filter(|f| {
            f.name == "lib.rego" || f.name == "data.json" || f.name == format!("{rule}.rego")
        })
        .map(|f| (f.name, f.text))
        .collect();
    let Ok(engine) = PolicyEngine::compile(&Bundle::from_sources(files)) else {
        return;
    };
    let input = input();
    let ctx = DecisionContext::default();
    b.bench(|| engine.evaluate(divan::black_box(&input), &ctx).steps.len());
}

/// The input without tool-result texts: the cost of converting them.
#[divan::bench]
fn evaluate_20_steps_without_results(b: divan::Bencher) {
    let Ok(engine) = PolicyEngine::embedded() else {
        return;
    };
    let mut input = input();
    if let Some(steps) = input
        .pointer_mut("/graph/steps")
        .and_then(Value::as_array_mut)
    {
        for s in steps {
            s["result"] = Value::Null;
        }
    }
    let ctx = DecisionContext::default();
    b.bench(|| engine.evaluate(divan::black_box(&input), &ctx).steps.len());
}
