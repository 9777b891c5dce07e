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
//!             // read_exchange(&request, asm.texts(), &[block]) -> Plan -> decide
//!             StreamItem::ToolUseReady(block) => Some(judge(block)),
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

mod assembler;
mod writer;

pub use assembler::{AnthropicStreamAssembler, DEFAULT_HELD_LIMIT, StreamItem, ToolUseBlock};
pub use writer::{
    StreamWriter, message_delta_with_stop_reason, text_block_events, tool_use_block_events,
};

use serde_json::Value;

use crate::adapters::anthropic;
use crate::decision::Outcomes;
use crate::error::{AdapterError, Result};
use crate::format::Format;
use crate::plan::{Origin, Plan};

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
            line: asm.line(),
            reason: format!("the stream carries an error event ({error})"),
        });
    }
    let calls: Vec<&ToolUseBlock> = items
        .iter()
        .filter_map(|item| match item {
            StreamItem::ToolUseReady(b) => Some(b),
            _ => None,
        })
        .collect();
    let mut plan = Plan::new(Format::AnthropicStream);
    push_response(&mut plan, asm.texts(), &calls);
    Ok(plan)
}

/// The plan for judging streamed calls: history and tools from the
/// `request` (see [`anthropic::read_history`]), then the response so far:
/// its completed text blocks (from [`AnthropicStreamAssembler::texts`]) and
/// the given calls, in index order, proposed at `/content/{index}`.
pub fn read_exchange(
    request: &Value,
    texts: &[(usize, String)],
    calls: &[&ToolUseBlock],
) -> Result<Plan> {
    let mut plan = anthropic::read_history(request)?;
    plan.format = Format::AnthropicStream;
    push_response(&mut plan, texts, calls);
    Ok(plan)
}

fn push_response(plan: &mut Plan, texts: &[(usize, String)], calls: &[&ToolUseBlock]) {
    enum Block<'a> {
        Text(&'a str),
        Call(&'a ToolUseBlock),
    }
    let mut blocks: Vec<(usize, Block)> = texts.iter().map(|(i, t)| (*i, Block::Text(t))).collect();
    blocks.extend(calls.iter().map(|b| (b.index, Block::Call(b))));
    blocks.sort_by_key(|(i, _)| *i);
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
