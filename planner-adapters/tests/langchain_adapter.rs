//! LangChain / LangGraph adapter: golden fixtures (plan and render), errors
//! that name their JSON pointer, and a no-panic property test.

use std::path::Path;

use preflight_adapters::adapters::langchain;
use preflight_adapters::decision::{Outcomes, StepOutcome, Verdict};
use preflight_adapters::{AdapterError, Args, Origin, Plan, StepStatus};
use proptest::prelude::*;
use serde_json::{Value, json};

/// Block the first proposed step, rewrite the second, hold the third.
fn demo_outcomes(plan: &Plan) -> Outcomes {
    let verdicts = [Verdict::Block, Verdict::Rewrite, Verdict::RequireApproval];
    plan.proposed()
        .zip(verdicts)
        .map(|(step, verdict)| {
            let outcome = StepOutcome {
                verdict,
                reason: format!("demo {} of {}", verdict.name(), step.tool),
                rewrite: (verdict == Verdict::Rewrite).then(|| json!({"rewritten": true})),
            };
            (step.id.clone(), outcome)
        })
        .collect()
}

fn fixture(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/langchain")
        .join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

fn shape_path(err: AdapterError) -> String {
    match err {
        AdapterError::Shape { path, .. } => path,
        other => panic!("expected a shape error, got {other:?}"),
    }
}

#[test]
fn golden_fixtures_read_and_render() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/langchain");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    assert!(names.len() >= 6, "fixtures missing: {names:?}");
    for name in names {
        let doc = fixture(&name);
        let plan = langchain::read(&doc).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut rendered = doc.clone();
        langchain::render(&mut rendered, &plan, &demo_outcomes(&plan))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let stem = name.trim_end_matches(".json");
        insta::assert_json_snapshot!(stem, json!({"plan": plan, "rendered": rendered}));
    }
}

#[test]
fn messages_to_dict_history_is_executed_and_trailing_call_proposed() {
    let plan = langchain::read(&fixture("messages-to-dict-agent.json")).unwrap();
    assert_eq!(plan.steps.len(), 2);
    assert_eq!(plan.steps[0].tool, "lookup_order");
    assert!(matches!(
        plan.steps[0].status,
        StepStatus::Executed { result: Some(_) }
    ));
    assert_eq!(plan.steps[1].tool, "send_email");
    assert!(plan.steps[1].is_proposed());
    assert_eq!(plan.steps[1].locator.pointer, "/4/data/tool_calls/0");
    assert_eq!(
        plan.goal.as_deref(),
        Some("Where is my order NW-48213? Email me the tracking link at dana.k@example.org.")
    );
}

