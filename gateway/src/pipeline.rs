//! The judging seam: a [`Plan`] and the request's metadata in, a verdict per
//! proposed step out ([`Judgement`]: the `Outcomes` the adapters render, plus
//! the Decision JSON the check API returns and the audit log keeps).
//!
//! Every route calls [`Pipeline::judge`] and nothing else, so the policy
//! engine, the ActionGraph and the guard model plug in here without touching
//! the server.
//!
//! PLACEHOLDER (until the policy crate lands): the only rules are the
//! operator overrides `policy.deny_tools` / `policy.approval_tools` and
//! fail-closed blocking of calls whose arguments are not valid JSON. Every
//! other proposed call is allowed with no rule, and the decision says so
//! (`policy_digest = "placeholder"`). The lead wires the real engine in
//! [`Pipeline::evaluate`]: build `ActionGraph`, score, evaluate the Rego
//! bundle, and map its per-step decision into [`StepDecision`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use preflight_adapters::{Outcomes, Plan, StepOutcome, Verdict};
use serde::Serialize;
use thiserror::Error;

use crate::config::{PolicySettings, Strictness};

/// Who is asking and through which door.
#[derive(Debug, Clone)]
pub struct RequestMeta {
    /// Tenant id.
    pub tenant: Arc<str>,
    /// Agent id, when the key names one.
    pub agent: Option<Arc<str>>,
    /// Route name (`chat_completions`, `messages`, `mcp`, `check`...).
    pub route: &'static str,
    /// Model named in the request, if any.
    pub model: Option<String>,
    /// Strictness in force for this tenant.
    pub strictness: Strictness,
}

/// The decision on one proposed step, in the Decision JSON shape.
#[derive(Debug, Clone, Serialize)]
pub struct StepDecision {
    /// Step id (wire call id, else `step-N`).
    pub step_id: String,
    /// Tool name.
    pub tool: String,
    /// Verdict.
    pub verdict: Verdict,
    /// Risk categories (taxonomy codes).
    pub categories: Vec<String>,
    /// Risk in [0, 1], when a model scored it.
    pub risk: Option<f64>,
    /// Ids of the rules that fired.
    pub rules: Vec<String>,
    /// Reasons, readable by a person and by the model.
    pub reasons: Vec<String>,
    /// New arguments for `rewrite`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rewrite: Option<serde_json::Value>,
}

/// The Decision JSON (DESIGN.md contract).
#[derive(Debug, Clone, Serialize)]
pub struct Decision {
    /// Unique id (32 hex digits).
    pub decision_id: String,
    /// The strongest verdict over all steps (`allow` when none were proposed).
    pub verdict: Verdict,
    /// One entry per proposed step.
    pub steps: Vec<StepDecision>,
    /// Digest of the policy bundle that decided.
    pub policy_digest: String,
    /// Id of the guard model, when one scored.
    pub model_id: Option<String>,
    /// Time spent deciding.
    pub latency_us: u64,
}

/// What the routes get back.
#[derive(Debug, Clone)]
pub struct Judgement {
    /// For rendering: withheld and rewritten steps (allowed ones are absent).
    pub outcomes: Outcomes,
    /// For the client, the check API and the audit log.
    pub decision: Decision,
}

impl Judgement {
    /// True when some step is withheld or rewritten.
    pub fn changes_anything(&self) -> bool {
        !self.outcomes.is_empty()
    }

    /// Recomputes the outcomes and the overall verdict after step
    /// decisions were changed (approvals).
    pub fn refresh(&mut self) {
        let fresh = judgement(std::mem::take(&mut self.decision.steps), "", 0);
        self.outcomes = fresh.outcomes;
        self.decision.verdict = fresh.decision.verdict;
        self.decision.steps = fresh.decision.steps;
    }
}

/// Why judging failed. The caller fails closed on any of these unless the
/// operator chose `policy.on_failure = "allow"`.
#[derive(Debug, Error)]
pub enum PipelineError {
    /// The policy engine failed.
    #[error("policy evaluation failed: {0}")]
    Policy(String),
    /// The decision took longer than the deadline.
    #[error("decision took {took_us} µs, over the {deadline_us} µs deadline")]
    Deadline {
        /// Time taken.
        took_us: u64,
        /// The deadline.
        deadline_us: u64,
    },
}

/// The judging pipeline, shared by every route.
#[derive(Debug)]
pub struct Pipeline {
    policy: PolicySettings,
}

impl Pipeline {
    /// Builds the pipeline from validated policy settings.
    pub fn new(policy: PolicySettings) -> Self {
        Pipeline { policy }
    }

    /// The decision deadline.
    pub fn deadline(&self) -> Duration {
        self.policy.decision_deadline
    }

    /// Judges every proposed step of `plan`.
    ///
    /// Evaluation is synchronous and in-process; a decision that comes back
    /// after the deadline is discarded and reported as
    /// [`PipelineError::Deadline`] so the caller fails closed.
    pub fn judge(&self, plan: &Plan, meta: &RequestMeta) -> Result<Judgement, PipelineError> {
        let start = Instant::now();
        let steps = self.evaluate(plan, meta)?;
        let took = start.elapsed();
        if took > self.policy.decision_deadline {
            return Err(PipelineError::Deadline {
                took_us: micros(took),
                deadline_us: micros(self.policy.decision_deadline),
            });
        }
        Ok(judgement(steps, "placeholder", micros(took)))
    }

