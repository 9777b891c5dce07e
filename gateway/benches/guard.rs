//! Guard inference micro-benchmarks: tier-1 scoring of one proposed step
//! (features + hashing + dot products + rationale) on generated cases, and
//! the ActionGraph build it needs. Reports only; tests never assert timings.

use preflight_adapters::adapters::eval_case::Case;
use preflight_adapters::graph::ActionGraph;
use preflight_gateway::datagen::{self, Settings};
use preflight_gateway::guard::Guard;
use preflight_gateway::guard::train;

// The allocator the `preflight` binary runs with.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

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

/// Tier-2 inputs of generated test steps, and the engine over the real
/// encoder (`scripts/setup-model`) with the built-in heads; `None` (bench
/// skipped, said on stderr) when the encoder is not installed.
#[allow(clippy::print_stderr)]
fn tier2() -> Option<(
    preflight_gateway::guard::tier2::Engine,
    Vec<preflight_gateway::guard::tier2::StepInput>,
)> {
    use candle_core::Device;
    use preflight_gateway::guard::encoder::{Encoder, Trainable, default_model_dir};
    use preflight_gateway::guard::tier2::{Engine, Tier2Model, step_input};
    let dir = default_model_dir();
    let encoder = match Encoder::load(&dir, &Device::Cpu, Trainable::None) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("tier-2 benches skipped: {e}");
            return None;
        }
    };
    let heads = match Tier2Model::embedded(&Device::Cpu) {
        Ok(m) => m.heads,
        Err(e) => panic!("built-in tier-2 heads: {e}"),
    };
    let g = guard();
    let mut inputs = Vec::new();
    for c in cases() {
        let graph = ActionGraph::build(&c.plan);
        for s in c.plan.steps.iter().filter(|s| s.is_proposed()) {
            inputs.push(step_input(&graph, s.index, &g.tier1));
        }
    }
    Some((Engine::new(encoder, heads), inputs))
}

/// Tier 2 on a batch of N steps (goal + action embeddings, heads): time per
/// batch; steps/s = N / time.
#[divan::bench(args = [1, 8, 32, 64], sample_count = 10, sample_size = 1)]
fn tier2_batch(bencher: divan::Bencher, n: usize) {
    let Some((engine, inputs)) = tier2() else {
        return;
    };
    let mut i = 0;
    bencher.bench_local(|| {
        let batch: Vec<_> = (0..n)
            .map(|k| inputs[(i + k) % inputs.len()].clone())
            .collect();
        i = (i + n) % inputs.len();
        divan::black_box(engine.score(&batch).map(|v| v.len()).unwrap_or(0))
    });
}

/// Tier 2 on one typical step of at most 64 tokens in all (a 20-token goal,
/// a 36-token action) and on the generated test steps one at a time (their
/// action texts carry arguments and flow context: often longer).
#[divan::bench(args = ["typical_64_tokens", "typical_64_tokens_new_goal", "generated_steps"], sample_count = 20, sample_size = 1)]
fn tier2_one_step(bencher: divan::Bencher, which: &str) {
    let Some((engine, mut inputs)) = tier2() else {
        return;
    };
    let new_goal = which.ends_with("new_goal");
    if which.starts_with("typical_64_tokens") {
        let mut step = inputs[0].clone();
        step.goal = "user goal: email the Q3 report to my manager dana@initech.com".into();
        step.action =
            "tool: send email. Send an email. arguments: {\"to\":\"dana@initech.com\",\"subject\":\"Q3 report\"}"
                .into();
        let tokens = engine.encoder.tokenizer.encode(&step.goal, 256).len()
            + engine.encoder.tokenizer.encode(&step.action, 256).len();
        assert!(tokens <= 64, "{tokens} tokens");
        inputs = vec![step];
    }
    let mut i = 0;
    let mut n = 0u64;
    bencher.bench_local(|| {
        i = (i + 1) % inputs.len();
        let mut step = inputs[i].clone();
        if new_goal {
            // A goal the engine has not seen: both texts are encoded.
            n += 1;
            step.goal = format!("{} {n}", step.goal);
        }
        divan::black_box(
            engine
                .score(std::slice::from_ref(&step))
                .map(|v| v.len())
                .unwrap_or(0),
        )
    });
}
