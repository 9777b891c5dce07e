//! LangChain / LangGraph serialized messages.
//!
//! Accepted documents: a message list, a LangGraph state `{"messages": [...]}`,
//! or one message. Each message is in one of three forms:
//!
//! - `messages_to_dict`: `{"type": "ai", "data": {"content": ..., "tool_calls": [...]}}`
//! - `dumpd` constructor: `{"lc": 1, "type": "constructor", "id": [..., "AIMessage"], "kwargs": {...}}`
//! - plain dict: `{"type": "ai", "content": ..., "tool_calls": [...]}` (`role` is
//!   accepted in place of `type`, with the OpenAI role names)
//!
//! An AI message's `tool_calls` (`{"name", "args": object, "id"}`) become steps;
//! `invalid_tool_calls` (`{"name", "args": string, "id", "error"}`) become steps
//! with malformed arguments, so a call the model botched is judged, not lost;
//! older serializations that carry calls only in `additional_kwargs.tool_calls`
//! (OpenAI wire form) are read from there. A tool message answers a call by
//! `tool_call_id`. The calls of the trailing AI message (one followed by
//! nothing but tool messages) that have no answer yet are proposed; every
//! other call is history and counts as executed.
//!
//! Rendering edits the AI message in place: a withheld call is removed from
//! `tool_calls` / `invalid_tool_calls`, from `additional_kwargs.tool_calls`
//! and from `tool_use` content parts with the same id, and the explanation is
//! appended to the message content; a rewrite replaces `args` (and the
//! `arguments` text of the matching `additional_kwargs` entry). A rewritten
//! invalid call moves to `tool_calls`, since LangChain never runs invalid ones.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use crate::adapters::generic::rewrite_args;
use crate::decision::{Outcomes, StepOutcome, Verdict, explanation};
use crate::error::{AdapterError, Result};
use crate::format::Format;
use crate::json::{self, child};
use crate::plan::{Args, Origin, Plan, Step};

/// The role of a message, whatever form named it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Human,
    Ai,
    Tool,
    System,
}

/// Where the call list of a step lives inside its message body.
const CALL_LISTS: [&str; 3] = [
    "additional_kwargs/tool_calls",
    "invalid_tool_calls",
    "tool_calls",
];

/// Reads a message list, a LangGraph state, or one message.
pub fn read(doc: &Value) -> Result<Plan> {
    let (messages, list_path): (&[Value], &str) = match doc {
        Value::Array(messages) => (messages, ""),
        Value::Object(obj) if obj.contains_key("messages") && !obj.contains_key("lc") => (
            json::array(json::field(obj, "", "messages")?, "/messages")?,
            "/messages",
        ),
        Value::Object(_) => (std::slice::from_ref(doc), ""),
        other => {
            return Err(AdapterError::shape(
                "",
                format!(
                    "expected LangChain messages, found {}",
                    json::type_name(other)
                ),
            ));
        }
    };
    // A lone message sits at the root: its pointer is "" rather than "/0".
    let single = !doc.is_array() && list_path.is_empty();
    let mut bodies = Vec::with_capacity(messages.len());
    for (i, message) in messages.iter().enumerate() {
        let path = if single {
            String::new()
        } else {
            child(list_path, i)
        };
        bodies.push(unwrap_message(message, &path)?);
    }
    let trailing_ai = bodies
        .iter()
        .rposition(|(role, _, _)| *role != Role::Tool)
        .filter(|&i| bodies[i].0 == Role::Ai);

    let mut plan = Plan::new(Format::Langchain);
    // Steps of AI messages before the trailing one: history, executed.
    let mut history_end = 0;
    for (i, (role, body, path)) in bodies.iter().enumerate() {
        if Some(i) == trailing_ai {
            history_end = plan.steps.len();
        }
        match role {
            Role::Human => {
                plan.push_text(Origin::User, text_of(body.get("content"), path)?);
            }
            Role::System => {
                plan.push_text(Origin::System, text_of(body.get("content"), path)?);
            }
            Role::Ai => {
                plan.push_text(Origin::Assistant, text_of(body.get("content"), path)?);
                read_calls(&mut plan, body, path)?;
            }
            Role::Tool => {
                let call_id = json::opt_str(body, path, "tool_call_id")?;
                let content = body
                    .get("content")
                    .map(json::content_text)
                    .unwrap_or_default();
                plan.push_result(call_id, content);
            }
        }
    }
    if trailing_ai.is_none() {
        history_end = plan.steps.len();
    }
    for index in 0..history_end {
        plan.mark_executed(index);
    }
    Ok(plan)
}

