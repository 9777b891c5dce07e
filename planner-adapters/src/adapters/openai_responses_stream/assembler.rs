//! The incremental Responses event assembler: bytes in, forwardable events,
//! whole call items and the terminal event out.
//!
//! Invariants: every input byte leaves in exactly one item (forwarded,
//! held in a [`ReadyItem`], or held in a [`CompletedEvent`]); a call item,
//! once yielded, is never extended (a late event for its `output_index` is
//! an error, fail closed).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use super::writer::sse_typed_event;
use crate::adapters::sse::{SseEvent, SseParser};
use crate::decision::Outcomes;
use crate::error::{AdapterError, Result};
use crate::plan::{Args, Plan};

/// Default bound on the bytes an assembler holds at once (16 MiB).
pub const DEFAULT_HELD_LIMIT: usize = 16 << 20;

/// What the assembler yields, in the order the client must receive it.
#[derive(Debug, Clone, PartialEq)]
pub enum ResponsesStreamItem {
    /// Bytes to pass to the client now (text, reasoning, lifecycle events).
    Forward(Vec<u8>),
    /// A call item whose arguments are complete, waiting to be judged.
    ToolCallReady(ReadyItem),
    /// The terminal event (`response.completed`, `.incomplete`, `.failed`),
    /// which repeats every output item and must be rendered too.
    Completed(CompletedEvent),
}

/// One assembled call item.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadyItem {
    /// Its `output_index`.
    pub output_index: usize,
    /// The item's type: `function_call`, `custom_tool_call`,
    /// `local_shell_call` or `computer_call`.
    pub kind: String,
    /// The `call_id` that the agent's output item will answer.
    pub call_id: Option<String>,
    /// The item id (`fc_...`).
    pub item_id: Option<String>,
    /// The tool name (`local_shell` / `computer` for those built-ins).
    pub name: String,
    /// The argument text: `arguments` of a function call, `input` of a
    /// custom tool call, the JSON of the `action` of a shell or computer call.
    pub arguments: String,
    /// The final item as `response.output_item.done` carried it.
    pub item: Value,
    /// The raw events of this item, in order: re-emitting them lets it through.
    pub held: Vec<u8>,
    /// The `sequence_number` of the first held event, if it had one.
    pub first_seq: Option<u64>,
}

impl ReadyItem {
    /// The pointer the item has in the response object.
    pub fn pointer(&self) -> String {
        format!("/output/{}", self.output_index)
    }

    /// The arguments as the plan records them.
    pub fn args(&self) -> Args {
        match self.kind.as_str() {
            "custom_tool_call" => Args::Json {
                value: Value::String(self.arguments.clone()),
            },
            "local_shell_call" | "computer_call" => Args::Json {
                value: self.item.get("action").cloned().unwrap_or(Value::Null),
            },
            _ => Args::from_text(&self.arguments),
        }
    }
}

/// The terminal event, held.
#[derive(Debug, Clone, PartialEq)]
pub struct CompletedEvent {
    /// The `event:` name (`response.completed`, ...).
    pub name: String,
    /// The parsed event (its `response` holds the full output).
    pub event: Value,
    /// The original bytes.
    pub raw: Vec<u8>,
}

impl CompletedEvent {
    /// The event with `outcomes` applied to its `response` (see
    /// [`crate::adapters::openai_responses::render`]); the original bytes when
    /// no outcome changes anything.
    pub fn render(&self, plan: &Plan, outcomes: &Outcomes) -> Result<Vec<u8>> {
        let changes = plan.proposed().any(|s| {
            outcomes
                .get(&s.id)
                .is_some_and(|o| o.verdict != crate::decision::Verdict::Allow)
        });
        if !changes {
            return Ok(self.raw.clone());
        }
        let mut event = self.event.clone();
        let response = event
            .get_mut("response")
            .ok_or_else(|| AdapterError::shape("/response", "missing required field"))?;
        crate::adapters::openai_responses::render(response, plan, outcomes)?;
        Ok(sse_typed_event(&self.name, &event))
    }
}

const CALL_TYPES: [&str; 4] = [
    "function_call",
    "custom_tool_call",
    "local_shell_call",
    "computer_call",
];

#[derive(Debug, Default)]
struct OpenItem {
    kind: String,
    arguments: String,
    held: Vec<u8>,
    first_seq: Option<u64>,
}

/// Assembles Responses API stream events into whole call items. Feed it
/// the upstream bytes as they arrive, split anywhere.
#[derive(Debug, Default)]
pub struct ResponsesStreamAssembler {
    parser: SseParser,
    open: BTreeMap<usize, OpenItem>,
    closed: BTreeSet<usize>,
    texts: BTreeMap<usize, String>,
    /// Events of items after a held call, released with it.
    deferred: Vec<Vec<u8>>,
    events: usize,
    /// Most bytes held at once; `None` is [`DEFAULT_HELD_LIMIT`].
    limit: Option<usize>,
}

