//! Guard inference micro-benchmarks: tier-1 scoring of one proposed step
//! (features + hashing + dot products + rationale) on generated cases, and
//! the ActionGraph build it needs. Reports only; tests never assert timings.

use preflight_adapters::adapters::eval_case::Case;
use preflight_adapters::graph::ActionGraph;
use preflight_gateway::datagen::{self, Settings};
use preflight_gateway::guard::Guard;
use preflight_gateway::guard::train;

fn main() {
    divan::main();
}

fn cases() -> Vec<Case> {
    let d = datagen::generate(Settings {
        seed: 7,
        benign_per_family: 1,
        malicious_per_family: 1,
    });
    match train::read_cases(&datagen::to_jsonl(&d.test)) {
        Ok(c) => c.into_iter().map(|t| t.case).collect(),
        Err(e) => panic!("generated cases must parse: {e}"),
    }
}

fn guard() -> Guard {
    match Guard::embedded() {
        Ok(g) => g,
        Err(e) => panic!("built-in model: {e}"),
    }
}

/// Scoring every proposed step of a prebuilt graph, one case per iteration.
#[divan::bench]
fn score_step(bencher: divan::Bencher) {
    let g = guard();
    let cases = cases();
    let graphs: Vec<ActionGraph<'_>> = cases.iter().map(|c| ActionGraph::build(&c.plan)).collect();
    let mut i = 0;
    bencher.bench_local(|| {
        i = (i + 1) % graphs.len();
        divan::black_box(g.score(&graphs[i]))
    });
}

/// Building the graph and scoring, one case per iteration.
#[divan::bench]
fn graph_and_score(bencher: divan::Bencher) {
    let g = guard();
    let cases = cases();
    let mut i = 0;
    bencher.bench_local(|| {
        i = (i + 1) % cases.len();
        let graph = ActionGraph::build(&cases[i].plan);
        divan::black_box(g.score(&graph))
    });
}
