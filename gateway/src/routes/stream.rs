//! Streaming (`"stream": true`) LLM requests: the upstream's SSE stream is
//! relayed as it arrives. Text and every other non-call event pass through
//! at once; each tool call is held by the adapters' assembler only until
//! its arguments are complete, judged with the request's history, and then
//! written back allowed, rewritten, or replaced by an explanation. The
//! stream ends the way the provider ends it (`[DONE]`, `message_stop`,
//! `response.completed`), with the finish/stop reason corrected when every
//! call was withheld.
//!
//! In a stream, `error` and `replan` modes act as `strip`: the response
//! head is already sent when a call is judged, and a re-plan would need the
//! whole answer first.
//!
//! Fail closed: a stream the assembler cannot read is cut (the body ends
//! with an error) instead of being passed on unchecked. A client that goes
//! away ends the copy task, which drops the upstream response and closes
//! its connection.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http::{HeaderValue, Method, Response, header};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use preflight_adapters::adapters::anthropic_stream::{
    self, AnthropicStreamAssembler, StreamWriter,
};
use preflight_adapters::adapters::openai_chat_stream::{
    self, ChatStreamAssembler, render_chat_stream_call,
};
use preflight_adapters::adapters::openai_responses_stream::{
    self, ResponsesStreamAssembler, ResponsesStreamItem, render_responses_stream_call,
};
use preflight_adapters::{AdapterError, Format, Outcomes, Plan, StepOutcome, Verdict};
use serde_json::{Value, json};

use crate::config::{UpstreamSettings, VerdictMode};
use crate::metrics::Stage;
use crate::pipeline::RequestMeta;
use crate::server::AppState;
use crate::server::auth::Caller;
use crate::server::body::{Body, ChannelBody};
use crate::server::error::GatewayError;
use crate::upstream::{UpstreamClient, response_headers};

/// A streaming call, as the LLM handler prepared it.
#[derive(Debug)]
pub struct StreamCall {
    /// Upstream.
    pub up: Arc<UpstreamSettings>,
    /// Path and query to append to the base URL.
    pub path: String,
    /// Client headers.
    pub headers: http::HeaderMap,
    /// Who asked.
    pub caller: Caller,
    /// Wire format of the JSON request.
    pub format: Format,
    /// Route name.
    pub route: &'static str,
    /// Request metadata for judging.
    pub meta: RequestMeta,
    /// Parsed request.
    pub request: Value,
    /// Raw request bytes.
    pub body: Bytes,
}

/// The request's history and tools as a plan: the exchange read against an
/// answer that proposes nothing.
fn base_plan(format: Format, request: &Value) -> Result<Plan, AdapterError> {
    let empty = match format {
        Format::Anthropic => json!({"type": "message", "role": "assistant", "content": []}),
        Format::OpenaiResponses => json!({"object": "response", "output": []}),
        _ => json!({"object": "chat.completion", "choices": [
            {"index": 0, "message": {"role": "assistant", "content": ""}, "finish_reason": "stop"}
        ]}),
    };
    preflight_adapters::parse_exchange(format, request, &empty)
}

/// Handles a streaming call.
pub async fn handle(
    state: &Arc<AppState>,
    call: StreamCall,
) -> Result<Response<Body>, GatewayError> {
    let base = base_plan(call.format, &call.request)
        .map_err(|e| GatewayError::BadRequest(format!("cannot read the request: {e}")))?;
    let t = Instant::now();
    let resp = state
        .upstream
        .send(
            &call.up,
            Method::POST,
            &call.path,
            &call.headers,
            call.caller.key_header.as_ref(),
            call.body.clone(),
        )
        .await
        .inspect_err(|e| state.metrics.upstream_error(&call.up.name, e.metric_kind()))?;
    state
        .metrics
        .latency(call.route, Stage::Upstream, t.elapsed());
    let (parts, upstream_body) = resp.into_parts();
    let is_sse = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("text/event-stream"));
    if !parts.status.is_success() || !is_sse {
        if !parts.status.is_success() {
            state.metrics.upstream_error(&call.up.name, "status");
        }
        let bytes = UpstreamClient::read_body(
            &call.up,
            upstream_body,
            state.settings.max_response_bytes,
            call.up.timeout,
        )
        .await?;
        if parts.status.is_success() {
            // A 2xx answer to a stream request that is not a stream cannot
            // be relayed as one and was not judged: fail closed.
            return Err(GatewayError::Unjudgeable(
                "the upstream answered a stream request without an event stream".into(),
            ));
        }
        return Ok(super::llm::passthrough(
            parts.status,
            &parts.headers,
            bytes,
            None,
        ));
    }
    let (tx, body) = ChannelBody::channel(32);
    let mut headers = response_headers(&parts.headers);
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    let state = state.clone();
    tokio::spawn(async move {
        let mut relay = Relay::new(state.clone(), call, base);
        relay.run(upstream_body, tx).await;
    });
    let mut resp = Response::new(body);
    *resp.status_mut() = parts.status;
    *resp.headers_mut() = headers;
    Ok(resp)
}

type Tx = tokio::sync::mpsc::Sender<Result<Bytes, crate::server::body::BoxError>>;

