//! Generic plan JSON: the format for frameworks that have no wire format of
//! their own, written by hand or by a pre-tool hook.
//!
//! ```json
//! {"goal": "...", "tools": [...], "steps": [{"tool": "send_email", "args": {...}}]}
//! ```
//!
//! or a bare array of steps. A step is `{"tool", "args"?, "id"?, "status"?,
//! "result"?}`: `args` is an object or a JSON string (a broken string is kept
//! as malformed arguments, not rejected), absent or null is `{}`. `status` is
//! `"executed"` or `"proposed"`; when absent a step with a `result` is
//! executed and any other step proposed. `tools` holds OpenAI function
//! definitions (`{"type":"function","function":{...}}`) or plain
//! `{"name", "description"?, "input_schema"|"parameters"?, "annotations"?}`.
//! Unknown fields anywhere are ignored, and kept as they are by [`render`].
//!
//! Rendering fails closed: a withheld step (block or require approval) is
//! *removed* from the step list, so a consumer that knows nothing about
//! Preflight cannot run it by accident. In the object form each removed step
//! is listed under a top-level `"withheld"` array as `{"id", "tool",
//! "verdict", "reason", "explanation"}` (entries are appended to an existing
//! array); a bare array has no place for it, and the decision JSON carries
//! the reasons instead. A rewritten step gets its new `args` in the type it
//! came in (object, or JSON text for string arguments).

use serde_json::{Map, Value, json};

use crate::decision::{Outcomes, StepOutcome, Verdict, explanation};
use crate::error::{AdapterError, Result};
use crate::format::Format;
use crate::json::{self, child};
use crate::plan::{Args, Origin, Plan, Step, ToolAnnotations, ToolSpec};

/// Reads a generic plan: an object with `steps`, or a bare step array.
pub fn read(doc: &Value) -> Result<Plan> {
    let mut plan = Plan::new(Format::Generic);
    let (steps, steps_path) = match doc {
        Value::Array(steps) => (steps.as_slice(), String::new()),
        Value::Object(obj) => {
            if let Some(goal) = json::opt_str(obj, "", "goal")? {
                plan.push_text(Origin::User, goal);
            }
            for (i, tool) in json::opt_array(obj, "", "tools")?.iter().enumerate() {
                plan.tools.push(read_tool(tool, &child("/tools", i))?);
            }
            let steps = json::array(json::field(obj, "", "steps")?, "/steps")?;
            (steps.as_slice(), "/steps".to_owned())
        }
        other => {
            return Err(AdapterError::shape(
                "",
                format!(
                    "expected a plan object or a step array, found {}",
                    json::type_name(other)
                ),
            ));
        }
    };
    for (i, step) in steps.iter().enumerate() {
        read_step(&mut plan, step, &child(&steps_path, i))?;
    }
    Ok(plan)
}

fn read_step(plan: &mut Plan, step: &Value, path: &str) -> Result<()> {
    let obj = json::object(step, path)?;
    let tool = json::str_field(obj, path, "tool")?;
    let id = json::opt_str(obj, path, "id")?;
    let args = match obj.get("args") {
        None | Some(Value::Null) => Args::Json {
            value: Value::Object(Map::new()),
        },
        Some(Value::String(raw)) => Args::from_text(raw),
        Some(value @ Value::Object(_)) => Args::Json {
            value: value.clone(),
        },
        Some(other) => {
            return Err(AdapterError::shape(
                child(path, "args"),
                format!(
                    "expected an object or a JSON string, found {}",
                    json::type_name(other)
                ),
            ));
        }
    };
    let result = obj.get("result").filter(|r| !r.is_null());
    let executed = match json::opt_str(obj, path, "status")? {
        None => result.is_some(),
        Some("executed") => true,
        Some("proposed") if result.is_some() => {
            return Err(AdapterError::shape(
                child(path, "result"),
                "a proposed step cannot have a result yet",
            ));
        }
        Some("proposed") => false,
        Some(other) => {
            return Err(AdapterError::shape(
                child(path, "status"),
                format!("expected \"executed\" or \"proposed\", found \"{other}\""),
            ));
        }
    };
    let index = plan.push_step(id, tool, args, path.to_owned());
    match result {
        Some(result) => {
            // The id the plan gave the step (a duplicate wire id becomes
            // `step-N`), so the result lands on this step and no other.
            let step_id = plan.steps[index].id.clone();
            plan.push_result(Some(&step_id), json::content_text(result));
        }
        None if executed => plan.mark_executed(index),
        None => {}
    }
    Ok(())
}

