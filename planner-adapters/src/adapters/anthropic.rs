//! Anthropic Messages API: requests and responses (JSON), read into a
//! [`Plan`] and decisions rendered back in place.
//!
//! Shapes read:
//! - a **request** (`{system?, messages, tools?}`): `system` is a string or
//!   text blocks; each message's `content` is a string or blocks. `text`
//!   blocks become segments (user text sets the goal, so a user turn holding
//!   only `tool_result` blocks does not), `tool_use` blocks become steps,
//!   `tool_result` blocks their results. A `tool_use` with no later
//!   `tool_result` is proposed; the others are executed.
//! - a **response** (`{"type": "message", "content": [...]}`): every
//!   `tool_use` block is proposed.
//! - an **exchange** ([`read_exchange`]): history and tools from the request,
//!   proposed calls from the response, locators into the response.
//!
//! `thinking`/`redacted_thinking` blocks are skipped (their text is the
//! model's private reasoning, and rendering never touches them, because the
//! API rejects a later turn whose signed thinking was altered). `image` and
//! `document` blocks are ignored. Server tools (`server_tool_use`,
//! `mcp_tool_use` and their `*_tool_result` blocks) ran on Anthropic's side
//! before Preflight saw them: they are recorded as executed steps so their
//! output counts as tool-result text, and are never proposed.
//!
//! A `tool_use` whose `input` is not an object is the provider's version of
//! broken arguments: a string holding a JSON object is accepted, anything
//! else becomes [`Args::Malformed`] so the step is judged, never dropped.

use serde_json::{Map, Value};

use crate::error::{AdapterError, Result};
use crate::format::Format;
use crate::json::{array, child, field, object, opt_array, opt_str, str_field, type_name};
use crate::plan::{Args, Origin, Plan, StepStatus, ToolSpec};

mod render;

pub(crate) use render::check_rewrites;
pub use render::render;

/// Reads a request or a response, told apart by `"type": "message"`.
pub fn read(doc: &Value) -> Result<Plan> {
    let obj = object(doc, "")?;
    let mut plan = Plan::new(Format::Anthropic);
    if is_response(obj) {
        read_response(&mut plan, obj)?;
    } else {
        read_request(&mut plan, obj)?;
    }
    Ok(plan)
}

/// Reads an exchange: the request's tools and history (every call in it
/// counts as executed, since only the response is judged), then the
/// response's `tool_use` blocks as proposed steps located in `response`.
pub fn read_exchange(request: &Value, response: &Value) -> Result<Plan> {
    let mut plan = read_history(request)?;
    let resp = object(response, "")?;
    if !is_response(resp) {
        return Err(not_a_message(resp));
    }
    read_response(&mut plan, resp)?;
    Ok(plan)
}

/// Reads a request as the history of an exchange: its tools and text, and
/// every call in it as executed (the response's calls are the ones judged).
/// The stream path starts its plans from this too.
pub fn read_history(request: &Value) -> Result<Plan> {
    let mut plan = Plan::new(Format::Anthropic);
    read_request(&mut plan, object(request, "")?)?;
    for i in 0..plan.steps.len() {
        plan.mark_executed(i);
    }
    Ok(plan)
}

fn is_response(obj: &Map<String, Value>) -> bool {
    matches!(
        obj.get("type").and_then(Value::as_str),
        Some("message" | "error")
    ) && !obj.contains_key("messages")
}

fn not_a_message(obj: &Map<String, Value>) -> AdapterError {
    match obj.get("type").and_then(Value::as_str) {
        Some("error") => {
            let err = obj.get("error");
            let kind = err
                .and_then(|e| e.get("type"))
                .and_then(Value::as_str)
                .unwrap_or("error");
            let msg = err
                .and_then(|e| e.get("message"))
                .and_then(Value::as_str)
                .unwrap_or("");
            AdapterError::shape(
                "/error",
                format!("an Anthropic error response ({kind}: {msg}), not a message"),
            )
        }
        _ => AdapterError::shape(
            "/type",
            "expected an Anthropic response with \"type\": \"message\"",
        ),
    }
}

