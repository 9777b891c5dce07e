//! OpenAI Chat Completions streaming (`chat.completion.chunk` SSE events):
//! assembling tool calls from their deltas, and writing decisions back
//! into a stream that the official SDK parsers accept.
//!
//! The gateway's loop, in order of the items the assembler yields:
//!
//! ```text
//! upstream bytes ─▶ ChatStreamAssembler::push ─▶ Forward(bytes)       ─▶ client at once (text, usage, [DONE])
//!                                              ├▶ ToolCallReady(call)  ─▶ judge ─▶ render_chat_stream_call ─▶ client
//!                                              └▶ Finish(event)        ─▶ event.render(all_withheld) ─▶ client
//! ```
//!
//! Text passes through as soon as its event is complete; a call is held
//! from its first delta until its arguments are complete (its choice's
//! `finish_reason`, the start of the next call index in the same choice,
//! `[DONE]`, or the end of the stream), then yielded whole. The calls are
//! yielded before the event that completed them, so the client never sees a
//! `finish_reason` before the calls it finishes.
//!
//! [`read`] runs the assembler over a whole stream and returns a plan whose
//! steps are all proposed, located at the pointer each call would have in
//! the equivalent non-streamed response:
//! `/choices/{choice}/message/tool_calls/{index}` (legacy streamed
//! `function_call`: `/choices/{choice}/message/function_call`).

mod assembler;
mod writer;

use crate::error::{AdapterError, Result};
use crate::format::Format;
use crate::plan::{Origin, Plan};

pub use assembler::{ChatStreamAssembler, DEFAULT_HELD_LIMIT, FinishEvent, ReadyCall, StreamItem};
pub use writer::{ChunkTemplate, render_chat_stream_call};

/// Assembles a whole stream into a plan: each choice's text as assistant
/// segments, every call proposed. Besides SSE bytes, a recorded stream
/// saved as a JSON array of chunk objects is accepted.
pub fn read(bytes: &[u8]) -> Result<Plan> {
    let sse;
    let bytes = if bytes.trim_ascii_start().starts_with(b"[") {
        sse = chunks_to_sse(bytes)?;
        sse.as_slice()
    } else {
        bytes
    };
    let mut asm = ChatStreamAssembler::new();
    let mut calls = Vec::new();
    let mut items = asm.push(bytes)?;
    items.extend(asm.finish()?);
    for item in items {
        if let StreamItem::ToolCallReady(call) = item {
            calls.push(call);
        }
    }
    if asm.chunks_seen() == 0 {
        return Err(AdapterError::Line {
            line: asm.lines_seen().max(1),
            reason: "no chat.completion.chunk event in the stream".into(),
        });
    }
    let mut plan = Plan::new(Format::OpenaiChatStream);
    for (choice, text) in asm.texts() {
        plan.push_text(Origin::Assistant, text.as_str());
        for call in calls.iter().filter(|c| c.choice == *choice) {
            push_ready_call(&mut plan, call);
        }
    }
    // Choices that had calls but no text.
    for call in calls
        .iter()
        .filter(|c| asm.texts().get(&c.choice).is_none())
    {
        push_ready_call(&mut plan, call);
    }
    Ok(plan)
}

/// A JSON array of chunks, framed as the SSE stream it was recorded from.
fn chunks_to_sse(bytes: &[u8]) -> Result<Vec<u8>> {
    let doc = crate::json::parse_bytes(bytes)?;
    let mut out = Vec::new();
    for (i, chunk) in crate::json::array(&doc, "")?.iter().enumerate() {
        crate::json::object(chunk, &crate::json::child("", i))?;
        out.extend(writer::sse_event(chunk));
    }
    Ok(out)
}

/// Adds an assembled call to `plan` as a proposed step located at its
/// non-streamed pointer; returns the step index (its id is `plan.steps[i].id`,
/// the key of its outcome).
pub fn push_ready_call(plan: &mut Plan, call: &ReadyCall) -> usize {
    plan.push_step(
        call.id.as_deref(),
        call.name.as_str(),
        call.args(),
        call.pointer(),
    )
}
