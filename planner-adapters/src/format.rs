//! The wire formats Preflight reads, and auto-detection from raw bytes.
//!
//! Detection looks only at the outer shape (top-level keys, the first SSE
//! event, the first JSONL line); it never guesses from content. A document
//! that matches nothing is an [`AdapterError::UnknownFormat`] naming what was
//! seen, so `preflight check --format` can be used instead.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::AdapterError;

/// A planner wire format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// OpenAI Chat Completions request or response (JSON).
    OpenaiChat,
    /// OpenAI Chat Completions `chat.completion.chunk` SSE stream.
    OpenaiChatStream,
    /// OpenAI Responses API request or response (JSON).
    OpenaiResponses,
    /// OpenAI Responses API SSE event stream.
    OpenaiResponsesStream,
    /// Anthropic Messages request or response (JSON).
    Anthropic,
    /// Anthropic Messages SSE stream.
    AnthropicStream,
    /// MCP JSON-RPC messages of one session (one message or an array).
    Mcp,
    /// LangChain / LangGraph serialized messages.
    Langchain,
    /// ReAct text (`Thought:` / `Action:` / `Action Input:`).
    React,
    /// Generic plan JSON: `{goal?, steps: [{tool, args}]}` or a bare step list.
    Generic,
    /// One eval case (DESIGN.md): `{id, label, tools, messages, proposed}`.
    EvalCase,
}

impl Format {
    /// Every format, for help texts and property tests.
    pub const ALL: [Format; 11] = [
        Format::OpenaiChat,
        Format::OpenaiChatStream,
        Format::OpenaiResponses,
        Format::OpenaiResponsesStream,
        Format::Anthropic,
        Format::AnthropicStream,
        Format::Mcp,
        Format::Langchain,
        Format::React,
        Format::Generic,
        Format::EvalCase,
    ];

    /// The kebab-case name used on the command line and in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Format::OpenaiChat => "openai-chat",
            Format::OpenaiChatStream => "openai-chat-stream",
            Format::OpenaiResponses => "openai-responses",
            Format::OpenaiResponsesStream => "openai-responses-stream",
            Format::Anthropic => "anthropic",
            Format::AnthropicStream => "anthropic-stream",
            Format::Mcp => "mcp",
            Format::Langchain => "langchain",
            Format::React => "react",
            Format::Generic => "generic",
            Format::EvalCase => "eval-case",
        }
    }

    /// True for the SSE stream formats.
    pub fn is_stream(self) -> bool {
        matches!(
            self,
            Format::OpenaiChatStream | Format::OpenaiResponsesStream | Format::AnthropicStream
        )
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Format {
    type Err = AdapterError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Format::ALL
            .into_iter()
            .find(|f| f.name() == s)
            .ok_or_else(|| {
                let names: Vec<_> = Format::ALL.iter().map(|f| f.name()).collect();
                AdapterError::UnknownFormat(format!("`{s}` (known: {})", names.join(", ")))
            })
    }
}

/// Detects the format of raw bytes. JSON documents are recognized by shape
/// ([`detect_json`]); text is an SSE stream when it starts with `data:` or
/// `event:` lines, else ReAct when it has an `Action:` line.
pub fn detect(bytes: &[u8]) -> Result<Format, AdapterError> {
    let text = String::from_utf8_lossy(bytes);
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        if let Ok(v) = serde_json::from_str::<Value>(trimmed) {
            return detect_json(&v);
        }
        // Several JSON documents, one per line: eval cases.
        if let Some(first) = trimmed.lines().find(|l| !l.trim().is_empty())
            && let Ok(v) = serde_json::from_str::<Value>(first)
            && detect_json(&v) == Ok(Format::EvalCase)
        {
            return Ok(Format::EvalCase);
        }
        // Broken JSON: let the JSON-shaped guess report the syntax error.
        return serde_json::from_str::<Value>(trimmed)
            .map(|_| Format::Generic)
            .map_err(|e| AdapterError::syntax(&e));
    }
    if trimmed.starts_with("data:") || trimmed.starts_with("event:") || trimmed.starts_with(':') {
        return detect_stream(trimmed);
    }
    if trimmed.lines().any(|l| l.trim_start().starts_with("Action:")) {
        return Ok(Format::React);
    }
    Err(AdapterError::UnknownFormat(
        "not JSON, not an SSE stream, and no ReAct `Action:` line".into(),
    ))
}

