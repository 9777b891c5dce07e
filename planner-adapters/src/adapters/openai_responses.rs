//! OpenAI Responses API: requests (`instructions`, `input`, `tools`),
//! response objects (`output`), and writing decisions back in place.
//!
//! Items read as calls: `function_call`, `custom_tool_call`, and the
//! client-executed built-ins `local_shell_call` and `computer_call` (their
//! `action` object is the arguments). Their outputs (`*_output` items) are
//! results matched by `call_id`. Server-side built-ins (`web_search_call`,
//! `file_search_call`, ...) already ran on OpenAI's side and `reasoning`
//! items carry no action, so both are skipped; non-function tool
//! definitions (`web_search`, `file_search`, ...) are not tool specs and are
//! left untouched in the document.
//!
//! Locators: `/input/{i}` for a call in a request, `/output/{i}` for one in
//! a response (the same pointer a streamed call gets, so a stream's
//! `response.completed` event is rendered with the same code).

pub(crate) mod render;

use serde_json::{Map, Value};

use crate::adapters::openai_chat::content_text;
use crate::error::{AdapterError, Result};
use crate::format::Format;
use crate::json::{self, child, type_name};
use crate::plan::{Args, Origin, Plan, ToolSpec};

pub use render::render;

/// Reads a Responses request (history: a call with no later output is
/// proposed), a response object (every call in `output` proposed), or a
/// document with both `input` and `output` (the `output` calls are the
/// proposed ones, every call in `input` is history).
pub fn read(doc: &Value) -> Result<Plan> {
    let obj = json::object(doc, "")?;
    if !obj.contains_key("input") && !obj.contains_key("output") {
        return Err(AdapterError::shape(
            "",
            "expected `input` (a Responses request) or `output` (a response object)",
        ));
    }
    let mut plan = Plan::new(Format::OpenaiResponses);
    read_tools(
        &mut plan,
        obj.get("tools").unwrap_or(&Value::Null),
        "/tools",
    )?;
    read_instructions(&mut plan, obj)?;
    if let Some(input) = obj.get("input") {
        read_input(&mut plan, input, "/input")?;
    }
    if let Some(output) = obj.get("output") {
        // With an output present, the input part is history.
        for i in 0..plan.steps.len() {
            plan.mark_executed(i);
        }
        read_items(&mut plan, output, "/output")?;
    }
    Ok(plan)
}

/// Reads an exchange: instructions, tools and history from `request`
/// (history calls count as executed), proposed calls from `response`'s
/// `output`. Tools come from the request, or from the response's echo of
/// them when the request has none.
pub fn read_exchange(request: &Value, response: &Value) -> Result<Plan> {
    let resp = json::object(response, "")?;
    let mut plan = read_history(request)?;
    if plan.tools.is_empty() {
        read_tools(
            &mut plan,
            resp.get("tools").unwrap_or(&Value::Null),
            "/tools",
        )?;
    }
    read_items(&mut plan, json::field(resp, "", "output")?, "/output")?;
    Ok(plan)
}

/// Reads a request as pure history: instructions, tools, input, every
/// call executed. The first half of [`read_exchange`], for a gateway that
/// gets the proposed calls from a stream
/// ([`crate::adapters::openai_responses_stream::push_ready_item`]).
pub fn read_history(request: &Value) -> Result<Plan> {
    let req = json::object(request, "")?;
    let mut plan = Plan::new(Format::OpenaiResponses);
    read_tools(
        &mut plan,
        req.get("tools").unwrap_or(&Value::Null),
        "/tools",
    )?;
    read_instructions(&mut plan, req)?;
    read_input(
        &mut plan,
        req.get("input").unwrap_or(&Value::Null),
        "/input",
    )?;
    for i in 0..plan.steps.len() {
        plan.mark_executed(i);
    }
    Ok(plan)
}

/// `tools`: `{type: "function", name, description, parameters}` and
/// `{type: "custom", name, description}` become tool specs; built-in tools
/// are skipped.
fn read_tools(plan: &mut Plan, tools: &Value, path: &str) -> Result<()> {
    if tools.is_null() {
        return Ok(());
    }
    for (i, tool) in json::array(tools, path)?.iter().enumerate() {
        let tpath = child(path, i);
        let obj = json::object(tool, &tpath)?;
        if !matches!(json::str_field(obj, &tpath, "type")?, "function" | "custom") {
            continue;
        }
        let input_schema = match obj.get("parameters") {
            None | Some(Value::Null) => None,
            Some(schema @ Value::Object(_)) => Some(schema.clone()),
            Some(other) => {
                return Err(AdapterError::shape(
                    child(&tpath, "parameters"),
                    format!("expected a JSON schema object, found {}", type_name(other)),
                ));
            }
        };
        plan.tools.push(ToolSpec {
            name: json::str_field(obj, &tpath, "name")?.to_owned(),
            description: json::opt_str(obj, &tpath, "description")?.map(str::to_owned),
            input_schema: input_schema.map(std::sync::Arc::new),
            annotations: Default::default(),
        });
    }
    Ok(())
}

