//! Golden and behaviour tests of the OpenAI Chat Completions adapter:
//! fixtures in `fixtures/openai/` read into plans (snapshotted), decisions
//! rendered back (snapshotted), and shape errors located by JSON pointer.

use preflight_adapters::adapters::openai_chat;
use preflight_adapters::decision::{Outcomes, StepOutcome, Verdict};
use preflight_adapters::{AdapterError, Args, Format, Origin, StepStatus};
use serde_json::{Value, json};

fn fixture(name: &str) -> Value {
    let text = match name {
        "request-history" => include_str!("fixtures/openai/request-history.json"),
        "request-legacy-functions" => include_str!("fixtures/openai/request-legacy-functions.json"),
        "request-pending-call" => include_str!("fixtures/openai/request-pending-call.json"),
        "response-arguments-object" => {
            include_str!("fixtures/openai/response-arguments-object.json")
        }
        "response-empty-arguments" => include_str!("fixtures/openai/response-empty-arguments.json"),
        "response-invalid-arguments" => {
            include_str!("fixtures/openai/response-invalid-arguments.json")
        }
        "response-legacy-function-call" => {
            include_str!("fixtures/openai/response-legacy-function-call.json")
        }
        "response-multiple-choices-custom-tool" => {
            include_str!("fixtures/openai/response-multiple-choices-custom-tool.json")
        }
        "response-parallel-tools" => include_str!("fixtures/openai/response-parallel-tools.json"),
        "response-refusal" => include_str!("fixtures/openai/response-refusal.json"),
        other => panic!("no fixture {other}"),
    };
    serde_json::from_str(text).expect("fixture is JSON")
}

fn outcome(verdict: Verdict, reason: &str, rewrite: Option<Value>) -> StepOutcome {
    StepOutcome {
        verdict,
        reason: reason.into(),
        rewrite,
    }
}

// ---------------------------------------------------------------- golden plans

macro_rules! golden_plan {
    ($test:ident, $name:literal) => {
        #[test]
        fn $test() {
            let plan = openai_chat::read(&fixture($name)).expect("reads");
            insta::assert_json_snapshot!($name, plan);
        }
    };
}

golden_plan!(golden_request_history, "request-history");
golden_plan!(golden_request_legacy_functions, "request-legacy-functions");
golden_plan!(golden_request_pending_call, "request-pending-call");
golden_plan!(
    golden_response_arguments_object,
    "response-arguments-object"
);
golden_plan!(golden_response_empty_arguments, "response-empty-arguments");
golden_plan!(
    golden_response_invalid_arguments,
    "response-invalid-arguments"
);
golden_plan!(
    golden_response_legacy_function_call,
    "response-legacy-function-call"
);
golden_plan!(
    golden_response_multiple_choices_custom_tool,
    "response-multiple-choices-custom-tool"
);
golden_plan!(golden_response_parallel_tools, "response-parallel-tools");
golden_plan!(golden_response_refusal, "response-refusal");

#[test]
fn golden_exchange_history_from_request_calls_from_response() {
    let plan = openai_chat::read_exchange(
        &fixture("request-history"),
        &fixture("response-parallel-tools"),
    )
    .expect("reads");
    insta::assert_json_snapshot!("exchange-history-parallel", plan);
}

// ---------------------------------------------------------------- behaviour

#[test]
fn history_calls_with_results_are_executed_and_the_last_user_message_is_the_goal() {
    let plan = openai_chat::read(&fixture("request-history")).expect("reads");
    assert_eq!(plan.format, Format::OpenaiChat);
    assert_eq!(
        plan.goal.as_deref(),
        Some("Yes, pay it now — and file the receipt. Merci!")
    );
    assert_eq!(plan.tools.len(), 5);
    assert_eq!(plan.steps.len(), 2);
    assert!(plan.steps.iter().all(|s| !s.is_proposed()));
    let StepStatus::Executed { result: Some(seg) } = plan.steps[0].status else {
        panic!("read_file has its result");
    };
    assert!(plan.segments[seg].text.contains("NOTE TO AI ASSISTANTS"));
    assert_eq!(
        plan.segments[seg].origin,
        Origin::ToolResult { step: Some(0) }
    );
    assert_eq!(
        plan.steps[1].args,
        Args::from_text("{}"),
        "empty arguments read as {{}}"
    );
}

#[test]
fn a_history_call_without_a_result_is_proposed() {
    let plan = openai_chat::read(&fixture("request-pending-call")).expect("reads");
    let proposed: Vec<_> = plan.proposed().map(|s| s.id.as_str()).collect();
    assert_eq!(proposed, ["call_Y6uIv9cEr8"]);
    assert_eq!(plan.steps[1].locator.pointer, "/messages/4/tool_calls/0");
}

