//! MCP (Model Context Protocol) JSON-RPC traffic of one session, read into a
//! [`Plan`], plus the pieces the gateway needs at the tool boundary: tool
//! definitions from `tools/list`, the call in a `tools/call` request, a
//! canonical form of a tool definition for pinning, and the response that
//! answers a blocked call.
//!
//! A document is one JSON-RPC message or an array of them in session order
//! (an array item that is itself an array is read as a JSON-RPC batch).
//! Requests and responses are paired by `id`; messages are read as follows:
//!
//! | message | becomes |
//! |---|---|
//! | `tools/list` result | tool specs (`inputSchema`, `annotations`; `title` stands in for a missing `description`); a later definition of the same name replaces the earlier |
//! | `tools/call` request | a step: id = the JSON-RPC id as a string (`7` -> `"7"`), args = `params.arguments` |
//! | its result | the step's result: the text of `content` (text parts, embedded resource text) plus `structuredContent` as JSON unless the text already is that JSON |
//! | its JSON-RPC error | the step's result: `JSON-RPC error CODE: MESSAGE` (the server answered, so it is not proposed) |
//! | `tools/call` with no response | proposed |
//! | `prompts/get` result | its `user` messages are user text (the goal: the user picked the prompt), `assistant` ones assistant text |
//! | `sampling/createMessage` request | tool-result text with no step: the *server* wrote those messages, so they must not count as the user's words |
//! | its result | assistant text (the client's model wrote it) |
//! | `initialize` result `instructions`, `resources/read` result text | tool-result text with no step (server-supplied) |
//!
//! Notifications and other methods carry nothing a decision needs and are
//! skipped. A response whose request is not in the document is skipped too.
//! A message that is not valid JSON-RPC 2.0 is a shape error at its pointer,
//! and so is a request reusing the id of one still waiting for its response
//! (which response answers which would be a guess; client and server number
//! their requests separately, so this can happen across directions).

use serde_json::{Map, Value};

use crate::error::{AdapterError, Result};
use crate::format::Format;
use crate::json::{child, field, object, opt_str, str_field, type_name};
use crate::plan::{Args, Origin, Plan};

mod render;
mod tools;

pub use render::{blocked_call_response, render};
pub use tools::{canonical_json, tool_definition_canonical, tool_specs_from_list_result};

/// Reads one JSON-RPC message or a session history (an array of them).
pub fn read(doc: &Value) -> Result<Plan> {
    let mut plan = Plan::new(Format::Mcp);
    let mut pending: Vec<(Value, Pending)> = Vec::new();
    for (message, path) in messages(doc)? {
        match classify(message, &path)? {
            Message::Request { id, method, msg } => {
                if pending.iter().any(|(p, _)| p == id) {
                    // Pairing a later response would be a guess; refuse it.
                    return Err(AdapterError::shape(
                        child(&path, "id"),
                        format!(
                            "id {id} is already used by a request still waiting for its response"
                        ),
                    ));
                }
                let kind = read_request(&mut plan, id, method, msg, &path)?;
                pending.push((id.clone(), kind));
            }
            Message::Notification => {}
            Message::Response { id, outcome } => {
                let Some(at) = pending.iter().position(|(p, _)| p == id) else {
                    continue;
                };
                let (_, kind) = pending.remove(at);
                read_response(&mut plan, kind, outcome, &path)?;
            }
        }
    }
    Ok(plan)
}

/// `(id, tool name, arguments)` of a `tools/call` request message. The id
/// is the JSON-RPC id as a string (`7` -> `"7"`). Arguments that are absent
/// are `{}`; arguments that are not an object are [`Args::Malformed`].
pub fn call_from_request(req: &Value) -> Result<(String, String, Args)> {
    call_at(req, "")
}

/// A JSON-RPC id as the step id: a string as is, a number in decimal.
pub fn id_string(id: &Value) -> String {
    match id {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// What a request was, remembered until its response arrives.
enum Pending {
    ToolsCall(usize),
    ToolsList,
    PromptsGet,
    Sampling,
    Initialize,
    ResourcesRead,
    Other,
}

enum Message<'a> {
    Request {
        id: &'a Value,
        method: &'a str,
        msg: &'a Map<String, Value>,
    },
    Notification,
    Response {
        id: &'a Value,
        outcome: std::result::Result<&'a Value, &'a Value>,
    },
}

/// The messages of a document with their pointers, batches flattened.
fn messages(doc: &Value) -> Result<Vec<(&Value, String)>> {
    match doc {
        Value::Object(_) => Ok(vec![(doc, String::new())]),
        Value::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                let path = child("", i);
                match item {
                    Value::Array(batch) => {
                        out.extend(batch.iter().enumerate().map(|(j, m)| (m, child(&path, j))));
                    }
                    _ => out.push((item, path)),
                }
            }
            Ok(out)
        }
        other => Err(AdapterError::shape(
            "",
            format!(
                "expected a JSON-RPC message or an array of them, found {}",
                type_name(other)
            ),
        )),
    }
}

