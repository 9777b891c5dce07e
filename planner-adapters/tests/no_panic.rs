//! Property tests: whatever bytes or JSON come in, every adapter and the
//! graph return a value or an error, never a panic.

use preflight_adapters::graph::ActionGraph;
use preflight_adapters::{Format, Outcomes, StepOutcome, Verdict, parse, parse_value, render};
use proptest::prelude::*;
use serde_json::Value;

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        ".{0,24}".prop_map(Value::String),
        prop::sample::select(vec![
            "user",
            "assistant",
            "tool",
            "system",
            "function",
            "tool_use",
            "tool_result",
            "text",
            "message",
            "function_call",
            "function_call_output",
            "tools/call",
            "tools/list",
            "2.0",
            "{\"a\":",
            "{}",
            "",
            "call_1",
            "ai",
            "human",
        ])
        .prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        let keys = prop::sample::select(vec![
            "role",
            "content",
            "tool_calls",
            "function",
            "name",
            "arguments",
            "id",
            "type",
            "messages",
            "tools",
            "choices",
            "message",
            "input",
            "output",
            "call_id",
            "tool_call_id",
            "tool_use_id",
            "jsonrpc",
            "method",
            "params",
            "result",
            "steps",
            "tool",
            "args",
            "proposed",
            "data",
            "kwargs",
            "lc",
            "parameters",
            "input_schema",
            "system",
        ]);
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(keys.prop_map(str::to_owned), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn exercise(plan: &preflight_adapters::Plan) {
    let g = ActionGraph::build(plan);
    let _ = g.to_json();
    let _ = g.to_dot();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(plan) = parse(&bytes, None) {
            exercise(&plan);
        }
        for f in Format::ALL {
            if let Ok(plan) = parse(&bytes, Some(f)) {
                exercise(&plan);
            }
        }
    }

    #[test]
    fn arbitrary_json_never_panics(v in json_value()) {
        let bytes = serde_json::to_vec(&v).unwrap_or_default();
        let _ = parse(&bytes, None);
        for f in Format::ALL {
            if f.is_stream() || f == Format::React {
                continue;
            }
            if let Ok(plan) = parse_value(&v, f) {
                exercise(&plan);
                // Block every proposed step and render: must not panic either.
                let outcomes: Outcomes = plan
                    .proposed()
                    .map(|s| (s.id.clone(), StepOutcome { verdict: Verdict::Block, reason: "test".into(), rewrite: None }))
                    .collect();
                let mut doc = v.clone();
                let _ = render(f, &mut doc, &plan, &outcomes);
            }
        }
    }

    #[test]
    fn arbitrary_text_never_panics(s in "(Thought|Action|Action Input|Observation|data|event|Question)?:? ?.{0,80}(\n.{0,40}){0,6}") {
        let _ = parse(s.as_bytes(), None);
        let _ = parse(s.as_bytes(), Some(Format::React));
        let _ = parse(s.as_bytes(), Some(Format::OpenaiChatStream));
        let _ = parse(s.as_bytes(), Some(Format::AnthropicStream));
    }
}
