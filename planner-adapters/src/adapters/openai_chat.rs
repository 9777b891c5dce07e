//! OpenAI Chat Completions: requests (`messages`, `tools`, legacy
//! `functions`), responses (`choices`), and writing decisions back into a
//! response in place.
//!
//! Reading is strict about types (a wrong type is an [`AdapterError::Shape`]
//! naming the JSON pointer) and lenient about everything it does not need:
//! unknown fields, content parts and tool types are skipped, never rejected,
//! because providers add fields faster than gateways are updated. What it
//! must not do is skip a *tool call* it cannot read: a call that is not
//! judged would pass silently, so an unknown call type is an error.
//!
//! The message and tool readers are `pub(crate)` so that the eval-case
//! adapter, whose cases are OpenAI chat messages, shares them.
//!
//! Locators: a call in a request points at `/messages/{i}/tool_calls/{j}`
//! (or `/messages/{i}/function_call`), a call in a response at
//! `/choices/{c}/message/tool_calls/{j}` (or `.../function_call`).

mod render;
pub mod typed;

use serde_json::{Map, Value};

use crate::error::{AdapterError, Result};
use crate::format::Format;
use crate::json::{self, child, type_name};
use crate::plan::{Args, Origin, Plan};

pub use render::render;

/// Reads a Chat Completions request (the history: a call with no later tool
/// result is proposed, the others executed), a response (every call
/// proposed), or a document with both `messages` and `choices` (the calls in
/// `choices` are the proposed ones, every call in `messages` is history).
pub fn read(doc: &Value) -> Result<Plan> {
    read_with(doc, &mut Taken::default())
}

/// [`read`] of a document the caller gives away ([`crate::parse`]): message
/// texts are moved into the plan instead of copied (in a long history they
/// are most of the bytes).
pub(crate) fn read_owned(mut doc: Value) -> Result<Plan> {
    let mut taken = Taken::from_messages(&mut doc);
    read_with(&doc, &mut taken)
}

fn read_with(doc: &Value, taken: &mut Taken) -> Result<Plan> {
    let obj = json::object(doc, "")?;
    if !obj.contains_key("messages") && !obj.contains_key("choices") {
        return Err(AdapterError::shape(
            "",
            "expected `messages` (a Chat Completions request) or `choices` (a response)",
        ));
    }
    let mut plan = Plan::new(Format::OpenaiChat);
    read_request_tools(&mut plan, obj)?;
    if let Some(messages) = obj.get("messages") {
        read_messages_with(&mut plan, messages, "/messages", taken)?;
    }
    if let Some(choices) = obj.get("choices") {
        // With a response present, the request part is history.
        for i in 0..plan.steps.len() {
            plan.mark_executed(i);
        }
        read_choices(&mut plan, choices, "/choices")?;
    }
    Ok(plan)
}

/// String `content`s of the `messages` of an owned document, moved out
/// (the document keeps an empty string in their place) and handed back by
/// message index when that message is read. Only plain string contents are
/// taken: reading one can neither fail nor differ, so a plan read with them
/// is the plan [`read`] gives.
#[derive(Debug, Default)]
struct Taken(Vec<Option<String>>);

impl Taken {
    fn from_messages(doc: &mut Value) -> Self {
        let Some(Value::Array(messages)) = doc.get_mut("messages") else {
            return Taken::default();
        };
        Taken(
            messages
                .iter_mut()
                .map(|m| match m.get_mut("content") {
                    Some(Value::String(text)) => Some(std::mem::take(text)),
                    _ => None,
                })
                .collect(),
        )
    }

    /// The text of message `i` (at `path`), if it was taken; else reads
    /// `content`.
    fn text(&mut self, i: usize, content: &Value, path: &str) -> Result<String> {
        match self.0.get_mut(i).and_then(Option::take) {
            Some(text) => Ok(text),
            None => message_text(content, path),
        }
    }
}

