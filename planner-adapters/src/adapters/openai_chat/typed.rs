//! The gateway's fast reader for a Chat Completions exchange: the request
//! and response bytes are deserialized straight into borrowed structs, with
//! no `serde_json::Value` tree (whose order-preserving maps hash and
//! allocate every key).
//!
//! It reads only the common, well-typed shape: string, null or content-part
//! `content`, `tools` of type `function`/`custom`, `tool_calls` of type
//! `function`/`custom`. Anything else (legacy `functions` and
//! `function_call`, a wrong type anywhere, a duplicate key) makes it decline
//! with `None`, and the caller reads the exchange with the `Value` reader
//! ([`super::read_exchange`]), which gives the exact located error or the
//! plan for the odd shape. When it does give a plan, that plan is the one
//! `read_exchange` gives for the same bytes: `tests/typed_exchange.rs`
//! checks this over the fixtures, generated documents and mutations of them.
//!
//! The `tools` array is kept raw and read through a [`ToolsCache`]: the
//! definitions an agent sends every turn are parsed once.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, Mutex};

use serde::de::{IgnoredAny, MapAccess, SeqAccess, Visitor, value::MapAccessDeserializer};
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::format::Format;
use crate::plan::{Args, Origin, Plan, ToolSpec};

/// The parts of a Chat Completions request the gateway reads, borrowed
/// from the body where no escape forces a copy.
#[derive(Debug, Deserialize)]
pub struct Request<'a> {
    /// The model the client asked for (only a plain string is read).
    #[serde(default, borrow)]
    pub model: Option<&'a str>,
    /// `stream: true` asks for server-sent events.
    #[serde(default)]
    pub stream: Option<bool>,
    #[serde(default, borrow)]
    tools: Option<&'a RawValue>,
    #[serde(default)]
    functions: Option<IgnoredAny>,
    #[serde(borrow)]
    messages: Vec<Obj<Message<'a>>>,
}

impl<'a> Request<'a> {
    /// The request, or `None` when it is not of the shape this reader
    /// takes (the caller then parses a `Value`, which also names any
    /// syntax error).
    pub fn parse(bytes: &'a [u8]) -> Option<Request<'a>> {
        let Obj(req) = serde_json::from_slice::<Obj<Request<'a>>>(bytes).ok()?;
        // Legacy `functions` definitions are left to the `Value` reader.
        req.functions.is_none().then_some(req)
    }
}

/// A struct read only from a JSON object: serde's derive also takes an
/// array of the fields in order (`[]` would be a message with every field
/// absent), which the `Value` reader refuses.
#[derive(Debug)]
struct Obj<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Obj<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjVisitor<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjVisitor<T> {
            type Value = Obj<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Obj<T>, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map)).map(Obj)
            }
        }
        deserializer.deserialize_map(ObjVisitor(std::marker::PhantomData))
    }
}

#[derive(Debug, Deserialize)]
struct Response<'a> {
    #[serde(borrow)]
    choices: Vec<Obj<Choice<'a>>>,
}

#[derive(Debug, Deserialize)]
struct Choice<'a> {
    #[serde(borrow)]
    message: Obj<Message<'a>>,
}

#[derive(Debug, Deserialize)]
struct Tool<'a> {
    #[serde(default, rename = "type", borrow)]
    kind: Option<&'a str>,
    #[serde(default)]
    function: Option<Obj<ToolDef>>,
    #[serde(default)]
    custom: Option<Obj<ToolDef>>,
}

