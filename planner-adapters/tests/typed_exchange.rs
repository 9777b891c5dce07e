//! The gateway reads Chat Completions exchanges with the typed reader
//! (`openai_chat::typed`) and falls back to the `Value` reader when it
//! declines. Whenever the typed reader gives a plan, it must be the plan the
//! `Value` reader gives for the same bytes; when the `Value` reader fails,
//! the typed one must decline (so the error keeps its located message).
//!
//! Checked over every OpenAI fixture paired with every response fixture,
//! every single-node mutation of them (each value replaced by each JSON type,
//! each member removed), hand-written byte-level oddities (duplicate keys,
//! escaped keys and roles) and generated conversations.

use std::path::Path;

use preflight_adapters::adapters::openai_chat::{read_exchange, typed};
use proptest::prelude::*;
use serde_json::{Value, json};

/// Compares both readers on raw bytes; true when the typed reader took it.
fn check_bytes(request: &[u8], response: &[u8]) -> bool {
    let slow = match (
        serde_json::from_slice::<Value>(request),
        serde_json::from_slice::<Value>(response),
    ) {
        (Ok(q), Ok(r)) => read_exchange(&q, &r).map_err(|e| e.to_string()),
        _ => Err("not JSON".to_owned()),
    };
    let cache = typed::ToolsCache::default();
    let read =
        || typed::Request::parse(request).and_then(|q| typed::read_exchange(q, response, &cache));
    let fast = read();
    // Read again, the tools now from the cache: the same plan.
    assert_eq!(read(), fast, "the cached tools differ");
    match (fast, slow) {
        (Some(fast), Ok(slow)) => {
            assert_eq!(
                fast,
                slow,
                "plans differ for\n{}\n{}",
                String::from_utf8_lossy(request),
                String::from_utf8_lossy(response)
            );
            true
        }
        (Some(fast), Err(e)) => panic!(
            "the typed reader accepted what the Value reader refuses ({e}): {fast:?}\n{}\n{}",
            String::from_utf8_lossy(request),
            String::from_utf8_lossy(response)
        ),
        (None, _) => false,
    }
}

fn check(request: &Value, response: &Value) -> bool {
    let q = serde_json::to_vec(request).unwrap_or_default();
    let r = serde_json::to_vec(response).unwrap_or_default();
    check_bytes(&q, &r)
}

fn load(dir: &str, prefix: &str) -> Vec<Value> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut names: Vec<_> = std::fs::read_dir(&root)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    names.sort();
    names
        .into_iter()
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(prefix) && n.ends_with(".json"))
        })
        .filter_map(|p| serde_json::from_slice(&std::fs::read(p).ok()?).ok())
        .collect()
}

fn corpus() -> (Vec<Value>, Vec<Value>) {
    let mut requests = load("tests/fixtures/openai", "request-");
    let mut responses = load("tests/fixtures/openai", "response-");
    requests.extend(load("benches/data", "chat-request"));
    responses.extend(load("benches/data", "chat-response"));
    assert!(
        requests.len() >= 4 && responses.len() >= 8,
        "fixtures missing"
    );
    (requests, responses)
}

/// Every document `doc` becomes when one of its nodes is replaced by
/// another JSON type or one object member is removed.
fn mutations(doc: &Value) -> Vec<Value> {
    let replacements = [
        Value::Null,
        json!(5),
        json!("x"),
        json!(true),
        json!([]),
        json!({}),
    ];
    let mut out = Vec::new();
    let mut pointers = Vec::new();
    collect_pointers(doc, String::new(), &mut pointers);
    for p in &pointers {
        for r in &replacements {
            let mut m = doc.clone();
            if let Some(slot) = m.pointer_mut(p) {
                *slot = r.clone();
                out.push(m);
            }
        }
        if let Some((parent, key)) = p.rsplit_once('/') {
            let mut m = doc.clone();
            if let Some(Value::Object(o)) = m.pointer_mut(parent) {
                o.shift_remove(key);
                out.push(m);
            }
        }
    }
    out
}

