//! `preflight policy diff`: replays a corpus of policy inputs under two
//! bundles and reports every step whose verdict changed, with both sides'
//! reasons — what a reviewer reads before merging a policy change.

use preflight_adapters::Verdict;
use serde::Serialize;
use serde_json::Value;

use crate::decision::{Decision, DecisionContext};
use crate::engine::PolicyEngine;

/// One case of the corpus, already turned into a policy input.
#[derive(Debug, Clone)]
pub struct Case {
    /// The case id (eval-case `id`, else its line number).
    pub id: String,
    /// The policy input.
    pub input: Value,
}

/// One side of a change.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Side {
    /// The verdict.
    pub verdict: Verdict,
    /// Rules that fired.
    pub rules: Vec<String>,
    /// Their reasons.
    pub reasons: Vec<String>,
}

/// A step whose verdict differs between the bundles.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    /// Case id.
    pub case: String,
    /// Step id.
    pub step_id: String,
    /// Tool called.
    pub tool: String,
    /// Under the base bundle.
    pub base: Side,
    /// Under the new bundle.
    pub head: Side,
}

/// The diff over a corpus.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DiffReport {
    /// Digest of the base bundle.
    pub base_digest: String,
    /// Digest of the new bundle.
    pub head_digest: String,
    /// Cases replayed.
    pub cases: usize,
    /// Steps judged.
    pub steps: usize,
    /// Every changed verdict, in corpus order.
    pub changes: Vec<Change>,
}

fn side(d: &Decision, step_id: &str) -> Side {
    match d.step(step_id) {
        Some(s) => Side {
            verdict: s.verdict,
            rules: s.rules.clone(),
            reasons: s.reasons.clone(),
        },
        None => Side {
            verdict: Verdict::Allow,
            rules: Vec::new(),
            reasons: Vec::new(),
        },
    }
}

/// Evaluates every case under both engines and collects changed verdicts.
pub fn diff(base: &PolicyEngine, head: &PolicyEngine, cases: &[Case]) -> DiffReport {
    let mut changes = Vec::new();
    let mut steps = 0;
    for case in cases {
        let ctx = DecisionContext {
            decision_id: case.id.clone(),
            model_id: None,
        };
        let a = base.evaluate(&case.input, &ctx);
        let b = head.evaluate(&case.input, &ctx);
        steps += b.steps.len();
        for s in &b.steps {
            let (before, after) = (side(&a, &s.step_id), side(&b, &s.step_id));
            if before.verdict != after.verdict {
                changes.push(Change {
                    case: case.id.clone(),
                    step_id: s.step_id.clone(),
                    tool: s.tool.clone(),
                    base: before,
                    head: after,
                });
            }
        }
    }
    DiffReport {
        base_digest: base.digest().to_owned(),
        head_digest: head.digest().to_owned(),
        cases: cases.len(),
        steps,
        changes,
    }
}

impl DiffReport {
    /// The report as Markdown, for a pull-request comment.
    pub fn to_markdown(&self) -> String {
        let mut out = format!(
            "## Policy diff\n\nBase `{}` -> new `{}`: {} cases, {} steps, {} changed verdicts.\n",
            self.base_digest,
            self.head_digest,
            self.cases,
            self.steps,
            self.changes.len()
        );
        if self.changes.is_empty() {
            return out;
        }
        out.push_str("\n| case | step | tool | before | after |\n|---|---|---|---|---|\n");
        for c in &self.changes {
            out.push_str(&format!(
                "| {} | {} | `{}` | {} | {} |\n",
                cell(&c.case),
                cell(&c.step_id),
                cell(&c.tool),
                describe(&c.base),
                describe(&c.head)
            ));
        }
        out
    }
}

fn describe(s: &Side) -> String {
    if s.reasons.is_empty() {
        return format!("**{}**", s.verdict.name());
    }
    format!("**{}**: {}", s.verdict.name(), cell(&s.reasons.join("; ")))
}

/// Escapes a Markdown table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}