/// Finds the role and the body (the object holding `content`, `tool_calls`)
/// of a message in any of the three forms, with the body's pointer.
fn unwrap_message<'a>(
    message: &'a Value,
    path: &str,
) -> Result<(Role, &'a Map<String, Value>, String)> {
    let obj = json::object(message, path)?;
    if obj.contains_key("lc") {
        let id_path = child(path, "id");
        let class = json::array(json::field(obj, path, "id")?, &id_path)?
            .last()
            .and_then(Value::as_str)
            .ok_or_else(|| {
                AdapterError::shape(
                    &id_path,
                    "expected a class path ending in a message class name",
                )
            })?;
        let role = role_of_class(class).ok_or_else(|| {
            AdapterError::shape(&id_path, format!("`{class}` is not a message class"))
        })?;
        let body_path = child(path, "kwargs");
        let body = json::object(json::field(obj, path, "kwargs")?, &body_path)?;
        return Ok((role, body, body_path));
    }
    let (ty, ty_path) = match json::opt_str(obj, path, "type")? {
        Some(ty) => (ty, child(path, "type")),
        None => (json::str_field(obj, path, "role")?, child(path, "role")),
    };
    let role = role_of_type(ty).ok_or_else(|| {
        AdapterError::shape(&ty_path, format!("`{ty}` is not a LangChain message type"))
    })?;
    match obj.get("data") {
        Some(data) if !obj.contains_key("content") => {
            let body_path = child(path, "data");
            Ok((role, json::object(data, &body_path)?, body_path))
        }
        _ => Ok((role, obj, path.to_owned())),
    }
}

fn role_of_type(ty: &str) -> Option<Role> {
    match ty {
        "human" | "user" => Some(Role::Human),
        "ai" | "assistant" | "AIMessageChunk" => Some(Role::Ai),
        "tool" | "function" => Some(Role::Tool),
        "system" | "developer" => Some(Role::System),
        other => role_of_class(other),
    }
}

fn role_of_class(class: &str) -> Option<Role> {
    match class {
        "HumanMessage" | "HumanMessageChunk" => Some(Role::Human),
        "AIMessage" | "AIMessageChunk" => Some(Role::Ai),
        "ToolMessage" | "ToolMessageChunk" | "FunctionMessage" => Some(Role::Tool),
        "SystemMessage" | "SystemMessageChunk" => Some(Role::System),
        _ => None,
    }
}

/// The text of a message's content: a string, or the text parts of a part
/// list (images, `tool_use` parts and the like carry no conversation text).
fn text_of(content: Option<&Value>, path: &str) -> Result<String> {
    match content {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Array(parts)) => {
            let texts: Vec<&str> = parts
                .iter()
                .filter_map(|part| match part {
                    Value::String(s) => Some(s.as_str()),
                    Value::Object(o) if o.get("type").and_then(Value::as_str) == Some("text") => {
                        o.get("text").and_then(Value::as_str)
                    }
                    _ => None,
                })
                .collect();
            Ok(texts.join("\n"))
        }
        Some(other) => Err(AdapterError::shape(
            child(path, "content"),
            format!(
                "expected a string or a list of parts, found {}",
                json::type_name(other)
            ),
        )),
    }
}

fn read_calls(plan: &mut Plan, body: &Map<String, Value>, path: &str) -> Result<()> {
    let calls = json::opt_array(body, path, "tool_calls")?;
    let invalid = json::opt_array(body, path, "invalid_tool_calls")?;
    for (i, call) in calls.iter().enumerate() {
        let call_path = child(&child(path, "tool_calls"), i);
        let obj = json::object(call, &call_path)?;
        let name = json::str_field(obj, &call_path, "name")?;
        let id = json::opt_str(obj, &call_path, "id")?;
        let args = match obj.get("args") {
            None | Some(Value::Null) => Args::Json {
                value: Value::Object(Map::new()),
            },
            Some(value @ Value::Object(_)) => Args::Json {
                value: value.clone(),
            },
            Some(Value::String(raw)) => Args::from_text(raw),
            Some(other) => {
                return Err(AdapterError::shape(
                    child(&call_path, "args"),
                    format!("expected an object, found {}", json::type_name(other)),
                ));
            }
        };
        plan.push_step(id, name, args, call_path);
    }
    for (i, call) in invalid.iter().enumerate() {
        let call_path = child(&child(path, "invalid_tool_calls"), i);
        let obj = json::object(call, &call_path)?;
        let name = json::opt_str(obj, &call_path, "name")?.unwrap_or_default();
        let id = json::opt_str(obj, &call_path, "id")?;
        let raw = match obj.get("args") {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
        };
        let error = json::opt_str(obj, &call_path, "error")?
            .unwrap_or("LangChain marked this tool call invalid")
            .to_owned();
        plan.push_step(id, name, Args::Malformed { raw, error }, call_path);
    }
    // Older serializations keep calls only in the provider's own form.
    if calls.is_empty() && invalid.is_empty() {
        let legacy = body
            .get("additional_kwargs")
            .and_then(Value::as_object)
            .and_then(|kw| kw.get("tool_calls"))
            .and_then(Value::as_array);
        let list_path = child(&child(path, "additional_kwargs"), "tool_calls");
        for (i, call) in legacy.into_iter().flatten().enumerate() {
            let call_path = child(&list_path, i);
            let obj = json::object(call, &call_path)?;
            let fn_path = child(&call_path, "function");
            let function = json::object(json::field(obj, &call_path, "function")?, &fn_path)?;
            let name = json::str_field(function, &fn_path, "name")?;
            let args = match function.get("arguments") {
                None | Some(Value::Null) => Args::from_text(""),
                Some(Value::String(raw)) => Args::from_text(raw),
                Some(value) => Args::Json {
                    value: value.clone(),
                },
            };
            plan.push_step(json::opt_str(obj, &call_path, "id")?, name, args, call_path);
        }
    }
    Ok(())
}

