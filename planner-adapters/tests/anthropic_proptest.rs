//! Property tests: arbitrary bytes and arbitrary (shape-biased) JSON into
//! the Anthropic readers, the stream assembler and the renderers never
//! panic, and withholding every proposed call always leaves a document (or
//! stream) with no proposed call in it.
#![expect(
    clippy::unwrap_used,
    reason = "a test fails loudly on what it did not expect"
)]

use preflight_adapters::adapters::anthropic;
use preflight_adapters::adapters::anthropic_stream::{self, AnthropicStreamAssembler};
use preflight_adapters::decision::{StepOutcome, Verdict};
use preflight_adapters::{Outcomes, Plan};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

const KEYS: &[&str] = &[
    "type",
    "role",
    "content",
    "messages",
    "system",
    "tools",
    "name",
    "id",
    "input",
    "tool_use_id",
    "text",
    "stop_reason",
    "index",
    "content_block",
    "delta",
    "partial_json",
    "input_schema",
    "is_error",
    "message",
    "error",
];
const WORDS: &[&str] = &[
    "tool_use",
    "tool_result",
    "text",
    "message",
    "user",
    "assistant",
    "thinking",
    "redacted_thinking",
    "server_tool_use",
    "web_search_tool_result",
    "image",
    "t1",
    "t2",
    "step-1",
    "{\"a\":1}",
    "[1]",
    "",
    "é✓",
    "end_turn",
];

fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => proptest::sample::select(WORDS).prop_map(str::to_owned),
        1 => any::<String>(),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-3i64..5).prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        word().prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((proptest::sample::select(KEYS), inner), 0..6).prop_map(|kv| {
                Value::Object(
                    kv.into_iter()
                        .map(|(k, v)| (k.to_owned(), v))
                        .collect::<Map<_, _>>(),
                )
            }),
        ]
    })
}

/// A content block that is often well-formed, so reads get past validation.
fn block() -> impl Strategy<Value = Value> {
    (
        proptest::sample::select(
            &[
                "text",
                "tool_use",
                "tool_result",
                "thinking",
                "server_tool_use",
                "web_search_tool_result",
                "image",
            ][..],
        ),
        proptest::sample::select(&["t1", "t2", "t3"][..]),
        proptest::sample::select(&["send_email", "read_file", "step-0"][..]),
        json_value(),
    )
        .prop_map(|(ty, id, name, v)| match ty {
            "text" => json!({"type": ty, "text": v.to_string()}),
            "tool_result" | "web_search_tool_result" => {
                json!({"type": ty, "tool_use_id": id, "content": v})
            }
            "tool_use" | "server_tool_use" => {
                json!({"type": ty, "id": id, "name": name, "input": v})
            }
            _ => json!({"type": ty, "data": v}),
        })
}

fn request() -> impl Strategy<Value = Value> {
    prop::collection::vec((any::<bool>(), prop::collection::vec(block(), 0..5)), 0..6).prop_map(|msgs| {
        let messages: Vec<Value> = msgs
            .into_iter()
            .map(|(user, content)| json!({"role": if user { "user" } else { "assistant" }, "content": content}))
            .collect();
        json!({"system": "s", "messages": messages})
    })
}

fn response() -> impl Strategy<Value = Value> {
    prop::collection::vec(block(), 0..6)
        .prop_map(|content| json!({"type": "message", "role": "assistant", "content": content, "stop_reason": "tool_use"}))
}

fn block_all(plan: &Plan) -> Outcomes {
    plan.proposed()
        .map(|s| {
            (
                s.id.clone(),
                StepOutcome {
                    verdict: Verdict::Block,
                    reason: "test".into(),
                    rewrite: None,
                },
            )
        })
        .collect()
}

/// Reads `doc`; if that works, withholding every call must render and
/// leave nothing proposed.
fn check_doc(doc: &Value) {
    let Ok(plan) = anthropic::read(doc) else {
        return;
    };
    let mut out = doc.clone();
    anthropic::render(&mut out, &plan, &block_all(&plan)).unwrap();
    let again = anthropic::read(&out).unwrap();
    assert_eq!(again.proposed().count(), 0, "{out}");
}

