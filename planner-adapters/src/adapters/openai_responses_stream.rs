//! OpenAI Responses API streaming (typed SSE events): assembling call items
//! from their events, and writing decisions back into the stream.
//!
//! The gateway's loop, in order of the items the assembler yields:
//!
//! ```text
//! upstream bytes ─▶ ResponsesStreamAssembler::push ─▶ Forward(bytes)     ─▶ client at once
//!                                                   ├▶ ToolCallReady(c)  ─▶ judge ─▶ render_responses_stream_call ─▶ client
//!                                                   └▶ Completed(event)  ─▶ event.render(plan, outcomes) ─▶ client
//! ```
//!
//! A call item (`function_call`, `custom_tool_call`, `local_shell_call`,
//! `computer_call`) is held from its `response.output_item.added` through
//! every event at its `output_index` (argument deltas, `.done`) up to its
//! `response.output_item.done`, whose item is authoritative; text and every
//! other item pass through at once. The terminal `response.completed` (or
//! `response.incomplete` / `response.failed`) repeats the whole output, so
//! it is held too and rendered with the same decisions.
//!
//! [`read`] runs the assembler over a whole stream and returns a plan whose
//! steps are all proposed, located at `/output/{output_index}`: the pointer
//! the item has in the response object, so [`crate::adapters::openai_responses::render`]
//! applies to the `response` of the completed event unchanged.

mod assembler;
mod writer;

use crate::error::{AdapterError, Result};
use crate::format::Format;
use crate::plan::{Origin, Plan};

pub use assembler::{
    CompletedEvent, DEFAULT_HELD_LIMIT, ReadyItem, ResponsesStreamAssembler, ResponsesStreamItem,
};
pub use writer::render_responses_stream_call;

/// Assembles a whole stream into a plan: message text as assistant
/// segments, every call proposed. When the stream carries a terminal event
/// with the full response, its `instructions` and `tools` are read too.
pub fn read(bytes: &[u8]) -> Result<Plan> {
    let mut asm = ResponsesStreamAssembler::new();
    let mut items = asm.push(bytes)?;
    items.extend(asm.finish()?);
    if asm.events_seen() == 0 {
        return Err(AdapterError::Line {
            line: asm.lines_seen().max(1),
            reason: "no Responses API event in the stream".into(),
        });
    }
    let mut plan = Plan::new(Format::OpenaiResponsesStream);
    let mut calls = Vec::new();
    for item in items {
        match item {
            ResponsesStreamItem::ToolCallReady(call) => calls.push(call),
            ResponsesStreamItem::Completed(done) => {
                if let Some(response) = done.event.get("response") {
                    read_response_context(&mut plan, response)?;
                }
            }
            ResponsesStreamItem::Forward(_) => {}
        }
    }
    // Text and calls in output order.
    let texts = asm.texts();
    let mut indices: Vec<usize> = texts
        .keys()
        .copied()
        .chain(calls.iter().map(|c| c.output_index))
        .collect();
    indices.sort_unstable();
    indices.dedup();
    for i in indices {
        if let Some(text) = texts.get(&i) {
            plan.push_text(Origin::Assistant, text.as_str());
        }
        for call in calls.iter().filter(|c| c.output_index == i) {
            push_ready_item(&mut plan, call);
        }
    }
    Ok(plan)
}

/// Tool specs and instructions from the response object a terminal event
/// carries (the API echoes the request's).
fn read_response_context(plan: &mut Plan, response: &serde_json::Value) -> Result<()> {
    let mut context = serde_json::Map::new();
    for key in ["tools", "instructions"] {
        if let Some(v) = response.get(key) {
            context.insert(key.to_owned(), v.clone());
        }
    }
    context.insert("output".into(), serde_json::Value::Array(Vec::new()));
    let context_plan =
        crate::adapters::openai_responses::read(&serde_json::Value::Object(context))?;
    plan.tools = context_plan.tools;
    for segment in context_plan.segments {
        plan.push_text(segment.origin, segment.text);
    }
    Ok(())
}

/// Adds an assembled call to `plan` as a proposed step at `/output/{i}`;
/// returns the step index (its id, `plan.steps[i].id`, keys its outcome).
pub fn push_ready_item(plan: &mut Plan, call: &ReadyItem) -> usize {
    plan.push_step(
        call.call_id.as_deref(),
        call.name.as_str(),
        call.args(),
        call.pointer(),
    )
}