impl ResponsesStreamAssembler {
    /// A new assembler holding at most [`DEFAULT_HELD_LIMIT`] bytes.
    pub fn new() -> Self {
        Self::default()
    }

    /// A new assembler that fails with [`AdapterError::TooLarge`] once the
    /// calls it holds exceed `limit` bytes, so a runaway stream cannot
    /// grow the gateway's memory without bound.
    pub fn with_limit(limit: usize) -> Self {
        Self {
            limit: Some(limit),
            ..Self::default()
        }
    }

    fn check_limit(&self) -> Result<()> {
        let limit = self.limit.unwrap_or(DEFAULT_HELD_LIMIT);
        let size = self
            .open
            .values()
            .map(|o| o.held.len() + o.arguments.len())
            .sum::<usize>()
            + self.deferred.iter().map(Vec::len).sum::<usize>();
        if size > limit {
            return Err(AdapterError::TooLarge { size, limit });
        }
        Ok(())
    }

    /// Feeds upstream bytes; returns the items they complete, in order.
    pub fn push(&mut self, bytes: &[u8]) -> Result<Vec<ResponsesStreamItem>> {
        let mut items = Vec::new();
        for event in self.parser.push(bytes) {
            self.on_event(event, &mut items)?;
            self.check_limit()?;
        }
        Ok(items)
    }

    /// Ends the stream: flushes an unterminated last event. A call item
    /// still open (the stream was cut before its `output_item.done`) is an
    /// error: its arguments may be incomplete, and it must not run.
    pub fn finish(&mut self) -> Result<Vec<ResponsesStreamItem>> {
        let mut items = Vec::new();
        if let Some(event) = self.parser.finish() {
            self.on_event(event, &mut items)?;
        }
        if let Some(index) = self.open.keys().next() {
            return Err(self.error(format!(
                "the stream ended inside the call item at output_index {index}"
            )));
        }
        Ok(items)
    }

    /// Output text (`output_text` and `refusal` deltas) by `output_index`.
    pub fn texts(&self) -> &BTreeMap<usize, String> {
        &self.texts
    }

    /// Number of JSON events seen.
    pub fn events_seen(&self) -> usize {
        self.events
    }

    /// Number of SSE lines seen (for error messages).
    pub fn lines_seen(&self) -> usize {
        self.parser.line()
    }

    fn error(&self, reason: impl Into<String>) -> AdapterError {
        AdapterError::Line {
            line: self.parser.line().max(1),
            reason: reason.into(),
        }
    }