fn read_response(plan: &mut Plan, obj: &Map<String, Value>) -> Result<()> {
    if obj.get("type").and_then(Value::as_str) != Some("message") {
        return Err(not_a_message(obj));
    }
    if let Some(role) = opt_str(obj, "", "role")?
        && role != "assistant"
    {
        return Err(AdapterError::shape(
            "/role",
            format!("expected \"assistant\", found \"{role}\""),
        ));
    }
    let content = field(obj, "", "content")?;
    read_content(plan, content, "/content", Role::Assistant)
}

fn read_request(plan: &mut Plan, obj: &Map<String, Value>) -> Result<()> {
    for (i, tool) in opt_array(obj, "", "tools")?.iter().enumerate() {
        plan.tools.push(tool_spec(tool, &child("/tools", i))?);
    }
    match obj.get("system") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) => {
            plan.push_text(Origin::System, s.as_str());
        }
        Some(Value::Array(blocks)) => {
            for (i, block) in blocks.iter().enumerate() {
                let path = child("/system", i);
                let b = object(block, &path)?;
                if b.get("type").and_then(Value::as_str) == Some("text") {
                    plan.push_text(Origin::System, str_field(b, &path, "text")?);
                }
            }
        }
        Some(other) => {
            return Err(AdapterError::shape(
                "/system",
                format!(
                    "expected a string or text blocks, found {}",
                    type_name(other)
                ),
            ));
        }
    }
    let messages = array(field(obj, "", "messages")?, "/messages")?;
    for (i, message) in messages.iter().enumerate() {
        let path = child("/messages", i);
        let m = object(message, &path)?;
        let role = match str_field(m, &path, "role")? {
            "user" => Role::User,
            "assistant" => Role::Assistant,
            other => {
                return Err(AdapterError::shape(
                    child(&path, "role"),
                    format!("expected \"user\" or \"assistant\", found \"{other}\""),
                ));
            }
        };
        read_content(
            plan,
            field(m, &path, "content")?,
            &child(&path, "content"),
            role,
        )?;
    }
    Ok(())
}

#[derive(Clone, Copy, PartialEq)]
enum Role {
    User,
    Assistant,
}

impl Role {
    fn origin(self) -> Origin {
        match self {
            Role::User => Origin::User,
            Role::Assistant => Origin::Assistant,
        }
    }
}

fn read_content(plan: &mut Plan, content: &Value, path: &str, role: Role) -> Result<()> {
    let blocks = match content {
        Value::String(s) => {
            plan.push_text(role.origin(), s.as_str());
            return Ok(());
        }
        Value::Array(blocks) => blocks,
        other => {
            return Err(AdapterError::shape(
                path,
                format!(
                    "expected a string or content blocks, found {}",
                    type_name(other)
                ),
            ));
        }
    };
    for (j, block) in blocks.iter().enumerate() {
        let bpath = child(path, j);
        let b = object(block, &bpath)?;
        match str_field(b, &bpath, "type")? {
            "text" => {
                plan.push_text(role.origin(), str_field(b, &bpath, "text")?);
            }
            "tool_use" => {
                let (id, name, args) = tool_use(b, &bpath)?;
                plan.push_step(id, name, args, bpath);
            }
            "server_tool_use" | "mcp_tool_use" => {
                let (id, name, args) = tool_use(b, &bpath)?;
                let index = plan.push_step(id, name, args, bpath);
                plan.mark_executed(index);
            }
            "tool_result" => {
                let id = str_field(b, &bpath, "tool_use_id")?;
                let text = match b.get("content") {
                    None | Some(Value::Null) => String::new(),
                    Some(c) => result_text(c),
                };
                push_result(plan, id, text);
            }
            ty if ty.ends_with("_tool_result") => {
                if let Some(id) = opt_str(b, &bpath, "tool_use_id")? {
                    let text = b.get("content").map(server_result_text).unwrap_or_default();
                    push_result(plan, id, text);
                }
            }
            // thinking, redacted_thinking, image, document, search_result,
            // container_upload and types not yet known carry no call.
            _ => {}
        }
    }
    Ok(())
}

/// Records a result; a result for a call that is not in the history (or
/// already has one) stays a tool-result segment without a step, so its text
/// is still untrusted.
fn push_result(plan: &mut Plan, id: &str, text: String) {
    let open = plan
        .steps
        .iter()
        .rposition(|s| s.id == id)
        .is_some_and(|i| {
            !matches!(
                plan.steps[i].status,
                StepStatus::Executed { result: Some(_) }
            )
        });
    if open {
        plan.push_result(Some(id), text);
    } else {
        plan.push_result(None, text);
    }
}

