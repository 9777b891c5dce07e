//! The Decision contract (DESIGN.md): what the policy concluded about every
//! proposed step, and how several rule findings combine into one verdict.
//!
//! Combination is fixed here, not in Rego, so a bundle cannot weaken it:
//! the strongest verdict wins (block > require_approval > rewrite > allow);
//! two rewrites of one step that disagree block it; a rewrite whose result
//! breaks the tool's input schema blocks it. Every finding's rule id, risk
//! code and reason is kept, whichever verdict won.

use std::collections::{BTreeMap, BTreeSet};

use preflight_adapters::{Outcomes, StepOutcome, Verdict};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::merge_patch;
use crate::schema;

/// One rule firing on one step, as the bundle reported it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// The rule id (its package's last segment).
    pub rule: String,
    /// The step it concerns (`step_id`).
    pub step: String,
    /// What the rule wants: never `allow` (a rule that allows just does not fire).
    pub verdict: Verdict,
    /// Why, for a person and for the model that re-plans.
    pub reason: String,
    /// Risk code (the rule's METADATA `risk` unless the finding overrides it).
    pub category: String,
    /// For `rewrite`: a JSON merge patch (RFC 7386) over the arguments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patch: Option<Value>,
}

/// The decision about one proposed step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepDecision {
    /// The step's id.
    pub step_id: String,
    /// The tool it calls.
    pub tool: String,
    /// The combined verdict.
    pub verdict: Verdict,
    /// Risk codes of every rule that fired, sorted.
    pub categories: Vec<String>,
    /// The guard model's risk score in [0, 1]; `null` when no guard scored it.
    pub risk: Option<f64>,
    /// Ids of every rule that fired, sorted.
    pub rules: Vec<String>,
    /// One reason per finding (`rule: reason`), plus any combination reason.
    pub reasons: Vec<String>,
    /// For `rewrite`: the complete new arguments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rewrite: Option<Value>,
}

/// The whole decision about one plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// Caller-supplied id (the pure crate makes no ids and reads no clock).
    pub decision_id: String,
    /// The strongest verdict over all steps (`allow` when nothing is proposed).
    pub verdict: Verdict,
    /// One entry per proposed step, in plan order.
    pub steps: Vec<StepDecision>,
    /// Digest of the bundle that decided (`sha256:...`).
    pub policy_digest: String,
    /// The guard model that scored the steps, if any.
    pub model_id: Option<String>,
    /// Time taken, filled in by the caller that measured it.
    pub latency_us: u64,
}

/// What the caller supplies for a decision.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DecisionContext {
    /// The decision id to record.
    pub decision_id: String,
    /// The guard model id, when scores came from one.
    pub model_id: Option<String>,
}

impl Decision {
    /// The outcomes the adapters render: every step that is not a plain allow.
    pub fn to_outcomes(&self) -> Outcomes {
        self.steps
            .iter()
            .filter(|s| s.verdict != Verdict::Allow)
            .map(|s| {
                let outcome = StepOutcome {
                    verdict: s.verdict,
                    reason: s.reasons.join("; "),
                    rewrite: if s.verdict == Verdict::Rewrite {
                        s.rewrite.clone()
                    } else {
                        None
                    },
                };
                (s.step_id.clone(), outcome)
            })
            .collect()
    }

    /// The decision of one step by id.
    pub fn step(&self, step_id: &str) -> Option<&StepDecision> {
        self.steps.iter().find(|s| s.step_id == step_id)
    }
}

/// A proposed step as the decision needs it, read from the policy input.
#[derive(Debug, Clone)]
pub(crate) struct ProposedStep<'a> {
    pub id: String,
    pub tool: String,
    pub args: Option<&'a Value>,
}

/// Proposed steps listed in `input.graph.steps` (best effort: entries that
/// lack an id are named by index so that they can still be blocked).
pub(crate) fn proposed_steps(input: &Value) -> Vec<ProposedStep<'_>> {
    let steps = input.pointer("/graph/steps").and_then(Value::as_array);
    steps
        .into_iter()
        .flatten()
        .enumerate()
        .filter(|(_, s)| s.get("status").and_then(Value::as_str) == Some("proposed"))
        .map(|(i, s)| ProposedStep {
            id: s
                .get("step_id")
                .and_then(Value::as_str)
                .map_or_else(|| format!("step-{i}"), str::to_owned),
            tool: s
                .get("tool")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned(),
            args: s.get("args").filter(|a| !a.is_null()),
        })
        .collect()
}

fn tool_schema<'a>(input: &'a Value, tool: &str) -> Option<&'a Value> {
    input
        .pointer("/graph/tools")?
        .as_array()?
        .iter()
        .find(|t| t.get("name").and_then(Value::as_str) == Some(tool))?
        .get("input_schema")
        .filter(|s| s.is_object())
}

fn guard_risk(input: &Value, step_id: &str) -> Option<f64> {
    input.get("scores")?.get(step_id)?.get("risk")?.as_f64()
}

