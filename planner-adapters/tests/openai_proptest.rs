//! Property tests: arbitrary bytes and arbitrary JSON (biased towards the
//! OpenAI shapes so the deep paths are reached) into every OpenAI reader,
//! assembler and renderer return `Ok` or an error, never panic.

use preflight_adapters::adapters::{
    openai_chat, openai_chat_stream, openai_responses, openai_responses_stream,
};
use preflight_adapters::decision::{Outcomes, StepOutcome, Verdict};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

/// Keys and strings the adapters look for, so random documents hit them.
const KEYS: &[&str] = &[
    "messages",
    "choices",
    "message",
    "role",
    "content",
    "tool_calls",
    "function_call",
    "function",
    "name",
    "arguments",
    "id",
    "type",
    "tool_call_id",
    "tools",
    "functions",
    "parameters",
    "custom",
    "input",
    "refusal",
    "text",
    "output",
    "call_id",
    "instructions",
    "action",
    "delta",
    "index",
    "finish_reason",
    "output_index",
    "item",
    "sequence_number",
    "response",
];
const WORDS: &[&str] = &[
    "user",
    "assistant",
    "system",
    "developer",
    "tool",
    "function",
    "custom",
    "message",
    "function_call",
    "function_call_output",
    "custom_tool_call",
    "local_shell_call",
    "computer_call",
    "local_shell_call_output",
    "text",
    "refusal",
    "input_text",
    "output_text",
    "{}",
    "{\"a\":1}",
    "{\"a\":",
    "",
    "call_1",
    "ü😀",
    "tool_calls",
    "stop",
    "response.output_item.added",
    "response.output_item.done",
    "response.function_call_arguments.delta",
    "response.completed",
    "chat.completion.chunk",
];

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (0..3u64).prop_map(Value::from),
        prop::sample::select(WORDS).prop_map(|s| Value::String(s.to_owned())),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..6).prop_map(|pairs| {
                let mut map = Map::new();
                for (k, v) in pairs {
                    map.insert(k.to_owned(), v);
                }
                Value::Object(map)
            }),
        ]
    })
}

fn outcomes_for(plan: &preflight_adapters::Plan, verdicts: &[u8], rewrite: &Value) -> Outcomes {
    plan.steps
        .iter()
        .zip(verdicts.iter().cycle())
        .map(|(step, v)| {
            let verdict = [
                Verdict::Allow,
                Verdict::Rewrite,
                Verdict::RequireApproval,
                Verdict::Block,
            ][usize::from(*v) % 4];
            let outcome = StepOutcome {
                verdict,
                reason: "property".into(),
                rewrite: (v % 2 == 0).then(|| rewrite.clone()),
            };
            (step.id.clone(), outcome)
        })
        .collect()
}

/// SSE framing around random JSON events, so stream paths are reached.
fn sse_stream() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        (
            json_value(),
            prop::option::of(prop::sample::select(WORDS)),
            any::<bool>(),
        ),
        0..8,
    )
    .prop_map(|events| {
        let mut out = Vec::new();
        for (data, event, done) in events {
            if let Some(name) = event {
                out.extend_from_slice(format!("event: {name}\n").as_bytes());
            }
            let data = if done {
                "[DONE]".to_owned()
            } else {
                data.to_string()
            };
            out.extend_from_slice(format!("data: {data}\n\n").as_bytes());
        }
        out
    })
}

fn word() -> impl Strategy<Value = Value> {
    prop_oneof![
        3 => prop::sample::select(WORDS).prop_map(|s| Value::String(s.to_owned())),
        1 => json_value(),
    ]
}

/// A tool call the way the API shapes it, with random pieces.
fn chat_call() -> impl Strategy<Value = Value> {
    (word(), prop_oneof![Just(json!("function")), word()], word(), word())
        .prop_map(|(id, ty, name, args)| json!({"id": id, "type": ty, "function": {"name": name, "arguments": args}, "custom": {"name": name, "input": args}}))
}

fn chat_message() -> impl Strategy<Value = Value> {
    (
        prop::sample::select(&["system", "developer", "user", "assistant", "tool", "function"][..]),
        word(),
        prop::collection::vec(chat_call(), 0..3),
        word(),
        any::<bool>(),
    )
        .prop_map(|(role, content, calls, id, legacy)| {
            let mut m = json!({"role": role, "content": content, "tool_calls": calls, "tool_call_id": id, "name": id});
            if legacy {
                m["function_call"] = json!({"name": id, "arguments": content});
            }
            m
        })
}

