//! `preflight policy test`: runs every `test_*` rule of the bundle's
//! `*_test.rego` files, with line coverage, and checks that every rule has
//! its own test file with at least one test that makes it fire.
//!
//! Rules that declare a trigger (`custom.when`) are also checked against
//! every test input: skipping must not change the findings
//! (`trigger_check.rs`).
//!
//! "Fires" is read from coverage: the last statement of one of the rule's
//! `findings` bodies was evaluated, which Rego's conjunction only does after
//! every earlier statement held. A deny rule no test can fire is a rule that
//! may be silently dead (a misspelled input field reads as undefined).

use std::collections::{BTreeMap, BTreeSet};
use std::num::NonZeroU32;
use std::time::Duration;

use regorus::utils::limits::ExecutionTimerConfig;
use serde::Serialize;
use serde_json::Value;

use crate::bundle::Bundle;
use crate::engine::{load, package_of};
use crate::error::{PolicyError, Result};

/// Per-test time budget: a test that loops fails instead of hanging the run.
pub(crate) const TEST_BUDGET: Duration = Duration::from_secs(2);

/// The outcome of one test rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TestResult {
    /// The test file.
    pub file: String,
    /// The test's package.
    pub package: String,
    /// The test rule's name (`test_...`).
    pub name: String,
    /// True when the rule evaluated to `true`.
    pub passed: bool,
    /// Why it failed: undefined, false, or the evaluation error.
    pub error: Option<String>,
}

/// Line coverage of one policy file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileCoverage {
    /// The policy file.
    pub file: String,
    /// Lines evaluated by at least one test.
    pub covered: usize,
    /// Lines that hold evaluable code.
    pub total: usize,
    /// Lines never evaluated.
    pub not_covered: Vec<u32>,
}

/// Whether each rule is tested.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleCheck {
    /// Rule id.
    pub rule: String,
    /// Its file has a sibling `*_test.rego`.
    pub has_test_file: bool,
    /// Some test made one of its `findings` bodies complete.
    pub fired: bool,
}

/// Everything `policy test` reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TestReport {
    /// Every test, in file and name order.
    pub results: Vec<TestResult>,
    /// Coverage of every non-test policy file.
    pub coverage: Vec<FileCoverage>,
    /// Per-rule test requirements.
    pub rules: Vec<RuleCheck>,
}

impl TestReport {
    /// Failed test names (`package.name`) plus unmet rule requirements.
    pub fn failures(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .results
            .iter()
            .filter(|r| !r.passed)
            .map(|r| format!("{}.{}", r.package, r.name))
            .collect();
        for r in &self.rules {
            if !r.has_test_file {
                out.push(format!("rule {} has no _test.rego file", r.rule));
            } else if !r.fired {
                out.push(format!("rule {} is never fired by a test", r.rule));
            }
        }
        out
    }

    /// True when every test passed and every rule is tested and fired.
    pub fn passed(&self) -> bool {
        self.failures().is_empty()
    }

    /// The error a reload reports when the bundle's own tests fail.
    pub fn to_error(&self) -> Option<PolicyError> {
        let names = self.failures();
        if names.is_empty() {
            return None;
        }
        Some(PolicyError::TestsFailed {
            failed: names.len(),
            total: self.results.len(),
            names,
        })
    }
}

