//! Profiling driver: evaluates one input N times with the default bundle (or
//! only some of its rules), for callgrind or a quick wall-clock figure.
//!
//! ```text
//! cargo build --release -p preflight-policies --example profile_eval
//! valgrind --tool=callgrind --toggle-collect='*PolicyEngine*evaluate*' \
//!     target/release/examples/profile_eval bench 20
//! target/release/examples/profile_eval gateway 2000 sensitive_exfiltration
//! ```
//!
//! INPUT is `bench` (the 20-step conversation of `benches/evaluate.rs`),
//! `risky` (the same ending in `git push --force`),
//! `gateway` (the perf harness's chat exchange), or a policy-input JSON file.
//! `DUMP=1` prints the input instead.
#![allow(clippy::print_stdout, clippy::print_stderr, clippy::expect_used)]

#[path = "../benches/conversation/mod.rs"]
#[allow(dead_code)]
mod conversation;

use preflight_policies::{Bundle, DecisionContext, PolicyEngine};
use serde_json::Value;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let which = args.get(1).map_or("bench", String::as_str);
    let input: Value = match which {
        "bench" => conversation::input(),
        "gateway" => conversation::gateway_input(),
        "risky" => conversation::risky_input(),
        file => serde_json::from_str(&std::fs::read_to_string(file).expect("readable input"))
            .expect("JSON input"),
    };
    if std::env::var_os("DUMP").is_some() {
        println!("{input:#}");
        return;
    }
    let n: u32 = args.get(2).and_then(|n| n.parse().ok()).unwrap_or(100);
    let only = &args[3.min(args.len())..];
    let bundle = if only.is_empty() {
        Bundle::embedded()
    } else {
        Bundle::from_sources(
            Bundle::embedded()
                .files
                .into_iter()
                .filter(|f| {
                    f.name == "lib.rego"
                        || f.name == "data.json"
                        || only.iter().any(|o| f.name == format!("{o}.rego"))
                })
                .map(|f| (f.name, f.text)),
        )
    };
    let engine = PolicyEngine::compile(&bundle).expect("bundle compiles");
    let ctx = DecisionContext::default();
    let t = std::time::Instant::now();
    let mut steps = 0;
    for _ in 0..n {
        steps += engine.evaluate(&input, &ctx).steps.len();
    }
    eprintln!(
        "{steps} step decisions, {:?} per evaluation",
        t.elapsed() / n.max(1)
    );
    let decision = engine.evaluate(&input, &ctx);
    println!("{}", serde_json::to_string(&decision).unwrap_or_default());
}
