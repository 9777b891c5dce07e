//! The default bundle: it compiles, every Rego test passes, every rule has a
//! test file and a test that fires it, and the embedded file list matches
//! the directory.

use preflight_policies::{Bundle, PolicyEngine, run_tests};

#[test]
fn every_rego_test_in_the_default_bundle_passes_and_fires_every_rule() {
    let report = run_tests(&Bundle::embedded()).unwrap_or_else(|e| panic!("{e}"));
    let failures: Vec<String> = report
        .results
        .iter()
        .filter(|r| !r.passed)
        .map(|r| {
            format!(
                "{}.{}: {}",
                r.package,
                r.name,
                r.error.clone().unwrap_or_default()
            )
        })
        .chain(
            report
                .failures()
                .into_iter()
                .filter(|f| f.starts_with("rule ")),
        )
        .collect();
    assert!(failures.is_empty(), "failing:\n{}", failures.join("\n"));
    assert!(
        report.results.len() >= 60,
        "only {} tests ran",
        report.results.len()
    );
    assert_eq!(report.rules.len(), 14);
}

#[test]
fn the_default_bundle_compiles() {
    let engine = PolicyEngine::embedded().unwrap_or_else(|e| panic!("{e}"));
    assert!(engine.digest().starts_with("sha256:"));
    assert!(engine.rules().contains_key("injected_flow"));
}

#[test]
fn the_embedded_file_list_matches_the_bundle_directory() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("bundle");
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .expect("bundle dir")
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect();
    on_disk.sort();
    let mut embedded: Vec<String> = Bundle::embedded()
        .files
        .into_iter()
        .map(|f| f.name)
        .collect();
    embedded.sort();
    assert_eq!(
        embedded, on_disk,
        "update DEFAULT_FILES in policies/src/bundle.rs"
    );
}

fn tiny_rule(body: &str) -> String {
    format!(
        "# METADATA\n# title: t\n# description: d\n# custom:\n#   risk: unauthorized.action\n#   example: e\npackage preflight.rules.tiny\n\nimport rego.v1\n\n{body}\n"
    )
}

const TINY_BODY: &str = "findings contains f if {\n\tsome step in input.graph.steps\n\tstep.tool == \"boom\"\n\tf := {\"step\": step.step_id, \"verdict\": \"block\", \"reason\": \"boom\"}\n}";

#[test]
fn a_failing_rego_test_is_reported_by_name() {
    let test = "package preflight.rules.tiny_test\n\nimport rego.v1\n\ntest_wrong if {\n\t1 == 2\n}\n\ntest_fires if {\n\tcount(data.preflight.rules.tiny.findings) == 1 with input as {\"graph\": {\"steps\": [{\"step_id\": \"a\", \"tool\": \"boom\"}]}}\n}\n";
    let bundle = Bundle::from_sources([
        ("tiny.rego", tiny_rule(TINY_BODY)),
        ("tiny_test.rego", test.to_owned()),
    ]);
    let report = run_tests(&bundle).expect("compiles");
    assert_eq!(report.results.len(), 2);
    assert_eq!(
        report.failures(),
        vec!["preflight.rules.tiny_test.test_wrong".to_owned()]
    );
}

#[test]
fn a_rule_no_test_fires_is_a_failure() {
    let test = "package preflight.rules.tiny_test\n\nimport rego.v1\n\ntest_quiet if {\n\tcount(data.preflight.rules.tiny.findings) == 0 with input as {\"graph\": {\"steps\": []}}\n}\n";
    let bundle = Bundle::from_sources([
        ("tiny.rego", tiny_rule(TINY_BODY)),
        ("tiny_test.rego", test.to_owned()),
    ]);
    let report = run_tests(&bundle).expect("compiles");
    assert_eq!(
        report.failures(),
        vec!["rule tiny is never fired by a test".to_owned()]
    );
    let no_tests = Bundle::from_sources([("tiny.rego", tiny_rule(TINY_BODY))]);
    assert_eq!(
        run_tests(&no_tests).expect("compiles").failures(),
        vec!["rule tiny has no _test.rego file".to_owned()]
    );
}