/// Compiles the bundle with its tests and runs them.
pub fn run_tests(bundle: &Bundle) -> Result<TestReport> {
    let (mut engine, rules) = load(bundle, true)?;
    engine.set_execution_timer_config(ExecutionTimerConfig {
        limit: TEST_BUDGET,
        check_interval: NonZeroU32::MIN.saturating_add(31),
    });
    let ast = engine
        .get_ast_as_json()
        .map_err(|e| PolicyError::Eval(e.to_string()))?;
    let ast: Value = serde_json::from_str(&ast).map_err(|e| PolicyError::Eval(e.to_string()))?;
    engine.set_enable_coverage(true);
    engine.set_gather_prints(true);
    let mut results = Vec::new();
    for file in bundle.rego(true).filter(|f| Bundle::is_test(&f.name)) {
        let Some(package) = package_of(&file.text) else {
            continue;
        };
        let names: BTreeSet<String> = rule_heads(&ast, &file.name)
            .into_iter()
            .map(|(name, _)| name)
            .filter(|n| n.starts_with("test_"))
            .collect();
        for name in names {
            let outcome = engine.eval_rule(format!("data.{package}.{name}"));
            let (passed, error) = match outcome {
                Ok(v) if v == regorus::Value::from(true) => (true, None),
                Ok(regorus::Value::Undefined) => (
                    false,
                    Some("undefined (a condition did not hold)".to_owned()),
                ),
                Ok(v) => (false, Some(format!("evaluated to {v}, not true"))),
                Err(e) => (
                    false,
                    Some(crate::error::locate(&e.to_string(), &file.name).to_string()),
                ),
            };
            results.push(TestResult {
                file: file.name.clone(),
                package: package.to_owned(),
                name,
                passed,
                error,
            });
        }
    }
    // A rule's trigger must not skip it on an input its tests fire it on.
    // (A bundle that does not compile for serving is reported by compile.)
    if let Ok(failed) = crate::trigger_check::check(bundle) {
        results.extend(failed);
    }
    let report = engine
        .get_coverage_report()
        .map_err(|e| PolicyError::Eval(e.to_string()))?;
    let covered_lines: BTreeMap<&str, &BTreeSet<u32>> = report
        .files
        .iter()
        .map(|f| (f.path.as_str(), &f.covered))
        .collect();
    let coverage = report
        .files
        .iter()
        .filter(|f| !Bundle::is_test(&f.path) && f.path.ends_with(".rego"))
        .map(|f| FileCoverage {
            file: f.path.clone(),
            covered: f.covered.len(),
            total: f.covered.len() + f.not_covered.len(),
            not_covered: f.not_covered.iter().copied().collect(),
        })
        .collect();
    let test_files: BTreeSet<&str> = bundle
        .rego(true)
        .filter(|f| Bundle::is_test(&f.name))
        .map(|f| f.name.as_str())
        .collect();
    let rules = rules
        .values()
        .map(|meta| {
            let test_file = format!("{}_test.rego", meta.file.trim_end_matches(".rego"));
            let covered = covered_lines.get(meta.file.as_str());
            let fired = rule_heads(&ast, &meta.file)
                .into_iter()
                .filter(|(name, _)| name == "findings")
                .flat_map(|(_, last_lines)| last_lines)
                .any(|line| covered.is_some_and(|c| c.contains(&line)));
            RuleCheck {
                rule: meta.id.clone(),
                has_test_file: test_files.contains(test_file.as_str()),
                fired,
            }
        })
        .collect();
    Ok(TestReport {
        results,
        coverage,
        rules,
    })
}

/// `(rule name, line of the last statement of each body)` for every rule of
/// `file`.
fn rule_heads(ast: &Value, file: &str) -> Vec<(String, Vec<u32>)> {
    let module = ast
        .as_array()
        .into_iter()
        .flatten()
        .find(|m| m.pointer("/source/file").and_then(Value::as_str) == Some(file));
    let rules = module
        .and_then(|m| m.pointer("/ast/rules"))
        .and_then(Value::as_array);
    rules
        .into_iter()
        .flatten()
        .filter_map(|r| {
            let spec = r.get("Spec")?;
            let head = spec.get("head")?.as_object()?.values().next()?;
            let name = head.pointer("/refr/Var/value")?.as_str()?.to_owned();
            let lines = spec
                .get("bodies")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|b| {
                    b.pointer("/query/stmts")?
                        .as_array()?
                        .last()?
                        .pointer("/span/line")?
                        .as_u64()
                })
                .map(|l| u32::try_from(l).unwrap_or(u32::MAX))
                .collect();
            Some((name, lines))
        })
        .collect()
}
