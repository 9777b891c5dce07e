//! `ActionGraph::to_json` is built by hand for speed; these tests hold it to
//! the straightforward serde form (the implementation it replaced), byte for
//! byte including key order, on every example and fixture document.

use std::path::Path;

use petgraph::visit::EdgeRef;
use preflight_adapters::graph::{ActionGraph, EdgeKind, capabilities};
use preflight_adapters::{Args, StepStatus, parse};
use serde_json::{Map, Value, json};

/// The graph object as `json!` and `to_value` write it.
fn reference(g: &ActionGraph<'_>) -> Value {
    let plan = g.plan;
    let tools: Vec<Value> = plan
        .tools
        .iter()
        .map(|t| {
            let caps = capabilities::tool_capabilities(&t.name, Some(t));
            json!({
                "name": t.name,
                "description": t.description,
                "input_schema": t.input_schema,
                "annotations": t.annotations,
                "capabilities": caps.names(),
            })
        })
        .collect();
    let steps: Vec<Value> = plan
        .steps
        .iter()
        .zip(&g.steps)
        .map(|(s, a)| {
            let mut o = Map::new();
            o.insert("step_id".into(), s.id.clone().into());
            o.insert("index".into(), s.index.into());
            o.insert("tool".into(), s.tool.clone().into());
            let status = if s.is_proposed() {
                "proposed"
            } else {
                "executed"
            };
            o.insert("status".into(), status.into());
            match &s.args {
                Args::Json { value } => {
                    o.insert("args".into(), value.clone());
                }
                Args::Malformed { raw, error } => {
                    o.insert("args".into(), Value::Null);
                    o.insert("args_raw".into(), raw.clone().into());
                    o.insert("args_error".into(), error.clone().into());
                }
            }
            o.insert("labels".into(), json!(a.labels.names()));
            o.insert("provenance".into(), json!(a.provenance));
            if let StepStatus::Executed { result } = s.status {
                let text = result
                    .and_then(|r| plan.segments.get(r))
                    .map(|seg| seg.text.clone());
                o.insert("result".into(), json!(text));
            }
            Value::Object(o)
        })
        .collect();
    let nodes: Vec<String> = g.graph.node_weights().map(|n| n.id()).collect();
    let mut edges = Vec::new();
    let mut flow: Map<String, Value> = Map::new();
    for e in g.graph.edge_references() {
        let from = g.graph[e.source()].id();
        let to = g.graph[e.target()].id();
        if *e.weight() != EdgeKind::Order {
            let entry = flow.entry(from.clone()).or_insert_with(|| json!([]));
            if let Value::Array(a) = entry {
                a.push(to.clone().into());
            }
        }
        edges.push(json!({"from": from, "to": to, "kind": e.weight().name()}));
    }
    for n in &nodes {
        flow.entry(n.clone()).or_insert_with(|| json!([]));
    }
    json!({
        "format": plan.format,
        "goal": plan.goal,
        "tools": tools,
        "steps": steps,
        "injections": g.injections,
        "nodes": nodes,
        "edges": edges,
        "flow": flow,
    })
}

fn documents(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            documents(&path, out);
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("json" | "txt" | "jsonl" | "sse")
        ) {
            out.push(path);
        }
    }
}

#[test]
fn to_json_matches_the_serde_form_on_every_example_and_fixture() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut paths = Vec::new();
    documents(&root.join("tests/fixtures"), &mut paths);
    documents(&root.join("../examples"), &mut paths);
    documents(&root.join("benches/data"), &mut paths);
    let mut checked = 0;
    for path in &paths {
        let Ok(bytes) = std::fs::read(path) else {
            continue;
        };
        let Ok(plan) = parse(&bytes, None) else {
            continue;
        };
        let graph = ActionGraph::build(&plan);
        let fast = serde_json::to_string(&graph.to_json()).unwrap_or_default();
        let slow = serde_json::to_string(&reference(&graph)).unwrap_or_default();
        assert_eq!(fast, slow, "{}", path.display());
        checked += 1;
    }
    assert!(checked >= 20, "only {checked} documents parsed");
}
