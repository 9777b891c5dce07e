//! Writing chunks into a Chat Completions stream: a judged call, the
//! explanation of a withheld one, a finish reason.
//!
//! Written chunks copy the envelope of the upstream stream (`id`,
//! `created`, `model`, `system_fingerprint`, `service_tier`), so a client
//! sees one consistent completion. A call is written whole, in one delta:
//! the SDK accumulators (openai-python `accumulate_delta`, openai-node
//! `ChatCompletionStream`) accept a first delta that already carries the
//! complete arguments. They do, however, key calls by their position in the
//! list, so the `index` written must be dense: the gateway passes the
//! call's position among the calls it let through (`out_index`).
//! Streams written this way (block one of two, block all, rewrite, legacy
//! `function_call`) were checked by hand against openai-python 2.54's
//! `chat.completions.stream(...).get_final_completion()`.

use serde_json::{Map, Value, json};

use super::assembler::ReadyCall;
use crate::decision::{StepOutcome, Verdict, explanation};

/// The envelope fields of a stream's chunks.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChunkTemplate {
    fields: Map<String, Value>,
}

impl ChunkTemplate {
    /// Takes the envelope from an upstream chunk.
    pub fn from_chunk(chunk: &Value) -> Self {
        let mut fields = Map::new();
        for key in [
            "id",
            "object",
            "created",
            "model",
            "service_tier",
            "system_fingerprint",
        ] {
            if let Some(v) = chunk.get(key) {
                fields.insert(key.to_owned(), v.clone());
            }
        }
        fields
            .entry("object")
            .or_insert_with(|| Value::String("chat.completion.chunk".into()));
        ChunkTemplate { fields }
    }

    fn chunk(&self, choice: usize, delta: Value, finish_reason: Option<&str>) -> Vec<u8> {
        let mut chunk = self.fields.clone();
        chunk.insert(
            "choices".into(),
            json!([{
                "index": choice,
                "delta": delta,
                "logprobs": null,
                "finish_reason": finish_reason,
            }]),
        );
        sse_event(&Value::Object(chunk))
    }

    /// A chunk carrying one whole custom tool call at position `out_index`.
    pub fn custom_tool_call(
        &self,
        choice: usize,
        out_index: usize,
        id: Option<&str>,
        name: &str,
        input: &str,
    ) -> Vec<u8> {
        let mut call = Map::new();
        call.insert("index".into(), json!(out_index));
        if let Some(id) = id {
            call.insert("id".into(), json!(id));
        }
        call.insert("type".into(), json!("custom"));
        call.insert("custom".into(), json!({"name": name, "input": input}));
        self.chunk(choice, json!({"tool_calls": [call]}), None)
    }

    /// A chunk carrying one whole tool call at position `out_index`.
    pub fn tool_call(
        &self,
        choice: usize,
        out_index: usize,
        id: Option<&str>,
        name: &str,
        arguments: &str,
    ) -> Vec<u8> {
        let mut call = Map::new();
        call.insert("index".into(), json!(out_index));
        if let Some(id) = id {
            call.insert("id".into(), json!(id));
        }
        call.insert("type".into(), json!("function"));
        call.insert(
            "function".into(),
            json!({"name": name, "arguments": arguments}),
        );
        self.chunk(choice, json!({"tool_calls": [call]}), None)
    }

    /// A chunk carrying a whole legacy `function_call`.
    pub fn function_call(&self, choice: usize, name: &str, arguments: &str) -> Vec<u8> {
        self.chunk(
            choice,
            json!({"function_call": {"name": name, "arguments": arguments}}),
            None,
        )
    }

    /// A chunk carrying a text delta.
    pub fn text(&self, choice: usize, text: &str) -> Vec<u8> {
        self.chunk(choice, json!({"content": text}), None)
    }

    /// A chunk carrying only a finish reason.
    pub fn finish(&self, choice: usize, reason: &str) -> Vec<u8> {
        self.chunk(choice, json!({}), Some(reason))
    }
}

/// One SSE event, `data: <compact JSON>` and a blank line.
pub(crate) fn sse_event(data: &Value) -> Vec<u8> {
    let mut out = b"data: ".to_vec();
    out.extend_from_slice(data.to_string().as_bytes());
    out.extend_from_slice(b"\n\n");
    out
}

/// The bytes that take an assembled call's place in the client's stream.
///
/// - allowed (no outcome, or `allow`): the held upstream events when they
///   replay exactly this call at the same index, else the call re-written
///   whole at `out_index`;
/// - `rewrite`: the call at `out_index` with the new arguments;
/// - `block` / `require_approval`: a text delta with
///   [`explanation`], so the model or the user reads why (and the gateway
///   does not count the call when numbering later ones).
///
/// `step_id` is the id of the call's step in the plan (what the
/// explanation names). A rewrite without new arguments is withheld: it
/// cannot be let through unchanged, since the policy asked for a change.
pub fn render_chat_stream_call(
    template: &ChunkTemplate,
    call: &ReadyCall,
    out_index: usize,
    step_id: &str,
    outcome: Option<&StepOutcome>,
) -> Vec<u8> {
    let write = |arguments: &str| {
        if call.legacy_function_call {
            template.function_call(call.choice, &call.name, arguments)
        } else if call.custom {
            template.custom_tool_call(
                call.choice,
                out_index,
                call.id.as_deref(),
                &call.name,
                arguments,
            )
        } else {
            template.tool_call(
                call.choice,
                out_index,
                call.id.as_deref(),
                &call.name,
                arguments,
            )
        }
    };
    match outcome {
        None => allowed(call, out_index, write),
        Some(o) if o.verdict == Verdict::Allow => allowed(call, out_index, write),
        Some(StepOutcome {
            verdict: Verdict::Rewrite,
            rewrite: Some(args),
            ..
        }) => match args {
            // A custom tool's input is free text, written as is.
            Value::String(text) if call.custom => write(text),
            other => write(&other.to_string()),
        },
        Some(o) => {
            let mut text = explanation(&call.name, step_id, o);
            if o.verdict == Verdict::Rewrite {
                text = format!(
                    "[preflight] The call to `{}` ({step_id}) was withheld: a rewrite was required but no new arguments were given: {}.",
                    call.name, o.reason
                );
            }
            if call.after_text {
                text.insert_str(0, "\n\n");
            }
            template.text(call.choice, &text)
        }
    }
}

fn allowed(call: &ReadyCall, out_index: usize, write: impl Fn(&str) -> Vec<u8>) -> Vec<u8> {
    if call.exact && !call.held.is_empty() && (call.legacy_function_call || out_index == call.index)
    {
        call.held.clone()
    } else {
        write(&call.arguments)
    }
}
