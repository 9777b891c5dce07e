//! Eval-case adapter: golden fixtures (plan and render), label and category
//! validation, JSONL reading with line numbers, the example case file, and a
//! no-panic property test.

use std::collections::BTreeSet;
use std::path::Path;

use preflight_adapters::adapters::eval_case::{self, CATEGORIES};
use preflight_adapters::decision::{Outcomes, StepOutcome, Verdict};
use preflight_adapters::{AdapterError, Args, Format, Origin, Plan, StepStatus};
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
        .join("tests/fixtures/eval-case")
        .join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

fn example_cases() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/cases.jsonl");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn shape_path(err: AdapterError) -> String {
    match err {
        AdapterError::Shape { path, .. } => path,
        other => panic!("expected a shape error, got {other:?}"),
    }
}

/// A minimal valid case to mutate in error tests.
fn minimal() -> Value {
    json!({
        "id": "c1", "label": "benign", "tools": [],
        "messages": [{"role": "user", "content": "hi"}],
        "proposed": {"role": "assistant", "content": null, "tool_calls": [
            {"id": "k", "type": "function", "function": {"name": "noop", "arguments": "{}"}}
        ]}
    })
}

#[test]
fn golden_fixtures_read_and_render() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/eval-case");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    assert!(names.len() >= 2, "fixtures missing: {names:?}");
    for name in names {
        let doc = fixture(&name);
        let case = eval_case::read(&doc).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut rendered = doc.clone();
        eval_case::render(&mut rendered, &case.plan, &demo_outcomes(&case.plan))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let meta = json!({
            "id": case.id, "label": case.label, "category": case.category,
            "difficulty": case.difficulty,
        });
        insta::assert_json_snapshot!(
            name.trim_end_matches(".json"),
            json!({"case": meta, "plan": case.plan, "rendered": rendered})
        );
    }
}

#[test]
fn history_is_executed_and_proposed_calls_are_located_in_proposed() {
    let case = eval_case::read(&fixture("exfiltration-via-tool-output.json")).unwrap();
    assert!(case.is_malicious());
    assert_eq!(case.category.as_deref(), Some("privacy.exfiltration"));
    let plan = &case.plan;
    assert_eq!(plan.format, Format::EvalCase);
    assert!(matches!(
        plan.steps[0].status,
        StepStatus::Executed { result: Some(_) }
    ));
    let proposed: Vec<_> = plan.proposed().collect();
    assert_eq!(proposed.len(), 1);
    assert_eq!(proposed[0].tool, "send_email");
    assert_eq!(proposed[0].locator.pointer, "/proposed/tool_calls/0");
    let injected = plan
        .segments
        .iter()
        .find(|s| s.text.contains("forward the VPN code"))
        .unwrap();
    assert_eq!(injected.origin, Origin::ToolResult { step: Some(0) });
    assert_eq!(plan.tools.len(), 2);
}

#[test]
fn history_calls_without_results_count_as_executed() {
    let mut doc = minimal();
    doc["messages"] = json!([
        {"role": "user", "content": "go"},
        {"role": "assistant", "content": null, "tool_calls": [
            {"id": "h", "type": "function", "function": {"name": "fire_and_forget", "arguments": "{}"}}
        ]}
    ]);
    let case = eval_case::read(&doc).unwrap();
    assert!(matches!(
        case.plan.steps[0].status,
        StepStatus::Executed { result: None }
    ));
    assert_eq!(case.plan.proposed().count(), 1);
}

#[test]
fn empty_and_broken_arguments_in_proposed_calls() {
    let case = eval_case::read(&fixture("benign-parallel-with-extras.json")).unwrap();
    let steps: Vec<_> = case.plan.proposed().collect();
    assert_eq!(steps[0].args.value(), Some(&json!({})));
    assert!(matches!(steps[2].args, Args::Malformed { .. }));
    assert_eq!(steps[2].locator.pointer, "/proposed/tool_calls/2");
}

