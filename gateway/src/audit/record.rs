//! The audit record: one per decision (and one per approval outcome), as the
//! gateway fills it and as it is stored, after redaction, in a segment line.
//!
//! The record depends only on plain fields and `serde_json::Value` for the
//! step details, so the server can fill it from whatever its pipeline holds.
//! Everything a replay needs (`replay`: tools, messages, the proposed call)
//! is kept so `preflight audit export --format cases` can turn real traffic
//! into eval cases.

use std::collections::BTreeMap;

use preflight_adapters::Verdict;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::diff::DiffOp;

/// What happened: a decision on a plan, or the outcome of an approval a
/// decision asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// The gateway decided about a plan's proposed steps.
    Decision,
    /// A person (or a timeout) resolved a `require_approval` hold.
    Approval,
}

impl EventKind {
    /// The snake_case name used in JSON and the index.
    pub fn name(self) -> &'static str {
        match self {
            EventKind::Decision => "decision",
            EventKind::Approval => "approval",
        }
    }
}

/// One audit record, as the gateway hands it to [`super::AuditHandle`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// When the decision was made, RFC 3339 UTC. Left empty, the handle
    /// stamps the time it was handed over.
    #[serde(default)]
    pub ts: String,
    /// Decision or approval outcome.
    pub event: EventKind,
    /// The overall verdict (the strongest over the steps). For an approval
    /// record: the effect of the outcome (`allow` when approved, `block` when
    /// denied or expired).
    pub verdict: Verdict,
    /// The decision's id (the check API's `decision_id`).
    pub decision_id: String,
    /// The request id the gateway assigned or received.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The tenant.
    pub tenant: String,
    /// The agent, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    /// The agent session, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// The route (`openai-chat`, `anthropic`, `mcp`, `check`, ...).
    pub route: String,
    /// The upstream the request went to, when proxied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream: Option<String>,
    /// The LLM model the agent asked for, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The wire format the plan came in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// One entry per judged (proposed) step.
    #[serde(default)]
    pub steps: Vec<StepRecord>,
    /// The policy bundle that decided.
    #[serde(default)]
    pub policy: PolicyInfo,
    /// The guard model's id, when the guard scored the steps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guard_model: Option<String>,
    /// For approval records: how the hold was resolved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<ApprovalOutcome>,
    /// Latency per stage in microseconds (`parse`, `graph`, `guard`,
    /// `policy`, `upstream`, `total`, ...).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub latency_us: BTreeMap<String, u64>,
    /// What a replay needs, in the eval-case shape (OpenAI chat).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replay: Option<ReplayContext>,
}

impl AuditRecord {
    /// A decision record with the required fields; the rest start empty.
    pub fn decision(
        decision_id: impl Into<String>,
        tenant: impl Into<String>,
        route: impl Into<String>,
        verdict: Verdict,
    ) -> Self {
        AuditRecord {
            ts: String::new(),
            event: EventKind::Decision,
            verdict,
            decision_id: decision_id.into(),
            request_id: None,
            tenant: tenant.into(),
            agent: None,
            session: None,
            route: route.into(),
            upstream: None,
            model: None,
            format: None,
            steps: Vec::new(),
            policy: PolicyInfo::default(),
            guard_model: None,
            approval: None,
            latency_us: BTreeMap::new(),
            replay: None,
        }
    }

    /// An approval-outcome record for an earlier `require_approval` decision.
    pub fn approval(
        decision_id: impl Into<String>,
        tenant: impl Into<String>,
        route: impl Into<String>,
        outcome: ApprovalOutcome,
    ) -> Self {
        let verdict = match outcome.outcome {
            ApprovalResult::Approved => Verdict::Allow,
            ApprovalResult::Denied | ApprovalResult::Expired => Verdict::Block,
        };
        AuditRecord {
            event: EventKind::Approval,
            approval: Some(outcome),
            ..AuditRecord::decision(decision_id, tenant, route, verdict)
        }
    }

    /// True when the record must be on disk (fsync) before the response
    /// leaves the gateway: every non-allow decision and every approval outcome.
    pub fn needs_durability(&self) -> bool {
        self.event == EventKind::Approval || self.verdict != Verdict::Allow
    }
}

/// One judged step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    /// The wire call id, else `step-N`.
    pub step_id: String,
    /// The tool's name.
    pub tool: String,
    /// This step's verdict.
    pub verdict: Verdict,
    /// The proposed arguments (redacted before writing).
    #[serde(default)]
    pub arguments: Value,
    /// The analysis labels (`untrusted_flow`, `external_sink`, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
    /// A provenance summary of the arguments, as the gateway chooses to
    /// summarize it (e.g. the policy input's `provenance` entries).
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub provenance: Value,
    /// The guard's risk in [0, 1].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk: Option<f64>,
    /// The guard's (or policy's) top risk category code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// All risk categories the step was tagged with.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<String>,
    /// The ids of the policy rules that fired on this step.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<String>,
    /// The reasons, as the model and a person read them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
    /// For `rewrite`: the change to the arguments, as JSON-pointer operations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rewrite: Option<Vec<DiffOp>>,
}

impl StepRecord {
    /// A step with its id, tool, verdict and arguments; the rest start empty.
    pub fn new(
        step_id: impl Into<String>,
        tool: impl Into<String>,
        verdict: Verdict,
        arguments: Value,
    ) -> Self {
        StepRecord {
            step_id: step_id.into(),
            tool: tool.into(),
            verdict,
            arguments,
            labels: Vec::new(),
            provenance: Value::Null,
            risk: None,
            category: None,
            categories: Vec::new(),
            rules: Vec::new(),
            reasons: Vec::new(),
            rewrite: None,
        }
    }

    /// Records a rewrite as the diff from the proposed arguments to `new_args`.
    pub fn with_rewrite(mut self, new_args: &Value) -> Self {
        self.rewrite = Some(super::diff::diff(&self.arguments, new_args));
        self
    }
}

/// The policy bundle that decided.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyInfo {
    /// The bundle digest (`sha256:...`).
    #[serde(default)]
    pub digest: String,
    /// Every rule id that fired, over all steps.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules_fired: Vec<String>,
}

/// How an approval hold was resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalResult {
    /// A person approved the call.
    Approved,
    /// A person denied the call.
    Denied,
    /// Nobody answered in time; the hold failed closed.
    Expired,
}

/// The outcome of an approval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalOutcome {
    /// The approval's id.
    pub approval_id: String,
    /// Approved, denied or expired.
    pub outcome: ApprovalResult,
    /// Who answered, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    /// Their note.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// What `preflight audit export --format cases` needs to replay a decision:
/// the eval-case fields of DESIGN.md, in OpenAI chat shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplayContext {
    /// OpenAI function definitions (`[{"type":"function","function":{...}}]`).
    #[serde(default)]
    pub tools: Value,
    /// OpenAI chat messages so far (redacted).
    #[serde(default)]
    pub messages: Value,
    /// The OpenAI assistant message with the proposed `tool_calls`.
    #[serde(default)]
    pub proposed: Value,
}

/// One line of a segment: the record with its place in the hash chain.
/// Field order is fixed (`seq`, `prev`, `record`, `hash`): the hash covers the
/// line's bytes up to the `hash` field (see `chain`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredRecord {
    /// Position in the log, from 1, gapless across segments.
    pub seq: u64,
    /// Hex SHA-256 of the previous record (64 zeros for the first).
    pub prev: String,
    /// The (redacted) record.
    pub record: AuditRecord,
    /// Hex SHA-256 of this line up to this field.
    pub hash: String,
}