/// Reads an exchange: tools and history from `request`, proposed calls from
/// `response`. History calls left without a result are taken as executed
/// (the response, not the request, is what is being judged); the locators of
/// proposed steps point into `response`.
pub fn read_exchange(request: &Value, response: &Value) -> Result<Plan> {
    let mut plan = read_history(request)?;
    let resp = json::object(response, "")?;
    read_choices(&mut plan, json::field(resp, "", "choices")?, "/choices")?;
    Ok(plan)
}

/// Reads a request as pure history: tools, text, and every call executed.
/// This is the first half of [`read_exchange`], for a gateway that gets the
/// proposed calls from a stream
/// ([`crate::adapters::openai_chat_stream::push_ready_call`]).
pub fn read_history(request: &Value) -> Result<Plan> {
    let req = json::object(request, "")?;
    let mut plan = Plan::new(Format::OpenaiChat);
    read_request_tools(&mut plan, req)?;
    let messages = json::field(req, "", "messages")?;
    read_messages(&mut plan, messages, "/messages")?;
    for i in 0..plan.steps.len() {
        plan.mark_executed(i);
    }
    Ok(plan)
}

/// `tools` and legacy `functions` of a request object.
fn read_request_tools(plan: &mut Plan, obj: &Map<String, Value>) -> Result<()> {
    if let Some(tools) = obj.get("tools") {
        read_tools(plan, tools, "/tools")?;
    }
    if let Some(functions) = obj.get("functions") {
        read_tools(plan, functions, "/functions")?;
    }
    Ok(())
}

/// Reads tool definitions at `path` into `plan.tools`.
///
/// Accepts the `tools` shape (`{"type": "function", "function": {name,
/// description, parameters}}`), custom tools (`{"type": "custom", "custom":
/// {name, description}}`) and the legacy `functions` shape (`{name,
/// description, parameters}`). Null means no tools; other tool types
/// (built-in tools) carry no schema to judge and are skipped.
pub(crate) fn read_tools(plan: &mut Plan, tools: &Value, path: &str) -> Result<()> {
    if tools.is_null() {
        return Ok(());
    }
    for (i, tool) in json::array(tools, path)?.iter().enumerate() {
        let tpath = child(path, i);
        let obj = json::object(tool, &tpath)?;
        let (def, dpath) = match json::opt_str(obj, &tpath, "type")? {
            Some("function") | None if obj.contains_key("function") => {
                let dpath = child(&tpath, "function");
                (
                    json::object(json::field(obj, &tpath, "function")?, &dpath)?,
                    dpath,
                )
            }
            Some("custom") => {
                let dpath = child(&tpath, "custom");
                (
                    json::object(json::field(obj, &tpath, "custom")?, &dpath)?,
                    dpath,
                )
            }
            // Legacy `functions` entry: the definition is the item itself.
            None => (obj, tpath.clone()),
            Some("function") => {
                return Err(AdapterError::shape(
                    child(&tpath, "function"),
                    "missing required field",
                ));
            }
            Some(_) => continue,
        };
        let name = json::str_field(def, &dpath, "name")?;
        let description = json::opt_str(def, &dpath, "description")?;
        let input_schema = match def.get("parameters") {
            None | Some(Value::Null) => None,
            Some(schema @ Value::Object(_)) => Some(schema.clone()),
            Some(other) => {
                return Err(AdapterError::shape(
                    child(&dpath, "parameters"),
                    format!("expected a JSON schema object, found {}", type_name(other)),
                ));
            }
        };
        plan.tools.push(crate::plan::ToolSpec {
            name: name.to_owned(),
            description: description.map(str::to_owned),
            input_schema: input_schema.map(std::sync::Arc::new),
            annotations: Default::default(),
        });
    }
    Ok(())
}

