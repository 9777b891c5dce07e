//! Anthropic Messages SSE streams: an incremental assembler that holds each
//! `tool_use` block until its input is complete, writers that put a decision
//! back into the stream, and [`read`] for a whole recorded stream.
//!
//! # How the gateway uses it
//!
//! ```text
//! let mut asm = AnthropicStreamAssembler::new();
//! let mut out = StreamWriter::new();
//! for chunk in upstream {                       // split anywhere, even mid-UTF-8
//!     for item in asm.push(&chunk)? {
//!         let outcome = match &item {
//!             StreamItem::ToolUseReady(block) => Some(judge(block)),   // block.args()
//!             _ => None,
//!         };
//!         client.send(out.write(item, outcome.as_ref())?);
//!     }
//! }
//! for item in asm.finish()? { client.send(out.write(item, None)?); }
//! ```
//!
//! Text, thinking, server-tool blocks, `ping`, `message_start`,
//! `message_stop` and `error` events are [`StreamItem::Forward`]ed the moment
//! they complete, byte for byte. The events of a client `tool_use` block
//! (its `content_block_start`, every `input_json_delta`, its
//! `content_block_stop`) are held and come out together as one
//! [`StreamItem::ToolUseReady`] at the block's stop, so nothing of a call
//! reaches the agent before it is judged. `message_delta` comes out as
//! [`StreamItem::MessageDelta`] so that [`StreamWriter`] can turn
//! `stop_reason: "tool_use"` into `"end_turn"` when every call was withheld.
//!
//! Invariants the writers keep, so the official SDK parsers accept the
//! result: a withheld block is replaced by a text block *at the same index*
//! (SDK accumulators push blocks in order and address deltas by index, so
//! dropping an index would corrupt every later block), and a rewritten call
//! is re-emitted as a complete start/delta/stop triple. A `tool_use` block
//! that never stops is never released: [`AnthropicStreamAssembler::finish`]
//! fails instead. Blocks are sequential in this protocol; a block start or
//! the message's end arriving while a `tool_use` block is held is an error,
//! since forwarding it ahead of the held block would reorder the stream.
//! `ping` events during a hold are forwarded at once (their order is free).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::adapters::anthropic::input_args;
use crate::adapters::sse::{SseEvent, SseParser};
use crate::decision::{Outcomes, StepOutcome, Verdict, explanation};
use crate::error::{AdapterError, Result};
use crate::format::Format;
use crate::plan::{Args, Origin, Plan};

/// What the assembler hands on, in stream order.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamItem {
    /// Bytes to send to the client unchanged (one or more whole SSE events).
    Forward(Vec<u8>),
    /// A complete client `tool_use` block, held until judged.
    ToolUseReady(ToolUseBlock),
    /// The `message_delta` event; write it through [`StreamWriter::write`]
    /// so its `stop_reason` can be corrected.
    MessageDelta {
        /// `delta.stop_reason` as the model sent it.
        stop_reason: Option<String>,
        /// The event's exact bytes.
        raw: Vec<u8>,
    },
}

/// One complete `tool_use` block from a stream.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolUseBlock {
    /// The block's `index` in the message's content.
    pub index: usize,
    /// The `tool_use` id (`toolu_...`).
    pub id: String,
    /// The tool name.
    pub name: String,
    /// The input as the model sent it: the `partial_json` fragments joined,
    /// or the start block's `input` serialized when no fragment came.
    pub input_json: String,
    /// The exact bytes of the block's events, to forward when allowed.
    pub held: Vec<u8>,
}

impl ToolUseBlock {
    /// The parsed input: malformed when it is not JSON or not an object.
    pub fn args(&self) -> Args {
        input_args(Some(&Value::String(self.input_json.clone())))
    }
}

/// A block that is still open, by what the assembler does with it.
#[derive(Debug)]
enum Open {
    /// A text block: forwarded, its text collected for the plan.
    Text(String),
    /// A client tool call: held.
    ToolUse {
        id: String,
        name: String,
        start_input: Value,
        json: String,
        held: Vec<u8>,
    },
    /// Anything else (thinking, server tools): forwarded.
    Other,
}