    fn on_event(&mut self, event: SseEvent, items: &mut Vec<ResponsesStreamItem>) -> Result<()> {
        let data = event.data.trim();
        if data.is_empty() || data == "[DONE]" {
            items.push(ResponsesStreamItem::Forward(event.raw));
            return Ok(());
        }
        let value: Value = serde_json::from_str(data)
            .map_err(|e| self.error(format!("event data is not JSON: {e}")))?;
        self.events += 1;
        let Some(obj) = value.as_object() else {
            return Err(self.error("event data is not a JSON object"));
        };
        let ty = obj
            .get("type")
            .and_then(Value::as_str)
            .or(event.event.as_deref())
            .unwrap_or("")
            .to_owned();
        let output_index = match obj.get("output_index") {
            None | Some(Value::Null) => None,
            Some(v) => Some(
                v.as_u64()
                    .and_then(|i| usize::try_from(i).ok())
                    .ok_or_else(|| {
                        self.error(format!("{ty}: output_index must be a non-negative integer"))
                    })?,
            ),
        };
        let seq = obj.get("sequence_number").and_then(Value::as_u64);
        let item_kind = obj
            .get("item")
            .and_then(|i| i.get("type"))
            .and_then(Value::as_str)
            .filter(|k| CALL_TYPES.contains(k));

        match (ty.as_str(), output_index) {
            ("response.output_item.added", Some(i)) if item_kind.is_some() => {
                if self.open.contains_key(&i) || self.closed.contains(&i) {
                    return Err(self.error(format!("a second item at output_index {i}")));
                }
                let item = OpenItem {
                    kind: item_kind.unwrap_or_default().to_owned(),
                    arguments: String::new(),
                    held: event.raw,
                    first_seq: seq,
                };
                self.open.insert(i, item);
            }
            ("response.output_item.done", Some(i)) if item_kind.is_some() => {
                let mut open = self.open.remove(&i).unwrap_or_default();
                if self.closed.contains(&i) {
                    return Err(self.error(format!(
                        "the call item at output_index {i} was already complete"
                    )));
                }
                open.held.extend_from_slice(&event.raw);
                open.first_seq = open.first_seq.or(seq);
                let item = obj.get("item").cloned().unwrap_or(Value::Null);
                let ready = self.ready(i, open, item)?;
                self.closed.insert(i);
                items.push(ResponsesStreamItem::ToolCallReady(ready));
                if self.open.is_empty() && !self.deferred.is_empty() {
                    let deferred = std::mem::take(&mut self.deferred).concat();
                    items.push(ResponsesStreamItem::Forward(deferred));
                }
            }
            ("response.completed" | "response.incomplete" | "response.failed", _) => {
                if let Some(index) = self.open.keys().next() {
                    return Err(self.error(format!(
                        "{ty} arrived while the call item at output_index {index} was incomplete"
                    )));
                }
                items.push(ResponsesStreamItem::Completed(CompletedEvent {
                    name: ty,
                    event: value,
                    raw: event.raw,
                }));
            }
            (_, Some(i)) if self.open.contains_key(&i) => {
                let string = |key: &str| obj.get(key).and_then(Value::as_str).unwrap_or("");
                let open = self.open.get_mut(&i);
                if let Some(open) = open {
                    match ty.as_str() {
                        "response.function_call_arguments.delta"
                        | "response.custom_tool_call_input.delta" => {
                            open.arguments.push_str(string("delta"));
                        }
                        "response.function_call_arguments.done" => {
                            open.arguments = string("arguments").to_owned();
                        }
                        "response.custom_tool_call_input.done" => {
                            open.arguments = string("input").to_owned();
                        }
                        _ => {}
                    }
                    open.held.extend_from_slice(&event.raw);
                }
            }
            (_, Some(i)) if self.closed.contains(&i) => {
                return Err(self.error(format!(
                    "{ty} for the call item at output_index {i} arrived after it was complete"
                )));
            }
            (_, i) => {
                if let Some(i) = i
                    && matches!(
                        ty.as_str(),
                        "response.output_text.delta" | "response.refusal.delta"
                    )
                {
                    let delta = obj.get("delta").and_then(Value::as_str).unwrap_or("");
                    self.texts.entry(i).or_default().push_str(delta);
                }
                // An item after a held call waits for it: the SDKs index
                // their snapshot by output_index, so items must reach the
                // client in index order.
                match (i, self.open.keys().next()) {
                    (Some(i), Some(&held)) if i > held => self.deferred.push(event.raw),
                    _ => items.push(ResponsesStreamItem::Forward(event.raw)),
                }
            }
        }
        Ok(())
    }

    /// Builds the ready item from the authoritative done item; the streamed
    /// arguments must agree with it when both are present.
    fn ready(&self, output_index: usize, open: OpenItem, item: Value) -> Result<ReadyItem> {
        let obj: &Map<String, Value> = item.as_object().ok_or_else(|| {
            self.error(format!(
                "output_index {output_index}: the done item is not an object"
            ))
        })?;
        let kind = obj
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or(&open.kind)
            .to_owned();
        let text = |key: &str| obj.get(key).and_then(Value::as_str).map(str::to_owned);
        let (name, arguments) = match kind.as_str() {
            "function_call" | "custom_tool_call" => {
                let key = if kind == "function_call" {
                    "arguments"
                } else {
                    "input"
                };
                let name = text("name").ok_or_else(|| {
                    self.error(format!(
                        "output_index {output_index}: the call item has no name"
                    ))
                })?;
                let arguments = match obj.get(key) {
                    Some(Value::String(s)) => s.clone(),
                    Some(v @ Value::Object(_)) => v.to_string(),
                    _ => open.arguments.clone(),
                };
                // The judged arguments must be the ones every consumer sees:
                // streamed deltas that disagree with the final item are refused.
                if !open.arguments.is_empty() && open.arguments != arguments {
                    return Err(self.error(format!(
                        "output_index {output_index}: the streamed arguments differ from the final item's"
                    )));
                }
                (name, arguments)
            }
            "local_shell_call" => ("local_shell".to_owned(), action_text(obj)),
            _ => ("computer".to_owned(), action_text(obj)),
        };
        Ok(ReadyItem {
            output_index,
            kind,
            call_id: text("call_id"),
            item_id: text("id"),
            name,
            arguments,
            item,
            held: open.held,
            first_seq: open.first_seq,
        })
    }
}

fn action_text(obj: &Map<String, Value>) -> String {
    obj.get("action").map(Value::to_string).unwrap_or_default()
}