fn collect_pointers(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Object(o) => {
            for (k, child) in o {
                let p = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                out.push(p.clone());
                collect_pointers(child, p, out);
            }
        }
        Value::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                let p = format!("{at}/{i}");
                out.push(p.clone());
                collect_pointers(child, p, out);
            }
        }
        _ => {}
    }
}

#[test]
fn typed_reader_gives_the_value_readers_plan_on_every_fixture_pair() {
    let (requests, responses) = corpus();
    let mut taken = 0;
    for q in &requests {
        for r in &responses {
            taken += usize::from(check(q, r));
        }
    }
    // Only the legacy `functions` request and `function_call` response
    // belong to the Value reader.
    let expected = (requests.len() - 1) * (responses.len() - 1);
    assert_eq!(taken, expected, "the typed reader declined a common shape");
}

#[test]
fn typed_reader_agrees_or_declines_on_every_single_mutation() {
    let (requests, responses) = corpus();
    let (mut taken, mut total) = (0, 0);
    for q in &requests {
        for r in &responses {
            for mq in mutations(q) {
                taken += usize::from(check(&mq, r));
                total += 1;
            }
            for mr in mutations(r) {
                taken += usize::from(check(q, &mr));
                total += 1;
            }
        }
    }
    // Many mutations hit fields neither reader looks at: those must still
    // be read by the typed reader, or the check above proves little.
    assert!(
        taken * 5 > total,
        "typed reader took only {taken} of {total}"
    );
}