#[test]
fn render_removes_withheld_calls_from_proposed_and_explains() {
    let doc = fixture("exfiltration-via-tool-output.json");
    let case = eval_case::read(&doc).unwrap();
    let mut outcomes = Outcomes::new();
    outcomes.insert(
        "call_s1".into(),
        StepOutcome {
            verdict: Verdict::Block,
            reason: "recipient came from tool output".into(),
            rewrite: None,
        },
    );
    let mut out = doc.clone();
    eval_case::render(&mut out, &case.plan, &outcomes).unwrap();
    assert!(
        out["proposed"]
            .get("tool_calls")
            .is_none_or(|c| c.as_array().unwrap().is_empty())
    );
    assert!(
        out["proposed"]["content"]
            .as_str()
            .unwrap()
            .contains("recipient came from tool output")
    );
    assert_eq!(out["messages"], doc["messages"]);
}

#[test]
fn label_and_category_must_be_known_values() {
    let cases = [
        ("label", json!("suspicious"), "/label"),
        ("label", json!(1), "/label"),
        ("category", json!("privacy"), "/category"),
        ("category", json!("Privacy.Exfiltration"), "/category"),
        ("id", json!(7), "/id"),
        ("difficulty", json!(["hard"]), "/difficulty"),
    ];
    for (key, value, pointer) in cases {
        let mut doc = minimal();
        doc[key] = value.clone();
        let err = eval_case::read(&doc).expect_err(&doc.to_string());
        assert_eq!(shape_path(err), pointer, "{key} = {value}");
    }
    for code in CATEGORIES {
        let mut doc = minimal();
        doc["category"] = json!(code);
        assert!(eval_case::read(&doc).is_ok(), "{code} is a taxonomy code");
    }
}

#[test]
fn errors_name_the_json_pointer() {
    let edits: [(&str, Value, &str); 7] = [
        ("messages", Value::Null, "/messages"),
        (
            "messages",
            json!([{"role": "robot", "content": "x"}]),
            "/messages/0/role",
        ),
        (
            "tools",
            json!([{"type": "function", "function": {"parameters": {}}}]),
            "/tools/0/function/name",
        ),
        ("proposed", json!("send it"), "/proposed"),
        (
            "proposed",
            json!({"role": "user", "content": "x"}),
            "/proposed/role",
        ),
        (
            "proposed",
            json!({"role": "assistant", "tool_calls": [{"type": "function"}]}),
            "/proposed/tool_calls/0/function",
        ),
        (
            "proposed",
            json!({"role": "assistant", "tool_calls": [{"function": {"name": "x", "arguments": 5}}]}),
            "/proposed/tool_calls/0/function/arguments",
        ),
    ];
    for (key, value, pointer) in edits {
        let mut doc = minimal();
        if value.is_null() {
            doc.as_object_mut().unwrap().remove(key);
        } else {
            doc[key] = value.clone();
        }
        let err = eval_case::read(&doc).expect_err(&doc.to_string());
        assert_eq!(shape_path(err), pointer, "{key} = {value}");
    }
    assert_eq!(shape_path(eval_case::read(&json!([])).unwrap_err()), "");
}

#[test]
fn jsonl_reports_bad_lines_by_number_and_reads_the_rest() {
    let good = minimal().to_string();
    let mut second = minimal();
    second["id"] = json!("c2");
    let mut bad_label = minimal();
    bad_label["id"] = json!("c3");
    bad_label["label"] = json!("maybe");
    let text = format!(
        "\u{feff}{good}\n\n{{\"id\": \"broken\",\n{}\r\n   \n{}\n{good}\n",
        second, bad_label,
    );
    let results = eval_case::read_jsonl(&text);
    let summary: Vec<_> = results
        .iter()
        .map(|r| match r {
            Ok(case) => format!("ok {}", case.id),
            Err(e) => format!(
                "line {} {}",
                e.line,
                matches!(e.error, AdapterError::Syntax { .. })
            ),
        })
        .collect();
    assert_eq!(
        summary,
        [
            "ok c1",
            "line 3 true",
            "ok c2",
            "line 6 false",
            "line 7 false"
        ]
    );
    let dup = results[4].as_ref().unwrap_err();
    assert!(
        dup.to_string()
            .contains("duplicate case id `c1` (first at line 1)"),
        "{dup}"
    );
    let label = results[3].as_ref().unwrap_err();
    assert_eq!(shape_path(label.error.clone()), "/label");
    assert!(label.to_string().starts_with("line 6: /label:"), "{label}");
}

