//! The LLM routes (`/v1/chat/completions`, `/v1/responses`, `/v1/messages`):
//! forward the request, read the proposed tool calls in the response,
//! judge them, and answer in the same wire format with withheld calls
//! removed (and explained to the model), rewritten arguments in place, or,
//! by the route's verdict mode, a 403, a re-plan, or an approval request.
//!
//! Fail closed: a 2xx upstream response that cannot be read is a 502, never
//! passed through unchecked. Upstream errors (non-2xx) carry no tool calls
//! and pass through as they are.

use std::time::Instant;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use hyper::body::Incoming;
use preflight_adapters::adapters::openai_chat::typed;
use preflight_adapters::{Format, Plan, Verdict};
use serde_json::Value;

use crate::config::{Strictness, VerdictMode};
use crate::metrics::Stage;
use crate::pipeline::{Judgement, RequestMeta};
use crate::server::approvals::{CallRef, Lookup};
use crate::server::auth::Caller;
use crate::server::body::{Body, full, read_limited};
use crate::server::error::GatewayError;
use crate::server::{AppState, Conn, auth};
use crate::upstream::{UpstreamClient, response_headers};

/// Header carrying the decision id on judged responses.
pub const DECISION_HEADER: &str = "x-preflight-decision-id";

/// Strictness for a tenant.
pub fn strictness(state: &AppState, tenant: &str) -> Strictness {
    state
        .settings
        .tenants
        .get(tenant)
        .and_then(|t| t.strictness)
        .unwrap_or(state.settings.policy.strictness)
}

/// Judges a plan, failing closed (or open, if configured) when judging
/// fails, and counts the verdicts.
pub fn judge(state: &AppState, plan: &Plan, meta: &RequestMeta) -> Judgement {
    judge_counting(state, plan, meta, None)
}

/// [`judge`], counting only the step `only` in the verdict metrics when
/// given (a stream re-judges its earlier calls with each new one).
pub fn judge_counting(
    state: &AppState,
    plan: &Plan,
    meta: &RequestMeta,
    only: Option<&str>,
) -> Judgement {
    let j = match state.pipeline.judge(plan, meta) {
        Ok(j) => j,
        Err(e) => state.pipeline.on_failure(plan, &e),
    };
    for s in j
        .decision
        .steps
        .iter()
        .filter(|s| only.is_none_or(|id| s.step_id == id))
    {
        state.metrics.verdict(
            s.verdict,
            &s.rules,
            s.categories.first().map(String::as_str),
        );
    }
    j
}

/// Routes withheld calls through the approval store: a call a person
/// approved passes (once), one they denied is blocked, any other waits
/// with its approval id in the explanation the model reads. In
/// `require_approval` mode blocks are turned into approval requests too.
/// `only` limits this to one step (a stream re-judges its earlier calls,
/// whose approvals were already settled).
pub fn apply_approvals(
    state: &AppState,
    plan: &Plan,
    j: &mut Judgement,
    caller: &Caller,
    route: &'static str,
    mode: VerdictMode,
    only: Option<&str>,
) {
    let mut changed = false;
    for s in &mut j.decision.steps {
        if only.is_some_and(|id| s.step_id != id) {
            continue;
        }
        let wants_approval = s.verdict == Verdict::RequireApproval
            || (mode == VerdictMode::RequireApproval && s.verdict == Verdict::Block);
        if !wants_approval {
            continue;
        }
        let Some(step) = plan.steps.iter().find(|p| p.id == s.step_id) else {
            continue;
        };
        let args = match &step.args {
            preflight_adapters::Args::Json { value } => value.clone(),
            preflight_adapters::Args::Malformed { raw, .. } => Value::String(raw.clone()),
        };
        let reason = s.reasons.join("; ");
        let lookup = state.approvals.lookup_or_request(CallRef {
            tenant: &caller.tenant,
            agent: caller.agent.as_deref(),
            route,
            tool: &s.tool,
            args: &args,
            reason: &reason,
        });
        changed = true;
        match lookup {
            Ok(Lookup::Approved(id)) => {
                s.verdict = Verdict::Allow;
                s.reasons
                    .push(format!("approved by a person (approval {id})"));
            }
            Ok(Lookup::Denied(id)) => {
                s.verdict = Verdict::Block;
                s.reasons
                    .push(format!("a person denied this call (approval {id})"));
            }
            Ok(Lookup::Pending(id, _)) => {
                s.verdict = Verdict::RequireApproval;
                s.reasons.push(format!(
                    "approval {id} is pending; retry after it is approved"
                ));
            }
            Err(e) => {
                s.verdict = Verdict::Block;
                s.reasons
                    .push(format!("no approval could be requested: {e}"));
            }
        }
    }
    if changed {
        j.refresh();
    }
}

