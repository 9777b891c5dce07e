//! Generic plan JSON adapter: golden fixtures (plan and render), errors
//! that name their JSON pointer, the examples, and a no-panic property test.

use std::path::Path;

use preflight_adapters::adapters::generic;
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

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

fn fixture(name: &str) -> Value {
    read_json(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/generic")
            .join(name),
    )
}

fn outcome(verdict: Verdict, reason: &str, rewrite: Option<Value>) -> StepOutcome {
    StepOutcome {
        verdict,
        reason: reason.into(),
        rewrite,
    }
}

fn shape_path(err: AdapterError) -> String {
    match err {
        AdapterError::Shape { path, .. } => path,
        other => panic!("expected a shape error, got {other:?}"),
    }
}

#[test]
fn golden_fixtures_read_and_render() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/generic");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    assert!(names.len() >= 4, "fixtures missing: {names:?}");
    for name in names {
        let doc = fixture(&name);
        let plan = generic::read(&doc).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut rendered = doc.clone();
        generic::render(&mut rendered, &plan, &demo_outcomes(&plan))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let stem = name.trim_end_matches(".json");
        insta::assert_json_snapshot!(stem, json!({"plan": plan, "rendered": rendered}));
    }
}

#[test]
fn steps_with_results_are_executed_and_others_proposed_by_default() {
    let plan = generic::read(&fixture("plan-object.json")).unwrap();
    let StepStatus::Executed { result: Some(seg) } = plan.steps[0].status else {
        panic!("s1 should be executed with its result");
    };
    assert_eq!(
        plan.segments[seg].origin,
        Origin::ToolResult { step: Some(0) }
    );
    assert!(plan.segments[seg].text.contains("pay_82"));
    let proposed: Vec<_> = plan.proposed().map(|s| s.id.as_str()).collect();
    assert_eq!(proposed, ["s2", "s3", "s4"]);
    assert_eq!(plan.tools.len(), 3);
    assert_eq!(
        plan.tool("delete_records")
            .unwrap()
            .annotations
            .destructive_hint,
        Some(true)
    );
    assert!(plan.tool("send_email").unwrap().input_schema.is_some());
    assert!(plan.goal.as_deref().unwrap().starts_with("Summarize"));
}

#[test]
fn string_args_are_parsed_and_broken_ones_kept_as_malformed() {
    let plan = generic::read(&fixture("string-args.json")).unwrap();
    assert_eq!(plan.steps[0].args.value().unwrap()["priority"], "low");
    let Args::Malformed { raw, .. } = &plan.steps[1].args else {
        panic!("expected malformed: {:?}", plan.steps[1].args);
    };
    assert_eq!(raw, "{\"id\": 77, \"status\": \"closed\"");
    assert_eq!(plan.steps[2].args.value(), Some(&json!({})));
    assert_eq!(plan.steps[3].args.value(), Some(&json!({})));
}

#[test]
fn duplicate_ids_get_fresh_ones_and_results_land_on_their_own_step() {
    let plan = generic::read(&fixture("extras-unicode-duplicate-ids.json")).unwrap();
    assert_eq!(plan.steps[0].id, "x");
    assert_eq!(plan.steps[1].id, "step-1");
    assert!(!plan.steps[0].is_proposed());
    assert!(plan.steps[1].is_proposed());
}

#[test]
fn withheld_steps_are_removed_and_listed_with_the_explanation() {
    let doc = fixture("plan-object.json");
    let plan = generic::read(&doc).unwrap();
    let mut outcomes = Outcomes::new();
    outcomes.insert("s3".into(), outcome(Verdict::Block, "destructive", None));
    outcomes.insert(
        "s4".into(),
        outcome(Verdict::RequireApproval, "second email", None),
    );
    outcomes.insert("s2".into(), outcome(Verdict::Allow, "fine", None));
    let mut out = doc.clone();
    generic::render(&mut out, &plan, &outcomes).unwrap();
    let ids: Vec<_> = out["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].clone())
        .collect();
    assert_eq!(ids, [json!("s1"), json!("s2")]);
    assert_eq!(out["steps"][1], doc["steps"][1], "allowed step untouched");
    let withheld = out["withheld"].as_array().unwrap();
    assert_eq!(withheld.len(), 2);
    assert_eq!(withheld[0]["id"], "s3");
    assert_eq!(withheld[0]["verdict"], "block");
    assert_eq!(withheld[1]["verdict"], "require_approval");
    assert!(
        withheld[1]["explanation"]
            .as_str()
            .unwrap()
            .contains("approval")
    );
}

#[test]
fn rewrite_keeps_the_argument_type_it_came_in() {
    let doc = fixture("string-args.json");
    let plan = generic::read(&doc).unwrap();
    let mut outcomes = Outcomes::new();
    outcomes.insert(
        "step-0".into(),
        outcome(
            Verdict::Rewrite,
            "lower priority",
            Some(json!({"title": "t", "priority": "low"})),
        ),
    );
    outcomes.insert(
        "step-3".into(),
        outcome(Verdict::Rewrite, "add", Some(json!({"n": 1}))),
    );
    let mut out = doc.clone();
    generic::render(&mut out, &plan, &outcomes).unwrap();
    let text = out["steps"][0]["args"]
        .as_str()
        .expect("string args stay a string");
    assert_eq!(
        serde_json::from_str::<Value>(text).unwrap()["priority"],
        "low"
    );
    assert_eq!(out["steps"][3]["args"], json!({"n": 1}));
}

#[test]
fn bare_array_render_removes_the_step_and_keeps_the_array_shape() {
    let doc = fixture("bare-array.json");
    let plan = generic::read(&doc).unwrap();
    assert_eq!(plan.steps[1].locator.pointer, "/1");
    let mut outcomes = Outcomes::new();
    outcomes.insert(
        "step-1".into(),
        outcome(Verdict::Block, "exfiltration", None),
    );
    let mut out = doc.clone();
    generic::render(&mut out, &plan, &outcomes).unwrap();
    let tools: Vec<_> = out
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["tool"].clone())
        .collect();
    assert_eq!(tools, [json!("read_file"), json!("list_dir")]);
}

