//! Compiling a bundle into an evaluator, and evaluating one policy input.
//!
//! Compile = parse every Rego file (errors as `file:line:col: message`), read
//! each rule's METADATA, run the static checks of [`crate::lint`], add a
//! generated entry module that gathers every rule's `findings`, and evaluate
//! once on an empty input so that runtime-only problems surface at load.
//!
//! Evaluation first validates the input, then asks each rule's trigger
//! ([`crate::trigger`]) whether it can fire; only the selected rules run, and
//! when none is selected regorus does not run at all. Otherwise it clones
//! the prepared engine (cheap: the parsed modules are shared), hands it the
//! Rego input (`rego_input.rs`) and runs under regorus' execution timer.
//! Any failure — a rule error, the time budget spent, an input that breaks
//! the contract, a malformed finding — becomes a decision that blocks every
//! proposed step with the reason (fail closed); it never panics and never
//! allows.

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::sync::LazyLock;
use std::time::Duration;

use preflight_adapters::Verdict;
use preflight_adapters::graph::ActionGraph;
use regorus::utils::limits::ExecutionTimerConfig;
use serde_json::Value;

use crate::bundle::Bundle;
use crate::decision::{self, Decision, DecisionContext, Finding};
use crate::error::{Located, PolicyError, Result, locate};
use crate::guard_scores::GuardScores;
use crate::metadata::{self, RuleMeta};
use crate::trigger::{self, Triggers};
use crate::{RequestMeta, fast_regex, lint, rego_input, schema};

/// The package every rule lives under: `preflight.rules.<id>`.
pub const RULES_PACKAGE: &str = "preflight.rules.";
/// The generated entry module's package and its single rule.
const ENTRY_PACKAGE: &str = "preflight_entry";
const ENTRY_RULE: &str = "data.preflight_entry.findings";
const ENTRY_FILE: &str = "<generated entry>";
/// The input key through which the entry module learns which rules to run
/// (reserved: rules never read it).
const RUN_KEY: &str = "__preflight_run";

/// The policy input contract as JSON Schema (docs/policy-input.md).
pub const INPUT_SCHEMA: &str = include_str!("../schema/policy-input.schema.json");

/// The contract, read once (an unreadable schema accepts nothing: fail closed).
static INPUT_SCHEMA_COMPILED: LazyLock<schema::Compiled> = LazyLock::new(|| {
    schema::Compiled::new(&serde_json::from_str(INPUT_SCHEMA).unwrap_or(Value::Bool(false)))
});

/// Limits on one evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Wall-clock budget for one evaluation, enforced by regorus'
    /// cooperative timer; past it the decision blocks.
    pub eval_budget: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        // A hang guard, not a latency target: far above a normal evaluation
        // (about a millisecond in release builds), so that a loaded machine
        // or a debug build never fails a legitimate call closed, yet a
        // runaway rule is cut off in half a second. The gateway may set a
        // tighter budget per route.
        Limits {
            eval_budget: Duration::from_millis(500),
        }
    }
}

/// A compiled bundle, ready to evaluate inputs. Cheap to share (`Send + Sync`).
#[derive(Debug, Clone)]
pub struct PolicyEngine {
    engine: regorus::Engine,
    rules: BTreeMap<String, RuleMeta>,
    triggers: Triggers,
    keep: rego_input::Keep,
    digest: String,
}

/// The package name declared by a Rego source (`package a.b`), if any.
pub fn package_of(source: &str) -> Option<&str> {
    source
        .lines()
        .map(str::trim)
        .find_map(|l| l.strip_prefix("package "))
        .map(|p| p.split('#').next().unwrap_or(p).trim())
}