#[test]
fn example_cases_file_is_valid_balanced_and_covers_the_taxonomy() {
    let results = eval_case::read_jsonl(&example_cases());
    let cases: Vec<_> = results
        .into_iter()
        .map(|r| r.unwrap_or_else(|e| panic!("examples/cases.jsonl {e}")))
        .collect();
    assert!(cases.len() >= 12, "only {} cases", cases.len());
    let malicious = cases.iter().filter(|c| c.is_malicious()).count();
    assert!(
        malicious >= 4 && cases.len() - malicious >= 4,
        "{malicious} of {} malicious",
        cases.len()
    );
    let covered: BTreeSet<_> = cases
        .iter()
        .filter(|c| c.is_malicious())
        .filter_map(|c| c.category.as_deref())
        .collect();
    let all: BTreeSet<_> = CATEGORIES.into_iter().collect();
    assert_eq!(covered, all, "every risk code has a malicious case");
    for case in &cases {
        assert!(case.label.is_some(), "{} is labelled", case.id);
        assert!(
            case.plan.proposed().count() >= 1,
            "{} proposes a call",
            case.id
        );
        assert!(case.plan.goal.is_some(), "{} has a user goal", case.id);
        for step in case.plan.proposed() {
            assert!(!step.args.is_malformed(), "{}: {}", case.id, step.tool);
            assert!(
                case.plan.tool(&step.tool).is_some(),
                "{}: {} is offered",
                case.id,
                step.tool
            );
        }
    }
}

#[test]
fn example_cases_are_detected_as_eval_cases() {
    let text = example_cases();
    assert_eq!(
        preflight_adapters::format::detect(text.as_bytes()).unwrap(),
        Format::EvalCase
    );
}

fn arb_json() -> impl Strategy<Value = Value> {
    let key = prop::sample::select(vec![
        "id",
        "label",
        "category",
        "difficulty",
        "tools",
        "messages",
        "proposed",
        "role",
        "content",
        "tool_calls",
        "tool_call_id",
        "function",
        "name",
        "arguments",
        "type",
    ]);
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        prop::sample::select(vec![
            "benign",
            "malicious",
            "financial.loss",
            "assistant",
            "user",
            "tool",
            "function",
            "{}",
            "{\"a\"",
        ])
        .prop_map(Value::from),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 64, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(key.clone(), inner, 0..7).prop_map(|m| Value::Object(
                m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
            )),
        ]
    })
}

proptest! {
    #[test]
    fn arbitrary_json_never_panics_on_read_or_render(doc in arb_json()) {
        if let Ok(case) = eval_case::read(&doc) {
            let mut out = doc.clone();
            let _ = eval_case::render(&mut out, &case.plan, &demo_outcomes(&case.plan));
        }
    }

    #[test]
    fn arbitrary_text_never_panics_in_read_jsonl(text in "(.{0,40}\n?){0,8}") {
        let results = eval_case::read_jsonl(&text);
        let lines = text.lines().count();
        for r in results {
            if let Err(e) = r {
                prop_assert!(e.line >= 1 && e.line <= lines);
            }
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic_through_parse(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = preflight_adapters::parse(&bytes, Some(Format::EvalCase));
    }
}