/// The configured upstream of a provider (Anthropic, else the
/// OpenAI-protocol one); `what` names the route in the error.
pub fn provider_upstream(
    settings: &crate::config::Settings,
    anthropic: bool,
    what: &str,
) -> Result<std::sync::Arc<crate::config::UpstreamSettings>, GatewayError> {
    let name = if anthropic {
        settings.anthropic_upstream.as_ref()
    } else {
        settings.openai_upstream.as_ref()
    };
    name.and_then(|n| settings.upstreams.get(n))
        .cloned()
        .ok_or_else(|| GatewayError::NoUpstream(what.to_owned()))
}

/// Handles one LLM request.
pub async fn handle(
    state: &std::sync::Arc<AppState>,
    req: Request<Incoming>,
    conn: Conn,
    format: Format,
    route: &'static str,
) -> Result<Response<Body>, GatewayError> {
    let (parts, body) = req.into_parts();
    let caller = auth::authenticate(&state.settings, &parts.headers, conn.peer)?;
    let settings = &state.settings;
    let up = provider_upstream(settings, format == Format::Anthropic, route)?;
    let bytes = read_limited(&parts.headers, body, settings.max_body_bytes).await?;
    // A Chat Completions request of the common shape is read into borrowed
    // structs (no `Value` tree); anything else, and any request that must
    // be edited or recorded, is parsed as a `Value` on demand.
    let mut typed = if format == Format::OpenaiChat {
        typed::Request::parse(&bytes)
    } else {
        None
    };
    let mut request: Option<Value> = None;
    let (model, stream) = match &typed {
        Some(t) => (t.model.map(str::to_owned), t.stream == Some(true)),
        None => {
            let r = request_value(&mut request, &bytes)?;
            (
                r.get("model").and_then(Value::as_str).map(str::to_owned),
                r.get("stream").and_then(Value::as_bool) == Some(true),
            )
        }
    };
    let meta = RequestMeta {
        tenant: caller.tenant.clone(),
        agent: caller.agent.clone(),
        route,
        model,
        strictness: strictness(state, &caller.tenant),
        tool_pins_changed: Vec::new(),
    };
    let mode = settings.verdict_mode(route, &caller.tenant);
    let request_id = parts
        .headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let path = parts
        .uri
        .path_and_query()
        .map_or(parts.uri.path(), |p| p.as_str());
    if stream {
        let request = request_value(&mut request, &bytes)?.take();
        return super::stream::handle(
            state,
            super::stream::StreamCall {
                up,
                path: path.to_owned(),
                headers: parts.headers,
                caller,
                format,
                route,
                meta,
                request,
                body: bytes.clone(),
            },
        )
        .await;
    }

    let mut body = bytes.clone();
    let mut round = 0;
    loop {
        let t = Instant::now();
        let resp = state
            .upstream
            .send(
                &up,
                Method::POST,
                path,
                &parts.headers,
                caller.key_header.as_ref(),
                body.clone(),
            )
            .await
            .inspect_err(|e| state.metrics.upstream_error(&up.name, e.metric_kind()))?;
        let (rparts, rbody) = resp.into_parts();
        let rbytes = UpstreamClient::read_body(&up, rbody, settings.max_response_bytes, up.timeout)
            .await
            .inspect_err(|e| state.metrics.upstream_error(&up.name, e.metric_kind()))?;
        let upstream_us = u64::try_from(t.elapsed().as_micros()).unwrap_or(u64::MAX);
        state.metrics.latency(route, Stage::Upstream, t.elapsed());
        if !rparts.status.is_success() {
            state.metrics.upstream_error(&up.name, "status");
            return Ok(passthrough(rparts.status, &rparts.headers, rbytes, None));
        }

        let judge_start = Instant::now();
        let mut response: Option<Value> = None;
        let plan = match typed
            .take()
            .and_then(|t| typed::read_exchange(t, &rbytes, &state.tools))
        {
            Some(plan) => plan,
            None => {
                let resp = response_value(&mut response, &rbytes)?;
                let req = request_value(&mut request, &bytes)?;
                preflight_adapters::parse_exchange(format, req, resp)
                    .map_err(|e| GatewayError::Unjudgeable(e.to_string()))?
            }
        };
        if plan.proposed().next().is_none() {
            state
                .metrics
                .latency(route, Stage::Judge, judge_start.elapsed());
            return Ok(passthrough(rparts.status, &rparts.headers, rbytes, None));
        }
        let mut j = judge(state, &plan, &meta);
        apply_approvals(state, &plan, &mut j, &caller, route, mode, None);
        if super::audit_trail::wanted(state, &j) {
            let origin = super::audit_trail::Origin {
                route,
                tenant: &caller.tenant,
                agent: caller.agent.as_deref(),
                session: None,
                upstream: Some(&up.name),
                model: meta.model.as_deref(),
                request_id: request_id.as_deref(),
            };
            let mut rec = super::audit_trail::record_of(
                &origin,
                &plan,
                &j,
                None,
                &[("upstream", upstream_us)],
            );
            if format == Format::OpenaiChat {
                let resp = response_value(&mut response, &rbytes)?;
                let req = request_value(&mut request, &bytes)?;
                rec.replay = super::audit_trail::openai_chat_replay(format, req, resp);
            }
            // Durable records are synced before the response leaves.
            super::audit_trail::record(state, rec).await?;
        }
        let id = j.decision.decision_id.clone();
        if !j.changes_anything() {
            state
                .metrics
                .latency(route, Stage::Judge, judge_start.elapsed());
            return Ok(passthrough(
                rparts.status,
                &rparts.headers,
                rbytes,
                Some(&id),
            ));
        }
        let withheld = j.outcomes.values().any(|o| o.verdict.withholds());
        let blocked = j.outcomes.values().any(|o| o.verdict == Verdict::Block);
        if mode == VerdictMode::Error && withheld {
            state
                .metrics
                .latency(route, Stage::Judge, judge_start.elapsed());
            return Err(GatewayError::Blocked(Box::new(j.decision)));
        }
        if mode == VerdictMode::Replan && blocked && round < settings.policy.replan_rounds {
            round += 1;
            let resp = response_value(&mut response, &rbytes)?;
            let req = request_value(&mut request, &bytes)?.take();
            let next = super::replan::extend(format, req, resp, &plan, &j)
                .map_err(GatewayError::Unjudgeable)?;
            body = Bytes::from(
                serde_json::to_vec(&next).map_err(|e| GatewayError::Internal(e.to_string()))?,
            );
            request = Some(next);
            state
                .metrics
                .latency(route, Stage::Judge, judge_start.elapsed());
            continue;
        }
        let response = response_value(&mut response, &rbytes)?;
        preflight_adapters::render(format, response, &plan, &j.outcomes).map_err(|e| {
            GatewayError::Unjudgeable(format!("cannot write the decision back: {e}"))
        })?;
        let out =
            serde_json::to_vec(response).map_err(|e| GatewayError::Internal(e.to_string()))?;
        state
            .metrics
            .latency(route, Stage::Judge, judge_start.elapsed());
        return Ok(passthrough(
            rparts.status,
            &rparts.headers,
            Bytes::from(out),
            Some(&id),
        ));
    }
}