/// Reads a `messages` array at `path` as history: text segments with their
/// origins, assistant calls as steps, and tool results that mark the call
/// they answer as executed. A call with no later result stays proposed.
///
/// Roles: `system`/`developer` are system text, `user` sets the goal,
/// `assistant` carries text and calls, `tool` answers by `tool_call_id`,
/// legacy `function` answers the latest unanswered call of that name.
pub(crate) fn read_messages(plan: &mut Plan, messages: &Value, path: &str) -> Result<()> {
    read_messages_with(plan, messages, path, &mut Taken::default())
}

fn read_messages_with(
    plan: &mut Plan,
    messages: &Value,
    path: &str,
    taken: &mut Taken,
) -> Result<()> {
    for (i, message) in json::array(messages, path)?.iter().enumerate() {
        read_message(plan, message, &child(path, i), |content, mpath| {
            taken.text(i, content, mpath)
        })?;
    }
    Ok(())
}

/// Reads one assistant message whose calls are all proposed (a response's
/// `message`, or an eval case's `proposed`).
pub(crate) fn read_proposed_message(plan: &mut Plan, message: &Value, path: &str) -> Result<()> {
    let obj = json::object(message, path)?;
    read_assistant(plan, obj, path, message_text)
}

/// One message at `path`; `text_of(content, path)` gives its text (read
/// from `content`, or moved out of an owned document).
fn read_message(
    plan: &mut Plan,
    message: &Value,
    path: &str,
    mut text_of: impl FnMut(&Value, &str) -> Result<String>,
) -> Result<()> {
    let obj = json::object(message, path)?;
    let role = json::str_field(obj, path, "role")?;
    let content = obj.get("content").unwrap_or(&Value::Null);
    match role {
        "system" | "developer" => {
            plan.push_text(Origin::System, text_of(content, path)?);
        }
        "user" => {
            plan.push_text(Origin::User, text_of(content, path)?);
        }
        "assistant" => read_assistant(plan, obj, path, text_of)?,
        "tool" => {
            let call_id = json::opt_str(obj, path, "tool_call_id")?;
            plan.push_result(call_id, text_of(content, path)?);
        }
        "function" => {
            let name = json::str_field(obj, path, "name")?;
            let text = text_of(content, path)?;
            plan.push_function_result(name, text);
        }
        other => {
            return Err(AdapterError::shape(
                child(path, "role"),
                format!(
                    "unknown role `{other}` (expected system, developer, user, assistant, tool or function)"
                ),
            ));
        }
    }
    Ok(())
}

/// An assistant message: its text (content and `refusal`), then its calls,
/// pushed as proposed steps.
fn read_assistant(
    plan: &mut Plan,
    obj: &Map<String, Value>,
    path: &str,
    mut text_of: impl FnMut(&Value, &str) -> Result<String>,
) -> Result<()> {
    let content = obj.get("content").unwrap_or(&Value::Null);
    plan.push_text(Origin::Assistant, text_of(content, path)?);
    if let Some(refusal) = json::opt_str(obj, path, "refusal")? {
        plan.push_text(Origin::Assistant, refusal);
    }
    let calls = json::opt_array(obj, path, "tool_calls")?;
    if !calls.is_empty() {
        let calls_path = child(path, "tool_calls");
        for (j, call) in calls.iter().enumerate() {
            read_tool_call(plan, call, &child(&calls_path, j))?;
        }
    }
    match obj.get("function_call") {
        None | Some(Value::Null) => {}
        Some(call) => {
            let fpath = child(path, "function_call");
            let (name, args) = read_function(call, &fpath)?;
            plan.push_step(None, name, args, fpath);
        }
    }
    Ok(())
}

