//! The incremental chunk assembler: bytes in, forwardable events and whole
//! tool calls out.
//!
//! Strings in deltas are concatenated exactly as the official SDKs
//! accumulate them (`id`, `function.name` and `function.arguments` alike),
//! so the call that is judged is the call the client would have run.
//! Invariants:
//! - every input byte leaves in exactly one item, except the bytes of
//!   events held for a call (in [`ReadyCall::held`]) and of events that mix
//!   tool-call deltas with other content, which are forwarded re-serialized
//!   without their tool-call parts;
//! - a call, once yielded, is never extended: a late delta for it is an
//!   error (fail closed) rather than a change the judge never saw.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use super::writer::{ChunkTemplate, sse_event};
use crate::adapters::sse::{SseEvent, SseParser};
use crate::error::{AdapterError, Result};
use crate::json::child;
use crate::plan::Args;

/// Default bound on the bytes an assembler holds at once (16 MiB).
pub const DEFAULT_HELD_LIMIT: usize = 16 << 20;

/// What the assembler yields, in the order the client must receive it.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamItem {
    /// Bytes to pass to the client now, unchanged in meaning: text deltas,
    /// role, usage, keep-alives, `[DONE]`, anything that is not a tool call.
    Forward(Vec<u8>),
    /// A tool call whose arguments are complete, waiting to be judged.
    ToolCallReady(ReadyCall),
    /// An event carrying a `finish_reason`, held so the gateway can turn
    /// `"tool_calls"` into `"stop"` when it withheld every call.
    Finish(FinishEvent),
}

/// One assembled tool call.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadyCall {
    /// The choice it belongs to.
    pub choice: usize,
    /// Its `index` in the choice's `tool_calls` (0 for a legacy `function_call`).
    pub index: usize,
    /// True for a legacy streamed `function_call` (no id, no index).
    pub legacy_function_call: bool,
    /// True for a custom tool call (`custom: {name, input}`): `arguments`
    /// is then free text, not JSON.
    pub custom: bool,
    /// The call id (`call_...`), if the stream gave one.
    pub id: Option<String>,
    /// The tool name.
    pub name: String,
    /// The complete argument text, exactly as streamed (may be empty or
    /// invalid JSON; the plan records that).
    pub arguments: String,
    /// The raw events that carried this call, in order. Re-emitting them is
    /// a faithful replay only when [`ReadyCall::exact`] holds.
    pub held: Vec<u8>,
    /// True when `held` carries this call and nothing else: no other
    /// call's deltas, no text, no finish reason.
    pub exact: bool,
    /// True when text or an earlier call came before it in its choice, so
    /// an explanation written in its place should start on a new paragraph.
    pub after_text: bool,
}

impl ReadyCall {
    /// The arguments as the plan records them: parsed JSON (or the raw
    /// text when it is not JSON); a custom tool's input as a JSON string.
    pub fn args(&self) -> Args {
        if self.custom {
            Args::Json {
                value: Value::String(self.arguments.clone()),
            }
        } else {
            Args::from_text(&self.arguments)
        }
    }

    /// The pointer the call would have in the non-streamed response.
    pub fn pointer(&self) -> String {
        let message = format!("/choices/{}/message", self.choice);
        if self.legacy_function_call {
            child(&message, "function_call")
        } else {
            child(&child(&message, "tool_calls"), self.index)
        }
    }
}

/// A held event that carries one or more `finish_reason`s.
#[derive(Debug, Clone, PartialEq)]
pub struct FinishEvent {
    /// The chunk as parsed (tool-call deltas already removed).
    pub chunk: Value,
    /// The bytes to forward when nothing changes.
    pub raw: Vec<u8>,
    /// `(choice, finish_reason)` pairs in the chunk.
    pub reasons: Vec<(usize, String)>,
}

impl FinishEvent {
    /// The event to send: unchanged, or with the finish reason of each
    /// choice in `stopped` (every call of which was withheld) set to
    /// `"stop"`, which is what the API sends for a plain text answer.
    pub fn render(&self, stopped: &[usize]) -> Vec<u8> {
        if !self.reasons.iter().any(|(c, _)| stopped.contains(c)) {
            return self.raw.clone();
        }
        let mut chunk = self.chunk.clone();
        if let Some(Value::Array(choices)) = chunk.get_mut("choices") {
            for (pos, choice) in choices.iter_mut().enumerate() {
                let c = choice_index(choice, pos);
                if stopped.contains(&c)
                    && let Some(obj) = choice.as_object_mut()
                {
                    obj.insert("finish_reason".into(), Value::String("stop".into()));
                }
            }
        }
        sse_event(&chunk)
    }
}

