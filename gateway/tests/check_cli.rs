//! `preflight check` run as a real process over every file in `examples/`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn preflight(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_preflight"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("run preflight")
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Plan and conversation examples (not configs, scripts or case files).
fn plan_examples() -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(root().join("examples"))
        .expect("examples/")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| {
            let plan_like = n.ends_with(".json") || n.ends_with(".txt");
            plan_like && !n.starts_with("config")
        })
        .map(|n| format!("examples/{n}"))
        .collect();
    out.sort();
    out
}

#[test]
fn every_example_plan_is_read_and_analyzed() {
    let examples = plan_examples();
    assert!(
        examples.len() >= 6,
        "expected an example per adapter, found {examples:?}"
    );
    for ex in &examples {
        let out = preflight(&["check", ex, "--json"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "{ex}: exit {:?}: {stderr}",
            out.status.code()
        );
        let line = String::from_utf8(out.stdout).expect("utf-8");
        let v: Value =
            serde_json::from_str(line.trim()).unwrap_or_else(|e| panic!("{ex}: {e}: {line}"));
        let steps = v["graph"]["steps"].as_array().expect("graph steps");
        assert!(
            steps.iter().any(|s| s["status"] == "proposed"),
            "{ex}: an example should propose at least one call"
        );
        assert!(v["graph"]["edges"].is_array(), "{ex}: edges");
        // The Decision contract of DESIGN.md, one entry per proposed step.
        let proposed = steps.iter().filter(|s| s["status"] == "proposed").count();
        assert_eq!(v["steps"].as_array().map(Vec::len), Some(proposed), "{ex}");
        for key in [
            "decision_id",
            "verdict",
            "policy_digest",
            "model_id",
            "latency_us",
        ] {
            assert!(v.get(key).is_some(), "{ex}: {key} missing");
        }
        assert!(
            v["policy_digest"]
                .as_str()
                .is_some_and(|d| d.starts_with("sha256:"))
        );
        assert_eq!(line.trim().lines().count(), 1, "{ex}: one line per case");
    }
}

#[test]
fn summary_names_labels_provenance_and_the_verdict() {
    let out = preflight(&["check", "examples/anthropic-invoice-injection.json"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("injected_flow"), "{text}");
    assert!(text.contains("(inside injected text)"), "{text}");
    assert!(
        text.starts_with("anthropic-invoice-injection (anthropic): block"),
        "{text}"
    );
    assert!(text.contains("verdict: block"), "{text}");
}

#[test]
fn injected_payment_is_blocked_with_and_without_the_guard() {
    for extra in [&[][..], &["--no-guard"][..]] {
        let mut args = vec![
            "check",
            "--json",
            "examples/anthropic-invoice-injection.json",
        ];
        args.extend_from_slice(extra);
        let out = preflight(&args);
        assert!(out.status.success());
        let v: Value = serde_json::from_slice(&out.stdout).expect("json");
        assert_eq!(v["verdict"], "block", "{extra:?}: {v}");
        let step = &v["steps"][0];
        assert!(
            step["rules"].as_array().is_some_and(|r| !r.is_empty()),
            "{step}"
        );
        if extra.is_empty() {
            assert!(v["model_id"].as_str().is_some(), "the guard scored it");
            assert!(step["risk"].as_f64().is_some_and(|r| r > 0.5), "{step}");
        } else {
            assert!(v["model_id"].is_null(), "rules only: {v}");
            assert!(step["risk"].is_null());
        }
    }
}

#[test]
fn fail_on_sets_exit_1_when_a_case_reaches_the_verdict() {
    let out = preflight(&[
        "check",
        "--fail-on",
        "block",
        "examples/anthropic-invoice-injection.json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let out = preflight(&[
        "check",
        "--fail-on",
        "block",
        "examples/react-unit-conversion.txt",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = preflight(&[
        "check",
        "--fail-on",
        "maybe",
        "examples/react-unit-conversion.txt",
    ]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn dot_output_is_a_graphviz_digraph() {
    let out = preflight(&[
        "check",
        "--dot",
        "examples/anthropic-invoice-injection.json",
    ]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("digraph plan {"), "{text}");
    assert!(text.contains("->"));
}

#[test]
fn cases_file_prints_one_line_per_case() {
    let out = preflight(&["check", "--cases", "examples/cases.jsonl", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cases = std::fs::read_to_string(root().join("examples/cases.jsonl")).expect("cases");
    let n = cases.lines().filter(|l| !l.trim().is_empty()).count();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let ids: Vec<String> = stdout
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).expect("json line")["id"]
                .as_str()
                .unwrap_or("")
                .to_owned()
        })
        .collect();
    assert_eq!(ids.len(), n);
    assert!(ids.iter().all(|id| !id.is_empty()));
}

#[test]
fn bad_input_exits_2_and_names_the_place() {
    let dir = tempdir();
    let bad = dir.join("bad.json");
    std::fs::write(&bad, r#"{"model":"m","messages":[{"role":"user","content":"hi"},{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":7,"arguments":"{}"}}]}]}"#).expect("write");
    let out = preflight(&["check", bad.to_str().expect("path")]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("/messages/1/tool_calls/0/function/name"),
        "{err}"
    );

    std::fs::write(&bad, "{\"messages\": [").expect("write");
    let out = preflight(&["check", bad.to_str().expect("path")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 1"));

    let out = preflight(&["check", "--format", "yaml", bad.to_str().expect("path")]);
    assert_eq!(out.status.code(), Some(2));

    let out = preflight(&["check", "does/not/exist.json"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_bad_case_line_is_reported_and_the_rest_still_run() {
    let dir = tempdir();
    let cases = dir.join("cases.jsonl");
    let good = std::fs::read_to_string(root().join("examples/cases.jsonl")).expect("cases");
    let first = good.lines().find(|l| !l.trim().is_empty()).expect("a case");
    std::fs::write(&cases, format!("{first}\n{{not json\n")).expect("write");
    let out = preflight(&["check", "--cases", cases.to_str().expect("path"), "--json"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
    assert!(String::from_utf8_lossy(&out.stderr).contains("cases.jsonl:2"));
}

fn tempdir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "preflight-check-{}-{}",
        std::process::id(),
        std::thread::current()
            .name()
            .unwrap_or("t")
            .replace("::", "-")
    ));
    std::fs::create_dir_all(&dir).expect("tempdir");
    dir
}
