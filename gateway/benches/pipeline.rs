//! The whole judging path of one proxied OpenAI chat call, without sockets,
//! as the LLM route runs it: the typed reader builds the plan from both
//! bodies, then graph, tier-1 guard and policy; the response is parsed as a
//! `Value` and rendered only when the decision changes something (the
//! harness' answer is allowed as it is, so it passes through untouched).
//! The bodies are the perf harness' (`../shared/perf/chat-*.json`, one copy in
//! `planner-adapters/benches/data/`): a short conversation whose answer proposes
//! two calls. The gateway's per-request CPU target (150 µs) is for this
//! shape. Reports only; tests never assert timings.
//!
//! Run: `cargo bench -p preflight-gateway --bench pipeline`

use preflight_adapters::adapters::openai_chat::typed;
use preflight_adapters::{Format, render};
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

/// The gateway's tool-definition cache: the harness sends the same tools on
/// every request, as agents do on every turn.
static TOOLS: std::sync::LazyLock<typed::ToolsCache> =
    std::sync::LazyLock::new(typed::ToolsCache::default);

fn judge_once(p: &Pipeline) -> Vec<u8> {
    let plan = typed::Request::parse(REQUEST.as_bytes())
        .and_then(|q| typed::read_exchange(q, RESPONSE.as_bytes(), &TOOLS));
    let Some(plan) = plan else {
        panic!("the typed reader must take the harness bodies");
    };
    let j = p.judge_plan(&plan, None);
    if !j.changes_anything() {
        return Vec::new();
    }
    let mut response: Value = serde_json::from_str(RESPONSE).unwrap_or(Value::Null);
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

/// [`judge_with_guard`] with cold caches: 64 MB are written between
/// iterations (outside the timing), as happens to a gateway that idles
/// between requests (at 1k requests/s the core sleeps ~0.8 ms between
/// them). Shows what a request costs when nothing it touches is cached.
#[divan::bench]
fn judge_with_guard_cold_caches(bencher: divan::Bencher) {
    let p = pipeline(true);
    let mut other = vec![0u8; 64 << 20];
    bencher
        .with_inputs(|| {
            for i in (0..other.len()).step_by(64) {
                other[i] = other[i].wrapping_add(1);
            }
        })
        .bench_local_values(|()| divan::black_box(judge_once(&p)));
}

/// The same with the guard off (rules only).
#[divan::bench]
fn judge_rules_only(bencher: divan::Bencher) {
    let p = pipeline(false);
    bencher.bench_local(|| divan::black_box(judge_once(&p)));
}