/// Incremental assembler over the raw bytes of an Anthropic stream. Memory
/// is bounded by the largest held `tool_use` block plus the message's text.
#[derive(Debug, Default)]
pub struct AnthropicStreamAssembler {
    sse: SseParser,
    open: BTreeMap<usize, Open>,
    texts: Vec<(usize, String)>,
    stop_reason: Option<String>,
    error: Option<String>,
}

impl AnthropicStreamAssembler {
    /// A new assembler at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds bytes (split anywhere) and returns the items they complete.
    /// An error means the stream cannot be judged safely: stop forwarding.
    pub fn push(&mut self, bytes: &[u8]) -> Result<Vec<StreamItem>> {
        let mut items = Vec::new();
        for event in self.sse.push(bytes) {
            self.event(event, &mut items)?;
        }
        Ok(items)
    }

    /// Ends the stream: flushes an event left without its blank line, and
    /// fails if a `tool_use` block is still open (its call is incomplete and
    /// must not reach the agent), unless the stream already reported an error.
    pub fn finish(&mut self) -> Result<Vec<StreamItem>> {
        let mut items = Vec::new();
        if let Some(event) = self.sse.finish() {
            self.event(event, &mut items)?;
        }
        let unfinished = self.open.iter().find_map(|(i, b)| match b {
            Open::ToolUse { id, .. } => Some((*i, id.clone())),
            _ => None,
        });
        self.open.clear();
        match unfinished {
            Some((index, id)) if self.error.is_none() => Err(self.err(format!(
                "the stream ended inside tool_use block {index} ({id}); the call is incomplete"
            ))),
            _ => Ok(items),
        }
    }

    /// Text blocks completed so far, as `(index, text)` in stream order.
    pub fn texts(&self) -> &[(usize, String)] {
        &self.texts
    }

    /// `stop_reason` from the `message_delta`, once seen.
    pub fn stop_reason(&self) -> Option<&str> {
        self.stop_reason.as_deref()
    }

    /// The upstream `error` event's `type: message`, once seen.
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    fn err(&self, reason: String) -> AdapterError {
        AdapterError::Line {
            line: self.sse.line(),
            reason,
        }
    }

    fn event(&mut self, event: SseEvent, items: &mut Vec<StreamItem>) -> Result<()> {
        if event.data.is_empty() {
            // Comments, keep-alives and bare `event:` lines carry nothing.
            items.push(StreamItem::Forward(event.raw));
            return Ok(());
        }
        let data: Value = serde_json::from_str(&event.data)
            .map_err(|e| self.err(format!("event data is not JSON: {e}")))?;
        let ty = data
            .get("type")
            .and_then(Value::as_str)
            .ok_or_else(|| self.err("event data has no string `type`".into()))?;
        if matches!(ty, "content_block_start" | "message_delta" | "message_stop")
            && let Some(held) = self.held_index()
        {
            // Blocks are sequential in this protocol. Sending this event
            // ahead of the held block would reorder the stream (SDKs append
            // blocks in arrival order), so an interleaved stream is refused.
            return Err(self.err(format!("{ty} while tool_use block {held} is still open")));
        }
        match ty {
            "content_block_start" => self.block_start(&data, event.raw, items),
            "content_block_delta" => self.block_delta(&data, event.raw, items),
            "content_block_stop" => self.block_stop(&data, event.raw, items),
            "message_start" => {
                let has_content = data
                    .pointer("/message/content")
                    .and_then(Value::as_array)
                    .is_some_and(|c| !c.is_empty());
                if has_content {
                    // Blocks here would bypass the per-block holding below.
                    return Err(
                        self.err("message_start carries content blocks; expected none".into())
                    );
                }
                items.push(StreamItem::Forward(event.raw));
                Ok(())
            }
            "message_delta" => {
                let stop_reason = data
                    .pointer("/delta/stop_reason")
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                self.stop_reason.clone_from(&stop_reason);
                items.push(StreamItem::MessageDelta {
                    stop_reason,
                    raw: event.raw,
                });
                Ok(())
            }
            "error" => {
                let kind = data
                    .pointer("/error/type")
                    .and_then(Value::as_str)
                    .unwrap_or("error");
                let msg = data
                    .pointer("/error/message")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                self.error = Some(format!("{kind}: {msg}"));
                // Held calls are incomplete now; they are dropped, never sent.
                self.open.retain(|_, b| !matches!(b, Open::ToolUse { .. }));
                items.push(StreamItem::Forward(event.raw));
                Ok(())
            }
            // message_stop, ping, and event types added later.
            _ => {
                items.push(StreamItem::Forward(event.raw));
                Ok(())
            }
        }
    }