#[derive(Debug, Deserialize)]
struct ToolDef {
    name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    parameters: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct Message<'a> {
    #[serde(default, borrow)]
    role: Option<&'a str>,
    #[serde(default)]
    content: Option<Content>,
    #[serde(default)]
    refusal: Option<String>,
    #[serde(default, borrow)]
    tool_calls: Option<Vec<Obj<ToolCall<'a>>>>,
    #[serde(default)]
    function_call: Option<IgnoredAny>,
    #[serde(default)]
    tool_call_id: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

/// A message's text: a string, or the non-empty texts of its content parts
/// joined with newlines (the `Value` reader's `content_text`).
#[derive(Debug, Default)]
struct Content(String);

impl<'de> Deserialize<'de> for Content {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ContentVisitor;
        impl<'de> Visitor<'de> for ContentVisitor {
            type Value = Content;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string, an array of content parts or null")
            }
            fn visit_unit<E>(self) -> Result<Content, E> {
                Ok(Content::default())
            }
            fn visit_str<E>(self, text: &str) -> Result<Content, E> {
                Ok(Content(text.to_owned()))
            }
            fn visit_string<E>(self, text: String) -> Result<Content, E> {
                Ok(Content(text))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut parts: A) -> Result<Content, A::Error> {
                let mut out = String::new();
                while let Some(Part(text)) = parts.next_element()? {
                    if let Some(text) = text.filter(|t| !t.is_empty()) {
                        if !out.is_empty() {
                            out.push('\n');
                        }
                        out.push_str(&text);
                    }
                }
                Ok(Content(out))
            }
        }
        deserializer.deserialize_any(ContentVisitor)
    }
}

/// One content part: a bare string, or an object whose `text` (or, for a
/// `refusal` part, `refusal`) is its text; parts without one (images,
/// audio, files) have none.
struct Part(Option<String>);

#[derive(Deserialize)]
struct PartFields {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    refusal: Option<String>,
}

impl<'de> Deserialize<'de> for Part {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PartVisitor;
        impl<'de> Visitor<'de> for PartVisitor {
            type Value = Part;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a content part object")
            }
            fn visit_str<E>(self, text: &str) -> Result<Part, E> {
                Ok(Part(Some(text.to_owned())))
            }
            fn visit_string<E>(self, text: String) -> Result<Part, E> {
                Ok(Part(Some(text)))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Part, A::Error> {
                let p = PartFields::deserialize(MapAccessDeserializer::new(map))?;
                Ok(Part(if p.kind.as_deref() == Some("refusal") {
                    p.refusal
                } else {
                    p.text
                }))
            }
        }
        deserializer.deserialize_any(PartVisitor)
    }
}

impl Message<'_> {
    /// The message's text (empty when `content` is absent or null).
    fn text(&mut self) -> String {
        self.content.take().unwrap_or_default().0
    }
}

#[derive(Debug, Deserialize)]
struct ToolCall<'a> {
    #[serde(default)]
    id: Option<String>,
    #[serde(default, rename = "type", borrow)]
    kind: Option<&'a str>,
    #[serde(default)]
    function: Option<Obj<FunctionCall>>,
    #[serde(default)]
    custom: Option<Obj<CustomCall>>,
}

#[derive(Debug, Deserialize)]
struct FunctionCall {
    name: String,
    #[serde(default)]
    arguments: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct CustomCall {
    name: String,
    #[serde(default)]
    input: Option<String>,
}

/// Reads an exchange as [`super::read_exchange`] does: tools and history
/// (every call executed) from `request`, proposed calls from the response
/// bytes. `None` when either side is not of the shape this reader takes.
/// The `tools` array is read through `cache`: an agent sends the same one
/// every turn.
pub fn read_exchange(request: Request<'_>, response: &[u8], cache: &ToolsCache) -> Option<Plan> {
    let Obj(response) = serde_json::from_slice::<Obj<Response<'_>>>(response).ok()?;
    let mut plan = Plan::new(Format::OpenaiChat);
    if let Some(raw) = request.tools {
        plan.tools = cache.tools(raw.get())?;
    }
    for (i, Obj(message)) in request.messages.into_iter().enumerate() {
        read_message(&mut plan, message, i)?;
    }
    for i in 0..plan.steps.len() {
        plan.mark_executed(i);
    }
    for (c, Obj(choice)) in response.choices.into_iter().enumerate() {
        read_assistant(&mut plan, choice.message.0, |j| {
            format!("/choices/{c}/message/tool_calls/{j}")
        })?;
    }
    Some(plan)
}

/// The tool definitions of a `tools` array (the `Value` reader's
/// `read_tools`), or `None` for a shape this reader does not take.
fn read_tools(raw: &str) -> Option<Vec<ToolSpec>> {
    let tools: Vec<Obj<Tool<'_>>> = serde_json::from_str(raw).ok()?;
    let mut out = Vec::with_capacity(tools.len());
    for Obj(tool) in tools {
        let def = match tool.kind {
            None | Some("function") => tool.function?.0,
            Some("custom") => tool.custom?.0,
            // Built-in tools carry no schema to judge.
            Some(_) => continue,
        };
        let input_schema = match def.parameters {
            None => None,
            Some(schema @ Value::Object(_)) => Some(Arc::new(schema)),
            Some(_) => return None,
        };
        out.push(ToolSpec {
            name: def.name,
            description: def.description,
            input_schema,
            annotations: Default::default(),
        });
    }
    Some(out)
}

/// Tool definitions read once per distinct `tools` array. Agents send the
/// same definitions on every turn; the schemas are most of the request's
/// JSON nodes, so a plan gets them from here (names and descriptions
/// copied, schemas shared) instead of parsing them again.
///
/// An entry is used only when the array's bytes are equal to the ones it
/// was read from (the hash only finds the candidate). Arrays over
/// [`ToolsCache::MAX_BYTES`] are not kept, and the cache is emptied when it
/// holds [`ToolsCache::MAX_ENTRIES`], so it stays small whatever clients
/// send.
#[derive(Debug, Default)]
pub struct ToolsCache {
    entries: Mutex<HashMap<u64, CachedTools>>,
    hasher: RandomState,
}

/// A `tools` array's bytes and the tools read from them.
type CachedTools = (Box<str>, Arc<[ToolSpec]>);

impl ToolsCache {
    /// The most distinct `tools` arrays kept.
    pub const MAX_ENTRIES: usize = 256;
    /// The largest `tools` array kept, in bytes.
    pub const MAX_BYTES: usize = 64 * 1024;