/// The decision when no rule fires, from the proposed steps' ids and tools
/// and the guard scores by step id: what [`combine`] gives with no findings
/// (every step allowed, with its guard risk).
pub(crate) fn allow_all<'a>(
    proposed: impl Iterator<Item = (&'a str, &'a str)>,
    risk: impl Fn(&str) -> Option<f64>,
    digest: &str,
    ctx: &DecisionContext,
) -> Decision {
    let steps: Vec<StepDecision> = proposed
        .map(|(id, tool)| StepDecision {
            step_id: id.to_owned(),
            tool: tool.to_owned(),
            verdict: Verdict::Allow,
            categories: Vec::new(),
            risk: risk(id),
            rules: Vec::new(),
            reasons: Vec::new(),
            rewrite: None,
        })
        .collect();
    Decision {
        decision_id: ctx.decision_id.clone(),
        verdict: Verdict::Allow,
        steps,
        policy_digest: digest.to_owned(),
        model_id: ctx.model_id.clone(),
        latency_us: 0,
    }
}

/// Combines the findings into the decision.
pub(crate) fn combine(
    input: &Value,
    findings: &[Finding],
    digest: &str,
    ctx: &DecisionContext,
) -> Decision {
    let mut by_step: BTreeMap<&str, Vec<&Finding>> = BTreeMap::new();
    for f in findings {
        by_step.entry(f.step.as_str()).or_default().push(f);
    }
    let steps: Vec<StepDecision> = proposed_steps(input)
        .into_iter()
        .map(|step| {
            let fired = by_step
                .get(step.id.as_str())
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            decide_step(input, &step, fired)
        })
        .collect();
    Decision {
        decision_id: ctx.decision_id.clone(),
        verdict: steps
            .iter()
            .map(|s| s.verdict)
            .max()
            .unwrap_or(Verdict::Allow),
        steps,
        policy_digest: digest.to_owned(),
        model_id: ctx.model_id.clone(),
        latency_us: 0,
    }
}

fn decide_step(input: &Value, step: &ProposedStep<'_>, fired: &[&Finding]) -> StepDecision {
    let mut verdict = fired
        .iter()
        .map(|f| f.verdict)
        .max()
        .unwrap_or(Verdict::Allow);
    let rules: BTreeSet<String> = fired.iter().map(|f| f.rule.clone()).collect();
    let categories: BTreeSet<String> = fired.iter().map(|f| f.category.clone()).collect();
    let mut reasons: Vec<String> = fired
        .iter()
        .map(|f| format!("{}: {}", f.rule, f.reason))
        .collect();
    reasons.dedup();
    let mut rewrite = None;
    let rewrites: Vec<&&Finding> = fired
        .iter()
        .filter(|f| f.verdict == Verdict::Rewrite)
        .collect();
    if !rewrites.is_empty() {
        match merged_rewrite(input, step, &rewrites) {
            Ok(args) if verdict == Verdict::Rewrite => rewrite = Some(args),
            Ok(_) => {} // a stronger verdict won; the rewrite is moot
            Err(reason) => {
                verdict = Verdict::Block;
                reasons.push(reason);
            }
        }
    }
    StepDecision {
        step_id: step.id.clone(),
        tool: step.tool.clone(),
        verdict,
        categories: categories.into_iter().collect(),
        risk: guard_risk(input, &step.id),
        rules: rules.into_iter().collect(),
        reasons,
        rewrite,
    }
}

/// The arguments after every rewrite, or why the step must be blocked.
fn merged_rewrite(
    input: &Value,
    step: &ProposedStep<'_>,
    rewrites: &[&&Finding],
) -> Result<Value, String> {
    let names = || {
        rewrites
            .iter()
            .map(|f| f.rule.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut patch = Value::Object(Default::default());
    for f in rewrites {
        let Some(p) = f.patch.as_ref() else {
            return Err(format!(
                "rule {} asked for a rewrite without a patch",
                f.rule
            ));
        };
        patch = merge_patch::combine(&patch, p)
            .map_err(|at| format!("conflicting rewrites by rules {} at {at}", names()))?;
    }
    let Some(args) = step.args else {
        return Err(format!(
            "rewrite by {} has no valid arguments to patch",
            names()
        ));
    };
    let mut new_args = args.clone();
    merge_patch::apply(&mut new_args, &patch);
    if let Some(schema) = tool_schema(input, &step.tool) {
        schema::validate(schema, &new_args).map_err(|v| {
            format!(
                "rewrite by {} breaks the input schema of `{}`: {v}",
                names(),
                step.tool
            )
        })?;
    }
    Ok(new_args)
}

/// A decision that blocks every proposed step for one reason: what the
/// pipeline answers when the policy cannot decide (fail closed).
pub(crate) fn fail_closed(
    input: &Value,
    reason: &str,
    digest: &str,
    ctx: &DecisionContext,
) -> Decision {
    let steps: Vec<StepDecision> = proposed_steps(input)
        .into_iter()
        .map(|s| StepDecision {
            step_id: s.id,
            tool: s.tool,
            verdict: Verdict::Block,
            categories: Vec::new(),
            risk: None,
            rules: vec!["preflight.fail_closed".to_owned()],
            reasons: vec![reason.to_owned()],
            rewrite: None,
        })
        .collect();
    Decision {
        decision_id: ctx.decision_id.clone(),
        verdict: Verdict::Block,
        steps,
        policy_digest: digest.to_owned(),
        model_id: ctx.model_id.clone(),
        latency_us: 0,
    }
}