    /// The index of a `tool_use` block being held, if any.
    fn held_index(&self) -> Option<usize> {
        self.open
            .iter()
            .find_map(|(i, b)| matches!(b, Open::ToolUse { .. }).then_some(*i))
    }

    fn index(&self, data: &Value) -> Result<usize> {
        data.get("index")
            .and_then(Value::as_u64)
            .and_then(|i| usize::try_from(i).ok())
            .ok_or_else(|| {
                self.err("content block event without a non-negative integer `index`".into())
            })
    }

    fn block_start(
        &mut self,
        data: &Value,
        raw: Vec<u8>,
        items: &mut Vec<StreamItem>,
    ) -> Result<()> {
        let index = self.index(data)?;
        if self.open.contains_key(&index) {
            return Err(self.err(format!("content block {index} started twice")));
        }
        let block = data.get("content_block").ok_or_else(|| {
            self.err(format!(
                "content_block_start {index} without `content_block`"
            ))
        })?;
        let open = match block.get("type").and_then(Value::as_str) {
            Some("tool_use") => {
                let id = block.get("id").and_then(Value::as_str);
                let name = block.get("name").and_then(Value::as_str);
                let (Some(id), Some(name)) = (id, name) else {
                    return Err(self.err(format!(
                        "tool_use block {index} without a string `id` and `name`"
                    )));
                };
                Open::ToolUse {
                    id: id.to_owned(),
                    name: name.to_owned(),
                    start_input: block.get("input").cloned().unwrap_or(Value::Null),
                    json: String::new(),
                    held: raw,
                }
            }
            Some("text") => {
                let text = block.get("text").and_then(Value::as_str).unwrap_or("");
                items.push(StreamItem::Forward(raw));
                Open::Text(text.to_owned())
            }
            _ => {
                items.push(StreamItem::Forward(raw));
                Open::Other
            }
        };
        self.open.insert(index, open);
        Ok(())
    }

    fn block_delta(
        &mut self,
        data: &Value,
        raw: Vec<u8>,
        items: &mut Vec<StreamItem>,
    ) -> Result<()> {
        let index = self.index(data)?;
        let delta = data.get("delta");
        let Some(open) = self.open.get_mut(&index) else {
            return Err(self.err(format!(
                "content_block_delta for block {index}, which is not open"
            )));
        };
        match open {
            Open::ToolUse { json, held, .. } => {
                if let Some(part) = delta
                    .filter(|d| d.get("type").and_then(Value::as_str) == Some("input_json_delta"))
                    .and_then(|d| d.get("partial_json"))
                    .and_then(Value::as_str)
                {
                    json.push_str(part);
                }
                held.extend_from_slice(&raw);
            }
            Open::Text(text) => {
                if let Some(part) = delta.and_then(|d| d.get("text")).and_then(Value::as_str) {
                    text.push_str(part);
                }
                items.push(StreamItem::Forward(raw));
            }
            Open::Other => items.push(StreamItem::Forward(raw)),
        }
        Ok(())
    }