/// `instructions`: a string (system text) or, in response objects built
/// from a stored prompt, a list of input items.
fn read_instructions(plan: &mut Plan, obj: &Map<String, Value>) -> Result<()> {
    match obj.get("instructions") {
        None | Some(Value::Null) => Ok(()),
        Some(Value::String(s)) => {
            plan.push_text(Origin::System, s.as_str());
            Ok(())
        }
        Some(items @ Value::Array(_)) => read_items(plan, items, "/instructions"),
        Some(other) => Err(AdapterError::shape(
            "/instructions",
            format!(
                "expected a string or a list of items, found {}",
                type_name(other)
            ),
        )),
    }
}

/// `input`: a string (one user message) or a list of items.
fn read_input(plan: &mut Plan, input: &Value, path: &str) -> Result<()> {
    match input {
        Value::Null => Ok(()),
        Value::String(s) => {
            plan.push_text(Origin::User, s.as_str());
            Ok(())
        }
        items => read_items(plan, items, path),
    }
}

/// A list of items, in order: messages, calls (pushed proposed; a later
/// output marks them executed), call outputs.
fn read_items(plan: &mut Plan, items: &Value, path: &str) -> Result<()> {
    for (i, item) in json::array(items, path)?.iter().enumerate() {
        read_item(plan, item, &child(path, i), (items, path))?;
    }
    Ok(())
}

/// The item `id` of a step read from the list `items` at `path`.
fn item_id_of<'a>((items, path): (&'a Value, &str), step: &crate::plan::Step) -> Option<&'a str> {
    let rest = step.locator.pointer.strip_prefix(path)?.strip_prefix('/')?;
    items.get(rest.parse::<usize>().ok()?)?.get("id")?.as_str()
}

/// One item at `path`; `list` is the list it belongs to and that list's path.
fn read_item(plan: &mut Plan, item: &Value, path: &str, list: (&Value, &str)) -> Result<()> {
    let obj = json::object(item, path)?;
    // `{role, content}` without a type is the "easy" input message form.
    let ty = json::opt_str(obj, path, "type")?.unwrap_or("message");
    match ty {
        "message" => read_message(plan, obj, path)?,
        "function_call" => {
            let args = match obj.get("arguments") {
                None | Some(Value::Null) => Args::from_text(""),
                Some(Value::String(raw)) => Args::from_text(raw),
                Some(value @ (Value::Object(_) | Value::Array(_))) => Args::Json {
                    value: value.clone(),
                },
                Some(other) => {
                    return Err(AdapterError::shape(
                        child(path, "arguments"),
                        format!("expected a JSON string, found {}", type_name(other)),
                    ));
                }
            };
            push_call(plan, obj, path, json::str_field(obj, path, "name")?, args)?;
        }
        "custom_tool_call" => {
            let input = json::opt_str(obj, path, "input")?.unwrap_or("");
            let args = Args::Json {
                value: Value::String(input.to_owned()),
            };
            push_call(plan, obj, path, json::str_field(obj, path, "name")?, args)?;
        }
        "local_shell_call" | "computer_call" => {
            let action = json::field(obj, path, "action")?;
            json::object(action, &child(path, "action"))?;
            let tool = if ty == "computer_call" {
                "computer"
            } else {
                "local_shell"
            };
            let args = Args::Json {
                value: action.clone(),
            };
            push_call(plan, obj, path, tool, args)?;
        }
        "function_call_output"
        | "custom_tool_call_output"
        | "computer_call_output"
        | "local_shell_call_output" => {
            let call_id = match json::opt_str(obj, path, "call_id")? {
                Some(id) => Some(id.to_owned()),
                // `local_shell_call_output` names its call by `id`: the
                // call's `call_id`, or its item id (`lsh_...`).
                None => json::opt_str(obj, path, "id")?.map(|id| {
                    plan.steps
                        .iter()
                        .find(|s| s.id == id)
                        .or_else(|| plan.steps.iter().find(|s| item_id_of(list, s) == Some(id)))
                        .map_or_else(|| id.to_owned(), |s| s.id.clone())
                }),
            };
            let output = obj.get("output").unwrap_or(&Value::Null);
            plan.push_result(call_id.as_deref(), json::content_text(output));
        }
        // Reasoning, references, server-side tool calls: no action to judge.
        _ => {}
    }
    Ok(())
}

/// A call item: its id is the `call_id` that outputs refer to.
fn push_call(
    plan: &mut Plan,
    obj: &Map<String, Value>,
    path: &str,
    tool: &str,
    args: Args,
) -> Result<()> {
    let call_id = match json::opt_str(obj, path, "call_id")? {
        Some(id) => Some(id),
        None => json::opt_str(obj, path, "id")?,
    };
    plan.push_step(call_id, tool, args, path.to_owned());
    Ok(())
}

fn read_message(plan: &mut Plan, obj: &Map<String, Value>, path: &str) -> Result<()> {
    let role = json::str_field(obj, path, "role")?;
    let origin = match role {
        "system" | "developer" => Origin::System,
        "user" => Origin::User,
        "assistant" => Origin::Assistant,
        other => {
            return Err(AdapterError::shape(
                child(path, "role"),
                format!("unknown role `{other}` (expected system, developer, user or assistant)"),
            ));
        }
    };
    let content = obj.get("content").unwrap_or(&Value::Null);
    plan.push_text(origin, content_text(content, &child(path, "content"))?);
    Ok(())
}