/// The request body as a `Value`, parsed into `slot` on first use: invalid
/// JSON or a non-object is the client's error (400).
fn request_value<'v>(
    slot: &'v mut Option<Value>,
    bytes: &[u8],
) -> Result<&'v mut Value, GatewayError> {
    let v = value_in(slot, bytes, "request body", GatewayError::BadRequest)?;
    if !v.is_object() {
        return Err(GatewayError::BadRequest(
            "request body must be a JSON object".into(),
        ));
    }
    Ok(v)
}

/// The upstream's 2xx response body as a `Value`, parsed into `slot` on
/// first use: invalid JSON cannot be judged (fail closed).
fn response_value<'v>(
    slot: &'v mut Option<Value>,
    bytes: &[u8],
) -> Result<&'v mut Value, GatewayError> {
    value_in(slot, bytes, "response", GatewayError::Unjudgeable)
}

/// `slot`, or `bytes` parsed into it; a syntax error is `error` naming
/// `what` and the place.
fn value_in<'v>(
    slot: &'v mut Option<Value>,
    bytes: &[u8],
    what: &str,
    error: fn(String) -> GatewayError,
) -> Result<&'v mut Value, GatewayError> {
    if let Some(v) = slot {
        return Ok(v);
    }
    let v = serde_json::from_slice(bytes).map_err(|e| {
        error(format!(
            "{what} is not valid JSON (line {}, column {}): {e}",
            e.line(),
            e.column()
        ))
    })?;
    Ok(slot.insert(v))
}

/// A response with the upstream's status and headers and the given body.
pub fn passthrough(
    status: StatusCode,
    headers: &http::HeaderMap,
    body: Bytes,
    decision: Option<&str>,
) -> Response<Body> {
    let mut resp = Response::new(full(body));
    *resp.status_mut() = status;
    *resp.headers_mut() = response_headers(headers);
    if let Some(id) = decision
        && let Ok(v) = HeaderValue::from_str(id)
    {
        resp.headers_mut().insert(DECISION_HEADER, v);
    }
    if !resp.headers().contains_key(header::CONTENT_TYPE) {
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
    }
    resp
}