    fn block_stop(
        &mut self,
        data: &Value,
        raw: Vec<u8>,
        items: &mut Vec<StreamItem>,
    ) -> Result<()> {
        let index = self.index(data)?;
        let Some(open) = self.open.remove(&index) else {
            return Err(self.err(format!(
                "content_block_stop for block {index}, which is not open"
            )));
        };
        match open {
            Open::ToolUse {
                id,
                name,
                start_input,
                json,
                mut held,
            } => {
                held.extend_from_slice(&raw);
                let input_json = if json.is_empty() {
                    match start_input {
                        Value::Null => String::new(),
                        v => v.to_string(),
                    }
                } else {
                    json
                };
                items.push(StreamItem::ToolUseReady(ToolUseBlock {
                    index,
                    id,
                    name,
                    input_json,
                    held,
                }));
            }
            Open::Text(text) => {
                self.texts.push((index, text));
                items.push(StreamItem::Forward(raw));
            }
            Open::Other => items.push(StreamItem::Forward(raw)),
        }
        Ok(())
    }
}

/// Turns assembler items and decisions back into stream bytes, keeping the
/// stream valid: see the module docs.
#[derive(Debug, Default)]
pub struct StreamWriter {
    kept: usize,
    withheld: usize,
}

impl StreamWriter {
    /// A writer at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// The bytes to send for `item`. `outcome` is the decision on a
    /// [`StreamItem::ToolUseReady`] (absent = allowed) and ignored otherwise.
    /// A rewrite without new arguments is withheld (fail closed).
    pub fn write(&mut self, item: StreamItem, outcome: Option<&StepOutcome>) -> Result<Vec<u8>> {
        match item {
            StreamItem::Forward(raw) => Ok(raw),
            StreamItem::ToolUseReady(block) => Ok(self.tool_use(block, outcome)),
            StreamItem::MessageDelta { stop_reason, raw } => {
                if stop_reason.as_deref() == Some("tool_use") && self.kept == 0 && self.withheld > 0
                {
                    message_delta_with_stop_reason(&raw, "end_turn")
                } else {
                    Ok(raw)
                }
            }
        }
    }

    fn tool_use(&mut self, block: ToolUseBlock, outcome: Option<&StepOutcome>) -> Vec<u8> {
        let Some(outcome) = outcome else {
            self.kept += 1;
            return block.held;
        };
        match (outcome.verdict, &outcome.rewrite) {
            (Verdict::Allow, _) => {
                self.kept += 1;
                block.held
            }
            (Verdict::Rewrite, Some(input)) => {
                self.kept += 1;
                tool_use_block_events(block.index, &block.id, &block.name, input)
            }
            _ => {
                self.withheld += 1;
                let text = explanation(&block.name, &block.id, outcome);
                text_block_events(block.index, &text)
            }
        }
    }
}

/// One SSE event as the API writes it: `event: NAME\ndata: JSON\n\n`.
fn sse_event(out: &mut Vec<u8>, data: &Value) {
    let name = data
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("message");
    out.extend_from_slice(format!("event: {name}\ndata: {data}\n\n").as_bytes());
}

