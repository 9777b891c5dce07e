//! MCP Streamable HTTP at `/mcp/{server}`: JSON-RPC over POST (answered
//! with JSON or an SSE stream), GET for the server's own event stream,
//! DELETE to end a session; `Mcp-Session-Id` is passed both ways.
//!
//! What Preflight adds:
//! - `tools/call` is judged before it reaches the server, with the
//!   session's earlier calls and results as history. A withheld call is
//!   answered by Preflight itself with a tool error the model can read
//!   (`isError: true`); `require_approval` waits (bounded) for a person.
//! - `tools/list` results are pinned: each tool definition is hashed on
//!   first sight in a session; a later list with a different definition is
//!   flagged (metric) and calls to that tool are blocked for the session
//!   (a changed definition after approval is the "rug pull" pattern).
//!
//! Server-to-client traffic is never judged; it is inspected only to pin
//! tools and record results.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use preflight_adapters::adapters::sse::SseParser;
use preflight_adapters::decision::explanation;
use preflight_adapters::{Args, Format, Plan, ToolAnnotations, ToolSpec, Verdict};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::config::{Protocol, UpstreamSettings, VerdictMode};
use crate::metrics::Stage;
use crate::pipeline::RequestMeta;
use crate::server::approvals::{self, ApprovalState, CallRef, Lookup};
use crate::server::body::{Body, ChannelBody, read_limited};
use crate::server::error::{GatewayError, json_response};
use crate::server::{AppState, Conn, auth};
use crate::upstream::response_headers;

const SESSION_HEADER: &str = "mcp-session-id";
/// Sessions kept at most; the oldest is forgotten past this.
const MAX_SESSIONS: usize = 10_000;
/// Calls kept per session as history for judging.
const MAX_HISTORY: usize = 64;

#[derive(Debug, Default)]
struct Session {
    /// sha256 of each tool's canonical definition, first seen.
    pins: HashMap<String, String>,
    /// Tools whose definition changed after pinning.
    changed: HashSet<String>,
    tools: Vec<ToolSpec>,
    /// (tool, args, result text)
    history: Vec<(String, Value, Option<String>)>,
    /// JSON-RPC id of an in-flight call -> index in history.
    in_flight: HashMap<String, usize>,
    /// Insertion order, for eviction.
    born: u64,
}

/// MCP session state, per (server, session id).
#[derive(Debug, Default)]
pub struct Sessions {
    map: Mutex<HashMap<(String, String), Session>>,
    counter: std::sync::atomic::AtomicU64,
}

impl Sessions {
    fn with<R>(&self, key: &(String, String), f: impl FnOnce(&mut Session) -> R) -> R {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if !map.contains_key(key)
            && map.len() >= MAX_SESSIONS
            && let Some(oldest) = map
                .iter()
                .min_by_key(|(_, s)| s.born)
                .map(|(k, _)| k.clone())
        {
            map.remove(&oldest);
        }
        let born = self
            .counter
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let s = map.entry(key.clone()).or_insert_with(|| Session {
            born,
            ..Session::default()
        });
        f(s)
    }

    fn forget(&self, key: &(String, String)) {
        self.map
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
    }
}