/// `(id, name, args)` of a `tool_use` block.
fn tool_use<'a>(b: &'a Map<String, Value>, path: &str) -> Result<(Option<&'a str>, &'a str, Args)> {
    let id = opt_str(b, path, "id")?;
    let name = str_field(b, path, "name")?;
    Ok((id, name, input_args(b.get("input"))))
}

/// The arguments of a `tool_use` block's `input` (see the module docs).
pub(crate) fn input_args(input: Option<&Value>) -> Args {
    match input {
        Some(v @ Value::Object(_)) => Args::Json { value: v.clone() },
        Some(Value::String(s)) => match Args::from_text(s) {
            Args::Json { value } if !value.is_object() => Args::Malformed {
                raw: s.clone(),
                error: format!(
                    "tool_use input is a string holding {}, not a JSON object",
                    type_name(&value)
                ),
            },
            args => args,
        },
        Some(other) => Args::Malformed {
            raw: other.to_string(),
            error: format!(
                "tool_use input must be a JSON object, found {}",
                type_name(other)
            ),
        },
        None => Args::Malformed {
            raw: String::new(),
            error: "tool_use block has no input".into(),
        },
    }
}

/// Text of a `tool_result`'s content: the string, or its blocks' text
/// joined by newlines. A `document` block counts when its source is plain
/// text (`{"type": "text", "data"}`) or content blocks; images, base64 and
/// URL sources are skipped (nobody reads their bytes as text).
fn result_text(content: &Value) -> String {
    let Value::Array(parts) = content else {
        return crate::json::content_text(content);
    };
    let texts: Vec<String> = parts
        .iter()
        .map(|p| match p.get("type").and_then(Value::as_str) {
            Some("text") => p
                .get("text")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            Some("image") => String::new(),
            Some("document") => match p.pointer("/source/type").and_then(Value::as_str) {
                Some("text") => p
                    .pointer("/source/data")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                Some("content") => p
                    .pointer("/source/content")
                    .map(crate::json::content_text)
                    .unwrap_or_default(),
                _ => String::new(),
            },
            // search_result and later block kinds: their text or nested content.
            _ => match (p.get("text"), p.get("content")) {
                (Some(Value::String(t)), _) => t.clone(),
                (_, Some(c)) => crate::json::content_text(c),
                _ => String::new(),
            },
        })
        .filter(|t| !t.is_empty())
        .collect();
    texts.join("\n")
}

/// Readable text of a server tool's result (web search, web fetch, code
/// execution): the strings under keys a model reads, in document order;
/// `encrypted_content` and base64 data are skipped.
fn server_result_text(content: &Value) -> String {
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::String(s) if !s.is_empty() => out.push(s.clone()),
            Value::Array(items) => items.iter().for_each(|i| walk(i, out)),
            Value::Object(o) => {
                for (k, v) in o {
                    let readable = matches!(
                        k.as_str(),
                        "text"
                            | "title"
                            | "url"
                            | "stdout"
                            | "stderr"
                            | "content"
                            | "source"
                            | "data"
                    );
                    let nested = matches!(v, Value::Array(_) | Value::Object(_));
                    let binary = o.get("type").and_then(Value::as_str) == Some("base64");
                    if (readable || nested) && !binary {
                        walk(v, out);
                    }
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(content, &mut out);
    out.join("\n")
}

/// A tool definition: client tools carry `input_schema`; server tools
/// (`{"type": "web_search_20250305", "name": "web_search"}`) do not, and are
/// kept without a schema.
fn tool_spec(tool: &Value, path: &str) -> Result<ToolSpec> {
    let t = object(tool, path)?;
    let input_schema = match t.get("input_schema") {
        None | Some(Value::Null) => None,
        Some(s @ Value::Object(_)) => Some(s.clone()),
        Some(other) => {
            return Err(AdapterError::shape(
                child(path, "input_schema"),
                format!("expected an object, found {}", type_name(other)),
            ));
        }
    };
    Ok(ToolSpec {
        name: str_field(t, path, "name")?.to_owned(),
        description: opt_str(t, path, "description")?.map(str::to_owned),
        input_schema: input_schema.map(std::sync::Arc::new),
        ..ToolSpec::default()
    })
}
