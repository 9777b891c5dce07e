//! `preflight policy ...` run as a real process: test, check, explain, diff,
//! with the built-in bundle and with bundle directories on disk.

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

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A scratch copy of the default bundle, edited by `edit(name, text)`.
fn bundle_copy(tag: &str, edit: impl Fn(&str, String) -> Option<String>) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("preflight-policy-cli-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    for entry in std::fs::read_dir(root().join("policies/bundle")).expect("bundle") {
        let entry = entry.expect("entry");
        let name = entry.file_name().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(entry.path()).expect("read");
        if let Some(text) = edit(&name, text) {
            std::fs::write(dir.join(&name), text).expect("write");
        }
    }
    dir
}

#[test]
fn policy_test_passes_on_the_built_in_bundle_with_coverage() {
    let o = preflight(&["policy", "test"]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(
        out.contains("PASS preflight.rules.injected_flow_test."),
        "{out}"
    );
    assert!(
        out.contains("coverage (lines evaluated by the tests):"),
        "{out}"
    );
    assert!(
        out.lines().any(|l| l.ends_with(" passed, 0 failed")),
        "{out}"
    );
}

#[test]
fn policy_test_fails_with_exit_1_when_a_rule_changes_under_its_tests() {
    let dir = bundle_copy("weakened", |name, text| {
        Some(if name == "log_tamper.rego" {
            text.replace(
                "\"verdict\": \"block\"",
                "\"verdict\": \"require_approval\"",
            )
        } else {
            text
        })
    });
    let o = preflight(&["policy", "test", dir.to_str().expect("utf-8 path")]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains("FAIL preflight.rules.log_tamper_test.test_blocks_deleting_the_auth_log"),
        "{out}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn policy_check_reports_errors_as_file_line_col() {
    let dir = bundle_copy("broken", |name, text| {
        Some(if name == "log_tamper.rego" {
            text.replace(
                "findings contains f if {",
                "findings contains f if {\n\tstrings.no_such(1)",
            )
        } else {
            text
        })
    });
    let o = preflight(&["policy", "check", dir.to_str().expect("utf-8 path")]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    let expected = format!("{}:", dir.join("log_tamper.rego").display());
    let line = out
        .lines()
        .find(|l| l.starts_with(&expected))
        .unwrap_or_else(|| panic!("{out}"));
    let rest: Vec<&str> = line[expected.len()..].splitn(3, ':').collect();
    assert!(
        rest[0].parse::<u32>().is_ok() && rest[1].parse::<u32>().is_ok(),
        "{line}"
    );
    assert!(
        line.contains("unknown function `strings.no_such`"),
        "{line}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn policy_check_accepts_the_built_in_bundle() {
    let o = preflight(&["policy", "check"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).starts_with("ok: 16 rules"), "{}", stdout(&o));
}

#[test]
fn policy_explain_names_the_rules_that_fired_and_why() {
    let o = preflight(&[
        "policy",
        "explain",
        "examples/anthropic-invoice-injection.json",
    ]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("`transfer_money`: block"), "{out}");
    assert!(
        out.contains("injected_flow (Argument planted by injected instructions):"),
        "{out}"
    );

    let o = preflight(&["policy", "explain", "--json", "examples/cases.jsonl"]);
    let lines: Vec<Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert!(lines.len() >= 10);
    assert!(lines.iter().all(|l| {
        l["decision"]["policy_digest"]
            .as_str()
            .is_some_and(|d| d.starts_with("sha256:"))
    }));
}

#[test]
fn policy_diff_prints_every_changed_verdict_with_both_reasons() {
    let base = bundle_copy("base", |name, text| {
        Some(if name == "data.json" {
            text.replace("\"max_amount\": 500", "\"max_amount\": 100000")
        } else {
            text
        })
    });
    let o = preflight(&[
        "policy",
        "diff",
        "--base",
        base.to_str().expect("utf-8"),
        "--corpus",
        "examples/cases.jsonl",
    ]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.starts_with("## Policy diff"), "{out}");
    assert!(out.contains("| shop-refund-inflated-by-ticket | call_rf | `issue_refund` | **allow** | **require_approval**: payment_limits: amount 4999 is above the limit of 500 |"), "{out}");

    let o = preflight(&[
        "policy",
        "diff",
        "--base",
        base.to_str().expect("utf-8"),
        "--corpus",
        "examples/cases.jsonl",
        "--json",
        "--fail-on-change",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let report: Value = serde_json::from_str(&stdout(&o)).expect("json");
    assert_eq!(report["changes"][0]["base"]["verdict"], "allow");
    assert_eq!(report["changes"][0]["head"]["verdict"], "require_approval");
    let _ = std::fs::remove_dir_all(base);
}

#[test]
fn a_missing_bundle_directory_is_bad_input() {
    let o = preflight(&["policy", "test", "no/such/dir"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no/such/dir: not a directory"));
}
