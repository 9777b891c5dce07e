//! What tier 2 reads about one proposed step: the user's goal and the
//! action as two texts (embedded separately), plus numeric graph and tier-1
//! features. Built on the request thread from the [`ActionGraph`]; owns its
//! data so it can cross to the scoring thread.

use preflight_adapters::graph::{ActionGraph, Label, Source};
use preflight_adapters::{Args, Origin};

use super::super::{Tier1, features};

/// Version of the input layout; heads record it and refuse another.
pub const INPUT_VERSION: u32 = 1;

/// Numeric features: tier-1 risk, its logit, 9 tier-1 category
/// probabilities, 13 step labels, 5 provenance flags.
pub const EXTRA: usize = 2 + 9 + Label::ALL.len() + 5;

/// Longest goal / action text kept, in characters (the encoder truncates
/// at 256 tokens anyway; this bounds tokenization work).
const MAX_CHARS: usize = 700;

/// One step's tier-2 input.
#[derive(Debug, Clone, PartialEq)]
pub struct StepInput {
    /// The user's goal.
    pub goal: String,
    /// Tool, description, arguments and flow context.
    pub action: String,
    /// [`EXTRA`] numeric features.
    pub extra: Vec<f32>,
    /// Tier 1's risk (for the band check and the rationale).
    pub tier1_risk: f32,
}

/// Builds the input of step `index`.
pub fn step_input(graph: &ActionGraph<'_>, index: usize, tier1: &Tier1) -> StepInput {
    let mut names = Vec::with_capacity(96);
    features::extract(graph, index, &mut names);
    let out = tier1.output(&names);
    let plan = graph.plan;
    let goal = match plan.goal.as_deref() {
        Some(g) if !g.trim().is_empty() => g.to_owned(),
        _ => plan
            .segments
            .iter()
            .filter(|s| s.origin == Origin::User)
            .map(|s| s.text.as_str())
            .collect::<Vec<_>>()
            .join(" "),
    };
    let mut extra = Vec::with_capacity(EXTRA);
    let r = out.risk.clamp(1e-6, 1.0 - 1e-6);
    extra.push(out.risk);
    extra.push(((r / (1.0 - r)).ln() / 8.0).clamp(-2.0, 2.0));
    extra.extend_from_slice(&out.categories);
    let analysis = graph.step(index);
    let labels = analysis.map(|a| a.labels).unwrap_or_default();
    extra.extend(
        Label::ALL
            .iter()
            .map(|l| f32::from(u8::from(labels.contains(*l)))),
    );
    let prov = analysis.map(|a| a.provenance.as_slice()).unwrap_or(&[]);
    let any = |f: &dyn Fn(&preflight_adapters::graph::Provenance) -> bool| {
        f32::from(u8::from(prov.iter().any(f)))
    };
    extra.push(any(&|p| p.origin == Source::User));
    extra.push(any(&|p| p.origin == Source::ToolResult));
    extra.push(any(&|p| p.origin == Source::None && !p.short));
    extra.push(any(&|p| p.in_injection));
    extra.push(f32::from(u8::from(!graph.injections.is_empty())));
    StepInput {
        goal: clip(&format!("user goal: {goal}")),
        action: clip(&action_text(graph, index)),
        extra,
        tier1_risk: out.risk,
    }
}

/// `tool: NAME. DESCRIPTION. arguments: {...}. context: ...`
fn action_text(graph: &ActionGraph<'_>, index: usize) -> String {
    let plan = graph.plan;
    let Some(step) = plan.steps.get(index) else {
        return String::new();
    };
    let mut s = format!("tool: {}.", step.tool.replace(['_', '.'], " "));
    if let Some(d) = plan.tool(&step.tool).and_then(|t| t.description.as_deref()) {
        s.push(' ');
        s.push_str(&d.chars().take(160).collect::<String>());
    }
    s.push_str(" arguments: ");
    match &step.args {
        Args::Malformed { raw, .. } => s.push_str(&raw.chars().take(400).collect::<String>()),
        other => {
            let v = other.value().map(|v| v.to_string()).unwrap_or_default();
            s.push_str(&v.chars().take(400).collect::<String>());
        }
    }
    let earlier: Vec<&str> = plan
        .steps
        .iter()
        .filter(|p| p.index < index)
        .map(|p| p.tool.as_str())
        .collect();
    if !earlier.is_empty() {
        s.push_str(". earlier tools: ");
        s.push_str(&earlier[earlier.len().saturating_sub(4)..].join(", "));
    }
    if let Some(a) = graph.step(index) {
        let from_tools: Vec<&str> = a
            .provenance
            .iter()
            .filter(|p| p.origin == Source::ToolResult)
            .map(|p| p.path.as_str())
            .take(3)
            .collect();
        if !from_tools.is_empty() {
            s.push_str(". values copied from tool output: ");
            s.push_str(&from_tools.join(", "));
        }
    }
    if let Some(span) = graph.injections.first() {
        s.push_str(". instructions seen in tool output: ");
        s.push_str(&span.text.chars().take(120).collect::<String>());
    }
    s
}

fn clip(s: &str) -> String {
    s.chars().take(MAX_CHARS).collect()
}