fn classify<'a>(message: &'a Value, path: &str) -> Result<Message<'a>> {
    let msg = object(message, path)?;
    let version = str_field(msg, path, "jsonrpc")?;
    if version != "2.0" {
        return Err(AdapterError::shape(
            child(path, "jsonrpc"),
            format!("expected \"2.0\", found \"{version}\""),
        ));
    }
    let id = match msg.get("id") {
        None => None,
        Some(id @ (Value::String(_) | Value::Number(_))) => Some(id),
        // A null id answers a request that could not be parsed: nothing to pair.
        Some(Value::Null) if !msg.contains_key("method") => None,
        Some(other) => {
            return Err(AdapterError::shape(
                child(path, "id"),
                format!("expected a string or number id, found {}", type_name(other)),
            ));
        }
    };
    if msg.contains_key("method") {
        let method = str_field(msg, path, "method")?;
        return Ok(match id {
            Some(id) => Message::Request { id, method, msg },
            None => Message::Notification,
        });
    }
    let outcome = match (msg.get("result"), msg.get("error")) {
        (Some(result), None) => Ok(result),
        (None, Some(error)) => Err(error),
        (Some(_), Some(_)) => {
            return Err(AdapterError::shape(
                path,
                "a JSON-RPC response with both `result` and `error`",
            ));
        }
        (None, None) => {
            return Err(AdapterError::shape(
                path,
                "not a JSON-RPC request, notification or response (no `method`, `result` or `error`)",
            ));
        }
    };
    if let Err(error) = outcome {
        // Validate error objects even when unpaired, so a broken one is reported.
        let e = object(error, &child(path, "error"))?;
        let code = field(e, &child(path, "error"), "code")?;
        if !code.is_i64() {
            return Err(AdapterError::shape(
                child(&child(path, "error"), "code"),
                format!("expected an integer, found {}", type_name(code)),
            ));
        }
        str_field(e, &child(path, "error"), "message")?;
    }
    match id {
        Some(id) => Ok(Message::Response { id, outcome }),
        None => Ok(Message::Notification),
    }
}

fn read_request(
    plan: &mut Plan,
    id: &Value,
    method: &str,
    msg: &Map<String, Value>,
    path: &str,
) -> Result<Pending> {
    Ok(match method {
        "tools/call" => {
            let (name, args) = call_fields(msg, path)?;
            Pending::ToolsCall(plan.push_step(Some(&id_string(id)), name, args, path.to_owned()))
        }
        "tools/list" => Pending::ToolsList,
        "prompts/get" => Pending::PromptsGet,
        "initialize" => Pending::Initialize,
        "resources/read" => Pending::ResourcesRead,
        "sampling/createMessage" => {
            let params_path = child(path, "params");
            let params = object(field(msg, path, "params")?, &params_path)?;
            if let Some(system) = opt_str(params, &params_path, "systemPrompt")? {
                plan.push_result(None, system);
            }
            let messages_path = child(&params_path, "messages");
            let messages =
                crate::json::array(field(params, &params_path, "messages")?, &messages_path)?;
            for (i, m) in messages.iter().enumerate() {
                let mpath = child(&messages_path, i);
                let m = object(m, &mpath)?;
                str_field(m, &mpath, "role")?;
                let text = content_text(m.get("content").unwrap_or(&Value::Null));
                plan.push_result(None, text);
            }
            Pending::Sampling
        }
        _ => Pending::Other,
    })
}

