//! Writes decisions back into a Responses API document in place.
//!
//! A rewritten call gets new `arguments` (`input` for custom tools,
//! `action` for shell and computer calls). A withheld call item is
//! *replaced* by an assistant `message` item whose `output_text` is the
//! explanation: replacing in place keeps every other item at its index,
//! which is what a streaming client's `output_index` bookkeeping relies on,
//! and the stream writer emits the same replacement. Every other item and
//! field is left exactly as it was.

use serde_json::{Map, Value, json};

use crate::decision::{Outcomes, Verdict, explanation};
use crate::error::{AdapterError, Result};
use crate::plan::{Plan, Step};

/// Writes `outcomes` into `doc` (a response object, a request whose
/// proposed calls sit in `input`, or a stream's `response.completed`
/// `response`).
pub fn render(doc: &mut Value, plan: &Plan, outcomes: &Outcomes) -> Result<()> {
    for step in plan.proposed() {
        let Some(outcome) = outcomes.get(&step.id) else {
            continue;
        };
        let ptr = step.locator.pointer.as_str();
        let in_output = ptr.starts_with("/output/");
        let item = doc
            .pointer_mut(ptr)
            .and_then(Value::as_object_mut)
            .ok_or_else(|| {
                AdapterError::shape(ptr, format!("no call here for step {}", step.id))
            })?;
        check_call(item, step)?;
        match outcome.verdict {
            Verdict::Allow => {}
            Verdict::Rewrite => {
                let new_args = outcome.rewrite.as_ref().ok_or_else(|| {
                    AdapterError::shape(ptr, format!("rewrite of {} has no new arguments", step.id))
                })?;
                rewrite_item(item, new_args);
            }
            Verdict::Block | Verdict::RequireApproval => {
                let text = explanation(&step.tool, &step.id, outcome);
                *item = explanation_message(&step.id, &text, in_output);
            }
        }
    }
    Ok(())
}

/// The assistant message that takes a withheld call's place. Output items
/// carry an `id` and `status` like the API's own; an input item does not,
/// since an input item with an `id` refers to a stored item.
pub(crate) fn explanation_message(
    step_id: &str,
    text: &str,
    in_output: bool,
) -> Map<String, Value> {
    let mut item = Map::new();
    if in_output {
        item.insert(
            "id".into(),
            Value::String(format!("msg_preflight_{step_id}")),
        );
    }
    item.insert("type".into(), Value::String("message".into()));
    if in_output {
        item.insert("status".into(), Value::String("completed".into()));
    }
    item.insert("role".into(), Value::String("assistant".into()));
    item.insert(
        "content".into(),
        json!([{"type": "output_text", "text": text, "annotations": []}]),
    );
    item
}

/// The item at the step's locator must be a call of the step's tool.
fn check_call(item: &Map<String, Value>, step: &Step) -> Result<()> {
    let name = match item.get("type").and_then(Value::as_str) {
        Some("function_call" | "custom_tool_call") => item.get("name").and_then(Value::as_str),
        Some("local_shell_call") => Some("local_shell"),
        Some("computer_call") => Some("computer"),
        _ => None,
    };
    if name != Some(step.tool.as_str()) {
        return Err(AdapterError::shape(
            &step.locator.pointer,
            format!(
                "the item here is not a call to `{}` (step {}): the plan does not match the document",
                step.tool, step.id
            ),
        ));
    }
    Ok(())
}

fn rewrite_item(item: &mut Map<String, Value>, new_args: &Value) {
    match item.get("type").and_then(Value::as_str) {
        Some("custom_tool_call") => {
            let input = match new_args {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            item.insert("input".into(), Value::String(input));
        }
        Some("local_shell_call" | "computer_call") => {
            item.insert("action".into(), new_args.clone());
        }
        _ => {
            item.insert("arguments".into(), Value::String(new_args.to_string()));
        }
    }
}
