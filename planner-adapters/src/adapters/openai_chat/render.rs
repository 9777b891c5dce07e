//! Writes decisions back into a Chat Completions document in place.
//!
//! Only the calls that were judged are touched, found by their locator
//! pointers: a rewritten call gets new `arguments`, a withheld call
//! (block / require_approval) is removed and its message gets the
//! explanation appended to `content`, so the model reads why and can
//! re-plan. When a message is left without calls, `tool_calls` /
//! `function_call` are removed and its choice's `finish_reason` becomes
//! `"stop"`, which is what the API returns for a plain text answer. Every
//! other field keeps its value and its position (serde_json's
//! `preserve_order`).
//!
//! Before editing, every locator is checked to point at a call of the
//! step's tool: a plan that does not match the document is an error, never
//! an edit of the wrong call.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::decision::{Outcomes, Verdict, explanation};
use crate::error::{AdapterError, Result};
use crate::plan::{Plan, Step};

/// One withheld call inside one message.
enum Withheld {
    /// Index into the message's `tool_calls`.
    ToolCall(usize),
    /// The message's legacy `function_call`.
    FunctionCall,
}

/// Writes `outcomes` into `doc` (a response, or a request whose proposed
/// calls sit in `messages`).
pub fn render(doc: &mut Value, plan: &Plan, outcomes: &Outcomes) -> Result<()> {
    // message pointer -> (withheld calls, explanations in call order)
    let mut withheld: BTreeMap<String, (Vec<Withheld>, Vec<String>)> = BTreeMap::new();
    for step in plan.proposed() {
        let Some(outcome) = outcomes.get(&step.id) else {
            continue;
        };
        let (message_ptr, which) = split_locator(step)?;
        check_call(doc, step)?;
        match outcome.verdict {
            Verdict::Allow => {}
            Verdict::Rewrite => {
                let new_args = outcome.rewrite.as_ref().ok_or_else(|| {
                    AdapterError::shape(
                        &step.locator.pointer,
                        format!("rewrite of {} has no new arguments", step.id),
                    )
                })?;
                rewrite_call(doc, step, new_args)?;
            }
            Verdict::Block | Verdict::RequireApproval => {
                let entry = withheld.entry(message_ptr).or_default();
                entry.0.push(which);
                entry.1.push(explanation(&step.tool, &step.id, outcome));
            }
        }
    }
    for (message_ptr, (mut calls, texts)) in withheld {
        let message = doc
            .pointer_mut(&message_ptr)
            .and_then(Value::as_object_mut)
            .ok_or_else(|| AdapterError::shape(&message_ptr, "expected a message object"))?;
        // Remove from the back so the earlier indices stay valid.
        calls.sort_by_key(|w| std::cmp::Reverse(tool_call_index(w)));
        for call in calls {
            match call {
                Withheld::ToolCall(j) => {
                    if let Some(Value::Array(list)) = message.get_mut("tool_calls")
                        && j < list.len()
                    {
                        list.remove(j);
                    }
                }
                Withheld::FunctionCall => {
                    message.shift_remove("function_call");
                }
            }
        }
        if message
            .get("tool_calls")
            .and_then(Value::as_array)
            .is_some_and(Vec::is_empty)
        {
            message.shift_remove("tool_calls");
        }
        append_text(
            message.entry("content").or_insert(Value::Null),
            &texts.join("\n\n"),
        );
        let calls_left = message.get("tool_calls").is_some_and(|v| !v.is_null())
            || message.get("function_call").is_some_and(|v| !v.is_null());
        if !calls_left
            && let Some(choice_ptr) = message_ptr.strip_suffix("/message")
            && let Some(choice) = doc.pointer_mut(choice_ptr).and_then(Value::as_object_mut)
        {
            choice.insert("finish_reason".into(), Value::String("stop".into()));
        }
    }
    Ok(())
}

fn tool_call_index(w: &Withheld) -> usize {
    match w {
        Withheld::ToolCall(j) => *j,
        Withheld::FunctionCall => usize::MAX,
    }
}

/// Splits `.../tool_calls/{j}` or `.../function_call` into the message
/// pointer and which call of it.
fn split_locator(step: &Step) -> Result<(String, Withheld)> {
    let ptr = &step.locator.pointer;
    if let Some(message) = ptr.strip_suffix("/function_call") {
        return Ok((message.to_owned(), Withheld::FunctionCall));
    }
    if let Some((list, j)) = ptr.rsplit_once('/')
        && let Some(message) = list.strip_suffix("/tool_calls")
        && let Ok(j) = j.parse::<usize>()
    {
        return Ok((message.to_owned(), Withheld::ToolCall(j)));
    }
    Err(AdapterError::shape(
        ptr.as_str(),
        format!("step {} has no Chat Completions call locator", step.id),
    ))
}

/// The name of the call at the step's locator must be the step's tool.
fn check_call(doc: &Value, step: &Step) -> Result<()> {
    let call = doc.pointer(&step.locator.pointer).ok_or_else(|| {
        AdapterError::shape(
            &step.locator.pointer,
            format!("no call here for step {}", step.id),
        )
    })?;
    let name = call
        .pointer("/function/name")
        .or_else(|| call.pointer("/custom/name"))
        .or_else(|| call.get("name"))
        .and_then(Value::as_str);
    if name != Some(step.tool.as_str()) {
        return Err(AdapterError::shape(
            &step.locator.pointer,
            format!(
                "the call here is not `{}` (step {}): the plan does not match the document",
                step.tool, step.id
            ),
        ));
    }
    Ok(())
}

/// Replaces the call's arguments: a JSON string for functions (as the API
/// sends them), the text itself for custom tools whose input is a string.
fn rewrite_call(doc: &mut Value, step: &Step, new_args: &Value) -> Result<()> {
    let ptr = &step.locator.pointer;
    let call = doc
        .pointer_mut(ptr)
        .and_then(Value::as_object_mut)
        .ok_or_else(|| AdapterError::shape(ptr.as_str(), "expected a call object"))?;
    if let Some(Value::Object(custom)) = call.get_mut("custom") {
        let input = match new_args {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        custom.insert("input".into(), Value::String(input));
        return Ok(());
    }
    // Legacy `function_call`: the call object is the function itself.
    let function = if call.get("function").is_some_and(Value::is_object) {
        call.get_mut("function")
            .and_then(Value::as_object_mut)
            .ok_or_else(|| AdapterError::shape(ptr.as_str(), "expected a function object"))?
    } else {
        call
    };
    function.insert("arguments".into(), Value::String(new_args.to_string()));
    Ok(())
}

/// Appends `text` to a message `content`: null becomes the text, a string
/// gets it after a blank line, an array of parts gets a new text part.
pub(crate) fn append_text(content: &mut Value, text: &str) {
    match content {
        Value::String(s) if !s.is_empty() => {
            s.push_str("\n\n");
            s.push_str(text);
        }
        Value::Array(parts) => {
            let mut part = serde_json::Map::new();
            part.insert("type".into(), Value::String("text".into()));
            part.insert("text".into(), Value::String(text.to_owned()));
            parts.push(Value::Object(part));
        }
        other => *other = Value::String(text.to_owned()),
    }
}
