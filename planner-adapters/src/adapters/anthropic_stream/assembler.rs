//! The incremental assembler: raw stream bytes in, [`StreamItem`]s out,
//! each client `tool_use` block held until its input is complete. What it
//! forwards and holds, and why, is in the parent module's docs.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::adapters::anthropic::input_args;
use crate::adapters::sse::{SseEvent, SseParser};
use crate::error::{AdapterError, Result};
use crate::plan::Args;

/// What the assembler hands on, in stream order.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamItem {
    /// Bytes to send to the client unchanged (one or more whole SSE events).
    Forward(Vec<u8>),
    /// A complete client `tool_use` block, held until judged.
    ToolUseReady(ToolUseBlock),
    /// The `message_delta` event; write it through [`StreamWriter::write`](super::StreamWriter::write)
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
    /// Bytes the SSE parser holds of an event whose blank line has not come.
    partial: usize,
    /// Most bytes held at once; `None` is [`DEFAULT_HELD_LIMIT`].
    limit: Option<usize>,
}

/// Default bound on the bytes an assembler holds at once (16 MiB).
pub const DEFAULT_HELD_LIMIT: usize = 16 << 20;

impl AnthropicStreamAssembler {
    /// A new assembler at the start of a stream, holding at most
    /// [`DEFAULT_HELD_LIMIT`] bytes.
    pub fn new() -> Self {
        Self::default()
    }

    /// A new assembler that fails with [`AdapterError::TooLarge`] once what
    /// it holds (open `tool_use` blocks and an unfinished event) exceeds
    /// `limit` bytes, so a runaway upstream cannot grow the gateway's memory
    /// without bound.
    pub fn with_limit(limit: usize) -> Self {
        Self {
            limit: Some(limit),
            ..Self::default()
        }
    }

    fn check_limit(&self) -> Result<()> {
        let limit = self.limit.unwrap_or(DEFAULT_HELD_LIMIT);
        let held: usize = self
            .open
            .values()
            .map(|b| match b {
                Open::ToolUse { json, held, .. } => json.len() + held.len(),
                _ => 0,
            })
            .sum();
        let size = held + self.partial;
        if size > limit {
            return Err(AdapterError::TooLarge { size, limit });
        }
        Ok(())
    }

    /// Feeds bytes (split anywhere) and returns the items they complete.
    /// An error means the stream cannot be judged safely: stop forwarding.
    pub fn push(&mut self, bytes: &[u8]) -> Result<Vec<StreamItem>> {
        let mut items = Vec::new();
        let events = self.sse.push(bytes);
        // Every byte the parser consumed is in some event's `raw`; the rest
        // is the unfinished event it keeps.
        let consumed: usize = events.iter().map(|e| e.raw.len()).sum();
        self.partial = (self.partial + bytes.len()).saturating_sub(consumed);
        for event in events {
            self.event(event, &mut items)?;
            self.check_limit()?;
        }
        self.check_limit()?;
        Ok(items)
    }

    /// Ends the stream: flushes an event left without its blank line, and
    /// fails if a `tool_use` block is still open (its call is incomplete and
    /// must not reach the agent), unless the stream already reported an error.
    pub fn finish(&mut self) -> Result<Vec<StreamItem>> {
        let mut items = Vec::new();
        self.partial = 0;
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

    /// The number of complete lines read so far (for error messages).
    pub fn line(&self) -> usize {
        self.sse.line()
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