    /// The tools of the raw `tools` array (from the cache when these bytes
    /// were read before), or `None` when the typed reader does not take it.
    pub fn tools(&self, raw: &str) -> Option<Vec<ToolSpec>> {
        if raw.len() > Self::MAX_BYTES {
            return read_tools(raw);
        }
        let key = self.hasher.hash_one(raw);
        {
            let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((text, tools)) = entries.get(&key)
                && **text == *raw
            {
                return Some(tools.to_vec());
            }
        }
        // Read outside the lock: other requests do not wait for this one.
        let tools = read_tools(raw)?;
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= Self::MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(key, (raw.into(), tools.clone().into()));
        Some(tools)
    }

    /// How many arrays are kept.
    pub fn len(&self) -> usize {
        self.entries.lock().map_or(0, |e| e.len())
    }

    /// True when none is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One request message (the `Value` reader's `read_message`).
fn read_message(plan: &mut Plan, mut message: Message<'_>, i: usize) -> Option<()> {
    match message.role? {
        "system" | "developer" => {
            plan.push_text(Origin::System, message.text());
        }
        "user" => {
            plan.push_text(Origin::User, message.text());
        }
        "assistant" => read_assistant(plan, message, |j| format!("/messages/{i}/tool_calls/{j}"))?,
        "tool" => {
            let text = message.text();
            plan.push_result(message.tool_call_id.as_deref(), text);
        }
        "function" => {
            let name = message.name.take()?;
            plan.push_function_result(&name, message.text());
        }
        _ => return None,
    }
    Some(())
}

/// An assistant message: text, refusal, then its calls as proposed steps
/// located by `pointer(j)`.
fn read_assistant(
    plan: &mut Plan,
    mut message: Message<'_>,
    pointer: impl Fn(usize) -> String,
) -> Option<()> {
    if message.function_call.is_some() {
        return None;
    }
    plan.push_text(Origin::Assistant, message.text());
    if let Some(refusal) = message.refusal {
        plan.push_text(Origin::Assistant, refusal);
    }
    for (j, Obj(call)) in message.tool_calls.into_iter().flatten().enumerate() {
        let (name, args) = match call.kind {
            None | Some("function") => {
                let f = call.function?.0;
                let args = match f.arguments {
                    None => Args::from_text(""),
                    Some(Value::String(raw)) => Args::from_text(&raw),
                    Some(value @ (Value::Object(_) | Value::Array(_))) => Args::Json { value },
                    Some(_) => return None,
                };
                (f.name, args)
            }
            Some("custom") => {
                let c = call.custom?.0;
                let value = Value::String(c.input.unwrap_or_default());
                (c.name, Args::Json { value })
            }
            Some(_) => return None,
        };
        plan.push_step(call.id.as_deref(), name, args, pointer(j));
    }
    Some(())
}