/// SSE bytes from a list of event data values, with an event name line.
fn sse(events: &[Value]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in events {
        let name = e.get("type").and_then(Value::as_str).unwrap_or("x");
        out.extend_from_slice(format!("event: {name}\ndata: {e}\n\n").as_bytes());
    }
    out
}

fn stream_event() -> impl Strategy<Value = Value> {
    (
        proptest::sample::select(&["content_block_start", "content_block_delta", "content_block_stop", "message_delta", "ping", "error", "message_stop"][..]),
        0u64..4,
        proptest::sample::select(&["tool_use", "text", "thinking", "server_tool_use"][..]),
        proptest::sample::select(&["input_json_delta", "text_delta", "thinking_delta"][..]),
        word(),
    )
        .prop_map(|(ty, index, block, delta, s)| match ty {
            "content_block_start" => json!({"type": ty, "index": index, "content_block": {"type": block, "id": format!("t{index}"), "name": "send_email", "input": {}}}),
            "content_block_delta" => json!({"type": ty, "index": index, "delta": {"type": delta, "partial_json": s, "text": s}}),
            "content_block_stop" => json!({"type": ty, "index": index}),
            "message_delta" => json!({"type": ty, "delta": {"stop_reason": "tool_use"}}),
            "error" => json!({"type": ty, "error": {"type": "overloaded_error", "message": s}}),
            _ => json!({"type": ty}),
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic_the_stream_reader(bytes in prop::collection::vec(any::<u8>(), 0..512), cut in 0usize..512) {
        let _ = anthropic_stream::read(&bytes);
        let mut asm = AnthropicStreamAssembler::new();
        let cut = cut.min(bytes.len());
        let _ = asm.push(&bytes[..cut]).and_then(|_| asm.push(&bytes[cut..])).and_then(|_| asm.finish());
    }

    #[test]
    fn arbitrary_event_sequences_render_to_streams_without_calls(events in prop::collection::vec(stream_event(), 0..24)) {
        let bytes = sse(&events);
        if let Ok(plan) = anthropic_stream::read(&bytes) {
            let out = anthropic_stream::render(&bytes, &plan, &block_all(&plan)).unwrap();
            let again = anthropic_stream::read(&out).unwrap();
            prop_assert_eq!(again.steps.len(), 0);
        }
    }

    #[test]
    fn chunking_never_changes_what_the_assembler_emits(
        events in prop::collection::vec(stream_event(), 0..16),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..6),
    ) {
        let bytes = sse(&events);
        let run = |chunks: &[&[u8]]| {
            let mut asm = AnthropicStreamAssembler::new();
            let mut items = Vec::new();
            for chunk in chunks {
                items.extend(asm.push(chunk).map_err(|e| e.to_string())?);
            }
            items.extend(asm.finish().map_err(|e| e.to_string())?);
            Ok::<_, String>(items)
        };
        let mut points: Vec<usize> = cuts.iter().map(|c| c.index(bytes.len() + 1)).collect();
        points.sort_unstable();
        let mut chunks = Vec::new();
        let mut start = 0;
        for p in points {
            chunks.push(&bytes[start..p]);
            start = p;
        }
        chunks.push(&bytes[start..]);
        let whole = run(&[&bytes]);
        let split = run(&chunks);
        // Same items; an error may be reported at a different chunk but not
        // turn into success or different output.
        match (whole, split) {
            (Ok(a), Ok(b)) => prop_assert_eq!(a, b),
            (Err(_), Err(_)) => {}
            (a, b) => prop_assert!(false, "whole {a:?} vs split {b:?}"),
        }
    }

    #[test]
    fn arbitrary_json_never_panics_the_readers(doc in json_value(), other in json_value()) {
        check_doc(&doc);
        let _ = anthropic::read_exchange(&doc, &other);
    }

    #[test]
    fn shaped_requests_and_responses_render_without_proposed_calls(req in request(), resp in response()) {
        check_doc(&req);
        check_doc(&resp);
        if let Ok(plan) = anthropic::read_exchange(&req, &resp) {
            let mut out = resp.clone();
            anthropic::render(&mut out, &plan, &block_all(&plan)).unwrap();
            prop_assert_eq!(anthropic::read(&out).unwrap().proposed().count(), 0);
        }
    }
}
