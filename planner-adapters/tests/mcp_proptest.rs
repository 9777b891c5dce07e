//! Property tests: arbitrary and JSON-RPC-shaped JSON into the MCP reader,
//! helpers and renderer never panic, and withholding every proposed call
//! leaves a session with no proposed call in it.
#![expect(
    clippy::unwrap_used,
    reason = "a test fails loudly on what it did not expect"
)]

use preflight_adapters::adapters::mcp;
use preflight_adapters::decision::{StepOutcome, Verdict};
use preflight_adapters::{Outcomes, Plan};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

const KEYS: &[&str] = &[
    "jsonrpc",
    "id",
    "method",
    "params",
    "result",
    "error",
    "code",
    "message",
    "name",
    "arguments",
    "content",
    "tools",
    "inputSchema",
    "annotations",
    "structuredContent",
    "isError",
    "messages",
    "role",
    "text",
    "type",
    "instructions",
    "contents",
    "title",
];
const WORDS: &[&str] = &[
    "2.0",
    "tools/call",
    "tools/list",
    "prompts/get",
    "initialize",
    "sampling/createMessage",
    "resources/read",
    "notifications/cancelled",
    "text",
    "resource",
    "user",
    "assistant",
    "a",
    "",
];

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-2i64..4).prop_map(Value::from),
        proptest::sample::select(WORDS).prop_map(|w| Value::String(w.to_owned())),
        any::<String>().prop_map(Value::String),
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

/// A JSON-RPC message that is valid often enough to reach pairing and rendering.
fn message() -> impl Strategy<Value = Value> {
    (
        0u8..4,
        proptest::sample::select(&["tools/call", "tools/list", "prompts/get", "sampling/createMessage", "initialize"][..]),
        prop_oneof![(0i64..3).prop_map(Value::from), Just(json!("a"))],
        json_value(),
    )
        .prop_map(|(kind, method, id, v)| match kind {
            0 => json!({"jsonrpc": "2.0", "id": id, "method": method, "params": {"name": "send_email", "arguments": v, "messages": []}}),
            1 => json!({"jsonrpc": "2.0", "id": id, "result": {"content": v, "tools": [], "messages": []}}),
            2 => json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32000, "message": "failed"}}),
            _ => json!({"jsonrpc": "2.0", "method": "notifications/progress", "params": v}),
        })
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

fn check_doc(doc: &Value) {
    let Ok(plan) = mcp::read(doc) else { return };
    let mut out = doc.clone();
    mcp::render(&mut out, &plan, &block_all(&plan)).unwrap();
    let again = mcp::read(&out).unwrap();
    assert_eq!(again.proposed().count(), 0, "{out}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_json_never_panics_the_reader_or_helpers(doc in json_value()) {
        check_doc(&doc);
        let _ = mcp::call_from_request(&doc);
        let _ = mcp::tool_specs_from_list_result(&doc, "/result");
        let _ = mcp::tool_definition_canonical(&doc);
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_parse_entry(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        if let Ok(doc) = serde_json::from_slice::<Value>(&bytes) {
            check_doc(&doc);
        }
        let _ = preflight_adapters::parse(&bytes, Some(preflight_adapters::Format::Mcp));
    }

    #[test]
    fn shaped_sessions_render_without_proposed_calls(messages in prop::collection::vec(message(), 0..10)) {
        check_doc(&Value::Array(messages.clone()));
        if let Some(first) = messages.first() {
            check_doc(first);
        }
    }

    #[test]
    fn canonical_form_is_independent_of_key_order(doc in json_value()) {
        fn reversed(v: &Value) -> Value {
            match v {
                Value::Object(o) => Value::Object(o.iter().rev().map(|(k, v)| (k.clone(), reversed(v))).collect()),
                Value::Array(a) => Value::Array(a.iter().map(reversed).collect()),
                other => other.clone(),
            }
        }
        prop_assert_eq!(mcp::tool_definition_canonical(&doc), mcp::tool_definition_canonical(&reversed(&doc)));
    }
}