/// JSON with object keys sorted, so equal definitions hash equally
/// whatever key order the server used.
fn canonical(v: &Value) -> Value {
    match v {
        Value::Object(o) => {
            let mut keys: Vec<&String> = o.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), canonical(&o[k])))
                    .collect(),
            )
        }
        Value::Array(a) => Value::Array(a.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

fn tool_hash(tool: &Value) -> String {
    crate::pipeline::hex(&Sha256::digest(canonical(tool).to_string().as_bytes()))
}

fn id_key(id: &Value) -> String {
    id.to_string()
}

/// Handles `/mcp/{server}`.
pub async fn handle(
    state: &Arc<AppState>,
    req: Request<Incoming>,
    conn: Conn,
    server: &str,
) -> Result<Response<Body>, GatewayError> {
    let (parts, body) = req.into_parts();
    let caller = auth::authenticate(&state.settings, &parts.headers, conn.peer)?;
    let up = state
        .settings
        .upstreams
        .get(server)
        .filter(|u| u.protocol == Protocol::Mcp)
        .ok_or_else(|| GatewayError::NotFound(format!("no MCP server named `{server}`")))?
        .clone();
    let session_id = parts
        .headers
        .get(SESSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let key = (format!("{}/{}", caller.tenant, server), session_id.clone());
    let strip = caller.key_header.as_ref();

    if parts.method == Method::GET || parts.method == Method::DELETE {
        if parts.method == Method::DELETE {
            state.mcp.forget(&key);
        }
        let resp = state
            .upstream
            .send(
                &up,
                parts.method.clone(),
                "",
                &parts.headers,
                strip,
                Bytes::new(),
            )
            .await
            .inspect_err(|e| state.metrics.upstream_error(&up.name, e.metric_kind()))?;
        return Ok(relay(state, &up, resp, None));
    }
    if parts.method != Method::POST {
        return Err(GatewayError::MethodNotAllowed(format!(
            "{} /mcp/{server}",
            parts.method
        )));
    }

    let bytes = read_limited(&parts.headers, body, state.settings.max_body_bytes).await?;
    let mut msg: Value = serde_json::from_slice(&bytes).map_err(|e| {
        GatewayError::BadRequest(format!(
            "JSON-RPC body is not valid JSON (line {}, column {}): {e}",
            e.line(),
            e.column()
        ))
    })?;
    let mut body = bytes;
    if msg.is_array() {
        let has_call = msg.as_array().is_some_and(|a| {
            a.iter()
                .any(|m| m.get("method").and_then(Value::as_str) == Some("tools/call"))
        });
        if has_call {
            return Err(GatewayError::BadRequest(
                "JSON-RPC batches containing tools/call are not supported; send calls one by one"
                    .into(),
            ));
        }
    } else if msg.get("method").and_then(Value::as_str) == Some("tools/call") {
        let judge_start = Instant::now();
        let verdict = judge_call(state, &caller, &key, &msg).await?;
        state
            .metrics
            .latency("mcp", Stage::Judge, judge_start.elapsed());
        match verdict {
            CallVerdict::Allow => {}
            CallVerdict::Rewrite(args) => {
                if let Some(params) = msg.get_mut("params").and_then(Value::as_object_mut) {
                    params.insert("arguments".into(), args);
                }
                body = Bytes::from(
                    serde_json::to_vec(&msg).map_err(|e| GatewayError::Internal(e.to_string()))?,
                );
            }
            CallVerdict::Withhold { text, decision } => {
                let id = msg.get("id").cloned().unwrap_or(Value::Null);
                if state.settings.verdict_mode("mcp", &caller.tenant) == VerdictMode::Error {
                    return Err(GatewayError::Blocked(decision));
                }
                let answer = json!({
                    "jsonrpc": "2.0",
                    "id": id,
                    "result": {"content": [{"type": "text", "text": text}], "isError": true},
                });
                let mut resp = json_response(StatusCode::OK, &answer);
                if let Ok(v) = HeaderValue::from_str(&session_id)
                    && !session_id.is_empty()
                {
                    resp.headers_mut().insert(SESSION_HEADER, v);
                }
                return Ok(resp);
            }
        }
        let tool = msg
            .pointer("/params/name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        let args = msg
            .pointer("/params/arguments")
            .cloned()
            .unwrap_or(Value::Null);
        let id = msg.get("id").map(id_key);
        state.mcp.with(&key, |s| {
            if s.history.len() >= MAX_HISTORY {
                s.history.remove(0);
                s.in_flight
                    .values_mut()
                    .for_each(|i| *i = i.saturating_sub(1));
            }
            s.history.push((tool, args, None));
            if let Some(id) = id {
                s.in_flight.insert(id, s.history.len() - 1);
            }
        });
    }

    let t = Instant::now();
    let resp = state
        .upstream
        .send(&up, Method::POST, "", &parts.headers, strip, body)
        .await
        .inspect_err(|e| state.metrics.upstream_error(&up.name, e.metric_kind()))?;
    state.metrics.latency("mcp", Stage::Upstream, t.elapsed());
    // A session created by `initialize` is keyed by the id the server gave.
    let key = match resp
        .headers()
        .get(SESSION_HEADER)
        .and_then(|v| v.to_str().ok())
    {
        Some(sid) if sid != session_id => (key.0, sid.to_owned()),
        _ => key,
    };
    Ok(relay(state, &up, resp, Some(key)))
}

enum CallVerdict {
    Allow,
    Rewrite(Value),
    Withhold {
        text: String,
        decision: Box<crate::pipeline::Decision>,
    },
}

async fn judge_call(
    state: &AppState,
    caller: &auth::Caller,
    key: &(String, String),
    msg: &Value,
) -> Result<CallVerdict, GatewayError> {
    let name = msg
        .pointer("/params/name")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            GatewayError::BadRequest("/params/name: tools/call needs a tool name (string)".into())
        })?
        .to_owned();
    let args_value = msg
        .pointer("/params/arguments")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let args = if args_value.is_object() {
        Args::Json {
            value: args_value.clone(),
        }
    } else {
        Args::Malformed {
            raw: args_value.to_string(),
            error: "/params/arguments: expected an object".into(),
        }
    };
    let (plan, changed, tool_pins_changed) = state.mcp.with(key, |s| {
        let mut plan = Plan::new(Format::Mcp);
        plan.tools = s.tools.clone();
        for (tool, a, result) in &s.history {
            let i = plan.push_step(
                None,
                tool.clone(),
                Args::Json { value: a.clone() },
                String::new(),
            );
            match result {
                Some(text) => {
                    let id = plan.steps[i].id.clone();
                    plan.push_result(Some(&id), text.clone());
                }
                None => plan.mark_executed(i),
            }
        }
        let id = msg.get("id").map(id_key);
        plan.push_step(id.as_deref(), name.clone(), args, "/params".into());
        let mut pins: Vec<String> = s.changed.iter().cloned().collect();
        pins.sort();
        (plan, s.changed.contains(&name), pins)
    });
    let meta = RequestMeta {
        tenant: caller.tenant.clone(),
        agent: caller.agent.clone(),
        route: "mcp",
        model: None,
        strictness: super::llm::strictness(state, &caller.tenant),
        tool_pins_changed,
    };
    let mut j = super::llm::judge(state, &plan, &meta);
    if changed
        && let Some(s) = j.decision.steps.last_mut()
        && s.verdict != Verdict::Block
    {
        s.verdict = Verdict::Block;
        s.rules.push("preflight.mcp_tool_changed".into());
        s.categories.push("injection.hijack".into());
        s.reasons.push(format!(
            "the definition of `{name}` changed after it was first listed in this session"
        ));
        j.refresh();
    }
    let mode = state.settings.verdict_mode("mcp", &caller.tenant);
    let Some(step_decision) = j.decision.steps.last().cloned() else {
        return Ok(CallVerdict::Allow);
    };
    let wants_approval = step_decision.verdict == Verdict::RequireApproval
        || (mode == VerdictMode::RequireApproval
            && step_decision.verdict == Verdict::Block
            && !changed);
    let step_id = plan.steps.last().map(|s| s.id.clone()).unwrap_or_default();
    if wants_approval {
        let reason = step_decision.reasons.join("; ");
        let lookup = state.approvals.lookup_or_request(CallRef {
            tenant: &caller.tenant,
            agent: caller.agent.as_deref(),
            route: "mcp",
            tool: &name,
            args: &args_value,
            reason: &reason,
        });
        let settings = &state.settings.approvals;
        let outcome = match lookup {
            Ok(Lookup::Approved(_)) => Some(true),
            Ok(Lookup::Denied(_)) | Err(_) => Some(false),
            Ok(Lookup::Pending(id, rx)) => match approvals::wait(rx, settings.timeout).await {
                Some(ApprovalState::Approved) => {
                    state.approvals.consume(&id);
                    Some(true)
                }
                Some(_) => Some(false),
                None => {
                    if settings.allow_on_timeout {
                        state.approvals.consume(&id);
                        Some(true)
                    } else {
                        state.approvals.expire(&id);
                        // Nobody answered: the hold failed closed; that
                        // outcome is on disk before the agent hears it.
                        let mut rec = crate::audit::AuditRecord::approval(
                            crate::pipeline::new_id(),
                            caller.tenant.to_string(),
                            "mcp",
                            crate::audit::ApprovalOutcome {
                                approval_id: id.to_string(),
                                outcome: crate::audit::ApprovalResult::Expired,
                                by: None,
                                note: None,
                            },
                        );
                        rec.agent = caller.agent.as_deref().map(str::to_owned);
                        super::audit_trail::record(state, rec).await?;
                        None
                    }
                }
            },
        };
        if let Some(s) = j.decision.steps.last_mut() {
            match outcome {
                Some(true) => {
                    s.verdict = Verdict::Allow;
                    s.reasons.push("approved by a person".into());
                }
                Some(false) => {
                    s.verdict = Verdict::Block;
                    s.reasons.push("a person denied this call".into());
                }
                None => {
                    s.verdict = Verdict::Block;
                    s.reasons.push("no person approved it in time".into());
                }
            }
        }
        j.refresh();
    }
    if super::audit_trail::wanted(state, &j) {
        let server = key.0.split_once('/').map_or(key.0.as_str(), |(_, s)| s);
        let origin = super::audit_trail::Origin {
            route: "mcp",
            tenant: &caller.tenant,
            agent: caller.agent.as_deref(),
            session: Some(key.1.as_str()).filter(|s| !s.is_empty()),
            upstream: Some(server),
            ..Default::default()
        };
        // Only the call being made: earlier calls are history, already recorded.
        let rec = super::audit_trail::record_of(&origin, &plan, &j, Some(&step_id), &[]);
        super::audit_trail::record(state, rec).await?;
    }
    let Some(outcome) = j.outcomes.get(&step_id) else {
        return Ok(CallVerdict::Allow);
    };
    Ok(match outcome.verdict {
        Verdict::Allow => CallVerdict::Allow,
        Verdict::Rewrite => match &outcome.rewrite {
            Some(args) => CallVerdict::Rewrite(args.clone()),
            None => CallVerdict::Allow,
        },
        Verdict::Block | Verdict::RequireApproval => CallVerdict::Withhold {
            text: explanation(&name, &step_id, outcome),
            decision: Box::new(j.decision),
        },
    })
}

/// Inspects one server-to-client JSON-RPC message: pins tools from a
/// tools/list result, records tools/call results as history.
fn observe(state: &AppState, key: &(String, String), msg: &Value) {
    let items: Vec<&Value> = match msg {
        Value::Array(a) => a.iter().collect(),
        other => vec![other],
    };
    for m in items {
        let Some(result) = m.get("result") else {
            continue;
        };
        if let Some(tools) = result.get("tools").and_then(Value::as_array) {
            let mut changed_now = 0;
            state.mcp.with(key, |s| {
                for t in tools {
                    let Some(name) = t.get("name").and_then(Value::as_str) else {
                        continue;
                    };
                    let hash = tool_hash(t);
                    match s.pins.get(name) {
                        None => {
                            s.pins.insert(name.to_owned(), hash);
                        }
                        Some(pinned) if *pinned != hash => {
                            if s.changed.insert(name.to_owned()) {
                                changed_now += 1;
                            }
                        }
                        Some(_) => {}
                    }
                    let spec = ToolSpec {
                        name: name.to_owned(),
                        description: t
                            .get("description")
                            .and_then(Value::as_str)
                            .map(str::to_owned),
                        input_schema: t.get("inputSchema").cloned().map(std::sync::Arc::new),
                        annotations: t
                            .get("annotations")
                            .map(ToolAnnotations::from_mcp)
                            .unwrap_or_default(),
                    };
                    match s.tools.iter_mut().find(|x| x.name == name) {
                        Some(x) => *x = spec,
                        None => s.tools.push(spec),
                    }
                }
            });
            for _ in 0..changed_now {
                state.metrics.tool_changed();
            }
        } else if let Some(id) = m.get("id") {
            let text =
                preflight_adapters::json::content_text(result.get("content").unwrap_or(result));
            state.mcp.with(key, |s| {
                if let Some(i) = s.in_flight.remove(&id_key(id))
                    && let Some(entry) = s.history.get_mut(i)
                {
                    entry.2 = Some(text);
                }
            });
        }
    }
}

/// Streams the upstream response back, event by event for SSE, observing
/// JSON-RPC messages when `key` is given. The copy runs in its own task; a
/// client that goes away drops the body, the task's send fails and the
/// upstream response is dropped (its connection closed).
fn relay(
    state: &Arc<AppState>,
    up: &UpstreamSettings,
    resp: Response<Incoming>,
    key: Option<(String, String)>,
) -> Response<Body> {
    let (parts, mut body) = resp.into_parts();
    let headers: HeaderMap = response_headers(&parts.headers);
    let is_sse = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("text/event-stream"));
    let (tx, out) = ChannelBody::channel(16);
    let up_name = up.name.clone();
    let state = state.clone();
    tokio::spawn(async move {
        let mut parser = SseParser::new();
        let mut json_buf = Vec::new();
        while let Some(frame) = body.frame().await {
            let Ok(frame) = frame else {
                state.metrics.upstream_error(&up_name, "body");
                let _ = tx
                    .send(Err(format!("upstream `{up_name}` stream broke").into()))
                    .await;
                return;
            };
            let Ok(data) = frame.into_data() else {
                continue;
            };
            if let Some(key) = &key {
                if is_sse {
                    for ev in parser.push(&data) {
                        if let Ok(v) = serde_json::from_str::<Value>(&ev.data) {
                            observe(&state, key, &v);
                        }
                    }
                } else if json_buf.len() + data.len() <= state.settings.max_response_bytes {
                    json_buf.extend_from_slice(&data);
                }
            }
            if tx.send(Ok(data)).await.is_err() {
                return;
            }
        }
        if let Some(key) = &key
            && let Ok(v) = serde_json::from_slice::<Value>(&json_buf)
        {
            observe(&state, key, &v);
        }
    });
    let mut resp = Response::new(out);
    *resp.status_mut() = parts.status;
    *resp.headers_mut() = headers;
    resp
}
