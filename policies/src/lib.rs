//! Policy as code: the Rego bundle users edit, its evaluation into a
//! [`Decision`], policy tests with coverage, diffs over a corpus, and the
//! hot-reload store the gateway serves from.
//!
//! Pure like the adapters: no sockets, no files, no clocks. Bundles arrive
//! as sources ([`Bundle::from_sources`]); ids and latencies come from the
//! caller ([`DecisionContext`], [`Decision::latency_us`]). The one clock use
//! is regorus' cooperative execution timer, the budget that stops a runaway
//! rule (it measures, it does not decide).
//!
//! ```
//! use preflight_policies::{DecisionContext, PolicyEngine};
//! let engine = PolicyEngine::embedded().expect("the default bundle compiles");
//! let input = serde_json::json!({
//!     "graph": {"format": "generic", "goal": "tidy up", "tools": [], "injections": [],
//!               "nodes": ["user", "step:0"], "edges": [], "flow": {},
//!               "steps": [{"step_id": "s1", "index": 0, "tool": "shell", "status": "proposed",
//!                          "args": {"command": "rm -rf /etc"}, "labels": ["destructive", "code_execution"],
//!                          "provenance": []}]},
//!     "scores": {}, "meta": {"tenant": "default", "agent": null, "route": "check", "model": null}
//! });
//! let decision = engine.evaluate(&input, &DecisionContext::default());
//! assert_eq!(decision.verdict, preflight_adapters::Verdict::Block);
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod bundle;
pub mod decision;
pub mod diff;
pub mod engine;
pub mod error;
mod fast_regex;
pub mod guard_scores;
pub mod lint;
pub mod merge_patch;
pub mod metadata;
mod rego_input;
pub mod schema;
pub mod store;
pub mod testing;
pub mod trigger;
mod trigger_check;

pub use bundle::Bundle;
pub use decision::{Decision, DecisionContext, Finding, StepDecision};
pub use engine::{Limits, PolicyEngine};
pub use error::{PolicyError, Result};
pub use store::PolicyStore;
pub use testing::{TestReport, run_tests};

use preflight_adapters::Plan;
use preflight_adapters::graph::ActionGraph;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Request metadata that travels with every policy input (`input.meta`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestMeta {
    /// Tenant the request belongs to.
    pub tenant: String,
    /// Agent name, if the caller said.
    pub agent: Option<String>,
    /// Route: `check`, `openai-chat`, `anthropic`, `mcp`, ...
    pub route: String,
    /// Upstream model, if any.
    pub model: Option<String>,
    /// Strictness for guard thresholds (`lenient`, `standard`, `strict`);
    /// `None` uses the bundle's `data.config.strictness`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strictness: Option<String>,
    /// MCP tools whose definition changed since first seen in the session.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_pins_changed: Vec<String>,
    /// The guard model's calibrated threshold per strictness level
    /// (`lenient`, `standard`, `strict`), used by `guard_threshold` unless
    /// the bundle overrides a category.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guard_thresholds: Option<std::collections::BTreeMap<String, f64>>,
}

impl Default for RequestMeta {
    fn default() -> Self {
        RequestMeta {
            tenant: "default".into(),
            agent: None,
            route: "check".into(),
            model: None,
            strictness: None,
            tool_pins_changed: Vec::new(),
            guard_thresholds: None,
        }
    }
}

/// Assembles the Rego `input` from its three parts: the ActionGraph's JSON,
/// the guard scores by step id (`None` before the guard runs), the metadata.
pub fn build_input(graph: Value, scores: Option<Value>, meta: &RequestMeta) -> Value {
    // Moved in, not through `json!`, which would serialize (deep-copy) the
    // graph and the scores once more.
    let mut input = serde_json::Map::with_capacity(3);
    input.insert("graph".into(), graph);
    input.insert(
        "scores".into(),
        scores.unwrap_or_else(|| Value::Object(serde_json::Map::new())),
    );
    input.insert(
        "meta".into(),
        serde_json::to_value(meta).unwrap_or(Value::Null),
    );
    Value::Object(input)
}

/// Builds the policy input of a plan: its ActionGraph, the scores, the metadata.
pub fn plan_input(plan: &Plan, scores: Option<Value>, meta: &RequestMeta) -> Value {
    build_input(ActionGraph::build(plan).to_json(), scores, meta)
}

impl PolicyEngine {
    /// Builds the graph of `plan` and decides about its proposed steps.
    /// Never fails: a policy that cannot decide blocks every proposed step.
    /// The input is built here, so it skips the contract check that
    /// [`PolicyEngine::evaluate`] runs on inputs from outside.
    pub fn evaluate_plan(
        &self,
        plan: &Plan,
        scores: Option<Value>,
        meta: &RequestMeta,
        ctx: &DecisionContext,
    ) -> Decision {
        self.evaluate_trusted(&plan_input(plan, scores, meta), ctx)
    }

    /// Decides about an input this process assembled with [`build_input`]
    /// from [`ActionGraph::to_json`] and guard scores that follow the
    /// contract (`risk` and category scores in [0, 1], a `category`, a
    /// `rationale`). It skips the contract check [`PolicyEngine::evaluate`]
    /// runs on inputs from outside, a walk over every tool result on the
    /// request path. Debug builds still run the check and panic on a
    /// violation, so every test that drives the gateway checks the inputs
    /// it builds.
    pub fn evaluate_built(&self, input: &Value, ctx: &DecisionContext) -> Decision {
        if cfg!(debug_assertions)
            && let Err(e) = PolicyEngine::validate_input(input)
        {
            panic!("a policy input built in this process breaks the contract: {e}");
        }
        self.evaluate_trusted(input, ctx)
    }
}