fn responses_item() -> impl Strategy<Value = Value> {
    (word(), word(), word(), word(), json_value()).prop_map(|(ty, role, name, args, action)| {
        json!({"type": ty, "role": role, "content": args, "name": name, "call_id": name, "arguments": args, "input": args, "output": args, "action": action})
    })
}

fn chat_chunk() -> impl Strategy<Value = Vec<u8>> {
    (0..2u64, word(), prop::collection::vec((0..3u64, word(), word(), word()), 0..3), prop::option::of(word()))
        .prop_map(|(choice, content, calls, finish)| {
            let calls: Vec<Value> = calls
                .into_iter()
                .map(|(i, id, name, args)| json!({"index": i, "id": id, "function": {"name": name, "arguments": args}}))
                .collect();
            let chunk = json!({"object": "chat.completion.chunk", "choices": [{"index": choice, "delta": {"content": content, "tool_calls": calls}, "finish_reason": finish}]});
            format!("data: {chunk}\n\n").into_bytes()
        })
}

fn responses_event() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::sample::select(&[
            "response.output_item.added", "response.output_item.done",
            "response.function_call_arguments.delta", "response.function_call_arguments.done",
            "response.custom_tool_call_input.delta", "response.output_text.delta", "response.completed",
        ][..]),
        0..3u64,
        prop::sample::select(&["function_call", "custom_tool_call", "local_shell_call", "computer_call", "message"][..]),
        word(),
        word(),
    )
        .prop_map(|(ty, i, kind, name, args)| {
            let event = json!({"type": ty, "output_index": i, "delta": args, "arguments": args,
                "item": {"type": kind, "name": name, "call_id": name, "arguments": args, "input": args, "action": {"type": "exec"}},
                "response": {"output": [{"type": kind, "name": name, "arguments": args}]}});
            format!("event: {ty}\ndata: {event}\n\n").into_bytes()
        })
}