/// Parses and checks the bundle's Rego into a fresh regorus engine; with
/// `with_tests`, the `*_test.rego` files too. Returns the engine and the
/// metadata of every rule.
pub(crate) fn load(
    bundle: &Bundle,
    with_tests: bool,
) -> Result<(regorus::Engine, BTreeMap<String, RuleMeta>)> {
    let mut engine = regorus::Engine::new();
    fast_regex::install(&mut engine).map_err(|e| PolicyError::Eval(e.to_string()))?;
    let mut problems: Vec<Located> = Vec::new();
    let mut rules = BTreeMap::new();
    for file in bundle.rego(with_tests) {
        if let Err(e) = engine.add_policy(file.name.clone(), file.text.clone()) {
            problems.push(locate(&e.to_string(), &file.name));
            continue;
        }
        if Bundle::is_test(&file.name) {
            continue;
        }
        let Some(id) = package_of(&file.text).and_then(|p| p.strip_prefix(RULES_PACKAGE)) else {
            continue;
        };
        if id.contains('.') || id.is_empty() {
            problems.push(Located {
                file: file.name.clone(),
                line: 1,
                col: 1,
                message: format!(
                    "rule package must be `{RULES_PACKAGE}<id>` with a one-segment id, found `{id}`"
                ),
            });
            continue;
        }
        match metadata::parse(&file.name, id, &file.text) {
            Ok(meta) => {
                if let Some(prev) = rules.insert(id.to_owned(), meta) {
                    problems.push(Located {
                        file: file.name.clone(),
                        line: 1,
                        col: 1,
                        message: format!("rule id `{id}` is also defined in {}", prev.file),
                    });
                }
            }
            Err(e) => problems.push(e),
        }
    }
    if problems.is_empty() {
        let ast = engine
            .get_ast_as_json()
            .map_err(|e| PolicyError::Eval(e.to_string()))?;
        let ast: Value =
            serde_json::from_str(&ast).map_err(|e| PolicyError::Eval(e.to_string()))?;
        problems.extend(lint::check(&ast));
        for meta in rules.values() {
            if !defines_findings(&ast, &meta.file) {
                problems.push(Located {
                    file: meta.file.clone(),
                    line: 1,
                    col: 1,
                    message: "rule file defines no `findings` rule".into(),
                });
            }
        }
    }
    if !problems.is_empty() {
        return Err(PolicyError::Compile(problems));
    }
    let data = bundle.data()?;
    engine
        .add_data(regorus::Value::from(data))
        .map_err(|e| PolicyError::Data {
            file: "data.json".into(),
            reason: e.to_string(),
        })?;
    engine
        .add_policy(ENTRY_FILE.to_owned(), entry_module(&rules))
        .map_err(|e| PolicyError::Compile(vec![locate(&e.to_string(), ENTRY_FILE)]))?;
    Ok((engine, rules))
}

fn defines_findings(ast: &Value, file: &str) -> bool {
    ast.as_array().into_iter().flatten().any(|m| {
        m.pointer("/source/file").and_then(Value::as_str) == Some(file)
            && m.pointer("/ast/rules")
                .and_then(Value::as_array)
                .is_some_and(|rules| {
                    rules.iter().any(|r| {
                        let head = r.pointer("/Spec/head").and_then(Value::as_object);
                        head.and_then(|h| h.values().next())
                            .and_then(|h| h.pointer("/refr/Var/value"))
                            .and_then(Value::as_str)
                            == Some("findings")
                    })
                })
    })
}

/// `selected["rule_a"] := data.preflight.rules.rule_a.findings if "rule_a"
/// in input.__preflight_run` per rule, and `findings := selected`: one entry
/// point, so a single evaluation runs every rule the triggers selected (and
/// only those: regorus evaluates the value only when the condition holds).
fn entry_module(rules: &BTreeMap<String, RuleMeta>) -> String {
    let entries: Vec<String> = rules
        .keys()
        .map(|id| {
            format!(
                "selected[\"{id}\"] := data.preflight.rules.{id}.findings if \"{id}\" in input.{RUN_KEY}\n"
            )
        })
        .collect();
    format!(
        "package {ENTRY_PACKAGE}\n\nimport rego.v1\n\nfindings := selected\n\n{}",
        entries.join("")
    )
}

