//! The guard's scores as the policy reads them, without the policy input's
//! `scores` JSON: the triggers ask whether a step was scored and how high,
//! and only when some rule must run is the JSON written
//! ([`GuardScores::to_json`]). Most traffic fires no rule, and then the JSON
//! (an object per step with a category map) was built for nothing.

use serde_json::Value;

/// Scores by step id, as the policy input's `scores` object would hold them
/// (see `docs/policy-input.md`). Every method must agree with that JSON:
/// `PolicyEngine::evaluate_graph` checks it in debug builds on every call.
pub trait GuardScores {
    /// Whether step `id` has a score (`input.scores[id]` exists).
    fn scored(&self, id: &str) -> bool;
    /// The largest of step `id`'s `risk` and its category scores as the JSON
    /// numbers hold them: `None` when the step has no score, `Some(None)`
    /// when one of them is not a number in the JSON (a non-finite score is
    /// written as `null`).
    fn max_score(&self, id: &str) -> Option<Option<f64>>;
    /// Step `id`'s `risk` as the JSON number holds it.
    fn risk(&self, id: &str) -> Option<f64>;
    /// The policy input's `scores` object.
    fn to_json(&self) -> Value;
}

/// A score as a JSON number would hold it: `None` for what JSON writes as
/// `null` (not finite).
pub fn json_number(x: f32) -> Option<f64> {
    x.is_finite().then_some(f64::from(x))
}