/// Identifies a call being assembled: choice, then `tool_calls` index
/// (`None` for a legacy `function_call`).
type CallKey = (usize, Option<usize>);

#[derive(Debug)]
struct OpenCall {
    custom: bool,
    id: String,
    has_id: bool,
    name: String,
    arguments: String,
    held: Vec<u8>,
    exact: bool,
    after_text: bool,
}

/// Assembles `chat.completion.chunk` events into whole calls. Feed it the
/// upstream bytes as they arrive, split anywhere; memory is bounded by the
/// largest event plus the calls being held.
#[derive(Debug, Default)]
pub struct ChatStreamAssembler {
    parser: SseParser,
    /// Calls being assembled, with their start order.
    open: BTreeMap<CallKey, (u64, OpenCall)>,
    started: u64,
    /// Calls already yielded: a later delta for one is an error.
    closed: BTreeSet<CallKey>,
    /// Calls the event being read has deltas for. A call released while
    /// its own event is still being read shares that event with something
    /// else, so its held bytes cannot replay it.
    touched: Vec<CallKey>,
    /// Choices in which text or a call has already gone out.
    spoken: BTreeSet<usize>,
    texts: BTreeMap<usize, String>,
    /// Choices whose `role` has gone out.
    roles: BTreeSet<usize>,
    template: Option<ChunkTemplate>,
    chunks: usize,
    done: bool,
    /// Most bytes held at once; `None` is [`DEFAULT_HELD_LIMIT`].
    limit: Option<usize>,
}