/// A minimal input that satisfies the contract: used to prepare the engine
/// and to surface runtime errors at load.
fn empty_input() -> Value {
    serde_json::json!({
        "graph": {"format": "generic", "goal": null, "tools": [], "steps": [], "injections": [],
                  "nodes": ["user"], "edges": [], "flow": {}},
        "scores": {},
        "meta": {"tenant": "default", "agent": null, "route": "check", "model": null}
    })
}

impl PolicyEngine {
    /// Compiles a bundle (without its tests) with the default [`Limits`].
    pub fn compile(bundle: &Bundle) -> Result<Self> {
        Self::compile_with(bundle, Limits::default())
    }

    /// Compiles a bundle with explicit limits.
    pub fn compile_with(bundle: &Bundle, limits: Limits) -> Result<Self> {
        let (mut engine, rules) = load(bundle, false)?;
        let data = bundle.data()?;
        let triggers = Triggers::compile(
            rules
                .iter()
                .filter_map(|(id, m)| m.when.as_ref().map(|w| (id.as_str(), w))),
            &data,
        );
        engine.set_execution_timer_config(ExecutionTimerConfig {
            limit: limits.eval_budget,
            // Read the clock every 32 work units: cheap, and a runaway loop
            // overshoots the budget by microseconds, not seconds.
            check_interval: NonZeroU32::MIN.saturating_add(31),
        });
        // Evaluate once on the stored engine itself: this prepares it
        // (module analysis, scheduling, loop hoisting), so the clone made per
        // request shares that work instead of redoing it. It also surfaces
        // rules that fail on every input.
        let at_load = |message: String| {
            PolicyError::Compile(vec![Located {
                file: ENTRY_FILE.into(),
                line: 0,
                col: 0,
                message,
            }])
        };
        let mut prepare_input = empty_input();
        prepare_input[RUN_KEY] = rules.keys().cloned().collect();
        engine.set_input(regorus::Value::from(prepare_input));
        engine
            .eval_rule(ENTRY_RULE.to_owned())
            .map_err(|e| at_load(flatten(&e.to_string())))?;
        let engine = PolicyEngine {
            engine,
            rules,
            triggers,
            keep: rego_input::Keep::of(bundle.rego(false).map(|f| f.text.as_str())),
            digest: bundle.digest(),
        };
        engine
            .findings_every_rule(&empty_input())
            .map_err(|e| at_load(e.to_string()))?;
        Ok(engine)
    }

    /// What `preflight policy check` runs: compiles the bundle *with* its
    /// test files (so errors in tests are reported too), then the serving
    /// engine.
    pub fn check(bundle: &Bundle) -> Result<Self> {
        load(bundle, true)?;
        Self::compile(bundle)
    }

    /// The default bundle compiled into the binary.
    pub fn embedded() -> Result<Self> {
        Self::compile(&Bundle::embedded())
    }

    /// Metadata of every rule, by id.
    pub fn rules(&self) -> &BTreeMap<String, RuleMeta> {
        &self.rules
    }

    /// The bundle digest recorded in every decision.
    pub fn digest(&self) -> &str {
        &self.digest
    }

    /// Checks an input against the contract (docs/policy-input.md): a
    /// misspelled or mistyped field would otherwise read as undefined in Rego
    /// and silently skip the rules that look at it.
    pub fn validate_input(input: &Value) -> Result<()> {
        INPUT_SCHEMA_COMPILED
            .validate(input)
            .map_err(|v| PolicyError::Input {
                pointer: v.pointer,
                reason: v.reason,
            })
    }

    /// Every finding of every rule, without combining them.
    pub fn findings(&self, input: &Value) -> Result<Vec<Finding>> {
        Self::validate_input(input)?;
        self.findings_unchecked(input)
    }

    /// [`PolicyEngine::findings`] without the contract check, for inputs
    /// this process built itself from an ActionGraph (`evaluate_plan`):
    /// their conformance is what `tests/real_inputs.rs` checks, and skipping
    /// the walk saves a pass over every tool result on the hot path.
    pub(crate) fn findings_unchecked(&self, input: &Value) -> Result<Vec<Finding>> {
        let run = self.rules_to_run(input);
        if run.is_empty() {
            return Ok(Vec::new());
        }
        self.run_rules(rego_input::build(input, self.keep, &run, RUN_KEY), &run)
    }