fn concat(events: Vec<Vec<u8>>) -> Vec<u8> {
    events.concat()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn json_readers_and_renderers_never_panic(
        doc in json_value(),
        other in json_value(),
        verdicts in prop::collection::vec(any::<u8>(), 1..4),
    ) {
        for read in [openai_chat::read, openai_responses::read] {
            if let Ok(plan) = read(&doc) {
                let outcomes = outcomes_for(&plan, &verdicts, &other);
                let mut copy = doc.clone();
                let _ = openai_chat::render(&mut copy, &plan, &outcomes);
                let mut copy = doc.clone();
                let _ = openai_responses::render(&mut copy, &plan, &outcomes);
            }
        }
        let _ = openai_chat::read_exchange(&doc, &other);
        let _ = openai_responses::read_exchange(&doc, &other);
    }

    #[test]
    fn chat_shaped_documents_never_panic(
        messages in prop::collection::vec(json_value(), 0..6),
        choices in prop::collection::vec(json_value(), 0..3),
        verdicts in prop::collection::vec(any::<u8>(), 1..4),
        rewrite in json_value(),
    ) {
        let doc = serde_json::json!({"messages": messages, "choices": choices});
        if let Ok(plan) = openai_chat::read(&doc) {
            let mut copy = doc.clone();
            let _ = openai_chat::render(&mut copy, &plan, &outcomes_for(&plan, &verdicts, &rewrite));
        }
        let doc = serde_json::json!({"input": messages, "output": choices});
        if let Ok(plan) = openai_responses::read(&doc) {
            let mut copy = doc.clone();
            let _ = openai_responses::render(&mut copy, &plan, &outcomes_for(&plan, &verdicts, &rewrite));
        }
    }

    #[test]
    fn stream_readers_never_panic_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = openai_chat_stream::read(&bytes);
        let _ = openai_responses_stream::read(&bytes);
    }

    #[test]
    fn assemblers_never_panic_on_sse_framed_json_split_anywhere(
        stream in sse_stream(),
        split in any::<prop::sample::Index>(),
    ) {
        let at = split.index(stream.len() + 1);
        let mut chat = openai_chat_stream::ChatStreamAssembler::new();
        if chat.push(&stream[..at]).is_ok() && chat.push(&stream[at..]).is_ok() {
            let _ = chat.finish();
        }
        let mut responses = openai_responses_stream::ResponsesStreamAssembler::new();
        if responses.push(&stream[..at]).is_ok() && responses.push(&stream[at..]).is_ok() {
            let _ = responses.finish();
        }
        let _ = openai_chat_stream::read(&stream);
        let _ = openai_responses_stream::read(&stream);
    }

    #[test]
    fn api_shaped_documents_read_and_render_without_panic(
        messages in prop::collection::vec(chat_message(), 0..6),
        items in prop::collection::vec(responses_item(), 0..6),
        verdicts in prop::collection::vec(any::<u8>(), 1..4),
        rewrite in json_value(),
    ) {
        let request = json!({"messages": messages.clone()});
        let response = json!({"choices": [{"index": 0, "message": messages.last().cloned().unwrap_or(Value::Null)}]});
        for doc in [&request, &response] {
            if let Ok(plan) = openai_chat::read(doc) {
                let mut copy = doc.clone();
                let _ = openai_chat::render(&mut copy, &plan, &outcomes_for(&plan, &verdicts, &rewrite));
            }
        }
        if let Ok(plan) = openai_chat::read_exchange(&request, &response) {
            let mut copy = response.clone();
            let _ = openai_chat::render(&mut copy, &plan, &outcomes_for(&plan, &verdicts, &rewrite));
        }
        let doc = json!({"input": items.clone(), "output": items});
        if let Ok(plan) = openai_responses::read(&doc) {
            let mut copy = doc.clone();
            let _ = openai_responses::render(&mut copy, &plan, &outcomes_for(&plan, &verdicts, &rewrite));
        }
    }

    #[test]
    fn api_shaped_streams_never_panic_split_anywhere(
        chat in prop::collection::vec(chat_chunk(), 0..8).prop_map(concat),
        responses in prop::collection::vec(responses_event(), 0..8).prop_map(concat),
        split in any::<prop::sample::Index>(),
    ) {
        let at = split.index(chat.len() + 1);
        let mut asm = openai_chat_stream::ChatStreamAssembler::new();
        if asm.push(&chat[..at]).is_ok() && asm.push(&chat[at..]).is_ok() {
            let _ = asm.finish();
        }
        let _ = openai_chat_stream::read(&chat);
        let at = split.index(responses.len() + 1);
        let mut asm = openai_responses_stream::ResponsesStreamAssembler::new();
        if asm.push(&responses[..at]).is_ok() && asm.push(&responses[at..]).is_ok() {
            let _ = asm.finish();
        }
        let _ = openai_responses_stream::read(&responses);
    }
}

/// Guards the properties above: the shaped generators must reach the deep
/// paths (plans with steps, renders that edit), or the properties prove little.
#[test]
fn shaped_generators_reach_steps_and_edits() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = prop::collection::vec(chat_message(), 1..6);
    let (mut with_steps, mut edited, mut stream_calls) = (0, 0, 0);
    for _ in 0..300 {
        let messages = strategy.new_tree(&mut runner).expect("tree").current();
        let doc = json!({"messages": messages});
        if let Ok(plan) = openai_chat::read(&doc)
            && !plan.steps.is_empty()
        {
            with_steps += 1;
            let mut copy = doc.clone();
            let outcomes = outcomes_for(&plan, &[3], &Value::Null);
            if openai_chat::render(&mut copy, &plan, &outcomes).is_ok() && copy != doc {
                edited += 1;
            }
        }
    }
    let chunks = prop::collection::vec(chat_chunk(), 1..6).prop_map(concat);
    for _ in 0..300 {
        let stream = chunks.new_tree(&mut runner).expect("tree").current();
        if openai_chat_stream::read(&stream).is_ok_and(|p| !p.steps.is_empty()) {
            stream_calls += 1;
        }
    }
    assert!(with_steps > 10, "plans with steps: {with_steps}");
    assert!(edited > 5, "renders that edited: {edited}");
    assert!(stream_calls > 10, "streams with calls: {stream_calls}");
}
