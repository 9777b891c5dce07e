//! ReAct text adapter: golden fixtures, line-numbered errors, the examples,
//! and a no-panic property test.

use std::path::Path;

use preflight_adapters::adapters::react;
use preflight_adapters::{AdapterError, Args, Format, Origin, StepStatus};
use proptest::prelude::*;
use serde_json::json;

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/react")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn line_of(err: AdapterError) -> usize {
    match err {
        AdapterError::Line { line, .. } => line,
        other => panic!("expected a line error, got {other:?}"),
    }
}

#[test]
fn golden_fixtures_read() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/react");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".txt"))
        .collect();
    names.sort();
    assert!(names.len() >= 6, "fixtures missing: {names:?}");
    for name in names {
        let plan = react::read(&fixture(&name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        insta::assert_json_snapshot!(name.trim_end_matches(".txt"), plan);
    }
}

#[test]
fn answered_actions_are_executed_and_the_last_unanswered_one_is_proposed() {
    let plan = react::read(&fixture("langchain-template.txt")).unwrap();
    let tools: Vec<_> = plan.steps.iter().map(|s| s.tool.as_str()).collect();
    assert_eq!(tools, ["search_tickets", "read_ticket", "reply_ticket"]);
    assert!(matches!(
        plan.steps[0].status,
        StepStatus::Executed { result: Some(_) }
    ));
    assert!(matches!(
        plan.steps[1].status,
        StepStatus::Executed { result: Some(_) }
    ));
    assert!(plan.steps[2].is_proposed());
    assert_eq!(
        plan.steps[0].args.value(),
        Some(&json!({"input": "login outage"}))
    );
    assert_eq!(plan.steps[2].args.value().unwrap()["ticket_id"], "HD-2291");
    assert_eq!(
        plan.goal.as_deref(),
        Some("Reply to the newest ticket about the login outage with our status page link.")
    );
    // The injected note is tool output, never user text.
    let injected = plan
        .segments
        .iter()
        .find(|s| s.text.contains("IMPORTANT SYSTEM NOTE"))
        .unwrap();
    assert_eq!(injected.origin, Origin::ToolResult { step: Some(1) });
}

#[test]
fn template_tools_are_read_with_their_descriptions() {
    let plan = react::read(&fixture("langchain-template.txt")).unwrap();
    let names: Vec<_> = plan.tools.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["search_tickets", "read_ticket", "reply_ticket"]);
    assert_eq!(
        plan.tools[1].description.as_deref(),
        Some("Read one ticket by its id.")
    );
    // The format section of the template is not read as steps.
    assert!(
        plan.steps
            .iter()
            .all(|s| !s.tool.contains("action to take"))
    );
}

#[test]
fn broken_json_input_is_malformed_not_plain_text() {
    let plan = react::read(&fixture("broken-json-input.txt")).unwrap();
    let step = &plan.steps[0];
    assert!(step.is_proposed());
    let Args::Malformed { raw, .. } = &step.args else {
        panic!("expected malformed, got {:?}", step.args);
    };
    assert!(raw.starts_with("{\"order_id\": 5531"));
}

#[test]
fn multi_line_json_input_runs_until_the_next_keyword() {
    let plan = react::read(&fixture("multiline-json-input.txt")).unwrap();
    let args = plan.steps[0].args.value().unwrap();
    assert_eq!(args["head"], "release/2.4.1");
    assert_eq!(args["body"], "Bumps the version.\n\n- fixes #412");
}

#[test]
fn plain_input_loses_its_quotes_and_becomes_the_input_field() {
    let plan = react::read(&fixture("plain-text-input.txt")).unwrap();
    assert_eq!(
        plan.steps[0].args.value(),
        Some(&json!({"input": "0.17 * 2340"}))
    );
}

#[test]
fn paper_style_numbered_blocks_and_bracket_actions_are_read() {
    let plan = react::read(&fixture("paper-style.txt")).unwrap();
    assert_eq!(plan.steps[0].tool, "Search");
    assert_eq!(
        plan.steps[0].args.value(),
        Some(&json!({"input": "capital of Hungary"}))
    );
    assert!(!plan.steps[0].is_proposed());
    assert_eq!(plan.steps[1].tool, "Lookup");
    assert!(plan.steps[1].is_proposed());
}