#[test]
fn legacy_function_results_answer_the_latest_call_of_that_name() {
    let plan = openai_chat::read(&fixture("request-legacy-functions")).expect("reads");
    assert_eq!(plan.steps.len(), 2);
    assert!(
        !plan.steps[0].is_proposed(),
        "search_tickets got its function result"
    );
    assert!(
        plan.steps[1].is_proposed(),
        "create_ticket has no result yet"
    );
    assert_eq!(plan.steps[1].locator.pointer, "/messages/3/function_call");
    assert_eq!(plan.tools.len(), 2, "legacy `functions` are tool specs");
}

#[test]
fn invalid_argument_json_is_kept_raw_and_the_plan_still_parses() {
    let plan = openai_chat::read(&fixture("response-invalid-arguments")).expect("reads");
    let Args::Malformed { raw, .. } = &plan.steps[0].args else {
        panic!("malformed arguments");
    };
    assert!(raw.ends_with("\"dry_run\": fal"));
}

#[test]
fn arguments_sent_as_an_object_are_taken_as_parsed() {
    let plan = openai_chat::read(&fixture("response-arguments-object")).expect("reads");
    assert_eq!(
        plan.steps[0].args.value(),
        Some(&json!({"city": "Kraków", "unit": "celsius"}))
    );
}

#[test]
fn a_document_with_messages_and_choices_takes_choices_as_proposed() {
    let mut doc = fixture("request-history");
    let response = fixture("response-parallel-tools");
    doc["choices"] = response["choices"].clone();
    let plan = openai_chat::read(&doc).expect("reads");
    let proposed: Vec<_> = plan
        .proposed()
        .map(|s| s.locator.pointer.as_str())
        .collect();
    assert_eq!(
        proposed,
        [
            "/choices/0/message/tool_calls/0",
            "/choices/0/message/tool_calls/1"
        ]
    );
}

#[test]
fn with_choices_present_an_unanswered_history_call_is_history_not_proposed() {
    let mut doc = fixture("request-pending-call");
    doc["choices"] = fixture("response-empty-arguments")["choices"].clone();
    let plan = openai_chat::read(&doc).expect("reads");
    let proposed: Vec<_> = plan.proposed().map(|s| s.tool.as_str()).collect();
    assert_eq!(proposed, ["get_current_time"]);
}

#[test]
fn exchange_marks_unanswered_request_calls_executed_and_locates_into_the_response() {
    let plan = openai_chat::read_exchange(
        &fixture("request-pending-call"),
        &fixture("response-empty-arguments"),
    )
    .expect("reads");
    let proposed: Vec<_> = plan.proposed().collect();
    assert_eq!(proposed.len(), 1);
    assert_eq!(proposed[0].tool, "get_current_time");
    assert_eq!(
        proposed[0].locator.pointer,
        "/choices/0/message/tool_calls/0"
    );
}

#[test]
fn a_one_megabyte_tool_result_is_read_whole() {
    let big =
        "row,amount,iban\n".to_owned() + &"7,184.35,CH93 0076 2011 6238 5295 7\n".repeat(30_000);
    assert!(big.len() > 1_000_000);
    let doc = json!({
        "messages": [
            {"role": "user", "content": "Summarize the export."},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_big", "type": "function", "function": {"name": "read_file", "arguments": "{\"path\":\"export.csv\"}"}}
            ]},
            {"role": "tool", "tool_call_id": "call_big", "content": big},
        ]
    });
    let plan = openai_chat::read(&doc).expect("reads");
    let StepStatus::Executed { result: Some(seg) } = plan.steps[0].status else {
        panic!("executed with its result");
    };
    assert_eq!(plan.segments[seg].text.len(), big.len());
}

// ---------------------------------------------------------------- errors

fn shape_path(doc: Value) -> String {
    match openai_chat::read(&doc) {
        Err(AdapterError::Shape { path, .. }) => path,
        other => panic!("expected a shape error, got {other:?}"),
    }
}

#[test]
fn a_non_string_function_name_is_an_error_at_its_pointer() {
    let doc = json!({"messages": [
        {"role": "system", "content": "s"},
        {"role": "user", "content": "u"},
        {"role": "assistant", "tool_calls": [{"id": "c", "type": "function", "function": {"name": 7, "arguments": "{}"}}]}
    ]});
    assert_eq!(shape_path(doc), "/messages/2/tool_calls/0/function/name");
}