impl ChatStreamAssembler {
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
            .map(|o| o.1.held.len() + o.1.arguments.len())
            .sum::<usize>();
        if size > limit {
            return Err(AdapterError::TooLarge { size, limit });
        }
        Ok(())
    }

    /// Feeds upstream bytes; returns the items they complete, in order.
    pub fn push(&mut self, bytes: &[u8]) -> Result<Vec<StreamItem>> {
        let mut items = Vec::new();
        for event in self.parser.push(bytes) {
            self.on_event(event, &mut items)?;
            self.check_limit()?;
        }
        Ok(items)
    }

    /// Ends the stream: flushes an unterminated last event and yields every
    /// call still held (a stream cut before its `finish_reason`).
    pub fn finish(&mut self) -> Result<Vec<StreamItem>> {
        let mut items = Vec::new();
        if let Some(event) = self.parser.finish() {
            self.on_event(event, &mut items)?;
        }
        self.release(None, &mut items)?;
        Ok(items)
    }

    /// The envelope (`id`, `model`, `created`, ...) of the first chunk, for
    /// writing new chunks into the same stream.
    pub fn template(&self) -> Option<&ChunkTemplate> {
        self.template.as_ref()
    }

    /// Text (`content` and `refusal` deltas) seen so far, by choice.
    pub fn texts(&self) -> &BTreeMap<usize, String> {
        &self.texts
    }

    /// Number of JSON chunks seen.
    pub fn chunks_seen(&self) -> usize {
        self.chunks
    }

    /// Number of SSE lines seen (for error messages).
    pub fn lines_seen(&self) -> usize {
        self.parser.line()
    }

    /// True once `[DONE]` arrived.
    pub fn is_done(&self) -> bool {
        self.done
    }

    fn error(&self, reason: impl Into<String>) -> AdapterError {
        AdapterError::Line {
            line: self.parser.line().max(1),
            reason: reason.into(),
        }
    }

    fn on_event(&mut self, event: SseEvent, items: &mut Vec<StreamItem>) -> Result<()> {
        let data = event.data.trim();
        if data.is_empty() {
            items.push(StreamItem::Forward(event.raw));
            return Ok(());
        }
        if data == "[DONE]" {
            self.release(None, items)?;
            self.done = true;
            items.push(StreamItem::Forward(event.raw));
            return Ok(());
        }
        let mut chunk: Value = serde_json::from_str(data)
            .map_err(|e| self.error(format!("event data is not JSON: {e}")))?;
        self.chunks += 1;
        let Some(Value::Array(choices)) = chunk.get_mut("choices") else {
            // Errors, usage-only chunks and the like carry no call.
            items.push(StreamItem::Forward(event.raw));
            return Ok(());
        };
        self.touched.clear();
        let mut substance = false;
        let mut finishing: Vec<(usize, String)> = Vec::new();
        for (pos, choice) in choices.iter_mut().enumerate() {
            let c = choice_index(choice, pos);
            let cpath = format!("/choices/{pos}");
            let Some(obj) = choice.as_object_mut() else {
                return Err(self.error(format!("{cpath}: expected a choice object")));
            };
            if let Some(reason) = obj.get("finish_reason").and_then(Value::as_str) {
                finishing.push((c, reason.to_owned()));
                substance = true;
            }
            if obj.get("logprobs").is_some_and(|v| !v.is_null()) {
                substance = true;
            }
            let Some(delta) = obj.get_mut("delta").and_then(Value::as_object_mut) else {
                continue;
            };
            if let Some(calls) = delta.shift_remove("tool_calls") {
                self.apply_tool_calls(c, &calls, &format!("{cpath}/delta/tool_calls"), items)?;
            }
            if let Some(call) = delta.shift_remove("function_call") {
                self.apply_function_call(c, &call, &format!("{cpath}/delta/function_call"), items)?;
            }
            substance |= self.take_text(c, delta);
        }
        if self.template.is_none() {
            self.template = Some(ChunkTemplate::from_chunk(&chunk));
        }
        let touched = std::mem::take(&mut self.touched);
        if !touched.is_empty() {
            if substance || touched.len() > 1 {
                for key in &touched {
                    if let Some((_, call)) = self.open.get_mut(key) {
                        call.exact = false;
                    }
                }
            } else if let Some((_, call)) = touched.first().and_then(|k| self.open.get_mut(k)) {
                call.held.extend_from_slice(&event.raw);
            }
        }
        // Calls finished by this event go out before it.
        for (c, _) in &finishing {
            self.release(Some(*c), items)?;
        }
        if touched.is_empty() {
            // Nothing was taken out: the original bytes stay valid.
            push_rest(items, event.raw, chunk, finishing);
            return Ok(());
        }
        if substance {
            // Text mixed with call deltas goes out now, without them.
            let raw = sse_event(&chunk);
            push_rest(items, raw, chunk, finishing);
        }
        Ok(())
    }

    /// Records text deltas; true when the delta carries anything the client
    /// must get now. The first `role` of a choice counts: the SDKs need it
    /// (openai-node fails a choice without one) and concatenate repeated
    /// ones (openai-python), so it is forwarded exactly once, at once, even
    /// when it arrives with a call that may be withheld.
    fn take_text(&mut self, choice: usize, delta: &Map<String, Value>) -> bool {
        let mut substance = false;
        for (key, value) in delta {
            match (key.as_str(), value) {
                (_, Value::Null) => {}
                ("role", _) => substance |= self.roles.insert(choice),
                (_, Value::String(s)) if s.is_empty() => {}
                ("content" | "refusal", Value::String(s)) => {
                    self.texts.entry(choice).or_default().push_str(s);
                    self.spoken.insert(choice);
                    substance = true;
                }
                _ => substance = true,
            }
        }
        substance
    }

    fn apply_tool_calls(
        &mut self,
        choice: usize,
        calls: &Value,
        path: &str,
        items: &mut Vec<StreamItem>,
    ) -> Result<()> {
        let calls = match calls {
            Value::Null => return Ok(()),
            Value::Array(calls) => calls,
            _ => return Err(self.error(format!("{path}: expected an array"))),
        };
        for (pos, delta) in calls.iter().enumerate() {
            let dpath = child(path, pos);
            let Some(obj) = delta.as_object() else {
                return Err(self.error(format!("{dpath}: expected a tool call delta object")));
            };
            let index = match obj.get("index") {
                // Some compatible servers omit the index of single calls.
                None | Some(Value::Null) => pos,
                Some(v) => v
                    .as_u64()
                    .and_then(|i| usize::try_from(i).ok())
                    .ok_or_else(|| {
                        self.error(format!("{dpath}/index: expected a non-negative integer"))
                    })?,
            };
            // Custom tool calls carry `custom: {name, input}` instead.
            let (function, custom) = match obj.get("custom") {
                Some(custom @ Value::Object(_)) => (custom, true),
                _ => (obj.get("function").unwrap_or(&Value::Null), false),
            };
            let key = (choice, Some(index));
            self.apply(key, obj.get("id"), function, custom, &dpath, items)?;
            if !self.touched.contains(&key) {
                self.touched.push(key);
            }
        }
        Ok(())
    }

    fn apply_function_call(
        &mut self,
        choice: usize,
        call: &Value,
        path: &str,
        items: &mut Vec<StreamItem>,
    ) -> Result<()> {
        if call.is_null() {
            return Ok(());
        }
        let key = (choice, None);
        self.apply(key, None, call, false, path, items)?;
        if !self.touched.contains(&key) {
            self.touched.push(key);
        }
        Ok(())
    }

    /// Applies one delta (`id`, `function: {name, arguments}` or `custom:
    /// {name, input}`) to its call, opening it (and releasing the choice's
    /// earlier calls) when new.
    fn apply(
        &mut self,
        key: CallKey,
        id: Option<&Value>,
        function: &Value,
        custom: bool,
        path: &str,
        items: &mut Vec<StreamItem>,
    ) -> Result<()> {
        if self.closed.contains(&key) {
            return Err(self.error(format!(
                "{path}: a delta for tool call {} of choice {} arrived after the call was complete",
                key.1.map_or("function_call".to_owned(), |i| i.to_string()),
                key.0
            )));
        }
        let text = |v: Option<&Value>, what: &str| -> Result<String> {
            match v {
                None | Some(Value::Null) => Ok(String::new()),
                Some(Value::String(s)) => Ok(s.clone()),
                // Some servers send arguments as an object: take it whole.
                Some(v @ Value::Object(_)) if what == "arguments" => Ok(v.to_string()),
                Some(_) => Err(self.error(format!("{path}: `{what}` must be a string"))),
            }
        };
        let id = text(id, "id")?;
        let (name, arguments) = match function {
            Value::Null => (String::new(), String::new()),
            Value::Object(f) => (
                text(f.get("name"), "name")?,
                text(
                    f.get(if custom { "input" } else { "arguments" }),
                    "arguments",
                )?,
            ),
            _ => return Err(self.error(format!("{path}: `function` must be an object"))),
        };
        if !self.open.contains_key(&key) {
            // A new call in this choice completes the earlier ones.
            self.release(Some(key.0), items)?;
            let after_text = self.spoken.contains(&key.0);
            self.started += 1;
            let call = OpenCall {
                custom,
                id: String::new(),
                has_id: false,
                name: String::new(),
                arguments: String::new(),
                held: Vec::new(),
                exact: true,
                after_text,
            };
            self.open.insert(key, (self.started, call));
        }
        if let Some((_, call)) = self.open.get_mut(&key) {
            call.has_id |= !id.is_empty();
            call.id.push_str(&id);
            call.name.push_str(&name);
            call.arguments.push_str(&arguments);
        }
        Ok(())
    }

    /// Yields the open calls of `choice` (all choices when `None`) in the
    /// order they started.
    fn release(&mut self, choice: Option<usize>, items: &mut Vec<StreamItem>) -> Result<()> {
        let keys: Vec<CallKey> = self
            .open
            .keys()
            .filter(|(c, _)| choice.is_none_or(|x| x == *c))
            .copied()
            .collect();
        let mut ready: Vec<(u64, CallKey, OpenCall)> = keys
            .into_iter()
            .filter_map(|k| self.open.remove(&k).map(|(order, call)| (order, k, call)))
            .collect();
        ready.sort_by_key(|(order, _, _)| *order);
        for (_, key, call) in ready {
            self.closed.insert(key);
            self.spoken.insert(key.0);
            if call.name.is_empty() {
                return Err(self.error(format!(
                    "tool call {} of choice {} ended without a tool name",
                    key.1.unwrap_or(0),
                    key.0
                )));
            }
            items.push(StreamItem::ToolCallReady(ReadyCall {
                choice: key.0,
                index: key.1.unwrap_or(0),
                legacy_function_call: key.1.is_none(),
                custom: call.custom,
                id: call.has_id.then_some(call.id),
                name: call.name,
                arguments: call.arguments,
                exact: call.exact && !self.touched.contains(&key),
                held: call.held,
                after_text: call.after_text,
            }));
        }
        Ok(())
    }
}

/// Forwards an event, as a [`StreamItem::Finish`] when it finishes a choice.
fn push_rest(
    items: &mut Vec<StreamItem>,
    raw: Vec<u8>,
    chunk: Value,
    reasons: Vec<(usize, String)>,
) {
    if reasons.is_empty() {
        items.push(StreamItem::Forward(raw));
    } else {
        items.push(StreamItem::Finish(FinishEvent {
            chunk,
            raw,
            reasons,
        }));
    }
}

/// A choice's `index`, else its position in `choices`.
fn choice_index(choice: &Value, pos: usize) -> usize {
    choice
        .get("index")
        .and_then(Value::as_u64)
        .and_then(|i| usize::try_from(i).ok())
        .unwrap_or(pos)
}
