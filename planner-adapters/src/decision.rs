//! What the later stages decided about each proposed step, in the form the
//! adapters need to write the decision back into the wire format.
//!
//! The full Decision contract (rules, risk, categories) lives in the policy
//! crate; rendering needs only the verdict, the reason the model will read,
//! and for `rewrite` the new arguments.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The verdict on one step, ordered weakest to strongest so that
/// `max()` picks the one that wins (block > require_approval > rewrite > allow).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Let it through unchanged.
    Allow,
    /// Let it through with new arguments.
    Rewrite,
    /// Hold it until a person approves.
    RequireApproval,
    /// Stop it.
    Block,
}

impl Verdict {
    /// The snake_case name used in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Allow => "allow",
            Verdict::Rewrite => "rewrite",
            Verdict::RequireApproval => "require_approval",
            Verdict::Block => "block",
        }
    }

    /// True when the call must not reach the agent as proposed.
    pub fn withholds(self) -> bool {
        matches!(self, Verdict::Block | Verdict::RequireApproval)
    }
}

/// The outcome for one step, as rendering needs it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepOutcome {
    /// The verdict.
    pub verdict: Verdict,
    /// Why, in words the model and a person can read.
    pub reason: String,
    /// For `rewrite`: the complete new arguments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rewrite: Option<Value>,
}

/// Outcomes by step id. Steps that are absent are allowed unchanged.
pub type Outcomes = BTreeMap<String, StepOutcome>;

/// The sentence the model reads in place of a withheld call, so it can
/// choose another way (constructive, not a bare refusal).
pub fn explanation(tool: &str, step_id: &str, outcome: &StepOutcome) -> String {
    match outcome.verdict {
        Verdict::RequireApproval => format!(
            "[preflight] The call to `{tool}` ({step_id}) is waiting for human approval and was not run: {}. Tell the user it needs approval, or choose another way.",
            outcome.reason
        ),
        _ => format!(
            "[preflight] The call to `{tool}` ({step_id}) was blocked and not run: {}. Choose another way to reach the user's goal, or explain to the user why it cannot be done.",
            outcome.reason
        ),
    }
}