#[test]
fn fenced_input_and_final_answer_leave_nothing_proposed() {
    let plan = react::read(&fixture("final-answer-fenced-input.txt")).unwrap();
    assert_eq!(
        plan.steps[0].args.value(),
        Some(&json!({"customer": "ACME", "status": "open"}))
    );
    assert_eq!(plan.proposed().count(), 0);
    assert_eq!(
        plan.segments.last().unwrap().text,
        "ACME has 3 open invoices."
    );
}

#[test]
fn crlf_and_unicode_text_is_read_exactly() {
    let text = fixture("unicode-and-crlf.txt");
    assert!(
        text.contains("\r\n"),
        "the fixture keeps its CRLF line ends"
    );
    let plan = react::read(&text).unwrap();
    assert_eq!(
        plan.steps[1].args.value(),
        Some(&json!({"input": "おはようございます 🌅"}))
    );
    assert!(plan.segments.iter().all(|s| !s.text.contains('\r')));
}

#[test]
fn very_large_observation_is_kept_whole() {
    let big = "Zeile mit Ümlauten und 🚀\n".repeat(40_000);
    let text = format!("Action: dump\nAction Input: {{}}\nObservation: {big}\nAction: summarize\n");
    let plan = react::read(&text).unwrap();
    let StepStatus::Executed { result: Some(seg) } = plan.steps[0].status else {
        panic!("dump should be executed");
    };
    assert_eq!(plan.segments[seg].text, big.trim());
    assert!(plan.steps[1].is_proposed());
}

#[test]
fn text_before_the_first_keyword_is_the_models_not_the_systems() {
    let plan = react::read(&fixture("completion-without-leading-keyword.txt")).unwrap();
    assert_eq!(plan.segments[0].origin, Origin::Assistant);
    assert!(
        plan.segments[0]
            .text
            .starts_with("The user wants the weather")
    );
    assert!(plan.steps[0].is_proposed());
}

#[test]
fn errors_name_the_line() {
    let cases = [
        ("just some prose\nwith no blocks", 1),
        ("Thought: hmm\nObservation: out of nowhere", 2),
        ("Question: q\n\nAction Input: {}", 3),
        ("Action: a\nAction Input: 1\nAction Input: 2", 3),
        ("Action: a\nThought: t\nAction: b", 3),
        ("Thought: ok\nAction:   \nAction Input: x", 2),
        (
            "Answer the following...\nBegin!\nno blocks after the template",
            3,
        ),
    ];
    for (text, line) in cases {
        let err = react::read(text).expect_err(text);
        assert_eq!(line_of(err), line, "for {text:?}");
    }
}

#[test]
fn examples_are_react_transcripts_with_a_proposed_action() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if !(name.starts_with("react-") && name.ends_with(".txt")) {
            continue;
        }
        let bytes = std::fs::read(dir.join(&name)).unwrap();
        let plan =
            preflight_adapters::parse(&bytes, None).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(plan.format, Format::React, "{name} is detected as ReAct");
        assert_eq!(plan.proposed().count(), 1, "{name} proposes one action");
        seen += 1;
    }
    assert!(seen >= 2, "expected ReAct examples, found {seen}");
}

proptest! {
    #[test]
    fn arbitrary_text_never_panics(text in ".{0,400}") {
        let _ = react::read(&text);
    }

    #[test]
    fn keyword_soup_never_panics(lines in prop::collection::vec(
        (prop::sample::select(vec![
            "Question:", "Thought:", "Action:", "Action Input:", "Observation:", "Final Answer:",
            "Action 3:", "action input :", "Begin!", "```", "```json", "", "  ",
        ]), ".{0,20}"),
        0..24,
    )) {
        let text: String = lines.iter().map(|(k, v)| format!("{k}{v}\n")).collect();
        if let Ok(plan) = react::read(&text) {
            prop_assert!(plan.proposed().count() <= 1);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic_through_parse(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = preflight_adapters::parse(&bytes, Some(Format::React));
    }
}
