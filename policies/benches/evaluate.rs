//! Policy evaluation with the default bundle on a 20-step conversation (19
//! executed tool calls with 10 KB results each, one proposed call), and
//! bundle compilation — the figures the policy issue sets targets on
//! (median evaluation < 100 µs, compile < 50 ms).
//!
//! Run: `cargo bench -p preflight-policies --bench evaluate`

mod conversation;

use conversation::{conversation, gateway_exchange, gateway_input, input, risky_input};
use preflight_adapters::Plan;
use preflight_policies::{Bundle, DecisionContext, PolicyEngine, RequestMeta, run_tests};
use serde_json::Value;

fn main() {
    divan::main();
}

/// Times `PolicyEngine::evaluate` of the default bundle on `input`.
fn bench_evaluate(b: divan::Bencher, input: Value) {
    let Ok(engine) = PolicyEngine::embedded() else {
        return;
    };
    let ctx = DecisionContext::default();
    b.bench(|| engine.evaluate(divan::black_box(&input), &ctx).steps.len());
}

/// Times `PolicyEngine::evaluate_plan` (graph + policy) on `plan`.
fn bench_evaluate_plan(b: divan::Bencher, plan: Plan) {
    let Ok(engine) = PolicyEngine::embedded() else {
        return;
    };
    let (meta, ctx) = (RequestMeta::default(), DecisionContext::default());
    b.bench(|| {
        engine
            .evaluate_plan(divan::black_box(&plan), None, &meta, &ctx)
            .steps
            .len()
    });
}

/// The policy alone: input validation, Rego evaluation, combination.
#[divan::bench]
fn evaluate_20_steps(b: divan::Bencher) {
    bench_evaluate(b, input());
}

/// The 20-step conversation ending in `git push --force`: the rules whose
/// triggers hold (five) run in regorus — the cost when a call is risky.
#[divan::bench]
fn evaluate_20_steps_risky_call(b: divan::Bencher) {
    bench_evaluate(b, risky_input());
}

/// Graph + policy from a parsed plan (what the gateway runs per response).
#[divan::bench]
fn graph_and_evaluate_20_steps(b: divan::Bencher) {
    bench_evaluate_plan(b, conversation());
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

/// Each rule alone (with lib.rego and data.json), evaluated whatever its
/// trigger says (`findings_every_rule`), to find the expensive ones.
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
    b.bench(|| {
        engine
            .findings_every_rule(divan::black_box(&input))
            .map(|f| f.len())
            .unwrap_or(0)
    });
}

/// The input without tool-result texts: the cost of converting them.
#[divan::bench]
fn evaluate_20_steps_without_results(b: divan::Bencher) {
    let mut input = input();
    if let Some(steps) = input
        .pointer_mut("/graph/steps")
        .and_then(Value::as_array_mut)
    {
        for s in steps {
            s["result"] = Value::Null;
        }
    }
    bench_evaluate(b, input);
}

/// The gateway's per-request case: a short chat, two proposed calls
/// (`planner-adapters/benches/data/chat-*.json`, the perf harness's exchange).
#[divan::bench]
fn evaluate_gateway_exchange(b: divan::Bencher) {
    bench_evaluate(b, gateway_input());
}

/// Graph + policy for the gateway's exchange, from the parsed plan.
#[divan::bench]
fn graph_and_evaluate_gateway_exchange(b: divan::Bencher) {
    bench_evaluate_plan(b, gateway_exchange());
}