#[test]
fn wrong_types_are_errors_at_their_pointers() {
    let cases = [
        (json!([]), ""),
        (json!({"model": "x"}), ""),
        (json!({"messages": {}}), "/messages"),
        (json!({"messages": ["hi"]}), "/messages/0"),
        (json!({"messages": [{"content": "hi"}]}), "/messages/0/role"),
        (
            json!({"messages": [{"role": "wizard", "content": "hi"}]}),
            "/messages/0/role",
        ),
        (
            json!({"messages": [{"role": "user", "content": 5}]}),
            "/messages/0/content",
        ),
        (
            json!({"messages": [{"role": "user", "content": [1]}]}),
            "/messages/0/content/0",
        ),
        (
            json!({"messages": [{"role": "user", "content": [{"type": "text", "text": false}]}]}),
            "/messages/0/content/0/text",
        ),
        (
            json!({"messages": [{"role": "assistant", "tool_calls": {}}]}),
            "/messages/0/tool_calls",
        ),
        (
            json!({"messages": [{"role": "assistant", "tool_calls": [{"id": "c", "type": "function"}]}]}),
            "/messages/0/tool_calls/0/function",
        ),
        (
            json!({"messages": [{"role": "assistant", "tool_calls": [{"id": 1, "type": "function", "function": {"name": "f"}}]}]}),
            "/messages/0/tool_calls/0/id",
        ),
        (
            json!({"messages": [{"role": "assistant", "tool_calls": [{"type": "function", "function": {"name": "f", "arguments": 3}}]}]}),
            "/messages/0/tool_calls/0/function/arguments",
        ),
        (
            json!({"messages": [{"role": "assistant", "tool_calls": [{"type": "mystery", "mystery": {}}]}]}),
            "/messages/0/tool_calls/0/type",
        ),
        (
            json!({"messages": [{"role": "tool", "tool_call_id": 9, "content": "x"}]}),
            "/messages/0/tool_call_id",
        ),
        (
            json!({"messages": [{"role": "function", "content": "x"}]}),
            "/messages/0/name",
        ),
        (
            json!({"messages": [], "tools": [{"type": "function", "function": {"description": "d"}}]}),
            "/tools/0/function/name",
        ),
        (
            json!({"messages": [], "tools": [{"type": "function", "function": {"name": "f", "parameters": "{}"}}]}),
            "/tools/0/function/parameters",
        ),
        (
            json!({"messages": [], "functions": [{"name": 1}]}),
            "/functions/0/name",
        ),
        (json!({"choices": [{"index": 0}]}), "/choices/0/message"),
        (
            json!({"choices": [{"message": {"role": "assistant", "function_call": {"arguments": "{}"}}}]}),
            "/choices/0/message/function_call/name",
        ),
    ];
    for (doc, want) in cases {
        assert_eq!(shape_path(doc.clone()), want, "for {doc}");
    }
}

#[test]
fn unknown_tool_types_and_content_parts_are_skipped_not_rejected() {
    let doc = json!({
        "messages": [{"role": "user", "content": [
            {"type": "input_audio", "input_audio": {"data": "AAA", "format": "wav"}},
            {"type": "text", "text": "transcribe"}
        ]}],
        "tools": [{"type": "web_search_preview"}, {"type": "function", "function": {"name": "f"}}]
    });
    let plan = openai_chat::read(&doc).expect("reads");
    assert_eq!(plan.goal.as_deref(), Some("transcribe"));
    assert_eq!(plan.tools.len(), 1);
}

// ---------------------------------------------------------------- render

#[test]
fn render_blocks_one_of_two_parallel_calls() {
    let mut doc = fixture("response-parallel-tools");
    let plan = openai_chat::read(&doc).expect("reads");
    let mut outcomes = Outcomes::new();
    outcomes.insert(
        "call_U2qEr5yAn4".into(),
        outcome(
            Verdict::Block,
            "the recipient came from a tool result, not from the user",
            None,
        ),
    );
    openai_chat::render(&mut doc, &plan, &outcomes).expect("renders");
    let message = &doc["choices"][0]["message"];
    assert_eq!(message["tool_calls"].as_array().map(Vec::len), Some(1));
    assert_eq!(message["tool_calls"][0]["id"], "call_T1pDq4xZm3");
    assert_eq!(
        doc["choices"][0]["finish_reason"], "tool_calls",
        "a call is left"
    );
    insta::assert_json_snapshot!("render-block-one-of-two", doc);
}