    /// The rules whose trigger (`custom.when`) can fire on `input`; rules
    /// without one always can. Only these are evaluated.
    pub fn rules_to_run(&self, input: &Value) -> Vec<&str> {
        self.rules_firing(&trigger::Input::new(input, &self.triggers))
    }

    /// [`PolicyEngine::rules_to_run`] on the input that
    /// `build_input(graph.to_json(), scores, meta)` would build, read from
    /// the graph itself.
    pub fn rules_to_run_on_graph(
        &self,
        graph: &ActionGraph<'_>,
        scores: Option<&dyn GuardScores>,
        meta: &RequestMeta,
    ) -> Vec<&str> {
        let steps = trigger::graph_steps(graph);
        self.rules_firing(&trigger::Input::of_graph(
            graph,
            &steps,
            scores,
            meta,
            &self.triggers,
        ))
    }

    /// The rules whose trigger can fire on `facts`, in id order.
    fn rules_firing<S: trigger::StepView>(&self, facts: &trigger::Input<'_, S>) -> Vec<&str> {
        self.rules
            .keys()
            .map(String::as_str)
            .filter(|id| self.triggers.fires(id, facts))
            .collect()
    }

    /// Decides about the proposed steps of `graph` with the guard `scores`
    /// and `meta`: the decision [`PolicyEngine::evaluate_built`] gives on
    /// `build_input(graph.to_json(), scores.to_json(), meta)`. When no
    /// rule's trigger can fire on the graph, which is most traffic, every
    /// proposed step is allowed without building that input (or the
    /// scores' JSON) at all; otherwise it is built and evaluated. Debug
    /// builds evaluate the input in both cases and panic when the shortcut
    /// disagrees, so every test that drives the gateway checks it.
    pub fn evaluate_graph(
        &self,
        graph: &ActionGraph<'_>,
        scores: Option<&dyn GuardScores>,
        meta: &RequestMeta,
        ctx: &DecisionContext,
    ) -> Decision {
        let input = || crate::build_input(graph.to_json(), scores.map(|s| s.to_json()), meta);
        if !self.rules_to_run_on_graph(graph, scores, meta).is_empty() {
            return self.evaluate_built(&input(), ctx);
        }
        let proposed = graph
            .plan
            .steps
            .iter()
            .filter(|s| s.is_proposed())
            .map(|s| (s.id.as_str(), s.tool.as_str()));
        let decision = decision::allow_all(proposed, |id| scores?.risk(id), &self.digest, ctx);
        if cfg!(debug_assertions) {
            let input = input();
            let full = self.evaluate_built(&input, ctx);
            assert_eq!(
                decision, full,
                "no rule can fire on the graph, yet the policy input decides otherwise: {input}"
            );
        }
        decision
    }

    /// Every finding of every rule, on the whole input (nothing left out of
    /// the Rego input, no rule skipped by its trigger): what
    /// [`PolicyEngine::findings`] must equal (`tests/triggers.rs`).
    pub fn findings_every_rule(&self, input: &Value) -> Result<Vec<Finding>> {
        Self::validate_input(input)?;
        let all: Vec<&str> = self.rules.keys().map(String::as_str).collect();
        let mut value = rego_input::convert(input);
        let gate = regorus::Value::from(
            all.iter()
                .map(|id| regorus::Value::from(*id))
                .collect::<Vec<_>>(),
        );
        value
            .as_object_mut()
            .map_err(|_| PolicyError::Eval("the policy input is not an object".into()))?
            .insert(regorus::Value::from(RUN_KEY), gate);
        self.run_rules(value, &all)
    }

