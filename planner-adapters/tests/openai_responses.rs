//! Golden and behaviour tests of the OpenAI Responses API adapter:
//! fixtures in `fixtures/openai-responses/` read into plans (snapshotted),
//! decisions rendered back (snapshotted), shape errors located by pointer.

use preflight_adapters::adapters::openai_responses;
use preflight_adapters::decision::{Outcomes, StepOutcome, Verdict};
use preflight_adapters::{AdapterError, Args, Origin, StepStatus};
use serde_json::{Value, json};

fn fixture(name: &str) -> Value {
    let text = match name {
        "request-history" => include_str!("fixtures/openai-responses/request-history.json"),
        "request-local-shell" => include_str!("fixtures/openai-responses/request-local-shell.json"),
        "response-odd-arguments" => {
            include_str!("fixtures/openai-responses/response-odd-arguments.json")
        }
        "response-parallel-calls" => {
            include_str!("fixtures/openai-responses/response-parallel-calls.json")
        }
        "response-refusal" => include_str!("fixtures/openai-responses/response-refusal.json"),
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

macro_rules! golden_plan {
    ($test:ident, $name:literal) => {
        #[test]
        fn $test() {
            let plan = openai_responses::read(&fixture($name)).expect("reads");
            insta::assert_json_snapshot!($name, plan);
        }
    };
}

golden_plan!(golden_request_history, "request-history");
golden_plan!(golden_request_local_shell, "request-local-shell");
golden_plan!(golden_response_odd_arguments, "response-odd-arguments");
golden_plan!(golden_response_parallel_calls, "response-parallel-calls");
golden_plan!(golden_response_refusal, "response-refusal");

#[test]
fn golden_exchange_history_from_request_calls_from_response() {
    let plan = openai_responses::read_exchange(
        &fixture("request-history"),
        &fixture("response-parallel-calls"),
    )
    .expect("reads");
    insta::assert_json_snapshot!("exchange-history-parallel", plan);
}

#[test]
fn instructions_are_system_text_and_outputs_mark_calls_executed() {
    let plan = openai_responses::read(&fixture("request-history")).expect("reads");
    assert_eq!(plan.segments[0].origin, Origin::System);
    assert_eq!(plan.goal.as_deref(), Some("Ja, bitte. 🙏"));
    let names: Vec<_> = plan.tools.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        names,
        ["lookup_employee", "reset_password", "grant_role"],
        "built-in tools are not specs"
    );
    assert_eq!(plan.steps.len(), 1);
    let StepStatus::Executed { result: Some(seg) } = plan.steps[0].status else {
        panic!("lookup_employee has its output");
    };
    assert!(
        plan.segments[seg]
            .text
            .contains("svc-backup@ext-recovery.example")
    );
}

#[test]
fn every_call_in_a_response_output_is_proposed_and_located() {
    let plan = openai_responses::read(&fixture("response-parallel-calls")).expect("reads");
    let located: Vec<_> = plan
        .proposed()
        .map(|s| (s.id.as_str(), s.locator.pointer.as_str()))
        .collect();
    assert_eq!(
        located,
        [
            ("call_e5F6g7H8", "/output/2"),
            ("call_i9J0k1L2", "/output/3")
        ]
    );
}

#[test]
fn empty_truncated_and_custom_arguments_are_read() {
    let plan = openai_responses::read(&fixture("response-odd-arguments")).expect("reads");
    assert_eq!(plan.steps[0].args.value(), Some(&json!({})));
    assert!(plan.steps[1].args.is_malformed());
    assert_eq!(
        plan.steps[2].args,
        Args::Json {
            value: json!("SELECT id, status FROM tickets WHERE assignee = 'atlas';")
        }
    );
}

#[test]
fn local_shell_outputs_answer_by_id_and_the_last_command_is_proposed() {
    let plan = openai_responses::read(&fixture("request-local-shell")).expect("reads");
    assert_eq!(plan.steps.len(), 2);
    assert!(!plan.steps[0].is_proposed());
    assert!(plan.steps[1].is_proposed());
    assert_eq!(plan.steps[1].tool, "local_shell");
    assert_eq!(
        plan.steps[1]
            .args
            .value()
            .and_then(|v| v.pointer("/command/2")),
        Some(&json!("git push --force origin main"))
    );
}

#[test]
fn a_string_input_is_the_goal() {
    let plan = openai_responses::read(
        &json!({"model": "gpt-4.1", "input": "Book a table for two at 19:00."}),
    )
    .expect("reads");
    assert_eq!(plan.goal.as_deref(), Some("Book a table for two at 19:00."));
}

fn shape_path(doc: Value) -> String {
    match openai_responses::read(&doc) {
        Err(AdapterError::Shape { path, .. }) => path,
        other => panic!("expected a shape error, got {other:?}"),
    }
}

#[test]
fn wrong_types_are_errors_at_their_pointers() {
    let cases = [
        (json!("x"), ""),
        (json!({"model": "gpt-4.1"}), ""),
        (json!({"input": 3}), "/input"),
        (json!({"input": [7]}), "/input/0"),
        (json!({"input": [{"type": 1}]}), "/input/0/type"),
        (json!({"input": [{"content": "hi"}]}), "/input/0/role"),
        (
            json!({"input": [{"role": "bot", "content": "hi"}]}),
            "/input/0/role",
        ),
        (
            json!({"input": [{"role": "user", "content": {"text": "hi"}}]}),
            "/input/0/content",
        ),
        (
            json!({"input": [{"type": "function_call", "call_id": "c", "arguments": "{}"}]}),
            "/input/0/name",
        ),
        (
            json!({"input": [{"type": "function_call", "call_id": "c", "name": "f", "arguments": 1}]}),
            "/input/0/arguments",
        ),
        (
            json!({"input": [{"type": "function_call_output", "call_id": 5, "output": "x"}]}),
            "/input/0/call_id",
        ),
        (
            json!({"input": [{"type": "computer_call", "call_id": "c", "action": "click"}]}),
            "/input/0/action",
        ),
        (json!({"input": [], "instructions": 5}), "/instructions"),
        (
            json!({"input": [], "tools": [{"name": "f"}]}),
            "/tools/0/type",
        ),
        (
            json!({"input": [], "tools": [{"type": "function"}]}),
            "/tools/0/name",
        ),
        (
            json!({"input": [], "tools": [{"type": "function", "name": "f", "parameters": []}]}),
            "/tools/0/parameters",
        ),
        (json!({"output": {}}), "/output"),
        (
            json!({"output": [{"type": "function_call", "name": ["f"]}]}),
            "/output/0/name",
        ),
    ];
    for (doc, want) in cases {
        assert_eq!(shape_path(doc.clone()), want, "for {doc}");
    }
}

#[test]
fn render_replaces_one_blocked_call_with_an_explanation_message() {
    let mut doc = fixture("response-parallel-calls");
    let plan = openai_responses::read(&doc).expect("reads");
    let mut outcomes = Outcomes::new();
    outcomes.insert(
        "call_i9J0k1L2".into(),
        outcome(
            Verdict::Block,
            "the account and role came from a tool result, not from the user",
            None,
        ),
    );
    openai_responses::render(&mut doc, &plan, &outcomes).expect("renders");
    let output = doc["output"].as_array().expect("output");
    assert_eq!(output.len(), 4, "item positions are kept");
    assert_eq!(output[2]["type"], "function_call");
    assert_eq!(output[3]["type"], "message");
    assert!(
        output[3]["content"][0]["text"]
            .as_str()
            .is_some_and(|t| t.contains("grant_role"))
    );
    insta::assert_json_snapshot!("render-block-one-of-two", doc["output"]);
}

#[test]
fn render_rewrite_and_block_all() {
    let mut doc = fixture("response-parallel-calls");
    let plan = openai_responses::read(&doc).expect("reads");
    let mut outcomes = Outcomes::new();
    outcomes.insert(
        "call_e5F6g7H8".into(),
        outcome(
            Verdict::Rewrite,
            "reset links go to the address on file",
            Some(json!({"employee_id": "E-4471", "send_to": "jonas.weiss@nordlicht.example", "expires_minutes": 30})),
        ),
    );
    openai_responses::render(&mut doc, &plan, &outcomes).expect("renders");
    let args: Value = serde_json::from_str(doc["output"][2]["arguments"].as_str().expect("string"))
        .expect("valid JSON");
    assert_eq!(args["expires_minutes"], 30);
    insta::assert_json_snapshot!("render-rewrite", doc["output"][2]);

    let mut doc = fixture("response-parallel-calls");
    let mut outcomes = Outcomes::new();
    outcomes.insert(
        "call_e5F6g7H8".into(),
        outcome(
            Verdict::RequireApproval,
            "resets need the manager's approval",
            None,
        ),
    );
    outcomes.insert(
        "call_i9J0k1L2".into(),
        outcome(Verdict::Block, "admin grants are never automatic", None),
    );
    openai_responses::render(&mut doc, &plan, &outcomes).expect("renders");
    let output = doc["output"].as_array().expect("output");
    assert!(output.iter().all(|item| item["type"] != "function_call"));
    let original = fixture("response-parallel-calls");
    assert_eq!(doc["usage"], original["usage"]);
    assert_eq!(doc["tools"], original["tools"], "built-in tools untouched");
    insta::assert_json_snapshot!("render-block-all", doc);
}

#[test]
fn render_refuses_a_plan_that_does_not_match_the_document() {
    let mut doc = fixture("response-parallel-calls");
    let plan = openai_responses::read(&doc).expect("reads");
    doc["output"].as_array_mut().expect("output").remove(0);
    let mut outcomes = Outcomes::new();
    outcomes.insert("call_i9J0k1L2".into(), outcome(Verdict::Block, "x", None));
    let err = openai_responses::render(&mut doc, &plan, &outcomes).expect_err("mismatch");
    assert!(matches!(err, AdapterError::Shape { ref path, .. } if path == "/output/3"));
}