fn detect_stream(text: &str) -> Result<Format, AdapterError> {
    for line in text.lines() {
        let Some(data) = line.strip_prefix("data:") else {
            if let Some(event) = line.strip_prefix("event:") {
                let event = event.trim();
                if event.starts_with("response.") {
                    return Ok(Format::OpenaiResponsesStream);
                }
                if matches!(event, "message_start" | "content_block_start" | "ping") {
                    return Ok(Format::AnthropicStream);
                }
            }
            continue;
        };
        let Ok(v) = serde_json::from_str::<Value>(data.trim()) else {
            continue;
        };
        let ty = v.get("type").and_then(Value::as_str).unwrap_or("");
        if v.get("object").and_then(Value::as_str) == Some("chat.completion.chunk") {
            return Ok(Format::OpenaiChatStream);
        }
        if ty.starts_with("response.") {
            return Ok(Format::OpenaiResponsesStream);
        }
        if ty.starts_with("message_") || ty.starts_with("content_block_") {
            return Ok(Format::AnthropicStream);
        }
    }
    Err(AdapterError::UnknownFormat(
        "an SSE stream with no OpenAI or Anthropic event in it".into(),
    ))
}

/// Detects the format of a parsed JSON document.
pub fn detect_json(v: &Value) -> Result<Format, AdapterError> {
    match v {
        Value::Array(items) => {
            let Some(first) = items.first() else {
                return Ok(Format::Generic);
            };
            if first.get("jsonrpc").is_some() {
                return Ok(Format::Mcp);
            }
            if is_langchain_message(first) {
                return Ok(Format::Langchain);
            }
            if first.get("tool").is_some() {
                return Ok(Format::Generic);
            }
            if first.get("object").and_then(Value::as_str) == Some("chat.completion.chunk") {
                return Ok(Format::OpenaiChatStream);
            }
            Err(AdapterError::UnknownFormat(
                "a JSON array whose items are not JSON-RPC, LangChain messages or plan steps".into(),
            ))
        }
        Value::Object(o) => {
            let has = |k: &str| o.contains_key(k);
            let str_of = |k: &str| o.get(k).and_then(Value::as_str);
            if has("proposed") && has("messages") {
                return Ok(Format::EvalCase);
            }
            if has("jsonrpc") {
                return Ok(Format::Mcp);
            }
            if str_of("object") == Some("chat.completion") || has("choices") {
                return Ok(Format::OpenaiChat);
            }
            if str_of("object") == Some("response") || has("input") {
                return Ok(Format::OpenaiResponses);
            }
            if str_of("type") == Some("message") && has("content") {
                return Ok(Format::Anthropic);
            }
            if is_langchain_message(v) {
                return Ok(Format::Langchain);
            }
            if let Some(Value::Array(messages)) = o.get("messages") {
                if messages.iter().any(is_langchain_message) {
                    return Ok(Format::Langchain);
                }
                if has("system") || messages.iter().any(is_anthropic_message) {
                    return Ok(Format::Anthropic);
                }
                let anthropic_tools = o
                    .get("tools")
                    .and_then(Value::as_array)
                    .is_some_and(|t| t.iter().any(|t| t.get("input_schema").is_some()));
                if anthropic_tools {
                    return Ok(Format::Anthropic);
                }
                return Ok(Format::OpenaiChat);
            }
            if has("steps") {
                return Ok(Format::Generic);
            }
            let keys: Vec<_> = o.keys().take(8).map(String::as_str).collect();
            Err(AdapterError::UnknownFormat(format!(
                "a JSON object with keys [{}]",
                keys.join(", ")
            )))
        }
        other => Err(AdapterError::UnknownFormat(format!(
            "a JSON {} at the top level",
            crate::json::type_name(other)
        ))),
    }
}

/// A LangChain message: `{"type": "human"|"ai"|"tool"|"system", "data"|"content": ...}`
/// (`messages_to_dict`) or the `{"lc": 1, "type": "constructor", "id": [...]}` form.
fn is_langchain_message(v: &Value) -> bool {
    if v.get("lc").is_some() && v.get("kwargs").is_some() {
        return true;
    }
    let ty = v.get("type").and_then(Value::as_str);
    matches!(ty, Some("human" | "ai" | "tool" | "system" | "AIMessage" | "HumanMessage" | "ToolMessage"))
        && (v.get("data").is_some() || v.get("content").is_some())
}

/// An Anthropic message: content blocks of Anthropic-only types.
fn is_anthropic_message(v: &Value) -> bool {
    v.get("content").and_then(Value::as_array).is_some_and(|blocks| {
        blocks.iter().any(|b| {
            matches!(
                b.get("type").and_then(Value::as_str),
                Some("tool_use" | "tool_result" | "thinking" | "redacted_thinking")
            )
        })
    })
}
