//! From a judgement to an audit record, and into the audit log.
//!
//! Invariants:
//! - A record that needs durability (block, rewrite, require_approval, an
//!   approval outcome) is awaited until the writer has synced it, before
//!   the route answers. If the log cannot take it (queue full, writer
//!   stopped) the request fails closed with 503 `audit_unavailable`.
//! - Allow records are queued without waiting (group commit), after the
//!   `audit.allow` sampling; a full queue fails the request closed too.
//! - With no audit log (tests, `serve` without one) nothing is recorded.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

use preflight_adapters::{Args, Format, Plan};
use serde_json::{Value, json};

use crate::audit::{AuditError, AuditRecord, PolicyInfo, ReplayContext, StepRecord};
use crate::pipeline::Judgement;
use crate::server::AppState;
use crate::server::error::GatewayError;

/// Who asked, through which door, for the record.
#[derive(Debug, Clone, Default)]
pub struct Origin<'a> {
    /// Route name (`chat_completions`, `check`, `mcp`, ...).
    pub route: &'a str,
    /// Tenant.
    pub tenant: &'a str,
    /// Agent, when the key names one.
    pub agent: Option<&'a str>,
    /// MCP session id.
    pub session: Option<&'a str>,
    /// Upstream name, when proxied.
    pub upstream: Option<&'a str>,
    /// The LLM model asked for.
    pub model: Option<&'a str>,
    /// The client's `x-request-id`, when sent.
    pub request_id: Option<&'a str>,
}

/// True when this judgement would be kept (non-allow, or allow sampled
/// in): lets a caller skip building a record the log would drop.
pub fn wanted(state: &AppState, j: &Judgement) -> bool {
    match &state.audit {
        None => false,
        Some(a) => a
            .allow_recording()
            .records(j.decision.verdict, &j.decision.decision_id),
    }
}

/// Builds the record of a judgement. `only` keeps one step (a stream judges
/// call by call); `latency` adds stages measured by the route.
pub fn record_of(
    origin: &Origin<'_>,
    plan: &Plan,
    j: &Judgement,
    only: Option<&str>,
    latency: &[(&str, u64)],
) -> AuditRecord {
    let d = &j.decision;
    let steps: Vec<StepRecord> = d
        .steps
        .iter()
        .filter(|s| only.is_none_or(|id| s.step_id == id))
        .map(|s| {
            let args = plan
                .steps
                .iter()
                .find(|p| p.id == s.step_id)
                .map(|p| match &p.args {
                    Args::Json { value } => value.clone(),
                    Args::Malformed { raw, .. } => Value::String(raw.clone()),
                })
                .unwrap_or(Value::Null);
            let mut r = StepRecord::new(&s.step_id, &s.tool, s.verdict, args);
            if let Some(a) = j.analysis.get(&s.step_id) {
                r.labels = a.labels.clone();
                r.provenance = a.provenance.clone();
                if let Some(score) = &a.score {
                    r.category = Some(score.category.to_owned());
                }
            }
            r.risk = s.risk;
            if r.category.is_none() {
                r.category = s.categories.first().cloned();
            }
            r.categories = s.categories.clone();
            r.rules = s.rules.clone();
            r.reasons = s.reasons.clone();
            match &s.rewrite {
                Some(new_args) if s.verdict == preflight_adapters::Verdict::Rewrite => {
                    r.with_rewrite(new_args)
                }
                _ => r,
            }
        })
        .collect();
    let verdict = steps
        .iter()
        .map(|s| s.verdict)
        .max()
        .unwrap_or(preflight_adapters::Verdict::Allow);
    let mut rules_fired: Vec<String> = steps.iter().flat_map(|s| s.rules.clone()).collect();
    rules_fired.sort();
    rules_fired.dedup();
    let mut rec = AuditRecord::decision(&d.decision_id, origin.tenant, origin.route, verdict);
    rec.agent = origin.agent.map(str::to_owned);
    rec.session = origin.session.map(str::to_owned);
    rec.upstream = origin.upstream.map(str::to_owned);
    rec.model = origin.model.map(str::to_owned);
    rec.request_id = origin.request_id.map(str::to_owned);
    rec.format = Some(plan.format.name().to_owned());
    rec.steps = steps;
    rec.policy = PolicyInfo {
        digest: d.policy_digest.clone(),
        rules_fired,
    };
    rec.guard_model = d.model_id.clone();
    let mut lat: BTreeMap<String, u64> = j
        .stage_us
        .iter()
        .map(|(k, v)| ((*k).to_owned(), *v))
        .collect();
    lat.insert("judge".into(), d.latency_us);
    for (k, v) in latency {
        lat.insert((*k).to_owned(), *v);
    }
    rec.latency_us = lat;
    rec
}

/// What a replay needs, for the OpenAI chat format: the request's tools
/// and messages and the assistant message with the proposed calls.
pub fn openai_chat_replay(
    format: Format,
    request: &Value,
    response: &Value,
) -> Option<ReplayContext> {
    if format != Format::OpenaiChat {
        return None;
    }
    Some(ReplayContext {
        tools: request.get("tools").cloned().unwrap_or_else(|| json!([])),
        messages: request
            .get("messages")
            .cloned()
            .unwrap_or_else(|| json!([])),
        proposed: response
            .pointer("/choices/0/message")
            .cloned()
            .unwrap_or(Value::Null),
    })
}

/// Hands a record to the audit log: durable records are awaited until
/// synced, allow records queued. Fails closed when the log refuses.
pub async fn record(state: &AppState, rec: AuditRecord) -> Result<(), GatewayError> {
    let Some(audit) = &state.audit else {
        return Ok(());
    };
    let result = if rec.needs_durability() {
        audit.record(rec).await.map(|_| ())
    } else {
        audit.try_record(rec).map(|_| ())
    };
    result.map_err(|e| refused(state, &e))
}

/// Queues a record without waiting for its ack (a stream's allow records,
/// judged inside the relay; its durable records are awaited by the relay
/// before the bytes leave). A refusal is an error the caller fails closed on.
pub fn record_now(state: &AppState, rec: AuditRecord) -> Result<(), GatewayError> {
    let Some(audit) = &state.audit else {
        return Ok(());
    };
    audit
        .try_record(rec)
        .map(|_| ())
        .map_err(|e| refused(state, &e))
}

fn refused(state: &AppState, e: &AuditError) -> GatewayError {
    state.audit_refusals.fetch_add(1, Ordering::Relaxed);
    GatewayError::AuditUnavailable(e.to_string())
}