    /// The judgement when judging failed: every proposed step blocked (fail
    /// closed), or allowed when the operator chose `on_failure = "allow"`.
    pub fn on_failure(&self, plan: &Plan, error: &PipelineError) -> Judgement {
        let verdict = if self.policy.fail_open {
            Verdict::Allow
        } else {
            Verdict::Block
        };
        let steps = plan
            .proposed()
            .map(|s| StepDecision {
                step_id: s.id.clone(),
                tool: s.tool.clone(),
                verdict,
                categories: Vec::new(),
                risk: None,
                rules: vec!["preflight.judge_failed".to_owned()],
                reasons: vec![format!("the safety check could not decide ({error})")],
                rewrite: None,
            })
            .collect();
        judgement(steps, "none", 0)
    }

    /// PLACEHOLDER policy (see the module docs): operator overrides and
    /// malformed-argument blocking only.
    fn evaluate(
        &self,
        plan: &Plan,
        _meta: &RequestMeta,
    ) -> Result<Vec<StepDecision>, PipelineError> {
        let mut out = Vec::new();
        for step in plan.proposed() {
            let mut d = StepDecision {
                step_id: step.id.clone(),
                tool: step.tool.clone(),
                verdict: Verdict::Allow,
                categories: Vec::new(),
                risk: None,
                rules: Vec::new(),
                reasons: Vec::new(),
                rewrite: None,
            };
            if self.policy.deny_tools.iter().any(|t| t == &step.tool) {
                d.verdict = Verdict::Block;
                d.rules.push("operator.deny_tools".to_owned());
                d.reasons.push(format!(
                    "the operator does not allow the tool `{}`",
                    step.tool
                ));
            } else if step.args.is_malformed() {
                d.verdict = Verdict::Block;
                d.rules.push("preflight.malformed_arguments".to_owned());
                d.reasons.push(
                    "the call's arguments are not valid JSON, so they cannot be checked".to_owned(),
                );
            } else if self.policy.approval_tools.iter().any(|t| t == &step.tool) {
                d.verdict = Verdict::RequireApproval;
                d.rules.push("operator.approval_tools".to_owned());
                d.reasons.push(format!(
                    "the operator requires a person to approve `{}`",
                    step.tool
                ));
            }
            out.push(d);
        }
        Ok(out)
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// Builds outcomes and the decision from per-step decisions.
pub fn judgement(steps: Vec<StepDecision>, policy_digest: &str, latency_us: u64) -> Judgement {
    let mut outcomes = Outcomes::new();
    for s in &steps {
        if s.verdict != Verdict::Allow {
            outcomes.insert(
                s.step_id.clone(),
                StepOutcome {
                    verdict: s.verdict,
                    reason: s.reasons.join("; "),
                    rewrite: s.rewrite.clone(),
                },
            );
        }
    }
    let verdict = steps
        .iter()
        .map(|s| s.verdict)
        .max()
        .unwrap_or(Verdict::Allow);
    Judgement {
        outcomes,
        decision: Decision {
            decision_id: new_id(),
            verdict,
            steps,
            policy_digest: policy_digest.to_owned(),
            model_id: None,
            latency_us,
        },
    }
}

/// 128 random bits as 32 hex digits; falls back to a time-and-counter id if
/// the system RNG fails (ids must be unique, not secret).
pub fn new_id() -> String {
    use ring::rand::SecureRandom;
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut bytes = [0u8; 16];
    if ring::rand::SystemRandom::new().fill(&mut bytes).is_err() {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        bytes[..8].copy_from_slice(&(t as u64).to_le_bytes());
        bytes[8..].copy_from_slice(&n.to_le_bytes());
    }
    hex(&bytes)
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;
    use preflight_adapters::{Args, Format};

    fn meta() -> RequestMeta {
        RequestMeta {
            tenant: "default".into(),
            agent: None,
            route: "check",
            model: None,
            strictness: Strictness::Balanced,
        }
    }

    fn plan() -> Plan {
        let mut p = Plan::new(Format::Generic);
        p.push_step(
            Some("a"),
            "read_file",
            Args::from_text(r#"{"path":"x"}"#),
            String::new(),
        );
        p.push_step(
            Some("b"),
            "wire_money",
            Args::from_text(r#"{"amount":5}"#),
            String::new(),
        );
        p.push_step(
            Some("c"),
            "send_email",
            Args::from_text(r#"{"to": "#),
            String::new(),
        );
        p
    }

    fn pipeline(extra: &str) -> Pipeline {
        let s = crate::config::from_toml(extra).unwrap_or_else(|e| panic!("{e}"));
        let _ = Settings::default_settings();
        Pipeline::new(s.policy)
    }

    #[test]
    fn blocks_denied_tools_and_malformed_arguments_and_allows_the_rest() {
        let j = pipeline("[policy]\ndeny_tools = [\"wire_money\"]\n")
            .judge(&plan(), &meta())
            .expect("judged");
        assert_eq!(j.decision.verdict, Verdict::Block);
        assert!(!j.outcomes.contains_key("a"));
        assert_eq!(j.outcomes["b"].verdict, Verdict::Block);
        assert_eq!(j.outcomes["c"].verdict, Verdict::Block);
        assert_eq!(
            j.decision.steps[2].rules,
            vec!["preflight.malformed_arguments"]
        );
        assert_eq!(j.decision.decision_id.len(), 32);
    }

    #[test]
    fn failure_blocks_every_proposed_step_unless_fail_open() {
        let err = PipelineError::Policy("boom".into());
        let closed = pipeline("").on_failure(&plan(), &err);
        assert_eq!(closed.outcomes.len(), 3);
        assert!(
            closed
                .outcomes
                .values()
                .all(|o| o.verdict == Verdict::Block)
        );
        let open = pipeline("[policy]\non_failure = \"allow\"\n").on_failure(&plan(), &err);
        assert!(open.outcomes.is_empty());
    }
}
