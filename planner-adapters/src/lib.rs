//! Preflight's pure core: planner wire formats in and out, the Plan IR, and
//! the ActionGraph with its provenance and labels.
//!
//! Data flows one way: bytes -> [`parse`] -> [`Plan`] -> [`graph::ActionGraph::build`]
//! -> (policies decide elsewhere) -> [`render`] -> bytes. This crate never does
//! I/O: no sockets, no files, no clocks; it takes bytes and values and returns
//! values, so every stage can be tested and fuzzed in isolation.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod adapters;
pub mod decision;
pub mod error;
pub mod format;
pub mod graph;
pub mod json;
pub mod plan;

pub use decision::{Outcomes, StepOutcome, Verdict};
pub use error::{AdapterError, Result};
pub use format::Format;
pub use plan::{Args, Origin, Plan, Segment, Step, StepStatus, ToolAnnotations, ToolSpec};

use serde_json::Value;

/// Reads one document in the given format, or detects the format when `None`.
///
/// JSON formats are parsed once here and handed to the adapter as a value;
/// stream and text formats get the bytes. An eval-case JSONL file with several
/// lines is read with [`adapters::eval_case::read_jsonl`] instead.
pub fn parse(bytes: &[u8], format: Option<Format>) -> Result<Plan> {
    let format = match format {
        Some(f) => f,
        None => format::detect(bytes)?,
    };
    match format {
        Format::OpenaiChatStream => adapters::openai_chat_stream::read(bytes),
        Format::OpenaiResponsesStream => adapters::openai_responses_stream::read(bytes),
        Format::AnthropicStream => adapters::anthropic_stream::read(bytes),
        Format::React => adapters::react::read(&String::from_utf8_lossy(bytes)),
        // The document is ours: the chat adapter moves its texts into the
        // plan rather than copying them.
        Format::OpenaiChat => adapters::openai_chat::read_owned(json::parse_bytes(bytes)?),
        json_format => parse_value(&json::parse_bytes(bytes)?, json_format),
    }
}

/// Reads a parsed JSON document in a JSON format.
pub fn parse_value(doc: &Value, format: Format) -> Result<Plan> {
    match format {
        Format::OpenaiChat => adapters::openai_chat::read(doc),
        Format::OpenaiResponses => adapters::openai_responses::read(doc),
        Format::Anthropic => adapters::anthropic::read(doc),
        Format::Mcp => adapters::mcp::read(doc),
        Format::Langchain => adapters::langchain::read(doc),
        Format::Generic => adapters::generic::read(doc),
        Format::EvalCase => adapters::eval_case::read(doc).map(|case| case.plan),
        Format::OpenaiChatStream
        | Format::OpenaiResponsesStream
        | Format::AnthropicStream
        | Format::React => Err(AdapterError::UnknownFormat(format!(
            "{format} is not a JSON document format"
        ))),
    }
}

/// Reads an LLM exchange: the history and tools from the request, the
/// proposed calls from the response. Step locators point into `response`,
/// which is the document [`render`] later edits.
pub fn parse_exchange(format: Format, request: &Value, response: &Value) -> Result<Plan> {
    match format {
        Format::OpenaiChat => adapters::openai_chat::read_exchange(request, response),
        Format::OpenaiResponses => adapters::openai_responses::read_exchange(request, response),
        Format::Anthropic => adapters::anthropic::read_exchange(request, response),
        other => Err(AdapterError::UnknownFormat(format!(
            "{other} has no request/response exchange"
        ))),
    }
}

/// Writes decisions back into `doc` (the document the plan was read from, or
/// the response of an exchange): withheld calls removed with an explanation
/// the model reads, rewritten arguments in place, all else untouched.
pub fn render(format: Format, doc: &mut Value, plan: &Plan, outcomes: &Outcomes) -> Result<()> {
    match format {
        Format::OpenaiChat => adapters::openai_chat::render(doc, plan, outcomes),
        Format::OpenaiResponses => adapters::openai_responses::render(doc, plan, outcomes),
        Format::Anthropic => adapters::anthropic::render(doc, plan, outcomes),
        Format::Mcp => adapters::mcp::render(doc, plan, outcomes),
        Format::Langchain => adapters::langchain::render(doc, plan, outcomes),
        Format::Generic => adapters::generic::render(doc, plan, outcomes),
        Format::EvalCase => adapters::eval_case::render(doc, plan, outcomes),
        Format::React => Err(AdapterError::UnknownFormat(
            "react text is analyzed and judged but not rewritten: there is no structured call to edit".into(),
        )),
        other => Err(AdapterError::UnknownFormat(format!(
            "{other} is rendered event by event by its stream writer, not as one document"
        ))),
    }
}