/// Reads one tool definition: the OpenAI function form or a plain
/// `{name, description?, input_schema|parameters?, annotations?}` object.
pub(crate) fn read_tool(tool: &Value, path: &str) -> Result<ToolSpec> {
    let obj = json::object(tool, path)?;
    let (def, def_path) = match obj.get("function") {
        Some(function) => {
            let path = child(path, "function");
            (json::object(function, &path)?, path)
        }
        None => (obj, path.to_owned()),
    };
    let name = json::str_field(def, &def_path, "name")?;
    let description = json::opt_str(def, &def_path, "description")?;
    let input_schema = def
        .get("input_schema")
        .or_else(|| def.get("parameters"))
        .filter(|s| !s.is_null())
        .cloned();
    let annotations = obj
        .get("annotations")
        .map(ToolAnnotations::from_mcp)
        .unwrap_or_default();
    Ok(ToolSpec {
        name: name.to_owned(),
        description: description.map(str::to_owned),
        input_schema: input_schema.map(std::sync::Arc::new),
        annotations,
    })
}

/// Writes outcomes back: withheld steps removed (and listed under
/// `withheld` in the object form), rewritten steps given their new args.
pub fn render(doc: &mut Value, plan: &Plan, outcomes: &Outcomes) -> Result<()> {
    let steps_path = if doc.is_array() { "" } else { "/steps" };
    let mut removed: Vec<usize> = Vec::new();
    let mut withheld: Vec<Value> = Vec::new();
    for step in plan.proposed() {
        let Some(outcome) = outcomes.get(&step.id) else {
            continue;
        };
        let index = step_index(&step.locator.pointer, steps_path)?;
        let entry = doc
            .pointer_mut(&step.locator.pointer)
            .and_then(Value::as_object_mut)
            .filter(|o| o.get("tool").and_then(Value::as_str) == Some(step.tool.as_str()))
            .ok_or_else(|| mismatch(&step.locator.pointer))?;
        if outcome.verdict.withholds() {
            removed.push(index);
            withheld.push(json!({
                "id": step.id,
                "tool": step.tool,
                "verdict": outcome.verdict.name(),
                "reason": outcome.reason,
                "explanation": explanation(&step.tool, &step.id, outcome),
            }));
        } else if outcome.verdict == Verdict::Rewrite {
            let new_args = rewrite_args(step, outcome)?;
            let value = match entry.get("args") {
                Some(Value::String(_)) => Value::String(new_args.to_string()),
                _ => new_args.clone(),
            };
            entry.insert("args".to_owned(), value);
        }
    }
    if removed.is_empty() {
        return Ok(());
    }
    let steps = doc
        .pointer_mut(steps_path)
        .and_then(Value::as_array_mut)
        .ok_or_else(|| mismatch(steps_path))?;
    // Highest index first, so earlier removals do not shift later ones.
    removed.sort_unstable();
    removed.dedup();
    for index in removed.into_iter().rev() {
        steps.remove(index);
    }
    if let Value::Object(obj) = doc {
        match obj
            .entry("withheld")
            .or_insert_with(|| Value::Array(Vec::new()))
        {
            Value::Array(list) => list.extend(withheld),
            _ => {
                return Err(AdapterError::shape(
                    "/withheld",
                    "expected an array to list withheld steps in",
                ));
            }
        }
    }
    Ok(())
}

/// The array index in a step locator (`/steps/3` -> 3).
fn step_index(pointer: &str, steps_path: &str) -> Result<usize> {
    pointer
        .strip_prefix(steps_path)
        .and_then(|rest| rest.strip_prefix('/'))
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| mismatch(pointer))
}

/// The new arguments of a rewrite; a rewrite without them is an error, not
/// a silent pass of the original call.
pub(crate) fn rewrite_args<'a>(step: &Step, outcome: &'a StepOutcome) -> Result<&'a Value> {
    outcome.rewrite.as_ref().ok_or_else(|| {
        AdapterError::shape(
            &step.locator.pointer,
            format!("rewrite of {} has no new arguments", step.id),
        )
    })
}

fn mismatch(pointer: &str) -> AdapterError {
    AdapterError::shape(
        pointer,
        "the document does not match the plan it was read into",
    )
}