    /// Evaluates the rules `run` on the Rego input `value`.
    fn run_rules(&self, value: regorus::Value, run: &[&str]) -> Result<Vec<Finding>> {
        // Cheap: the parsed, prepared modules are shared by the clone.
        let mut engine = self.engine.clone();
        engine.set_input(value);
        let out = engine
            .eval_rule(ENTRY_RULE.to_owned())
            .map_err(|e| PolicyError::Eval(flatten(&e.to_string())))?;
        let out = serde_json::to_value(&out).map_err(|e| PolicyError::Eval(e.to_string()))?;
        let Value::Object(by_rule) = out else {
            return Err(PolicyError::Eval(format!(
                "the bundle's findings are undefined or not an object: {out}"
            )));
        };
        if let Some(missing) = run.iter().find(|id| !by_rule.contains_key(**id)) {
            return Err(PolicyError::Eval(format!(
                "rule {missing}: `findings` is undefined"
            )));
        }
        let mut findings = Vec::new();
        for (rule, items) in by_rule {
            let category = self
                .rules
                .get(&rule)
                .map(|m| m.risk.clone())
                .unwrap_or_default();
            let Value::Array(items) = items else {
                return Err(PolicyError::Eval(format!(
                    "rule {rule}: `findings` must be a set of objects"
                )));
            };
            for item in items {
                findings.push(finding(&rule, &category, &item)?);
            }
        }
        Ok(findings)
    }

    /// Decides about every proposed step of `input`. Never fails: when the
    /// policy cannot decide, every proposed step is blocked with the reason.
    pub fn evaluate(&self, input: &Value, ctx: &DecisionContext) -> Decision {
        match self.findings(input) {
            Ok(findings) => decision::combine(input, &findings, &self.digest, ctx),
            Err(e) => decision::fail_closed(input, &format!("fail closed: {e}"), &self.digest, ctx),
        }
    }
    /// [`PolicyEngine::evaluate`] for inputs built by this process from an
    /// ActionGraph (see [`PolicyEngine::findings_unchecked`]).
    pub(crate) fn evaluate_trusted(&self, input: &Value, ctx: &DecisionContext) -> Decision {
        match self.findings_unchecked(input) {
            Ok(findings) => decision::combine(input, &findings, &self.digest, ctx),
            Err(e) => decision::fail_closed(input, &format!("fail closed: {e}"), &self.digest, ctx),
        }
    }
}

/// A finding object from Rego: `{step, verdict, reason, patch?, category?}`.
/// A malformed one is an error (fail closed), never a silent allow.
fn finding(rule: &str, default_category: &str, item: &Value) -> Result<Finding> {
    let bad = |what: &str| {
        PolicyError::Eval(format!(
            "rule {rule} produced a malformed finding ({what}): {item}"
        ))
    };
    let step = item
        .get("step")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("no string `step`"))?;
    let verdict: Verdict = item
        .get("verdict")
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .ok_or_else(|| bad("`verdict` must be block, require_approval or rewrite"))?;
    if verdict == Verdict::Allow {
        return Err(bad(
            "`allow` is not a finding: a rule that allows does not fire",
        ));
    }
    let reason = item
        .get("reason")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("no string `reason`"))?;
    let category = match item.get("category") {
        None => default_category.to_owned(),
        Some(Value::String(c)) if metadata::RISK_CODES.contains(&c.as_str()) => c.clone(),
        Some(_) => return Err(bad("`category` is not a risk code")),
    };
    let patch = item.get("patch").cloned();
    if verdict == Verdict::Rewrite && !patch.as_ref().is_some_and(Value::is_object) {
        return Err(bad("a rewrite needs an object `patch`"));
    }
    Ok(Finding {
        rule: rule.to_owned(),
        step: step.to_owned(),
        verdict,
        reason: reason.to_owned(),
        category,
        patch,
    })
}

/// regorus errors span several lines (source excerpt, caret); the decision
/// keeps them on one line.
fn flatten(text: &str) -> String {
    let loc = locate(text, ENTRY_FILE);
    if loc.line > 0 {
        loc.to_string()
    } else {
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    }
}
