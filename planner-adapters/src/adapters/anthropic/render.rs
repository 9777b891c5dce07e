//! Writing decisions back into an Anthropic request or response in place.

use serde_json::{Value, json};

use crate::decision::{Outcomes, Verdict, explanation};
use crate::error::{AdapterError, Result};
use crate::plan::{Plan, Step};

/// Writes outcomes into `doc` (the document the plan's locators point into).
///
/// A withheld call (`block`, `require_approval`) is replaced, at the same
/// index, by a text block holding [`explanation`], so the model learns why
/// and block indices stay stable. `rewrite` replaces `input`; a rewrite
/// without an arguments object is an error and the document is left as it
/// was. When a response is left with no `tool_use` block and its
/// `stop_reason` is `"tool_use"`, it becomes `"end_turn"`, as the agent has
/// nothing to run. Every other field is left exactly as it was.
pub fn render(doc: &mut Value, plan: &Plan, outcomes: &Outcomes) -> Result<()> {
    check_rewrites(plan, outcomes)?;
    let mut withheld_any = false;
    for step in plan.proposed() {
        let Some(outcome) = outcomes.get(&step.id) else {
            continue;
        };
        let pointer = step.locator.pointer.as_str();
        let block = doc
            .pointer_mut(pointer)
            .ok_or_else(|| AdapterError::shape(pointer, "no content block here to render into"))?;
        check_block_is_step(block, pointer, step)?;
        match (outcome.verdict, &outcome.rewrite) {
            (Verdict::Allow, _) => {}
            (Verdict::Rewrite, Some(new_input)) => {
                if let Some(b) = block.as_object_mut() {
                    b.insert("input".into(), new_input.clone());
                }
            }
            _ => {
                let text = explanation(&step.tool, &step.id, outcome);
                *block = json!({"type": "text", "text": text});
                withheld_any = true;
            }
        }
    }
    if withheld_any {
        fix_stop_reason(doc);
    }
    Ok(())
}

/// Every `rewrite` must carry new arguments that are a JSON object (what
/// both Anthropic `input` and MCP `arguments` must be). Checked before the
/// document is touched, so a bad decision leaves it unchanged; an error,
/// never a silent pass of the original call.
pub(crate) fn check_rewrites(plan: &Plan, outcomes: &Outcomes) -> Result<()> {
    for step in plan.proposed() {
        if let Some(outcome) = outcomes.get(&step.id)
            && outcome.verdict == Verdict::Rewrite
            && !outcome.rewrite.as_ref().is_some_and(Value::is_object)
        {
            return Err(AdapterError::shape(
                &step.locator.pointer,
                format!("rewrite of {} has no new arguments object", step.id),
            ));
        }
    }
    Ok(())
}

/// Refuses to edit a block that is not the step's `tool_use` (a plan read
/// from another document), rather than overwrite the wrong thing. A step
/// whose wire id was a duplicate carries a generated `step-N` id instead.
fn check_block_is_step(block: &Value, pointer: &str, step: &Step) -> Result<()> {
    let ty = block.get("type").and_then(Value::as_str);
    let name = block.get("name").and_then(Value::as_str);
    let block_id = block.get("id").and_then(Value::as_str);
    let generated = step.id == format!("step-{}", step.index);
    let id_matches = generated || block_id.is_none_or(|b| b == step.id);
    if ty == Some("tool_use") && name == Some(step.tool.as_str()) && id_matches {
        Ok(())
    } else {
        Err(AdapterError::shape(
            pointer,
            format!(
                "expected the tool_use block of `{}` ({}); the plan does not match this document",
                step.tool, step.id
            ),
        ))
    }
}

/// `stop_reason: "tool_use"` with no `tool_use` block left becomes `"end_turn"`.
fn fix_stop_reason(doc: &mut Value) {
    let Some(obj) = doc.as_object_mut() else {
        return;
    };
    let any_tool_use = obj
        .get("content")
        .and_then(Value::as_array)
        .is_some_and(|c| {
            c.iter()
                .any(|b| b.get("type").and_then(Value::as_str) == Some("tool_use"))
        });
    if !any_tool_use && obj.get("stop_reason").and_then(Value::as_str) == Some("tool_use") {
        obj.insert("stop_reason".into(), Value::String("end_turn".into()));
    }
}
