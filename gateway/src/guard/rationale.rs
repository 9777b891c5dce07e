//! A short, readable rationale per step, built from the evidence: the
//! step's labels, the data flow that matters (which argument came from
//! where), the top category, and the features that pushed the risk up most.

use std::fmt::Write as _;

use preflight_adapters::graph::{ActionGraph, Source};

use super::features::{Hashed, hash};
use super::linear::LinearModel;

/// How many features to quote.
const TOP_FEATURES: usize = 3;

/// Builds the rationale of step `index`. `names` are its feature names.
pub fn explain(
    graph: &ActionGraph<'_>,
    index: usize,
    model: &LinearModel,
    names: &[String],
    risk: f32,
    category: &str,
    category_p: f32,
) -> String {
    let mut out = String::new();
    let tool = graph
        .plan
        .steps
        .get(index)
        .map(|s| s.tool.as_str())
        .unwrap_or("?");
    let _ = write!(out, "risk {risk:.2}, {category} ({category_p:.2}): {tool}");
    if let Some(an) = graph.steps.get(index) {
        let labels = an.labels.names();
        if !labels.is_empty() {
            let _ = write!(out, " [{}]", labels.join(", "));
        }
        // The most telling flow: injected text first, then tool output, then
        // values that appear nowhere.
        let flow = an.provenance.iter().filter(|p| !p.short).min_by_key(|p| {
            (
                !p.in_injection,
                p.origin != Source::ToolResult,
                p.origin != Source::None,
            )
        });
        if let Some(p) = flow {
            let whence = match (p.in_injection, p.origin) {
                (true, _) => format!(
                    "instruction-like text in the result of step {}",
                    p.source_step.map_or("?".into(), |s| s.to_string())
                ),
                (false, Source::ToolResult) => format!(
                    "the result of step {}",
                    p.source_step.map_or("?".into(), |s| s.to_string())
                ),
                (false, Source::None) => "nowhere in the conversation".into(),
                (false, Source::User) => "the user's request".into(),
                (false, Source::System) => "the system prompt".into(),
                (false, Source::Assistant) => "the assistant's own text".into(),
            };
            let _ = write!(
                out,
                "; {} came from {whence}",
                if p.path.is_empty() { "/" } else { &p.path }
            );
        }
    }
    let mut contrib: Vec<(f32, &str)> = names
        .iter()
        .map(|n| {
            let h: Hashed = hash(n, model.bits);
            (model.risk_weight(h), n.as_str())
        })
        .filter(|(w, n)| *w > 0.0 && *n != "bias")
        .collect();
    contrib.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
    contrib.dedup_by(|a, b| a.1 == b.1);
    if !contrib.is_empty() {
        let top: Vec<&str> = contrib.iter().take(TOP_FEATURES).map(|c| c.1).collect();
        let _ = write!(out, "; strongest evidence: {}", top.join(", "));
    }
    out
}