/// The events of a complete text block at `index`: what replaces a
/// withheld `tool_use` block.
pub fn text_block_events(index: usize, text: &str) -> Vec<u8> {
    let mut out = Vec::new();
    sse_event(
        &mut out,
        &json!({"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}}),
    );
    sse_event(
        &mut out,
        &json!({"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": text}}),
    );
    sse_event(
        &mut out,
        &json!({"type": "content_block_stop", "index": index}),
    );
    out
}

/// The events of a complete `tool_use` block with the given input, sent as
/// one `input_json_delta` (how a rewritten call is re-emitted).
pub fn tool_use_block_events(index: usize, id: &str, name: &str, input: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    sse_event(
        &mut out,
        &json!({"type": "content_block_start", "index": index,
                "content_block": {"type": "tool_use", "id": id, "name": name, "input": {}}}),
    );
    sse_event(
        &mut out,
        &json!({"type": "content_block_delta", "index": index,
                "delta": {"type": "input_json_delta", "partial_json": input.to_string()}}),
    );
    sse_event(
        &mut out,
        &json!({"type": "content_block_stop", "index": index}),
    );
    out
}

/// A `message_delta` event with `delta.stop_reason` replaced; every other
/// field (usage, stop_sequence) is kept.
pub fn message_delta_with_stop_reason(raw: &[u8], stop_reason: &str) -> Result<Vec<u8>> {
    let mut sse = SseParser::new();
    let event = sse.push(raw).into_iter().next().or_else(|| sse.finish());
    let bad = |reason: &str| AdapterError::Line {
        line: 1,
        reason: format!("not a message_delta event: {reason}"),
    };
    let event = event.ok_or_else(|| bad("no event"))?;
    let mut data: Value = serde_json::from_str(&event.data).map_err(|e| bad(&e.to_string()))?;
    let delta = data
        .get_mut("delta")
        .and_then(Value::as_object_mut)
        .ok_or_else(|| bad("no `delta` object"))?;
    delta.insert("stop_reason".into(), Value::String(stop_reason.into()));
    let mut out = Vec::new();
    sse_event(&mut out, &data);
    Ok(out)
}

/// Reads a whole stream: its text as assistant segments and every client
/// `tool_use` block as a proposed step located at `/content/{index}` (the
/// same pointer the assembled message would have). A stream that carries an
/// `error` event is an error: what it holds is not a complete answer.
pub fn read(bytes: &[u8]) -> Result<Plan> {
    let mut asm = AnthropicStreamAssembler::new();
    let mut items = asm.push(bytes)?;
    items.extend(asm.finish()?);
    if let Some(error) = asm.error() {
        return Err(AdapterError::Line {
            line: asm.sse.line(),
            reason: format!("the stream carries an error event ({error})"),
        });
    }
    enum Block<'a> {
        Text(&'a str),
        Call(&'a ToolUseBlock),
    }
    let mut blocks: Vec<(usize, Block)> = asm
        .texts()
        .iter()
        .map(|(i, t)| (*i, Block::Text(t)))
        .collect();
    blocks.extend(items.iter().filter_map(|item| match item {
        StreamItem::ToolUseReady(b) => Some((b.index, Block::Call(b))),
        _ => None,
    }));
    blocks.sort_by_key(|(i, _)| *i);
    let mut plan = Plan::new(Format::AnthropicStream);
    for (index, block) in blocks {
        match block {
            Block::Text(text) => {
                plan.push_text(Origin::Assistant, text);
            }
            Block::Call(call) => {
                plan.push_step(
                    Some(&call.id),
                    call.name.as_str(),
                    call.args(),
                    format!("/content/{index}"),
                );
            }
        }
    }
    Ok(plan)
}

/// Renders decisions into a whole recorded stream (the check API's stream
/// path; the gateway drives [`StreamWriter`] incrementally instead).
/// Outcomes are looked up by the id of the plan step at each block's index.
pub fn render(bytes: &[u8], plan: &Plan, outcomes: &Outcomes) -> Result<Vec<u8>> {
    let mut asm = AnthropicStreamAssembler::new();
    let mut items = asm.push(bytes)?;
    items.extend(asm.finish()?);
    let mut writer = StreamWriter::new();
    let mut out = Vec::with_capacity(bytes.len());
    for item in items {
        let outcome = match &item {
            StreamItem::ToolUseReady(block) => {
                let pointer = format!("/content/{}", block.index);
                match plan.steps.iter().find(|s| s.locator.pointer == pointer) {
                    Some(step) if step.tool != block.name => {
                        return Err(AdapterError::shape(
                            pointer,
                            format!(
                                "the plan has `{}` here but the stream calls `{}`; the plan does not match this stream",
                                step.tool, block.name
                            ),
                        ));
                    }
                    Some(step) => outcomes.get(&step.id),
                    // A call the plan never saw was never judged.
                    None => {
                        return Err(AdapterError::shape(
                            pointer,
                            "a tool_use block the plan does not have",
                        ));
                    }
                }
            }
            _ => None,
        };
        out.extend(writer.write(item, outcome)?);
    }
    Ok(out)
}
