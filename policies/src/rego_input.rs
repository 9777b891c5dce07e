//! The Rego `input`: the policy input (docs/policy-input.md) converted
//! straight into regorus values, without what no rule can read.
//!
//! Converting is a large share of an evaluation that runs rules (every JSON
//! node becomes a reference-counted regorus value), and much of the input
//! is analysis no rule reads. Left out of the Rego input, *unless the
//! bundle's rules name the field* (`.edges`, `"edges"`, outside comments; see
//! [`Keep::of`]), so that a rule reading one still sees it and never fails
//! open:
//!
//! - `graph.nodes` and `graph.edges`: `graph.flow` carries the data-flow
//!   adjacency rules query (`graph.reachable`);
//! - `graph.tools[].description` and `input_schema` (the decision checks
//!   rewrites against the schema in Rust);
//! - `result` of executed steps that no argument of a proposed step came
//!   from (no `provenance[].source_step` names them).
//!
//! Everything else is carried as it is, plus the reserved key
//! `__preflight_run` (the rules the triggers selected, for the entry module).

use std::collections::{BTreeMap, BTreeSet};

use regorus::Value as R;
use serde_json::Value;

/// Which optional fields the bundle's rules read, so they stay in the input.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Keep {
    nodes: bool,
    edges: bool,
    description: bool,
    input_schema: bool,
    results: bool,
}

impl Keep {
    /// Scans rule sources (comments stripped) for the field names, as a
    /// member (`.edges`), a string (`"edges"`, e.g. `object.get`) or an index.
    pub(crate) fn of<'a>(sources: impl IntoIterator<Item = &'a str>) -> Self {
        let mut keep = Keep::default();
        for source in sources {
            for line in source.lines() {
                let code = line.split('#').next().unwrap_or(line);
                let names = |name: &str| {
                    code.match_indices(name).any(|(at, _)| {
                        let before = code[..at].chars().next_back();
                        let after = code[at + name.len()..].chars().next();
                        let word_end = !after.is_some_and(|c| c.is_alphanumeric() || c == '_');
                        (before == Some('.') && word_end)
                            || (before == Some('"') && after == Some('"'))
                    })
                };
                keep.nodes |= names("nodes");
                keep.edges |= names("edges");
                keep.description |= names("description");
                keep.input_schema |= names("input_schema");
                keep.results |= names("result");
            }
        }
        keep
    }
}

/// Converts one JSON value as it is.
pub(crate) fn convert(v: &Value) -> R {
    match v {
        Value::Null => R::Null,
        Value::Bool(b) => R::from(*b),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                R::from(u)
            } else if let Some(i) = n.as_i64() {
                R::from(i)
            } else {
                n.as_f64().map_or(R::Undefined, R::from)
            }
        }
        Value::String(s) => R::from(s.as_str()),
        Value::Array(items) => R::from(items.iter().map(convert).collect::<Vec<_>>()),
        Value::Object(map) => object(map.iter().map(|(k, v)| (k.as_str(), convert(v)))),
    }
}

fn object<'a>(entries: impl Iterator<Item = (&'a str, R)>) -> R {
    R::from(
        entries
            .map(|(k, v)| (R::from(k), v))
            .collect::<BTreeMap<R, R>>(),
    )
}

/// The Rego input for `input`, with `run` as `__preflight_run`.
pub(crate) fn build(input: &Value, keep: Keep, run: &[&str], run_key: &str) -> R {
    let Value::Object(root) = input else {
        return convert(input);
    };
    let gate = R::from(run.iter().map(|id| R::from(*id)).collect::<Vec<_>>());
    object(
        root.iter()
            .map(|(k, v)| {
                let v = if k == "graph" {
                    graph(v, keep)
                } else {
                    convert(v)
                };
                (k.as_str(), v)
            })
            .chain(std::iter::once((run_key, gate))),
    )
}