/// One step's place: the message body pointer, which call list, which index.
struct Place<'a> {
    list: &'static str,
    index: usize,
    step: &'a Step,
    outcome: &'a StepOutcome,
}

/// Splits a step locator into the message body pointer and its [`Place`].
fn split_locator<'a>(step: &'a Step, outcome: &'a StepOutcome) -> Result<(String, Place<'a>)> {
    let pointer = step.locator.pointer.as_str();
    let (prefix, index) = pointer
        .rsplit_once('/')
        .and_then(|(p, n)| Some((p, n.parse::<usize>().ok()?)))
        .ok_or_else(|| mismatch(pointer))?;
    for list in CALL_LISTS {
        if let Some(body) = prefix.strip_suffix(list).and_then(|b| b.strip_suffix('/')) {
            return Ok((
                body.to_owned(),
                Place {
                    list,
                    index,
                    step,
                    outcome,
                },
            ));
        }
    }
    Err(mismatch(pointer))
}

/// Writes outcomes back into the AI messages the proposed calls came from.
pub fn render(doc: &mut Value, plan: &Plan, outcomes: &Outcomes) -> Result<()> {
    let mut by_message: BTreeMap<String, Vec<Place<'_>>> = BTreeMap::new();
    for step in plan.proposed() {
        if let Some(outcome) = outcomes.get(&step.id) {
            let (body, place) = split_locator(step, outcome)?;
            by_message.entry(body).or_default().push(place);
        }
    }
    for (body_path, places) in by_message {
        let body = doc
            .pointer_mut(&body_path)
            .and_then(Value::as_object_mut)
            .ok_or_else(|| mismatch(&body_path))?;
        render_message(body, &body_path, &places)?;
    }
    Ok(())
}

