//! Writing events into a Responses API stream: a judged call item, or the
//! explanation message that takes a withheld call's place.
//!
//! Every written event keeps the call's `output_index`: the SDK stream
//! accumulators (openai-python `ResponseStreamState`, openai-node
//! `ResponseStream`) index their snapshot by it, so a withheld call is
//! replaced by a message item at the same index, never just dropped. A
//! rewritten function call is written as `output_item.added` with empty
//! arguments followed by one arguments delta, because the accumulators
//! append deltas to what `added` carried.
//!
//! `sequence_number`s of written events are taken from `seq`, which the
//! gateway starts at [`ReadyItem::first_seq`]; the SDKs do not check that
//! numbers are contiguous, only the event types and indices. Streams written
//! this way (block one, block all, rewrite) were checked by hand against
//! openai-python 2.54's `responses.stream(...).get_final_response()`.

use serde_json::{Map, Value, json};

use super::assembler::ReadyItem;
use crate::adapters::openai_responses::render::explanation_message;
use crate::decision::{StepOutcome, Verdict, explanation};

/// One typed SSE event: `event: <name>`, `data: <compact JSON>`, blank line.
pub(crate) fn sse_typed_event(name: &str, data: &Value) -> Vec<u8> {
    let mut out = format!("event: {name}\ndata: ").into_bytes();
    out.extend_from_slice(data.to_string().as_bytes());
    out.extend_from_slice(b"\n\n");
    out
}

/// Builds one event of type `ty` with the given fields and the next number.
fn event(ty: &str, seq: &mut u64, fields: Value) -> Vec<u8> {
    let mut obj = Map::new();
    obj.insert("type".into(), Value::String(ty.into()));
    if let Value::Object(fields) = fields {
        obj.extend(fields);
    }
    obj.insert("sequence_number".into(), json!(*seq));
    *seq += 1;
    sse_typed_event(ty, &Value::Object(obj))
}

/// The bytes that take an assembled call item's place in the client's stream.
///
/// - allowed (no outcome, or `allow`): the held upstream events, unchanged;
/// - `rewrite`: the item re-written with the new arguments (`arguments`,
///   `input`, or `action` for shell and computer calls);
/// - `block` / `require_approval`, or a rewrite without new arguments: an
///   assistant message item at the same `output_index` whose text is the
///   explanation, as the full event sequence a message streams with.
///
/// `step_id` is the id of the item's step in the plan.
pub fn render_responses_stream_call(
    call: &ReadyItem,
    step_id: &str,
    outcome: Option<&StepOutcome>,
    seq: &mut u64,
) -> Vec<u8> {
    match outcome {
        None => call.held.clone(),
        Some(o) if o.verdict == Verdict::Allow => call.held.clone(),
        Some(StepOutcome {
            verdict: Verdict::Rewrite,
            rewrite: Some(args),
            ..
        }) => rewritten(call, args, seq),
        Some(o) => {
            let text = if o.verdict == Verdict::Rewrite {
                format!(
                    "[preflight] The call to `{}` ({step_id}) was withheld: a rewrite was required but no new arguments were given: {}.",
                    call.name, o.reason
                )
            } else {
                explanation(&call.name, step_id, o)
            };
            explanation_events(call.output_index, step_id, &text, seq)
        }
    }
}

fn rewritten(call: &ReadyItem, args: &Value, seq: &mut u64) -> Vec<u8> {
    let i = call.output_index;
    let mut done = call.item.clone();
    let mut out = Vec::new();
    let (key, text, delta_type, done_type) = match call.kind.as_str() {
        "function_call" => (
            "arguments",
            args.to_string(),
            "response.function_call_arguments.delta",
            "response.function_call_arguments.done",
        ),
        "custom_tool_call" => (
            "input",
            match args {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            },
            "response.custom_tool_call_input.delta",
            "response.custom_tool_call_input.done",
        ),
        // Shell and computer calls carry their action whole in the item.
        _ => {
            if let Some(obj) = done.as_object_mut() {
                obj.insert("action".into(), args.clone());
            }
            out.extend(event(
                "response.output_item.added",
                seq,
                json!({"output_index": i, "item": done}),
            ));
            out.extend(event(
                "response.output_item.done",
                seq,
                json!({"output_index": i, "item": done}),
            ));
            return out;
        }
    };
    let mut added = call.item.clone();
    if let Some(obj) = added.as_object_mut() {
        obj.insert(key.into(), Value::String(String::new()));
        obj.insert("status".into(), json!("in_progress"));
    }
    if let Some(obj) = done.as_object_mut() {
        obj.insert(key.into(), Value::String(text.clone()));
    }
    let item_id = call.item_id.clone();
    out.extend(event(
        "response.output_item.added",
        seq,
        json!({"output_index": i, "item": added}),
    ));
    out.extend(event(
        delta_type,
        seq,
        json!({"item_id": item_id, "output_index": i, "delta": text}),
    ));
    out.extend(event(
        done_type,
        seq,
        json!({"item_id": item_id, "output_index": i, key: text}),
    ));
    out.extend(event(
        "response.output_item.done",
        seq,
        json!({"output_index": i, "item": done}),
    ));
    out
}

/// The full event sequence of an assistant message carrying `text` at
/// `output_index`, as the API streams one.
fn explanation_events(output_index: usize, step_id: &str, text: &str, seq: &mut u64) -> Vec<u8> {
    let done = Value::Object(explanation_message(step_id, text, true));
    let item_id = done.get("id").cloned().unwrap_or(Value::Null);
    let mut added = done.clone();
    if let Some(obj) = added.as_object_mut() {
        obj.insert("status".into(), json!("in_progress"));
        obj.insert("content".into(), json!([]));
    }
    let i = output_index;
    let empty_part = json!({"type": "output_text", "text": "", "annotations": []});
    let part = json!({"type": "output_text", "text": text, "annotations": []});
    let mut out = Vec::new();
    out.extend(event(
        "response.output_item.added",
        seq,
        json!({"output_index": i, "item": added}),
    ));
    out.extend(event(
        "response.content_part.added",
        seq,
        json!({"item_id": item_id, "output_index": i, "content_index": 0, "part": empty_part}),
    ));
    out.extend(event(
        "response.output_text.delta",
        seq,
        json!({"item_id": item_id, "output_index": i, "content_index": 0, "delta": text, "logprobs": []}),
    ));
    out.extend(event(
        "response.output_text.done",
        seq,
        json!({"item_id": item_id, "output_index": i, "content_index": 0, "text": text, "logprobs": []}),
    ));
    out.extend(event(
        "response.content_part.done",
        seq,
        json!({"item_id": item_id, "output_index": i, "content_index": 0, "part": part}),
    ));
    out.extend(event(
        "response.output_item.done",
        seq,
        json!({"output_index": i, "item": done}),
    ));
    out
}
