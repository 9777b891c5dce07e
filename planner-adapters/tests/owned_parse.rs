//! `parse` moves the message texts of an OpenAI chat document into the plan
//! instead of copying them; the plan must be the one the borrowing reader
//! (`parse_value`, what the gateway uses) gives, errors included.

use std::path::Path;

use preflight_adapters::{Format, parse, parse_value};
use serde_json::{Value, json};

fn both(doc: &Value) -> (String, String) {
    let bytes = serde_json::to_vec(doc).unwrap_or_default();
    let owned = parse(&bytes, Some(Format::OpenaiChat));
    let borrowed = parse_value(doc, Format::OpenaiChat);
    (format!("{owned:?}"), format!("{borrowed:?}"))
}

#[test]
fn moving_texts_gives_the_plan_copying_them_gives() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut docs: Vec<Value> = Vec::new();
    for dir in ["tests/fixtures/openai", "../examples", "benches/data"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        for entry in entries.flatten() {
            if let Ok(bytes) = std::fs::read(entry.path())
                && let Ok(doc) = serde_json::from_slice::<Value>(&bytes)
            {
                docs.push(doc);
            }
        }
    }
    assert!(docs.len() >= 5, "only {} documents", docs.len());
    // Odd shapes: content parts, null content, a legacy function result,
    // a result before its call, an unknown role after taken texts, a
    // message that is not an object.
    docs.push(json!({"messages": [
        {"role": "system", "content": [{"type": "text", "text": "sys"}, "bare"]},
        {"role": "user", "content": "pay ACME 4,200 EUR"},
        {"role": "assistant", "content": null, "function_call": {"name": "pay", "arguments": "{\"amount\": 4200}"}},
        {"role": "function", "name": "pay", "content": "paid"},
        {"role": "tool", "tool_call_id": "nope", "content": "orphan result"},
        {"role": "assistant", "content": "done", "refusal": "no"},
    ]}));
    docs.push(
        json!({"messages": [{"role": "user", "content": "hi"}, {"role": "robot", "content": "x"}]}),
    );
    docs.push(json!({"messages": [{"role": "user", "content": "hi"}, "not an object"]}));
    docs.push(json!({"messages": [{"role": "tool", "content": 5}]}));
    docs.push(json!({"messages": [{"role": "user", "content": "a"}], "choices": [{"message": {"role": "assistant", "content": "b", "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": ""}}]}}]}));
    for doc in &docs {
        let (owned, borrowed) = both(doc);
        assert_eq!(owned, borrowed, "{doc}");
    }
}