#[test]
fn very_large_tool_result_is_kept_whole() {
    let big = "row,ünïcode,🚀\n".repeat(60_000);
    let doc = json!([{"tool": "export_csv", "args": {}, "result": big}, {"tool": "upload", "args": {"path": "/tmp/x.csv"}}]);
    let plan = generic::read(&doc).unwrap();
    let StepStatus::Executed { result: Some(seg) } = plan.steps[0].status else {
        panic!("export_csv should be executed");
    };
    assert_eq!(plan.segments[seg].text, big);
}

#[test]
fn errors_name_the_json_pointer() {
    let cases = [
        (json!("steps"), ""),
        (json!({"goal": "x"}), "/steps"),
        (json!({"steps": {}}), "/steps"),
        (json!({"goal": 3, "steps": []}), "/goal"),
        (json!({"steps": [42]}), "/steps/0"),
        (json!({"steps": [{"args": {}}]}), "/steps/0/tool"),
        (
            json!({"steps": [{"tool": "a", "args": [1, 2]}]}),
            "/steps/0/args",
        ),
        (
            json!({"steps": [{"tool": "a", "status": "done"}]}),
            "/steps/0/status",
        ),
        (
            json!({"steps": [{"tool": "a", "status": "proposed", "result": "r"}]}),
            "/steps/0/result",
        ),
        (json!({"steps": [{"tool": "a", "id": 5}]}), "/steps/0/id"),
        (
            json!({"tools": [{"type": "function", "function": {}}], "steps": []}),
            "/tools/0/function/name",
        ),
        (json!({"tools": "all", "steps": []}), "/tools"),
        (json!([{"tool": "a"}, {"tool": null}]), "/1/tool"),
    ];
    for (doc, pointer) in cases {
        let err = generic::read(&doc).expect_err(&doc.to_string());
        assert_eq!(shape_path(err), pointer, "for {doc}");
    }
}

#[test]
fn render_refuses_a_document_that_does_not_match_the_plan() {
    let doc = fixture("bare-array.json");
    let plan = generic::read(&doc).unwrap();
    let mut other = json!([{"tool": "read_file"}, {"tool": "something_else"}]);
    let err = generic::render(&mut other, &plan, &demo_outcomes(&plan)).unwrap_err();
    assert_eq!(shape_path(err), "/1");
}

#[test]
fn examples_are_generic_plans_with_proposed_steps() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if !(name.starts_with("generic-") && name.ends_with(".json")) {
            continue;
        }
        let bytes = std::fs::read(dir.join(&name)).unwrap();
        let plan =
            preflight_adapters::parse(&bytes, None).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            plan.format,
            Format::Generic,
            "{name} is detected as generic"
        );
        assert!(plan.proposed().count() > 0, "{name} proposes nothing");
        seen += 1;
    }
    assert!(seen >= 2, "expected generic examples, found {seen}");
}

fn arb_json() -> impl Strategy<Value = Value> {
    let key = prop::sample::select(vec![
        "goal",
        "tools",
        "steps",
        "tool",
        "args",
        "id",
        "status",
        "result",
        "name",
        "function",
        "parameters",
        "input_schema",
        "annotations",
        "withheld",
    ]);
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<f64>().prop_map(Value::from),
        prop::sample::select(vec!["executed", "proposed", "{\"a\":", "{}", "x", ""])
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
        if let Ok(plan) = generic::read(&doc) {
            let mut out = doc.clone();
            let _ = generic::render(&mut out, &plan, &demo_outcomes(&plan));
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic_through_parse(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = preflight_adapters::parse(&bytes, Some(Format::Generic));
    }
}
