//! `policy test`'s check of the rules' triggers (`custom.when`): a trigger
//! must be a necessary condition of its rule, or skipping the rule changes
//! verdicts. The bundle's own tests are the inputs the author knows matter,
//! so every `with input as EXPR` of a `*_test.rego` file is evaluated in its
//! test package and decided twice — with skipping, and with every rule — and
//! any difference fails the run (and therefore a hot reload).

use serde_json::Value;

use crate::bundle::Bundle;
use crate::engine::{Limits, PolicyEngine, load, package_of};
use crate::error::Result;
use crate::testing::TestResult;

/// One `with input as` expression of a test file, evaluated.
pub(crate) struct TestInput {
    /// The test file.
    pub file: String,
    /// Its package.
    pub package: String,
    /// 1-based line of the expression.
    pub line: usize,
    /// The input.
    pub input: Value,
}

/// The generated rule holding the input of line `n`.
fn rule_name(n: usize) -> String {
    format!("__preflight_input_{n}")
}

/// A module in `file`'s package and imports with one rule per `with input as`
/// expression (test-body assignments before it included, since expressions
/// often name a local), and the lines they came from.
fn capture_module(text: &str) -> Option<(String, Vec<usize>)> {
    let header: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("package ") || l.starts_with("import "))
        .collect();
    header.first()?;
    let mut rules = Vec::new();
    let mut lines = Vec::new();
    let mut locals: Vec<&str> = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if !line.starts_with(char::is_whitespace) {
            locals.clear();
        }
        let Some((_, rest)) = line.split_once("with input as ") else {
            if line.starts_with(char::is_whitespace)
                && line.contains(":=")
                && !line.contains(" with ")
            {
                locals.push(line.trim());
            }
            continue;
        };
        let expr = rest.split(" with ").next().unwrap_or(rest).trim();
        rules.push(format!(
            "{} := __x if {{\n{}\n__x := {expr}\n}}",
            rule_name(n + 1),
            locals.join("\n")
        ));
        lines.push(n + 1);
    }
    if rules.is_empty() {
        return None;
    }
    Some((
        format!("{}\n\n{}\n", header.join("\n"), rules.join("\n\n")),
        lines,
    ))
}

/// Every test input of `bundle` that evaluates to an object (expressions
/// that cannot be evaluated on their own are left out).
pub(crate) fn test_inputs(bundle: &Bundle) -> Result<Vec<TestInput>> {
    let (base, _) = load(bundle, true)?;
    let mut out = Vec::new();
    for file in bundle.rego(true).filter(|f| Bundle::is_test(&f.name)) {
        let (Some(package), Some((module, lines))) =
            (package_of(&file.text), capture_module(&file.text))
        else {
            continue;
        };
        let mut engine = base.clone();
        if engine
            .add_policy(format!("{}.inputs", file.name), module)
            .is_err()
        {
            continue;
        }
        for line in lines {
            let Ok(v) = engine.eval_rule(format!("data.{package}.{}", rule_name(line))) else {
                continue;
            };
            if let Ok(input) = serde_json::to_value(&v)
                && input.is_object()
            {
                out.push(TestInput {
                    file: file.name.clone(),
                    package: package.to_owned(),
                    line,
                    input,
                });
            }
        }
    }
    Ok(out)
}

/// Failed results for every test input on which skipping by trigger changes
/// the findings; empty when the bundle declares no trigger.
pub(crate) fn check(bundle: &Bundle) -> Result<Vec<TestResult>> {
    // The tests' budget, not the serving one: a slow machine must not make
    // one of the two evaluations time out and pass for a trigger mismatch.
    let limits = Limits {
        eval_budget: crate::testing::TEST_BUDGET,
    };
    let serving = PolicyEngine::compile_with(bundle, limits)?;
    if serving.rules().values().all(|m| m.when.is_none()) {
        return Ok(Vec::new());
    }
    let mut failed = Vec::new();
    for t in test_inputs(bundle)? {
        let rules_of = |r: Result<Vec<crate::Finding>>| -> Option<Vec<String>> {
            let mut ids: Vec<String> = r.ok()?.into_iter().map(|f| f.rule).collect();
            ids.sort();
            ids.dedup();
            Some(ids)
        };
        let skipping = serving.findings(&t.input);
        let every = serving.findings_every_rule(&t.input);
        // Only two successful evaluations can show a skipped rule; an error
        // (a rule failing at run time, the budget) is the tests' to report.
        let same = match (&skipping, &every) {
            (Ok(a), Ok(b)) => {
                let key = |f: &crate::Finding| serde_json::to_string(f).unwrap_or_default();
                let mut a: Vec<String> = a.iter().map(key).collect();
                let mut b: Vec<String> = b.iter().map(key).collect();
                a.sort();
                b.sort();
                a == b
            }
            _ => true,
        };
        if same {
            continue;
        }
        let (fired, all) = (
            rules_of(skipping).unwrap_or_default(),
            rules_of(every).unwrap_or_default(),
        );
        let missed: Vec<&String> = all.iter().filter(|r| !fired.contains(r)).collect();
        failed.push(TestResult {
            file: t.file,
            package: t.package,
            name: format!("custom.when (input at line {})", t.line),
            passed: false,
            error: Some(format!(
                "skipping rules by `custom.when` changes the findings on this test's input \
                 (rules that fire but were skipped: {missed:?}): a trigger must be a necessary \
                 condition of its rule"
            )),
        });
    }
    Ok(failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captures_the_default_bundles_test_inputs() {
        let inputs = test_inputs(&Bundle::embedded()).expect("loads");
        assert!(inputs.len() >= 90, "captured {}", inputs.len());
        assert!(check(&Bundle::embedded()).expect("checks").is_empty());
    }

    #[test]
    fn a_trigger_narrower_than_its_rule_fails_the_check() {
        // payment_limits declared for `credential` steps: its tests' payment
        // inputs fire it, skipping would not.
        let files: Vec<(String, String)> = Bundle::embedded()
            .files
            .into_iter()
            .map(|f| {
                let text = if f.name == "payment_limits.rego" {
                    f.text
                        .replace("when: label:financial", "when: label:credential")
                } else {
                    f.text
                };
                (f.name, text)
            })
            .collect();
        let failed = check(&Bundle::from_sources(files)).expect("checks");
        assert!(!failed.is_empty());
        assert!(
            failed.iter().any(|r| r.file == "payment_limits_test.rego"),
            "{failed:?}"
        );
        assert!(
            failed.iter().all(|r| !r.passed
                && r.error
                    .as_deref()
                    .is_some_and(|e| e.contains("payment_limits"))),
            "{failed:?}"
        );
    }
}
