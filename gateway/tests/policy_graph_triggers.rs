//! The gateway asks the typed ActionGraph which rules can fire and skips
//! building the policy input when none can
//! (`PolicyEngine::evaluate_graph`). A rule skipped that the input would
//! have run is a silently allowed action, so: over generated conversations,
//! the example cases and the perf harness exchange, with and without guard
//! scores (real, raised and out of range; read from the guard's own scores
//! as the JSON would hold them), request thresholds and changed tool pins, the
//! rules the graph says can fire equal those the built input says, and the
//! decisions are equal.

use std::collections::BTreeMap;
use std::path::Path;

use preflight_adapters::adapters::eval_case;
use preflight_adapters::graph::ActionGraph;
use preflight_adapters::{Format, Plan};
use preflight_gateway::datagen::{self, Settings};
use preflight_gateway::guard::{Guard, StepScore};
use preflight_gateway::pipeline::{PolicyScores, scores_input};
use preflight_policies::guard_scores::GuardScores;
use preflight_policies::{DecisionContext, PolicyEngine, RequestMeta, build_input};
use serde_json::Value;

fn corpus() -> Vec<(String, Plan)> {
    let mut out = Vec::new();
    let ds = datagen::generate(Settings {
        seed: 5,
        benign_per_family: 1,
        malicious_per_family: 1,
    });
    for v in ds.train.iter().chain(&ds.val).chain(&ds.test) {
        match eval_case::read(v) {
            Ok(c) => out.push((c.id.clone(), c.plan)),
            Err(e) => panic!("generated case does not read: {e}"),
        }
    }
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/cases.jsonl");
    let text = std::fs::read_to_string(&examples).unwrap_or_default();
    for c in eval_case::read_jsonl(&text) {
        match c {
            Ok(c) => out.push((c.id.clone(), c.plan)),
            Err(e) => panic!("example case does not read: {e}"),
        }
    }
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../planner-adapters/benches/data");
    let read = |name: &str| -> Value {
        let bytes = std::fs::read(data.join(name)).unwrap_or_default();
        serde_json::from_slice(&bytes).unwrap_or(Value::Null)
    };
    match preflight_adapters::parse_exchange(
        Format::OpenaiChat,
        &read("chat-request.json"),
        &read("chat-response.json"),
    ) {
        Ok(p) => out.push(("perf-exchange".into(), p)),
        Err(e) => panic!("perf exchange does not parse: {e}"),
    }
    out
}

fn engine() -> PolicyEngine {
    match PolicyEngine::embedded() {
        Ok(e) => e,
        Err(e) => panic!("default bundle: {e}"),
    }
}

#[test]
fn the_graph_and_the_built_input_run_the_same_rules_and_decide_alike() {
    let engine = engine();
    let guard = match Guard::embedded() {
        Ok(g) => g,
        Err(e) => panic!("built-in guard: {e}"),
    };
    let thresholds: BTreeMap<String, f64> = ["lenient", "standard", "strict"]
        .into_iter()
        .filter_map(|l| guard.threshold(l).map(|t| (l.to_owned(), f64::from(t))))
        .collect();
    let ctx = DecisionContext {
        decision_id: "d".into(),
        model_id: None,
    };
    let (mut skipped, mut ran, mut cases) = (0, 0, 0);
    for (id, plan) in corpus() {
        if plan.proposed().next().is_none() {
            continue;
        }
        cases += 1;
        let graph = ActionGraph::build(&plan);
        let scores = guard.score(&graph);
        let mut raised = scores.clone();
        for s in raised.values_mut() {
            s.risk = 0.99;
        }
        // Out of range: the policy reads them clamped, as the JSON holds them.
        let beyond = |risk: f32| {
            let mut s = scores.clone();
            s.values_mut().for_each(|s| s.risk = risk);
            s
        };
        let (above, below) = (beyond(1.7), beyond(-0.3));
        let first_tool = plan.proposed().next().map(|s| s.tool.clone());
        let variants: Vec<(Option<&BTreeMap<String, StepScore>>, RequestMeta)> = vec![
            (None, RequestMeta::default()),
            (
                Some(&scores),
                RequestMeta {
                    guard_thresholds: Some(thresholds.clone()),
                    strictness: Some("standard".into()),
                    ..RequestMeta::default()
                },
            ),
            (
                Some(&raised),
                RequestMeta {
                    guard_thresholds: Some(thresholds.clone()),
                    tool_pins_changed: first_tool.into_iter().collect(),
                    ..RequestMeta::default()
                },
            ),
            (
                Some(&raised),
                RequestMeta {
                    guard_thresholds: Some(
                        [("standard".to_owned(), 0.2), ("strict".to_owned(), 0.97)]
                            .into_iter()
                            .collect(),
                    ),
                    ..RequestMeta::default()
                },
            ),
            (
                Some(&above),
                RequestMeta {
                    guard_thresholds: Some(thresholds.clone()),
                    ..RequestMeta::default()
                },
            ),
            (Some(&below), RequestMeta::default()),
        ];
        for (n, (scores, meta)) in variants.into_iter().enumerate() {
            let input = build_input(graph.to_json(), scores.map(scores_input), &meta);
            let want = engine.rules_to_run(&input);
            let view = scores.map(PolicyScores);
            let scores = view.as_ref().map(|v| v as &dyn GuardScores);
            let got = engine.rules_to_run_on_graph(&graph, scores, &meta);
            assert_eq!(got, want, "{id} variant {n}: rules to run\ninput: {input}");
            if got.is_empty() {
                skipped += 1;
            } else {
                ran += 1;
            }
            let full = engine.evaluate(&input, &ctx);
            let fast = engine.evaluate_graph(&graph, scores, &meta, &ctx);
            assert_eq!(fast, full, "{id} variant {n}: decision");
        }
    }
    // Both paths are exercised: inputs where nothing can fire and inputs
    // where some rule runs.
    assert!(cases >= 100, "{cases} cases");
    assert!(skipped >= 50 && ran >= 50, "{skipped} skipped, {ran} ran");
}