#[test]
fn byte_level_oddities_are_declined_or_read_alike() {
    let resp = br#"{"choices":[{"message":{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]}}]}"#;
    let cases: [&[u8]; 9] = [
        // A duplicate key: the Value reader keeps the last one.
        br#"{"messages":[{"role":"user","content":"a","content":"b"}]}"#,
        br#"{"messages":[{"role":"user","content":"a"}],"messages":[]}"#,
        // Escaped keys and roles.
        br#"{"messages":[{"ro\u006ce":"us\u0065r","content":"a\nb"}]}"#,
        // Content parts and a legacy result.
        br#"{"messages":[{"role":"user","content":[{"type":"text","text":"a"}]}]}"#,
        br#"{"messages":[{"role":"function","name":"f","content":"r"}]}"#,
        // Not an object, not JSON, trailing bytes.
        br#"[]"#,
        br#"{"messages":[{"role":"user","content":"a"}"#,
        br#"{"messages":[]} x"#,
        // Null tools, unknown tool types, explicit nulls everywhere.
        br#"{"tools":null,"messages":[{"role":"assistant","content":null,"refusal":null,"tool_calls":null},{"role":"tool","tool_call_id":null,"content":null}]}"#,
    ];
    for q in cases {
        check_bytes(q, resp);
    }
    assert!(check_bytes(
        br#"{"model":"m","stream":false,"tools":[{"type":"web_search"},{"type":"custom","custom":{"name":"c"}}],"messages":[{"role":"user","content":"hi"}]}"#,
        resp
    ));
    let dup_resp = br#"{"choices":[{"message":{"content":"a"},"message":{"content":"b"}}]}"#;
    check_bytes(br#"{"messages":[]}"#, dup_resp);
}

static SHARED: std::sync::LazyLock<typed::ToolsCache> =
    std::sync::LazyLock::new(typed::ToolsCache::default);

#[test]
fn the_tools_cache_keys_on_the_exact_bytes_and_stays_bounded() {
    let cache = typed::ToolsCache::default();
    let a = r#"[{"type":"function","function":{"name":"a","parameters":{"type":"object"}}}]"#;
    let b = r#"[{"type":"function","function":{"name":"b","parameters":{"type":"object"}}}]"#;
    let name = |raw: &str| cache.tools(raw).map(|t| t[0].name.clone());
    assert_eq!(name(a).as_deref(), Some("a"));
    assert_eq!(name(b).as_deref(), Some("b"));
    assert_eq!(name(a).as_deref(), Some("a"));
    assert_eq!(cache.len(), 2);
    // A shape the typed reader does not take is not kept.
    assert!(
        cache
            .tools(r#"[{"type":"function","function":null}]"#)
            .is_none()
    );
    assert_eq!(cache.len(), 2);
    for i in 0..typed::ToolsCache::MAX_ENTRIES {
        let raw = format!(r#"[{{"type":"function","function":{{"name":"t{i}"}}}}]"#);
        assert_eq!(name(&raw), Some(format!("t{i}")));
    }
    assert!(cache.len() <= typed::ToolsCache::MAX_ENTRIES);
    // An array over the size bound is read, not kept.
    let big = format!(
        r#"[{{"type":"function","function":{{"name":"big","description":"{}"}}}}]"#,
        "x".repeat(typed::ToolsCache::MAX_BYTES)
    );
    let before = cache.len();
    assert_eq!(name(&big).as_deref(), Some("big"));
    assert_eq!(cache.len(), before);
}

fn word() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        "[a-z \\n\"\\\\é]{0,12}".prop_map(Value::from),
        Just(json!(3)),
        Just(json!([{"type": "text", "text": "part"}])),
        Just(
            json!([{"type": "refusal", "refusal": "no", "text": "t"}, "bare", "", {"type": "image_url"}, {"text": "a"}])
        ),
        Just(json!([{"type": "text", "text": 5}])),
    ]
}

fn call() -> impl Strategy<Value = Value> {
    (
        prop_oneof![Just(json!("c1")), Just(json!("c2")), Just(Value::Null)],
        prop_oneof![
            Just(json!("function")),
            Just(json!("custom")),
            Just(json!("x"))
        ],
        prop_oneof![
            Just(json!("{\"to\": \"a@b.example\"}")),
            Just(json!("{broken")),
            Just(json!({"k": 1})),
            Just(Value::Null),
            Just(json!(""))
        ],
    )
        .prop_map(|(id, kind, args)| {
            json!({"id": id, "type": kind, "function": {"name": "send", "arguments": args}, "custom": {"name": "c", "input": "raw"}})
        })
}

fn message() -> impl Strategy<Value = Value> {
    (
        prop_oneof![
            Just("system"),
            Just("user"),
            Just("assistant"),
            Just("tool"),
            Just("developer"),
            Just("function"),
            Just("robot")
        ],
        word(),
        prop::collection::vec(call(), 0..3),
        prop_oneof![Just(json!("c1")), Just(json!("c2")), Just(Value::Null)],
    )
        .prop_map(|(role, content, calls, id)| {
            json!({"role": role, "content": content, "tool_calls": calls, "tool_call_id": id, "name": "send"})
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]
    #[test]
    fn generated_conversations_read_alike_and_share_one_tools_cache(
        history in prop::collection::vec(message(), 0..6),
        answer in prop::collection::vec(call(), 0..3),
        content in word(),
    ) {
        let req = json!({"model": "gpt", "tools": [{"type": "function", "function": {"name": "send", "parameters": {"type": "object"}}}], "messages": history});
        let resp = json!({"choices": [{"message": {"role": "assistant", "content": content, "tool_calls": answer}}]});
        check(&req, &resp);
        // One cache across conversations (as in the gateway).
        let q = serde_json::to_vec(&req).unwrap_or_default();
        let r = serde_json::to_vec(&resp).unwrap_or_default();
        let shared = typed::Request::parse(&q).and_then(|t| typed::read_exchange(t, &r, &SHARED));
        let alone = typed::Request::parse(&q)
            .and_then(|t| typed::read_exchange(t, &r, &typed::ToolsCache::default()));
        prop_assert_eq!(shared, alone);
    }
}
