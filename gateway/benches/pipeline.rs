//! The whole judging path of one proxied OpenAI chat call, without sockets:
//! parse both bodies, build the plan, graph, tier-1 guard, policy, render.
//! The bodies are the perf harness' (`../shared/perf/chat-*.json`, one copy in
//! `planner-adapters/benches/data/`): a short conversation whose answer proposes
//! two calls. The gateway's per-request CPU target (150 µs) is for this
//! shape. Reports only; tests never assert timings.
//!
//! Run: `cargo bench -p preflight-gateway --bench pipeline`

use preflight_adapters::{Format, parse_exchange, render};
use preflight_gateway::pipeline::Pipeline;
use serde_json::Value;

// The allocator the `preflight` binary runs with.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    divan::main();
}

const REQUEST: &str = include_str!("../../planner-adapters/benches/data/chat-request.json");
const RESPONSE: &str = include_str!("../../planner-adapters/benches/data/chat-response.json");

fn pipeline(guard: bool) -> Pipeline {
    let mut s = match preflight_gateway::config::Settings::default_settings() {
        Ok(s) => s,
        Err(e) => panic!("default settings: {e}"),
    };
    s.guard.enabled = guard;
    match Pipeline::new(&s) {
        Ok(p) => p,
        Err(e) => panic!("pipeline: {e}"),
    }
}

fn judge_once(p: &Pipeline) -> Vec<u8> {
    let request: Value = serde_json::from_str(REQUEST).unwrap_or(Value::Null);
    let mut response: Value = serde_json::from_str(RESPONSE).unwrap_or(Value::Null);
    let plan = match parse_exchange(Format::OpenaiChat, &request, &response) {
        Ok(p) => p,
        Err(e) => panic!("fixture must parse: {e}"),
    };
    let j = p.judge_plan(&plan, None);
    if render(Format::OpenaiChat, &mut response, &plan, &j.outcomes).is_err() {
        panic!("render failed");
    }
    serde_json::to_vec(&response).unwrap_or_default()
}

/// Parse, graph, tier-1 guard, policy and render: the proxy's CPU work.
#[divan::bench]
fn judge_with_guard(bencher: divan::Bencher) {
    let p = pipeline(true);
    bencher.bench_local(|| divan::black_box(judge_once(&p)));
}

/// The same with the guard off (rules only).
#[divan::bench]
fn judge_rules_only(bencher: divan::Bencher) {
    let p = pipeline(false);
    bencher.bench_local(|| divan::black_box(judge_once(&p)));
}