enum Assembler {
    Chat {
        asm: ChatStreamAssembler,
        /// Calls kept so far per choice (output index of the next one).
        kept: BTreeMap<usize, usize>,
        withheld: BTreeMap<usize, usize>,
    },
    Anthropic {
        asm: AnthropicStreamAssembler,
        writer: StreamWriter,
    },
    Responses {
        asm: ResponsesStreamAssembler,
        seq: u64,
    },
}

struct Relay {
    state: Arc<AppState>,
    call: StreamCall,
    /// History plus every call of this stream so far.
    plan: Plan,
    outcomes: Outcomes,
    asm: Assembler,
    /// Acks of durable audit records for calls judged since the last send:
    /// awaited before the bytes carrying those calls leave.
    acks: Vec<AckFuture>,
}

type AckFuture = std::pin::Pin<
    Box<dyn std::future::Future<Output = crate::audit::Result<crate::audit::Ack>> + Send>,
>;

impl Relay {
    fn new(state: Arc<AppState>, call: StreamCall, plan: Plan) -> Self {
        let asm = match call.format {
            Format::Anthropic => Assembler::Anthropic {
                asm: AnthropicStreamAssembler::new(),
                writer: StreamWriter::new(),
            },
            Format::OpenaiResponses => Assembler::Responses {
                asm: ResponsesStreamAssembler::new(),
                seq: 1_000_000,
            },
            _ => Assembler::Chat {
                asm: ChatStreamAssembler::new(),
                kept: BTreeMap::new(),
                withheld: BTreeMap::new(),
            },
        };
        Relay {
            state,
            call,
            plan,
            outcomes: Outcomes::new(),
            asm,
            acks: Vec::new(),
        }
    }

    async fn run(&mut self, mut upstream: Incoming, tx: Tx) {
        let timeout = self.call.up.timeout;
        let name = self.call.up.name.clone();
        loop {
            let frame = tokio::select! {
                // The client went away: stop, dropping the upstream body.
                () = tx.closed() => return,
                f = tokio::time::timeout(timeout, upstream.frame()) => f,
            };
            let data = match frame {
                Err(_) => {
                    self.state.metrics.upstream_error(&name, "timeout");
                    let _ = tx
                        .send(Err(format!("upstream `{name}` stream stalled").into()))
                        .await;
                    return;
                }
                Ok(None) => break,
                Ok(Some(Err(e))) => {
                    self.state.metrics.upstream_error(&name, "body");
                    let _ = tx
                        .send(Err(format!("upstream `{name}` stream broke: {e}").into()))
                        .await;
                    return;
                }
                Ok(Some(Ok(frame))) => match frame.into_data() {
                    Ok(d) => d,
                    Err(_) => continue,
                },
            };
            match self.push(Some(&data)) {
                Ok(out) => {
                    if let Err(e) = self.settle_acks().await {
                        let _ = tx.send(Err(e.into())).await;
                        return;
                    }
                    if !out.is_empty() && tx.send(Ok(Bytes::from(out))).await.is_err() {
                        return;
                    }
                }
                Err(e) => {
                    let _ = tx
                        .send(Err(format!("the stream could not be checked: {e}").into()))
                        .await;
                    return;
                }
            }
        }
        match self.push(None) {
            Ok(out) => {
                if let Err(e) = self.settle_acks().await {
                    let _ = tx.send(Err(e.into())).await;
                    return;
                }
                if !out.is_empty() {
                    let _ = tx.send(Ok(Bytes::from(out))).await;
                }
            }
            Err(e) => {
                let _ = tx
                    .send(Err(format!("the stream could not be checked: {e}").into()))
                    .await;
            }
        }
    }

    /// Waits until the durable audit records of the calls about to be sent
    /// are synced; if the log refused one, the stream ends with an error
    /// instead of the calls (fail closed).
    async fn settle_acks(&mut self) -> Result<(), String> {
        for ack in std::mem::take(&mut self.acks) {
            if let Err(e) = ack.await {
                self.state
                    .audit_refusals
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                return Err(GatewayError::AuditUnavailable(e.to_string()).to_string());
            }
        }
        Ok(())
    }

