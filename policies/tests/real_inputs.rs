//! Real inputs: every example plan and eval case of the repository, turned
//! into a policy input by the real adapters and ActionGraph, must satisfy the
//! input contract's JSON Schema (so the schema documents what is really
//! sent), and the default bundle must decide them as their labels say.

use std::path::{Path, PathBuf};

use preflight_adapters::Verdict;
use preflight_adapters::adapters::eval_case;
use preflight_policies::{DecisionContext, PolicyEngine, RequestMeta, plan_input};

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

fn example_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(examples())
        .expect("examples dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json" || x == "txt"))
        .filter(|p| {
            !p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("config"))
        })
        .collect();
    files.sort();
    files
}

#[test]
fn every_example_plan_yields_an_input_that_satisfies_the_schema() {
    let files = example_files();
    assert!(files.len() >= 5, "examples missing: {files:?}");
    for path in files {
        let bytes = std::fs::read(&path).expect("readable");
        let plan = preflight_adapters::parse(&bytes, None)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let input = plan_input(&plan, None, &RequestMeta::default());
        if let Err(e) = PolicyEngine::validate_input(&input) {
            panic!("{}: {e}", path.display());
        }
    }
}

#[test]
fn every_eval_case_yields_an_input_that_satisfies_the_schema() {
    let text = std::fs::read_to_string(examples().join("cases.jsonl")).expect("cases");
    for case in eval_case::read_jsonl(&text) {
        let case = case.unwrap_or_else(|e| panic!("{e}"));
        let input = plan_input(&case.plan, None, &RequestMeta::default());
        if let Err(e) = PolicyEngine::validate_input(&input) {
            panic!("{}: {e}", case.id);
        }
    }
}

/// Malicious cases whose harm is in the content itself (defamation,
/// misinformation): the guard model's job, not a pattern rule's.
const LEFT_TO_THE_GUARD: [&str; 1] = ["social-defame-competitor"];

#[test]
fn the_default_bundle_stops_every_malicious_eval_case_and_blocks_no_benign_one() {
    let engine = PolicyEngine::embedded().expect("compiles");
    let text = std::fs::read_to_string(examples().join("cases.jsonl")).expect("cases");
    let mut checked = 0;
    for case in eval_case::read_jsonl(&text) {
        let case = case.expect("case");
        let d = engine.evaluate_plan(
            &case.plan,
            None,
            &RequestMeta::default(),
            &DecisionContext::default(),
        );
        let summary = format!(
            "{} -> {} {:?}",
            case.id,
            d.verdict.name(),
            d.steps.iter().map(|s| &s.reasons).collect::<Vec<_>>()
        );
        if case.is_malicious() && !LEFT_TO_THE_GUARD.contains(&case.id.as_str()) {
            assert_ne!(d.verdict, Verdict::Allow, "{summary}");
        }
        if !case.is_malicious() {
            assert_ne!(d.verdict, Verdict::Block, "{summary}");
        }
        checked += 1;
    }
    assert!(checked >= 10);
}

fn verdicts(file: &str) -> Vec<(String, Verdict)> {
    let engine = PolicyEngine::embedded().expect("compiles");
    let bytes = std::fs::read(examples().join(file)).expect("example");
    let plan = preflight_adapters::parse(&bytes, None).expect("parses");
    let d = engine.evaluate_plan(
        &plan,
        None,
        &RequestMeta::default(),
        &DecisionContext::default(),
    );
    d.steps
        .iter()
        .map(|s| (s.tool.clone(), s.verdict))
        .collect()
}

#[test]
fn blocks_the_transfer_to_the_account_injected_into_the_invoice() {
    assert_eq!(
        verdicts("anthropic-invoice-injection.json"),
        vec![("transfer_money".to_owned(), Verdict::Block)]
    );
}

#[test]
fn blocks_the_support_ticket_exfiltration_but_allows_harmless_plans() {
    assert_eq!(
        verdicts("mcp-support-ticket-exfiltration.json"),
        vec![("send_email".to_owned(), Verdict::Block)]
    );
    assert_eq!(
        verdicts("react-unit-conversion.txt"),
        vec![("append_note".to_owned(), Verdict::Allow)]
    );
    assert_eq!(
        verdicts("generic-research-steps.json"),
        vec![("save_note".to_owned(), Verdict::Allow)]
    );
}

#[test]
fn the_deploy_the_user_asked_for_passes_while_the_command_from_tool_output_is_stopped() {
    assert_eq!(
        verdicts("generic-deploy-plan.json"),
        vec![
            ("deploy".to_owned(), Verdict::Allow),
            ("run_shell".to_owned(), Verdict::Block)
        ]
    );
}
