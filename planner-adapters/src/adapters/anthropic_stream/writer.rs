//! Writing decisions back into a stream: [`StreamWriter`] for assembler
//! items, and the event builders it uses (a text block in place of a
//! withheld call, a re-emitted `tool_use` block, a patched `message_delta`).

use serde_json::{Value, json};

use super::{StreamItem, ToolUseBlock};
use crate::adapters::sse::SseParser;
use crate::decision::{StepOutcome, Verdict, explanation};
use crate::error::{AdapterError, Result};

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
    /// A rewrite without an arguments object is withheld (fail closed: the
    /// stream cannot be failed cleanly halfway, and the call must not pass).
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
            (Verdict::Rewrite, Some(input)) if input.is_object() => {
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