    /// Feeds bytes (or ends the stream with `None`) and returns what to send.
    fn push(&mut self, data: Option<&[u8]>) -> Result<Vec<u8>, AdapterError> {
        let mut out = Vec::new();
        match &mut self.asm {
            Assembler::Chat { asm, .. } => {
                let items = match data {
                    Some(d) => asm.push(d)?,
                    None => asm.finish()?,
                };
                for item in items {
                    self.chat_item(item, &mut out);
                }
            }
            Assembler::Anthropic { asm, .. } => {
                let items = match data {
                    Some(d) => asm.push(d)?,
                    None => asm.finish()?,
                };
                for item in items {
                    let outcome = match &item {
                        anthropic_stream::StreamItem::ToolUseReady(block) => {
                            let i = self.plan.push_step(
                                Some(&block.id),
                                block.name.clone(),
                                block.args(),
                                format!("/content/{}", block.index),
                            );
                            self.judge_last(i)
                        }
                        _ => None,
                    };
                    if let Assembler::Anthropic { writer, .. } = &mut self.asm {
                        out.extend(writer.write(item, outcome.as_ref())?);
                    }
                }
            }
            Assembler::Responses { asm, .. } => {
                let items = match data {
                    Some(d) => asm.push(d)?,
                    None => asm.finish()?,
                };
                for item in items {
                    match item {
                        ResponsesStreamItem::Forward(b) => out.extend(b),
                        ResponsesStreamItem::ToolCallReady(c) => {
                            let i = openai_responses_stream::push_ready_item(&mut self.plan, &c);
                            let outcome = self.judge_last(i);
                            let step_id = self.plan.steps[i].id.clone();
                            if let Assembler::Responses { seq, .. } = &mut self.asm {
                                out.extend(render_responses_stream_call(
                                    &c,
                                    &step_id,
                                    outcome.as_ref(),
                                    seq,
                                ));
                            }
                        }
                        ResponsesStreamItem::Completed(ev) => {
                            out.extend(ev.render(&self.plan, &self.outcomes)?)
                        }
                    }
                }
            }
        }
        Ok(out)
    }

    fn chat_item(&mut self, item: openai_chat_stream::StreamItem, out: &mut Vec<u8>) {
        use openai_chat_stream::StreamItem;
        match item {
            StreamItem::Forward(b) => out.extend(b),
            StreamItem::ToolCallReady(c) => {
                let i = openai_chat_stream::push_ready_call(&mut self.plan, &c);
                let outcome = self.judge_last(i);
                let step_id = self.plan.steps[i].id.clone();
                if let Assembler::Chat {
                    asm,
                    kept,
                    withheld,
                } = &mut self.asm
                {
                    let withholds = outcome.as_ref().is_some_and(|o| {
                        o.verdict.withholds()
                            || (o.verdict == Verdict::Rewrite && o.rewrite.is_none())
                    });
                    let next = kept.entry(c.choice).or_default();
                    let out_index = *next;
                    if withholds {
                        *withheld.entry(c.choice).or_default() += 1;
                    } else {
                        *next += 1;
                    }
                    match asm.template() {
                        Some(t) => out.extend(render_chat_stream_call(
                            t,
                            &c,
                            out_index,
                            &step_id,
                            outcome.as_ref(),
                        )),
                        // No chunk envelope seen: nothing to write a
                        // replacement into; an allowed call replays its own
                        // events, a withheld one is dropped.
                        None if !withholds => out.extend(c.held.clone()),
                        None => {}
                    }
                }
            }
            StreamItem::Finish(ev) => {
                if let Assembler::Chat { kept, withheld, .. } = &self.asm {
                    let stopped: Vec<usize> = withheld
                        .iter()
                        .filter(|(choice, n)| {
                            **n > 0 && kept.get(choice).copied().unwrap_or(0) == 0
                        })
                        .map(|(c, _)| *c)
                        .collect();
                    out.extend(ev.render(&stopped));
                }
            }
        }
    }

    /// Judges the plan with its newest step `i` and returns that step's outcome.
    fn judge_last(&mut self, i: usize) -> Option<StepOutcome> {
        let start = Instant::now();
        let state = &self.state;
        let step_id = self.plan.steps[i].id.clone();
        let mut j = super::llm::judge_counting(state, &self.plan, &self.call.meta, Some(&step_id));
        let mode = state
            .settings
            .verdict_mode(self.call.route, &self.call.caller.tenant);
        let mode = if mode == VerdictMode::RequireApproval {
            mode
        } else {
            VerdictMode::Strip
        };
        super::llm::apply_approvals(
            state,
            &self.plan,
            &mut j,
            &self.call.caller,
            self.call.route,
            mode,
            Some(&step_id),
        );
        state
            .metrics
            .latency(self.call.route, Stage::Judge, start.elapsed());
        if super::audit_trail::wanted(state, &j) {
            let origin = super::audit_trail::Origin {
                route: self.call.route,
                tenant: &self.call.caller.tenant,
                agent: self.call.caller.agent.as_deref(),
                upstream: Some(&self.call.up.name),
                model: self.call.meta.model.as_deref(),
                ..Default::default()
            };
            let rec = super::audit_trail::record_of(&origin, &self.plan, &j, Some(&step_id), &[]);
            // Durable records: queued now, their acks awaited before the
            // bytes with this call leave (`settle_acks`). Allow records are
            // queued; if the log refuses one the call is withheld.
            if rec.needs_durability() {
                if let Some(audit) = &state.audit {
                    self.acks.push(Box::pin(audit.record(rec)));
                }
            } else if let Err(e) = super::audit_trail::record_now(state, rec) {
                let outcome = StepOutcome {
                    verdict: Verdict::Block,
                    reason: e.to_string(),
                    rewrite: None,
                };
                self.outcomes.insert(step_id, outcome.clone());
                return Some(outcome);
            }
        }
        let id = &self.plan.steps[i].id;
        let outcome = j.outcomes.get(id).cloned();
        if let Some(o) = &outcome {
            self.outcomes.insert(id.clone(), o.clone());
        }
        outcome
    }
}