/// One entry of `tool_calls`: `{id, type: "function", function: {name,
/// arguments}}`, or a custom tool call `{id, type: "custom", custom: {name,
/// input}}` whose free-text input becomes a JSON string argument.
fn read_tool_call(plan: &mut Plan, call: &Value, path: &str) -> Result<()> {
    let obj = json::object(call, path)?;
    let id = json::opt_str(obj, path, "id")?;
    match json::opt_str(obj, path, "type")? {
        None | Some("function") => {
            let fpath = child(path, "function");
            let (name, args) = read_function(json::field(obj, path, "function")?, &fpath)?;
            plan.push_step(id, name, args, path.to_owned());
        }
        Some("custom") => {
            let cpath = child(path, "custom");
            let custom = json::object(json::field(obj, path, "custom")?, &cpath)?;
            let name = json::str_field(custom, &cpath, "name")?;
            let input = json::opt_str(custom, &cpath, "input")?.unwrap_or("");
            let args = Args::Json {
                value: Value::String(input.to_owned()),
            };
            plan.push_step(id, name, args, path.to_owned());
        }
        // A call we cannot read would pass unjudged: refuse the document.
        Some(other) => {
            return Err(AdapterError::shape(
                child(path, "type"),
                format!("unsupported tool call type `{other}` (expected function or custom)"),
            ));
        }
    }
    Ok(())
}

/// `{name, arguments}` of a function call. Arguments are a JSON string as
/// the API documents; an object or array (some compatible servers send one)
/// is taken as already parsed; absent or null is `{}`.
fn read_function(call: &Value, path: &str) -> Result<(String, Args)> {
    let obj = json::object(call, path)?;
    let name = json::str_field(obj, path, "name")?;
    let args = match obj.get("arguments") {
        None | Some(Value::Null) => Args::from_text(""),
        Some(Value::String(raw)) => Args::from_text(raw),
        Some(value @ (Value::Object(_) | Value::Array(_))) => Args::Json {
            value: value.clone(),
        },
        Some(other) => {
            return Err(AdapterError::shape(
                child(path, "arguments"),
                format!(
                    "expected a JSON string or object, found {}",
                    type_name(other)
                ),
            ));
        }
    };
    Ok((name.to_owned(), args))
}

/// Reads a response's `choices`: each choice's message, all calls proposed.
fn read_choices(plan: &mut Plan, choices: &Value, path: &str) -> Result<()> {
    for (c, choice) in json::array(choices, path)?.iter().enumerate() {
        let cpath = child(path, c);
        let obj = json::object(choice, &cpath)?;
        let message = json::field(obj, &cpath, "message")?;
        read_proposed_message(plan, message, &child(&cpath, "message"))?;
    }
    Ok(())
}

/// The text of the `content` of the message at `path`: a plain string or
/// null directly (the common case, without building the content's pointer),
/// else through [`content_text`].
fn message_text(content: &Value, path: &str) -> Result<String> {
    match content {
        Value::Null => Ok(String::new()),
        Value::String(s) => Ok(s.clone()),
        other => content_text(other, &child(path, "content")),
    }
}

/// The text of a message `content`: a string, null, or an array of content
/// parts whose `text` (or `refusal`) parts are joined with newlines. Parts
/// without text (images, audio, files) are skipped.
pub(crate) fn content_text(content: &Value, path: &str) -> Result<String> {
    match content {
        Value::Null => Ok(String::new()),
        Value::String(s) => Ok(s.clone()),
        Value::Array(parts) => {
            let mut out = String::new();
            for (k, part) in parts.iter().enumerate() {
                let ppath = child(path, k);
                let text = match part {
                    // Some clients send bare strings in the parts array.
                    Value::String(s) => Some(s.as_str()),
                    Value::Object(obj) => {
                        let key = match json::opt_str(obj, &ppath, "type")? {
                            Some("refusal") => "refusal",
                            _ => "text",
                        };
                        json::opt_str(obj, &ppath, key)?
                    }
                    other => {
                        return Err(AdapterError::shape(
                            ppath,
                            format!("expected a content part object, found {}", type_name(other)),
                        ));
                    }
                };
                if let Some(text) = text.filter(|t| !t.is_empty()) {
                    if !out.is_empty() {
                        out.push('\n');
                    }
                    out.push_str(text);
                }
            }
            Ok(out)
        }
        other => Err(AdapterError::shape(
            path,
            format!(
                "expected a string, an array of content parts or null, found {}",
                type_name(other)
            ),
        )),
    }
}