fn render_message(
    body: &mut Map<String, Value>,
    body_path: &str,
    places: &[Place<'_>],
) -> Result<()> {
    let mut remove: BTreeMap<&'static str, BTreeSet<usize>> = BTreeMap::new();
    // Wire ids of withheld calls, to drop their twins in other lists.
    let mut withheld_ids: BTreeSet<String> = BTreeSet::new();
    let mut rewritten: BTreeMap<String, &Value> = BTreeMap::new();
    let mut moved: Vec<Value> = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    for place in places {
        let call = call_mut(body, place.list, place.index)
            .filter(|c| {
                call_name(c, place.list) == Some(place.step.tool.as_str())
                    || place.list == "invalid_tool_calls"
            })
            .ok_or_else(|| mismatch(&place.step.locator.pointer))?;
        let wire_id = call.get("id").and_then(Value::as_str).map(str::to_owned);
        let outcome = place.outcome;
        if outcome.verdict.withholds() {
            remove.entry(place.list).or_default().insert(place.index);
            withheld_ids.extend(wire_id);
            // LangChain allows a nameless invalid call; the model still
            // needs a readable sentence about it.
            let tool = match place.step.tool.as_str() {
                "" => "unnamed tool",
                name => name,
            };
            notes.push(explanation(tool, &place.step.id, outcome));
        } else if outcome.verdict == Verdict::Rewrite {
            let new_args = rewrite_args(place.step, outcome)?;
            match place.list {
                "tool_calls" => {
                    call.insert("args".to_owned(), new_args.clone());
                    if let Some(id) = wire_id {
                        rewritten.insert(id, new_args);
                    }
                }
                "invalid_tool_calls" => {
                    if place.step.tool.is_empty() {
                        return Err(AdapterError::shape(
                            &place.step.locator.pointer,
                            format!(
                                "cannot rewrite {}: the invalid call names no tool",
                                place.step.id
                            ),
                        ));
                    }
                    remove.entry(place.list).or_default().insert(place.index);
                    moved.push(json!({
                        "name": place.step.tool,
                        "args": new_args,
                        "id": wire_id,
                        "type": "tool_call",
                    }));
                }
                _ => set_arguments(call, new_args),
            }
        }
    }
    for (list, indices) in &remove {
        if let Some(items) = list_mut(body, list) {
            for &i in indices.iter().rev() {
                if i < items.len() {
                    items.remove(i);
                }
            }
        }
    }
    if !moved.is_empty() {
        match body
            .entry("tool_calls")
            .or_insert_with(|| Value::Array(Vec::new()))
        {
            Value::Array(calls) => calls.extend(moved),
            _ => {
                return Err(AdapterError::shape(
                    child(body_path, "tool_calls"),
                    "expected an array",
                ));
            }
        }
    }
    // Keep the provider-form twins and Anthropic `tool_use` parts in step
    // with `tool_calls`: an agent reading either must see the same calls.
    let same_id = |v: &Value, ids: &BTreeSet<String>| {
        v.get("id")
            .and_then(Value::as_str)
            .is_some_and(|id| ids.contains(id))
    };
    if let Some(twins) = list_mut(body, "additional_kwargs/tool_calls") {
        twins.retain(|c| !same_id(c, &withheld_ids));
        for twin in twins.iter_mut() {
            let id = twin.get("id").and_then(Value::as_str).map(str::to_owned);
            if let (Some(new_args), Some(obj)) =
                (id.and_then(|id| rewritten.get(&id)), twin.as_object_mut())
            {
                set_arguments(obj, new_args);
            }
        }
    }
    if let Some(Value::Array(parts)) = body.get_mut("content") {
        let is_tool_use = |p: &Value| p.get("type").and_then(Value::as_str) == Some("tool_use");
        parts.retain(|p| !(is_tool_use(p) && same_id(p, &withheld_ids)));
        for part in parts.iter_mut().filter(|p| is_tool_use(p)) {
            let id = part.get("id").and_then(Value::as_str).map(str::to_owned);
            if let (Some(new_args), Some(obj)) =
                (id.and_then(|id| rewritten.get(&id)), part.as_object_mut())
            {
                obj.insert("input".to_owned(), (*new_args).clone());
            }
        }
    }
    if !notes.is_empty() {
        append_text(body, &notes.join("\n"));
    }
    Ok(())
}

fn list_mut<'a>(body: &'a mut Map<String, Value>, list: &str) -> Option<&'a mut Vec<Value>> {
    match list.split_once('/') {
        Some((outer, inner)) => body.get_mut(outer)?.get_mut(inner)?.as_array_mut(),
        None => body.get_mut(list)?.as_array_mut(),
    }
}

fn call_mut<'a>(
    body: &'a mut Map<String, Value>,
    list: &str,
    index: usize,
) -> Option<&'a mut Map<String, Value>> {
    list_mut(body, list)?.get_mut(index)?.as_object_mut()
}

fn call_name<'a>(call: &'a Map<String, Value>, list: &str) -> Option<&'a str> {
    if list == "additional_kwargs/tool_calls" {
        call.get("function")?.get("name")?.as_str()
    } else {
        call.get("name")?.as_str()
    }
}

/// Sets the OpenAI-form `function.arguments` text of a call.
fn set_arguments(call: &mut Map<String, Value>, new_args: &Value) {
    if let Some(Value::Object(function)) = call.get_mut("function") {
        function.insert("arguments".to_owned(), Value::String(new_args.to_string()));
    }
}

/// Appends text to a message's content, string or part list.
fn append_text(body: &mut Map<String, Value>, text: &str) {
    match body.get_mut("content") {
        Some(Value::String(s)) if !s.is_empty() => {
            s.push_str("\n\n");
            s.push_str(text);
        }
        Some(Value::Array(parts)) => parts.push(json!({"type": "text", "text": text})),
        _ => {
            body.insert("content".to_owned(), Value::String(text.to_owned()));
        }
    }
}

fn mismatch(pointer: &str) -> AdapterError {
    AdapterError::shape(
        pointer,
        "the document does not match the plan it was read into",
    )
}