fn read_response(
    plan: &mut Plan,
    kind: Pending,
    outcome: std::result::Result<&Value, &Value>,
    path: &str,
) -> Result<()> {
    let result = match outcome {
        Ok(result) => result,
        Err(error) => {
            if let Pending::ToolsCall(step) = kind {
                let code = error
                    .get("code")
                    .and_then(Value::as_i64)
                    .unwrap_or_default();
                let message = error
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let id = plan.steps[step].id.clone();
                plan.push_result(Some(&id), format!("JSON-RPC error {code}: {message}"));
            }
            return Ok(());
        }
    };
    let rpath = child(path, "result");
    let r = object(result, &rpath)?;
    match kind {
        Pending::ToolsCall(step) => {
            let id = plan.steps[step].id.clone();
            plan.push_result(Some(&id), call_result_text(r));
        }
        Pending::ToolsList => {
            for spec in tool_specs_from_list_result(result, &rpath)? {
                match plan.tools.iter_mut().find(|t| t.name == spec.name) {
                    Some(existing) => *existing = spec,
                    None => plan.tools.push(spec),
                }
            }
        }
        Pending::PromptsGet => {
            let messages_path = child(&rpath, "messages");
            for (i, m) in crate::json::opt_array(r, &rpath, "messages")?
                .iter()
                .enumerate()
            {
                let mpath = child(&messages_path, i);
                let m = object(m, &mpath)?;
                let origin = match str_field(m, &mpath, "role")? {
                    "user" => Origin::User,
                    _ => Origin::Assistant,
                };
                plan.push_text(
                    origin,
                    content_text(m.get("content").unwrap_or(&Value::Null)),
                );
            }
        }
        Pending::Sampling => {
            plan.push_text(
                Origin::Assistant,
                content_text(r.get("content").unwrap_or(&Value::Null)),
            );
        }
        Pending::Initialize => {
            if let Some(instructions) = opt_str(r, &rpath, "instructions")? {
                plan.push_result(None, instructions);
            }
        }
        Pending::ResourcesRead => {
            let contents = crate::json::opt_array(r, &rpath, "contents")?;
            for c in contents {
                if let Some(text) = c.get("text").and_then(Value::as_str) {
                    plan.push_result(None, text);
                }
            }
        }
        Pending::Other => {}
    }
    Ok(())
}

/// `(id, name, args)` of a `tools/call` message at `path`.
fn call_at(msg: &Value, path: &str) -> Result<(String, String, Args)> {
    let m = object(msg, path)?;
    let method = str_field(m, path, "method")?;
    if method != "tools/call" {
        return Err(AdapterError::shape(
            child(path, "method"),
            format!("expected \"tools/call\", found \"{method}\""),
        ));
    }
    let id = match m.get("id") {
        Some(id @ (Value::String(_) | Value::Number(_))) => id_string(id),
        Some(other) => {
            return Err(AdapterError::shape(
                child(path, "id"),
                format!("expected a string or number id, found {}", type_name(other)),
            ));
        }
        None => {
            return Err(AdapterError::shape(
                child(path, "id"),
                "missing required field",
            ));
        }
    };
    let (name, args) = call_fields(m, path)?;
    Ok((id, name.to_owned(), args))
}

fn call_fields<'a>(m: &'a Map<String, Value>, path: &str) -> Result<(&'a str, Args)> {
    let params_path = child(path, "params");
    let params = object(field(m, path, "params")?, &params_path)?;
    let name = str_field(params, &params_path, "name")?;
    let args = match params.get("arguments") {
        None | Some(Value::Null) => Args::Json {
            value: Value::Object(Map::new()),
        },
        Some(v @ Value::Object(_)) => Args::Json { value: v.clone() },
        Some(Value::String(s)) => match Args::from_text(s) {
            Args::Json { value } if !value.is_object() => Args::Malformed {
                raw: s.clone(),
                error: format!(
                    "arguments is a string holding {}, not a JSON object",
                    type_name(&value)
                ),
            },
            args => args,
        },
        Some(other) => Args::Malformed {
            raw: other.to_string(),
            error: format!(
                "arguments must be a JSON object, found {}",
                type_name(other)
            ),
        },
    };
    Ok((name, args))
}

/// The text a model reads from a `tools/call` result (see the module docs).
fn call_result_text(r: &Map<String, Value>) -> String {
    let mut text = content_text(r.get("content").unwrap_or(&Value::Null));
    if let Some(structured) = r.get("structuredContent").filter(|v| !v.is_null()) {
        // Servers often repeat the structured value as JSON text; keep one copy.
        let same = serde_json::from_str::<Value>(&text).is_ok_and(|t| &t == structured);
        if !same {
            if !text.is_empty() {
                text.push('\n');
            }
            text.push_str(&structured.to_string());
        }
    }
    text
}

/// Text of MCP content: one content block or an array of them. Text parts
/// and embedded resource text are read; images and audio (base64) are not;
/// resource links give their URI.
fn content_text(content: &Value) -> String {
    let parts: Vec<&Value> = match content {
        Value::Array(parts) => parts.iter().collect(),
        Value::Null => Vec::new(),
        Value::String(s) => return s.clone(),
        other => vec![other],
    };
    let texts: Vec<&str> = parts
        .into_iter()
        .filter_map(|p| match p.get("type").and_then(Value::as_str) {
            Some("text") => p.get("text").and_then(Value::as_str),
            Some("resource") => p.pointer("/resource/text").and_then(Value::as_str),
            Some("resource_link") => p.get("uri").and_then(Value::as_str),
            _ => None,
        })
        .filter(|t| !t.is_empty())
        .collect();
    texts.join("\n")
}