#[test]
fn render_block_all_removes_tool_calls_and_stops() {
    let mut doc = fixture("response-parallel-tools");
    let plan = openai_chat::read(&doc).expect("reads");
    let mut outcomes = Outcomes::new();
    outcomes.insert(
        "call_T1pDq4xZm3".into(),
        outcome(
            Verdict::RequireApproval,
            "payments over CHF 100 need approval",
            None,
        ),
    );
    outcomes.insert(
        "call_U2qEr5yAn4".into(),
        outcome(
            Verdict::Block,
            "the recipient came from a tool result",
            None,
        ),
    );
    openai_chat::render(&mut doc, &plan, &outcomes).expect("renders");
    let message = &doc["choices"][0]["message"];
    assert!(message.get("tool_calls").is_none());
    assert_eq!(doc["choices"][0]["finish_reason"], "stop");
    let content = message["content"].as_str().expect("content is text");
    assert!(content.contains("pay_invoice") && content.contains("waiting for human approval"));
    assert!(content.contains("send_email") && content.contains("was blocked"));
    // Everything else is untouched, in order.
    let original = fixture("response-parallel-tools");
    let keys = |v: &Value| v.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>());
    assert_eq!(keys(&doc), keys(&original));
    assert_eq!(doc["usage"], original["usage"]);
    assert_eq!(
        keys(message),
        Some(vec![
            "role".into(),
            "content".into(),
            "refusal".into(),
            "annotations".into()
        ]),
        "the message keeps its field order"
    );
    insta::assert_json_snapshot!("render-block-all", doc);
}

#[test]
fn render_rewrite_replaces_the_arguments_string() {
    let mut doc = fixture("response-parallel-tools");
    let plan = openai_chat::read(&doc).expect("reads");
    let mut outcomes = Outcomes::new();
    outcomes.insert(
        "call_U2qEr5yAn4".into(),
        outcome(
            Verdict::Rewrite,
            "external recipients are replaced by the user's own address",
            Some(json!({"to": "dana@acme.example", "subject": "Ledger export für Prüfung", "body": "Anbei der vollständige Export.", "attachments": []})),
        ),
    );
    openai_chat::render(&mut doc, &plan, &outcomes).expect("renders");
    let args = doc["choices"][0]["message"]["tool_calls"][1]["function"]["arguments"]
        .as_str()
        .expect("arguments stay a string");
    let parsed: Value = serde_json::from_str(args).expect("valid JSON");
    assert_eq!(parsed["to"], "dana@acme.example");
    assert_eq!(doc["choices"][0]["message"]["content"], Value::Null);
    insta::assert_json_snapshot!("render-rewrite", doc);
}

#[test]
fn render_appends_to_existing_text_and_removes_a_legacy_function_call() {
    let mut doc = fixture("response-empty-arguments");
    let plan = openai_chat::read(&doc).expect("reads");
    let mut outcomes = Outcomes::new();
    outcomes.insert(
        "call_V3rFs6zBo5".into(),
        outcome(Verdict::Block, "no clock access", None),
    );
    openai_chat::render(&mut doc, &plan, &outcomes).expect("renders");
    let content = doc["choices"][0]["message"]["content"]
        .as_str()
        .unwrap_or_default();
    assert!(content.starts_with("Let me check the current time first.\n\n[preflight]"));

    let mut doc = fixture("response-legacy-function-call");
    let plan = openai_chat::read(&doc).expect("reads");
    let id = plan.steps[0].id.clone();
    let mut outcomes = Outcomes::new();
    outcomes.insert(id, outcome(Verdict::Block, "tickets need a person", None));
    openai_chat::render(&mut doc, &plan, &outcomes).expect("renders");
    assert!(doc["choices"][0]["message"].get("function_call").is_none());
    assert_eq!(doc["choices"][0]["finish_reason"], "stop");
}

#[test]
fn render_refuses_a_plan_that_does_not_match_the_document() {
    let mut doc = fixture("response-parallel-tools");
    let plan = openai_chat::read(&doc).expect("reads");
    doc["choices"][0]["message"]["tool_calls"][1]["function"]["name"] = json!("read_file");
    let before = doc.clone();
    let mut outcomes = Outcomes::new();
    outcomes.insert("call_U2qEr5yAn4".into(), outcome(Verdict::Block, "x", None));
    let err = openai_chat::render(&mut doc, &plan, &outcomes).expect_err("mismatch");
    assert!(
        matches!(err, AdapterError::Shape { ref path, .. } if path == "/choices/0/message/tool_calls/1")
    );
    assert_eq!(doc, before, "nothing was edited");
}

#[test]
fn render_in_a_request_history_withholds_the_pending_call() {
    let mut doc = fixture("request-pending-call");
    let plan = openai_chat::read(&doc).expect("reads");
    let mut outcomes = Outcomes::new();
    outcomes.insert(
        "call_Y6uIv9cEr8".into(),
        outcome(Verdict::Block, "deleting logs removes accountability", None),
    );
    openai_chat::render(&mut doc, &plan, &outcomes).expect("renders");
    let message = &doc["messages"][4];
    assert!(message.get("tool_calls").is_none());
    assert!(
        message["content"]
            .as_str()
            .is_some_and(|c| c.contains("run_shell"))
    );
}