fn graph(g: &Value, keep: Keep) -> R {
    let Value::Object(g) = g else {
        return convert(g);
    };
    let steps = g.get("steps").and_then(Value::as_array);
    // Executed steps whose output a proposed step's argument came from.
    let sources: BTreeSet<u64> = steps
        .into_iter()
        .flatten()
        .filter(|s| s.get("status").and_then(Value::as_str) == Some("proposed"))
        .filter_map(|s| s.get("provenance").and_then(Value::as_array))
        .flatten()
        .filter_map(|p| p.get("source_step").and_then(Value::as_u64))
        .collect();
    object(g.iter().filter_map(|(k, v)| {
        let v = match k.as_str() {
            "nodes" if !keep.nodes => return None,
            "edges" if !keep.edges => return None,
            "tools" => list(v, |t| {
                without(t, |key, _| {
                    (key == "description" && !keep.description)
                        || (key == "input_schema" && !keep.input_schema)
                })
            }),
            "steps" => list(v, |s| {
                let needed = s
                    .get("index")
                    .and_then(Value::as_u64)
                    .is_some_and(|i| sources.contains(&i));
                without(s, |key, _| key == "result" && !needed && !keep.results)
            }),
            _ => convert(v),
        };
        Some((k.as_str(), v))
    }))
}

fn list(v: &Value, f: impl Fn(&Value) -> R) -> R {
    match v {
        Value::Array(items) => R::from(items.iter().map(f).collect::<Vec<_>>()),
        other => convert(other),
    }
}

/// An object without the entries `drop` selects.
fn without(v: &Value, drop: impl Fn(&str, &Value) -> bool) -> R {
    match v {
        Value::Object(map) => object(
            map.iter()
                .filter(|(k, v)| !drop(k, v))
                .map(|(k, v)| (k.as_str(), convert(v))),
        ),
        other => convert(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn converts_like_regorus_deserialization() {
        let v = json!({"a": [1, -2, 2.5, "x", null, true, {"b": {}}], "c": u64::MAX});
        let ours = convert(&v);
        let theirs = <R as serde::Deserialize>::deserialize(&v).expect("converts");
        assert_eq!(ours, theirs);
    }

    #[test]
    fn keeps_only_the_results_a_proposed_argument_came_from() {
        let input = json!({"graph": {"goal": "g", "nodes": ["user"], "edges": [], "flow": {},
            "tools": [{"name": "t", "description": "long", "input_schema": {}, "pin_changed": true}],
            "steps": [
                {"index": 0, "status": "executed", "result": "kept"},
                {"index": 1, "status": "executed", "result": "dropped"},
                {"index": 2, "status": "proposed", "provenance": [{"source_step": 0}]}]},
            "meta": {}});
        let r = build(&input, Keep::default(), &["a"], "__run");
        let back = serde_json::to_value(&r).expect("serializes");
        assert_eq!(back["graph"]["steps"][0]["result"], "kept");
        assert!(back["graph"]["steps"][1].get("result").is_none());
        assert!(back["graph"].get("nodes").is_none() && back["graph"].get("edges").is_none());
        assert_eq!(
            back["graph"]["tools"][0],
            json!({"name": "t", "pin_changed": true})
        );
        assert_eq!(back["__run"], json!(["a"]));
        assert_eq!(back["meta"], json!({}));
        let all = Keep::of([
            "x := [e | some e in input.graph.edges]\ny := object.get(t, \"description\", \"\")",
        ]);
        let back = serde_json::to_value(build(&input, all, &[], "__run")).expect("serializes");
        assert!(back["graph"].get("edges").is_some() && back["graph"].get("nodes").is_none());
        assert_eq!(back["graph"]["tools"][0]["description"], "long");
    }

    #[test]
    fn a_field_named_only_in_a_comment_or_as_a_prefix_is_not_kept() {
        let keep = Keep::of(["# reads .edges\nx := input.graph.edges_count\ny := \"results\""]);
        assert_eq!(keep, Keep::default());
        assert!(Keep::of(["is_string(source.result)"]).results);
    }
}