#[test]
fn blocked_call_is_removed_from_tool_calls_twins_and_tool_use_parts() {
    let doc = fixture("lc-constructor-anthropic-parts.json");
    let plan = langchain::read(&doc).unwrap();
    let audit = plan.steps.iter().find(|s| s.id == "toolu_01C").unwrap();
    assert!(audit.is_proposed());
    let mut outcomes = Outcomes::new();
    outcomes.insert(
        "toolu_01C".into(),
        StepOutcome {
            verdict: Verdict::Block,
            reason: "deletes audit logs".into(),
            rewrite: None,
        },
    );
    let mut out = doc.clone();
    langchain::render(&mut out, &plan, &outcomes).unwrap();
    let kwargs = &out[3]["kwargs"];
    let ids: Vec<_> = kwargs["tool_calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].clone())
        .collect();
    assert_eq!(ids, vec![json!("toolu_01B")]);
    let parts = kwargs["content"].as_array().unwrap();
    assert!(
        parts.iter().all(|p| p["id"] != "toolu_01C"),
        "tool_use part kept: {parts:?}"
    );
    let last = parts.last().unwrap()["text"].as_str().unwrap();
    assert!(
        last.contains("deletes audit logs") && last.contains("delete_objects"),
        "{last}"
    );
    // The allowed call and the history are untouched.
    assert_eq!(out[0], doc[0]);
    assert_eq!(kwargs["tool_calls"][0], doc[3]["kwargs"]["tool_calls"][0]);
}

#[test]
fn block_and_rewrite_keep_additional_kwargs_twins_in_step() {
    let doc = fixture("legacy-additional-kwargs.json");
    let plan = langchain::read(&doc).unwrap();
    assert_eq!(plan.proposed().count(), 2);
    let mut outcomes = Outcomes::new();
    outcomes.insert(
        "call_share".into(),
        StepOutcome {
            verdict: Verdict::Block,
            reason: "posts a secret".into(),
            rewrite: None,
        },
    );
    outcomes.insert(
        "call_rot".into(),
        StepOutcome {
            verdict: Verdict::Rewrite,
            reason: "dry run first".into(),
            rewrite: Some(json!({"service": "billing", "dry_run": true})),
        },
    );
    let mut out = doc.clone();
    langchain::render(&mut out, &plan, &outcomes).unwrap();
    let twins = out[1]["data"]["additional_kwargs"]["tool_calls"]
        .as_array()
        .unwrap();
    assert_eq!(twins.len(), 1);
    let args: Value =
        serde_json::from_str(twins[0]["function"]["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(args, json!({"service": "billing", "dry_run": true}));
    assert!(
        out[1]["data"]["content"]
            .as_str()
            .unwrap()
            .contains("posts a secret")
    );
}

#[test]
fn invalid_tool_calls_become_malformed_steps_and_rewrite_moves_them_to_tool_calls() {
    let doc = fixture("invalid-tool-calls.json");
    let plan = langchain::read(&doc).unwrap();
    let step = plan.steps.iter().find(|s| s.id == "call_bad_1").unwrap();
    let Args::Malformed { raw, error } = &step.args else {
        panic!("expected malformed args: {:?}", step.args);
    };
    assert!(raw.starts_with("{\"from\""));
    assert!(error.contains("not valid JSON"));
    assert_eq!(step.locator.pointer, "/1/data/invalid_tool_calls/1");
    assert!(step.is_proposed());
    let mut outcomes = Outcomes::new();
    outcomes.insert(
        "call_bad_1".into(),
        StepOutcome {
            verdict: Verdict::Rewrite,
            reason: "repaired".into(),
            rewrite: Some(json!({"from": "checking", "to": "savings", "amount": 250})),
        },
    );
    let mut out = doc.clone();
    langchain::render(&mut out, &plan, &outcomes).unwrap();
    let data = &out[1]["data"];
    assert_eq!(data["tool_calls"][0]["args"]["amount"], 250);
    assert_eq!(data["tool_calls"][0]["id"], "call_bad_1");
    assert_eq!(data["invalid_tool_calls"].as_array().unwrap().len(), 1);
}

#[test]
fn rewriting_an_invalid_call_that_names_no_tool_is_an_error() {
    let doc = fixture("invalid-tool-calls.json");
    let plan = langchain::read(&doc).unwrap();
    let mut outcomes = Outcomes::new();
    outcomes.insert(
        "call_bad_2".into(),
        StepOutcome {
            verdict: Verdict::Rewrite,
            reason: "?".into(),
            rewrite: Some(json!({})),
        },
    );
    let err = langchain::render(&mut doc.clone(), &plan, &outcomes).unwrap_err();
    assert_eq!(shape_path(err), "/1/data/invalid_tool_calls/0");
}

#[test]
fn rewrite_without_new_arguments_is_an_error_not_a_silent_pass() {
    let doc = fixture("single-ai-message.json");
    let plan = langchain::read(&doc).unwrap();
    let mut outcomes = Outcomes::new();
    outcomes.insert(
        "call_ws".into(),
        StepOutcome {
            verdict: Verdict::Rewrite,
            reason: "?".into(),
            rewrite: None,
        },
    );
    let err = langchain::render(&mut doc.clone(), &plan, &outcomes).unwrap_err();
    assert_eq!(shape_path(err), "/tool_calls/0");
}

#[test]
fn rewrite_updates_the_matching_tool_use_part() {
    let doc = fixture("lc-constructor-anthropic-parts.json");
    let plan = langchain::read(&doc).unwrap();
    let mut outcomes = Outcomes::new();
    outcomes.insert(
        "toolu_01B".into(),
        StepOutcome {
            verdict: Verdict::Rewrite,
            reason: "one key only".into(),
            rewrite: Some(
                json!({"bucket": "staging-builds", "keys": ["builds/2024-09-01/app.tar.gz"]}),
            ),
        },
    );
    let mut out = doc.clone();
    langchain::render(&mut out, &plan, &outcomes).unwrap();
    let kwargs = &out[3]["kwargs"];
    assert_eq!(
        kwargs["content"][1]["input"]["keys"],
        json!(["builds/2024-09-01/app.tar.gz"])
    );
    assert_eq!(
        kwargs["tool_calls"][0]["args"],
        kwargs["content"][1]["input"]
    );
    assert_eq!(kwargs["content"][2], doc[3]["kwargs"]["content"][2]);
}

#[test]
fn parallel_call_without_tool_message_stays_proposed() {
    let plan = langchain::read(&fixture("langgraph-state-parallel-unicode.json")).unwrap();
    let proposed: Vec<_> = plan.proposed().map(|s| s.id.as_str()).collect();
    assert_eq!(proposed, ["call_sms"]);
    assert_eq!(plan.steps[1].locator.pointer, "/messages/1/tool_calls/1");
}

#[test]
fn calls_of_an_earlier_ai_message_are_history_even_without_results() {
    let doc = json!([
        {"type": "human", "content": "hi"},
        {"type": "ai", "content": "", "tool_calls": [{"name": "a", "args": {}, "id": "1"}]},
        {"type": "human", "content": "never mind, do b"},
        {"type": "ai", "content": "", "tool_calls": [{"name": "b", "args": {}, "id": "2"}]}
    ]);
    let plan = langchain::read(&doc).unwrap();
    assert!(matches!(
        plan.steps[0].status,
        StepStatus::Executed { result: None }
    ));
    assert!(plan.steps[1].is_proposed());
    assert_eq!(plan.goal.as_deref(), Some("never mind, do b"));
}

#[test]
fn very_large_tool_result_is_kept_whole() {
    let big = "log line with ünïcode 🚀\n".repeat(40_000);
    let doc = json!({"messages": [
        {"type": "ai", "content": "", "tool_calls": [{"name": "tail_logs", "args": {"lines": 40000}, "id": "c1"}]},
        {"type": "tool", "content": big, "tool_call_id": "c1"},
        {"type": "ai", "content": "", "tool_calls": [{"name": "summarize", "args": {}, "id": "c2"}]}
    ]});
    let plan = langchain::read(&doc).unwrap();
    let StepStatus::Executed { result: Some(seg) } = plan.steps[0].status else {
        panic!("tail_logs should be executed with a result");
    };
    assert_eq!(plan.segments[seg].text, big);
    assert_eq!(
        plan.segments[seg].origin,
        Origin::ToolResult { step: Some(0) }
    );
    assert!(plan.steps[1].is_proposed());
}

#[test]
fn errors_name_the_json_pointer() {
    let cases = [
        (json!(42), ""),
        (json!({"messages": "nope"}), "/messages"),
        (json!([{"type": "alien", "content": ""}]), "/0/type"),
        (json!([{"content": "no type"}]), "/0/role"),
        (json!([{"type": "ai", "data": "x"}]), "/0/data"),
        (
            json!([{"type": "ai", "data": {"content": 5}}]),
            "/0/data/content",
        ),
        (
            json!([{"type": "ai", "content": "", "tool_calls": [{"args": {}}]}]),
            "/0/tool_calls/0/name",
        ),
        (
            json!([{"type": "ai", "content": "", "tool_calls": [{"name": "x", "args": 7}]}]),
            "/0/tool_calls/0/args",
        ),
        (
            json!({"messages": [{"type": "ai", "content": "", "invalid_tool_calls": [3]}]}),
            "/messages/0/invalid_tool_calls/0",
        ),
        (
            json!([{"lc": 1, "type": "constructor", "id": ["langchain", "Nope"], "kwargs": {}}]),
            "/0/id",
        ),
        (
            json!([{"lc": 1, "type": "constructor", "id": ["AIMessage"], "kwargs": []}]),
            "/0/kwargs",
        ),
        (
            json!([{"type": "tool", "content": "r", "tool_call_id": 9}]),
            "/0/tool_call_id",
        ),
        (
            json!([{"type": "ai", "content": "", "additional_kwargs": {"tool_calls": [{"id": "a", "function": {}}]}}]),
            "/0/additional_kwargs/tool_calls/0/function/name",
        ),
    ];
    for (doc, pointer) in cases {
        let err = langchain::read(&doc).expect_err(&doc.to_string());
        assert_eq!(shape_path(err), pointer, "for {doc}");
    }
}

#[test]
fn render_refuses_a_document_that_does_not_match_the_plan() {
    let doc = fixture("single-ai-message.json");
    let plan = langchain::read(&doc).unwrap();
    let mut other = json!({"type": "ai", "content": "", "tool_calls": [{"name": "rm_rf", "args": {}, "id": "call_ws"}]});
    let err = langchain::render(&mut other, &plan, &demo_outcomes(&plan)).unwrap_err();
    assert_eq!(shape_path(err), "/tool_calls/0");
}

fn arb_json() -> impl Strategy<Value = Value> {
    let key = prop::sample::select(vec![
        "type",
        "data",
        "content",
        "tool_calls",
        "invalid_tool_calls",
        "name",
        "args",
        "id",
        "tool_call_id",
        "messages",
        "lc",
        "kwargs",
        "additional_kwargs",
        "function",
        "arguments",
        "role",
        "text",
        "error",
    ]);
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        prop::sample::select(vec![
            "ai",
            "human",
            "tool",
            "system",
            "AIMessage",
            "tool_use",
            "text",
            "x",
            ""
        ])
        .prop_map(Value::from),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 64, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(key.clone(), inner, 0..6).prop_map(|m| Value::Object(
                m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
            )),
        ]
    })
}

proptest! {
    #[test]
    fn arbitrary_json_never_panics_on_read_or_render(doc in arb_json()) {
        if let Ok(plan) = langchain::read(&doc) {
            let mut out = doc.clone();
            let _ = langchain::render(&mut out, &plan, &demo_outcomes(&plan));
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic_through_parse(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = preflight_adapters::parse(&bytes, Some(preflight_adapters::Format::Langchain));
    }
}

#[test]
fn examples_are_langchain_documents_with_a_proposed_call() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if !(name.starts_with("langchain-") && name.ends_with(".json")) {
            continue;
        }
        let bytes = std::fs::read(dir.join(&name)).unwrap();
        let plan =
            preflight_adapters::parse(&bytes, None).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(plan.format, preflight_adapters::Format::Langchain, "{name}");
        assert_eq!(plan.proposed().count(), 1, "{name} proposes one call");
        assert!(plan.goal.is_some(), "{name} has a user goal");
        seen += 1;
    }
    assert!(seen >= 2, "expected LangChain examples, found {seen}");
}
