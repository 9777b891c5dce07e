//! Rule triggers: which rules can possibly fire on an input, decided in Rust
//! before regorus runs, so that a rule whose precondition is absent costs
//! nothing (the interpreter spends tens of microseconds on a rule that finds
//! nothing).
//!
//! A rule declares its trigger on the `when:` line of its METADATA `custom`
//! block: alternatives separated by `|`, each a conjunction of facts joined
//! by `&`, every fact about the same proposed step unless it says otherwise:
//!
//! ```text
//! # custom:
//! #   when: label:external_sink & any_label:reads_sensitive | label:external_sink & any_args_match:sensitive_pattern
//! ```
//!
//! The rule is evaluated when some proposed step satisfies some alternative.
//! A rule without `when:` always runs. The facts are *necessary conditions*
//! read from the rule's body (each deliberately broader than the rule: an
//! argument at any depth, a key or a value, a word anywhere in the goal), so
//! skipping a rule never changes a verdict; `tests/triggers.rs` checks that
//! evaluation with skipping equals evaluation of every rule over the bundle's
//! own test inputs, the example corpus and generated inputs. Anything a fact
//! cannot judge (a config list missing from `data.config`, a pattern that
//! does not compile, a malformed step) counts as present: the rule runs.
//!
//! The facts are read through one `StepView` trait from the policy input's JSON or,
//! on the gateway's request path, straight from the typed ActionGraph the
//! JSON would be made from, so a request where no rule can fire never builds
//! the JSON (`PolicyEngine::evaluate_graph`).
//!
//! | fact | holds when |
//! |---|---|
//! | `label:X` | the proposed step carries label X |
//! | `not_label:X` | the proposed step does not carry label X |
//! | `any_label:X` | some step of the plan (any status) carries label X |
//! | `arg:PATH` | the step's arguments have a top-level key listed in `data.config.PATH` |
//! | `arg_value:PATH` | a string anywhere in the step's arguments, lower-cased, is listed in `data.config.PATH` |
//! | `tool:PATH` | the step's tool is listed in `data.config.PATH` |
//! | `any_args_match:PATH` | the regex `data.config.PATH` matches the arguments of some step (their JSON, a key or a string) |
//! | `provenance:tool_result` | an argument of the step came from a tool result |
//! | `provenance:injection` | an argument of the step lies inside an injected instruction |
//! | `scored` | the guard scored the step (`input.scores[step_id]` exists) |
//! | `risk_at_least:PATH` | the step's guard risk or one of its category scores is at least the smallest number under `data.config.PATH` (at any depth) or in `input.meta.guard_thresholds` |
//! | `tool_changed` | the step's tool definition changed (`pin_changed` or `meta.tool_pins_changed`) |
//! | `args_null` | the step's arguments are `null` (malformed) or absent |
//! | `goal:WORD` | the lower-cased goal contains WORD |

use std::cell::OnceCell;
use std::collections::BTreeMap;

use preflight_adapters::graph::{ActionGraph, StepAnalysis};
use preflight_adapters::{Args, Step};
use serde_json::Value;

use crate::RequestMeta;
use crate::guard_scores::GuardScores;

/// One condition of a trigger, as written in METADATA.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "fact", content = "arg", rename_all = "snake_case")]
pub enum Fact {
    /// `label:X`.
    Label(String),
    /// `not_label:X`.
    NotLabel(String),
    /// `any_label:X`.
    AnyLabel(String),
    /// `arg:PATH`.
    Arg(String),
    /// `arg_value:PATH`.
    ArgValue(String),
    /// `tool:PATH`.
    Tool(String),
    /// `any_args_match:PATH`.
    AnyArgsMatch(String),
    /// `provenance:tool_result`.
    ProvenanceToolResult,
    /// `provenance:injection`.
    ProvenanceInjection,
    /// `scored`.
    Scored,
    /// `risk_at_least:PATH`.
    RiskAtLeast(String),
    /// `tool_changed`.
    ToolChanged,
    /// `args_null`.
    ArgsNull,
    /// `goal:WORD`.
    Goal(String),
}

/// A parsed `when:` line: alternatives of conjunctions.
pub type When = Vec<Vec<Fact>>;

/// Parses a `when:` line; the error names the term it cannot read.
pub fn parse(text: &str) -> Result<When, String> {
    let mut when = Vec::new();
    for alternative in text.split('|') {
        let mut facts = Vec::new();
        for term in alternative.split('&') {
            facts.push(fact(term.trim())?);
        }
        when.push(facts);
    }
    Ok(when)
}

fn fact(term: &str) -> Result<Fact, String> {
    let (kind, arg) = match term.split_once(':') {
        Some((k, a)) => (k.trim(), Some(a.trim())),
        None => (term, None),
    };
    let need = |a: Option<&str>| match a {
        Some(a) if !a.is_empty() && !a.contains(char::is_whitespace) => Ok(a.to_owned()),
        _ => Err(format!(
            "`when` term `{term}` needs an argument (`{kind}:...`)"
        )),
    };
    Ok(match kind {
        "label" => Fact::Label(need(arg)?),
        "not_label" => Fact::NotLabel(need(arg)?),
        "any_label" => Fact::AnyLabel(need(arg)?),
        "arg" => Fact::Arg(need(arg)?),
        "arg_value" => Fact::ArgValue(need(arg)?),
        "tool" => Fact::Tool(need(arg)?),
        "any_args_match" => Fact::AnyArgsMatch(need(arg)?),
        "goal" => Fact::Goal(need(arg)?.to_lowercase()),
        "provenance" => match arg {
            Some("tool_result") => Fact::ProvenanceToolResult,
            Some("injection") => Fact::ProvenanceInjection,
            _ => {
                return Err(format!(
                    "`when` term `{term}`: provenance:tool_result or provenance:injection"
                ));
            }
        },
        "scored" if arg.is_none() => Fact::Scored,
        "risk_at_least" => Fact::RiskAtLeast(need(arg)?),
        "tool_changed" if arg.is_none() => Fact::ToolChanged,
        "args_null" if arg.is_none() => Fact::ArgsNull,
        _ => {
            return Err(format!(
                "unknown `when` term `{term}` (known: label, not_label, any_label, arg, arg_value, tool, \
                 any_args_match, provenance, scored, risk_at_least, tool_changed, args_null, goal)"
            ));
        }
    })
}

/// A fact with its organisation data resolved once per bundle.
#[derive(Debug, Clone)]
enum Compiled {
    Label(String),
    NotLabel(String),
    AnyLabel(String),
    /// `None`: the config list is missing or not a list of strings, so the
    /// fact cannot judge and holds.
    Arg(Option<Vec<String>>),
    ArgValue(Option<Vec<String>>),
    Tool(Option<Vec<String>>),
    /// Index into [`Triggers::patterns`]; `None` when the pattern is missing
    /// or does not compile (the rule then runs, and fails as it would).
    AnyArgsMatch(Option<usize>),
    ProvenanceToolResult,
    ProvenanceInjection,
    Scored,
    /// The smallest threshold in the organisation's data; `None` when it
    /// has none (only the request's thresholds then bound it).
    RiskAtLeast(Option<f64>),
    ToolChanged,
    ArgsNull,
    Goal(String),
}

/// The triggers of every rule of a bundle, ready to test inputs.
#[derive(Debug, Clone, Default)]
pub(crate) struct Triggers {
    /// Rule id -> alternatives; rules without `when` are absent (always run).
    rules: BTreeMap<String, Vec<Vec<Compiled>>>,
    patterns: Vec<regex::Regex>,
}

fn config_at<'a>(data: &'a Value, path: &str) -> Option<&'a Value> {
    let mut v = data.get("config")?;
    for part in path.split('.') {
        v = v.get(part)?;
    }
    Some(v)
}

fn string_list(data: &Value, path: &str) -> Option<Vec<String>> {
    config_at(data, path)?
        .as_array()?
        .iter()
        .map(|v| v.as_str().map(str::to_owned))
        .collect()
}

impl Triggers {
    /// Resolves every rule's `when` against the bundle's data.
    pub(crate) fn compile<'a>(
        whens: impl IntoIterator<Item = (&'a str, &'a When)>,
        data: &Value,
    ) -> Self {
        let mut out = Triggers::default();
        for (id, when) in whens {
            let alternatives = when
                .iter()
                .map(|facts| facts.iter().map(|f| out.resolve(f, data)).collect())
                .collect();
            out.rules.insert(id.to_owned(), alternatives);
        }
        out
    }

    fn resolve(&mut self, fact: &Fact, data: &Value) -> Compiled {
        match fact {
            Fact::Label(l) => Compiled::Label(l.clone()),
            Fact::NotLabel(l) => Compiled::NotLabel(l.clone()),
            Fact::AnyLabel(l) => Compiled::AnyLabel(l.clone()),
            Fact::Arg(p) => Compiled::Arg(string_list(data, p)),
            Fact::ArgValue(p) => Compiled::ArgValue(string_list(data, p)),
            Fact::Tool(p) => Compiled::Tool(string_list(data, p)),
            Fact::AnyArgsMatch(p) => {
                let re = config_at(data, p)
                    .and_then(Value::as_str)
                    .and_then(|s| regex::Regex::new(s).ok());
                Compiled::AnyArgsMatch(re.map(|re| {
                    self.patterns.push(re);
                    self.patterns.len() - 1
                }))
            }
            Fact::ProvenanceToolResult => Compiled::ProvenanceToolResult,
            Fact::ProvenanceInjection => Compiled::ProvenanceInjection,
            Fact::Scored => Compiled::Scored,
            Fact::RiskAtLeast(p) => Compiled::RiskAtLeast(config_at(data, p).and_then(min_number)),
            Fact::ToolChanged => Compiled::ToolChanged,
            Fact::ArgsNull => Compiled::ArgsNull,
            Fact::Goal(w) => Compiled::Goal(w.clone()),
        }
    }

    /// Whether `rule` must be evaluated on `input`.
    pub(crate) fn fires<S: StepView>(&self, rule: &str, input: &Input<'_, S>) -> bool {
        let Some(alternatives) = self.rules.get(rule) else {
            return true;
        };
        input.proposed.iter().any(|step| {
            alternatives
                .iter()
                .any(|facts| facts.iter().all(|f| self.holds(f, *step, input)))
        })
    }

    fn holds<S: StepView>(&self, fact: &Compiled, step: &S, input: &Input<'_, S>) -> bool {
        match fact {
            Compiled::Label(l) => step.has_label(l),
            Compiled::NotLabel(l) => !step.has_label(l),
            Compiled::AnyLabel(l) => input.steps.iter().any(|s| s.has_label(l)),
            Compiled::Arg(None) | Compiled::ArgValue(None) | Compiled::Tool(None) => true,
            Compiled::Arg(Some(keys)) => match step.args() {
                Some(Value::Object(args)) => keys.iter().any(|k| args.contains_key(k)),
                _ => false,
            },
            Compiled::ArgValue(Some(values)) => {
                let mut found = false;
                if let Some(args) = step.args() {
                    for_each_string(args, &mut |s| {
                        if !found {
                            // Most strings are already lower case: compared
                            // as they are, without a lower-cased copy.
                            found = if s.bytes().any(|b| b.is_ascii_uppercase() || !b.is_ascii()) {
                                values.contains(&s.to_lowercase())
                            } else {
                                values.iter().any(|v| v == s)
                            };
                        }
                    });
                }
                found
            }
            Compiled::Tool(Some(tools)) => step.tool().is_none_or(|t| tools.iter().any(|x| x == t)),
            Compiled::AnyArgsMatch(None) => true,
            Compiled::AnyArgsMatch(Some(i)) => input.args_match(*i, &self.patterns[*i]),
            Compiled::ProvenanceToolResult => {
                step.any_provenance(&mut |origin, _| origin == Some("tool_result"))
            }
            Compiled::ProvenanceInjection => step.any_provenance(&mut |_, injected| injected),
            Compiled::Scored => match step.id() {
                StepId::Missing => true,
                id => match (input.scores, id) {
                    (Scores::Json(Some(Value::Object(scores))), StepId::Text(id)) => {
                        scores.contains_key(id)
                    }
                    (Scores::Json(Some(Value::Object(_)) | None), _) => false,
                    (Scores::Json(Some(_)), _) => true,
                    (Scores::Typed(scores), StepId::Text(id)) => scores.scored(id),
                    (Scores::Typed(_), _) => false,
                },
            },
            Compiled::RiskAtLeast(floor) => {
                let Some(bound) = input.risk_floor(*floor) else {
                    return true;
                };
                let max = match input.scores {
                    Scores::Json(Some(Value::Object(scores))) => {
                        let StepId::Text(id) = step.id() else {
                            return false;
                        };
                        let Some(score) = scores.get(id) else {
                            return false;
                        };
                        max_score(score)
                    }
                    Scores::Json(other) => return other.is_some(),
                    Scores::Typed(scores) => {
                        let StepId::Text(id) = step.id() else {
                            return false;
                        };
                        let Some(max) = scores.max_score(id) else {
                            return false;
                        };
                        max
                    }
                };
                max.is_none_or(|m| m >= bound)
            }
            Compiled::ToolChanged => match step.tool() {
                Some(tool) => input.changed.contains(&tool),
                None => true,
            },
            Compiled::ArgsNull => step.args().is_none_or(Value::is_null),
            Compiled::Goal(word) => input.goal().contains(word.as_str()),
        }
    }
}

/// The smallest number anywhere in `v`; `None` when there is none.
fn min_number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::Array(items) => items.iter().filter_map(min_number).reduce(f64::min),
        Value::Object(map) => map.values().filter_map(min_number).reduce(f64::min),
        _ => None,
    }
}

/// The largest of a score's `risk` and its category scores; `None` when a
/// value is not a number (the fact cannot judge, so it holds).
fn max_score(score: &Value) -> Option<f64> {
    let mut best = score.get("risk").map_or(Some(0.0), Value::as_f64)?;
    if let Some(cats) = score.get("categories") {
        let Value::Object(cats) = cats else {
            return None;
        };
        for v in cats.values() {
            best = best.max(v.as_f64()?);
        }
    }
    Some(best)
}

/// Every string in `v`, at any depth, object keys included.
fn for_each_string<'a>(v: &'a Value, f: &mut impl FnMut(&'a str)) {
    match v {
        Value::String(s) => f(s),
        Value::Array(items) => items.iter().for_each(|i| for_each_string(i, f)),
        Value::Object(map) => map.iter().for_each(|(k, i)| {
            f(k);
            for_each_string(i, f);
        }),
        _ => {}
    }
}

/// A step's `step_id` as the facts read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StepId<'a> {
    /// No `step_id`.
    Missing,
    /// A `step_id` that is not a string.
    NotText,
    /// The id.
    Text(&'a str),
}

/// What the facts read of one step. The policy input's JSON provides it, and
/// so does the typed [`ActionGraph`] the JSON is made from: the gateway asks
/// the graph whether any rule can fire before building the JSON at all.
/// Both must read the same facts (`gateway/tests/policy_graph_triggers.rs`
/// compares them).
pub(crate) trait StepView {
    /// The `step_id`.
    fn id(&self) -> StepId<'_>;
    /// The `tool`, when it is a string.
    fn tool(&self) -> Option<&str>;
    /// Whether `labels` holds `label`.
    fn has_label(&self, label: &str) -> bool;
    /// The `args`, when present (`null` for malformed ones).
    fn args(&self) -> Option<&Value>;
    /// Whether `f(origin, in_injection)` holds for some provenance entry.
    fn any_provenance(&self, f: &mut dyn FnMut(Option<&str>, bool) -> bool) -> bool;
}

impl StepView for Value {
    fn id(&self) -> StepId<'_> {
        match self.get("step_id") {
            None => StepId::Missing,
            Some(v) => v.as_str().map_or(StepId::NotText, StepId::Text),
        }
    }

    fn tool(&self) -> Option<&str> {
        self.get("tool").and_then(Value::as_str)
    }

    fn has_label(&self, label: &str) -> bool {
        self.get("labels")
            .and_then(Value::as_array)
            .is_some_and(|ls| ls.iter().any(|l| l.as_str() == Some(label)))
    }

    fn args(&self) -> Option<&Value> {
        self.get("args")
    }

    fn any_provenance(&self, f: &mut dyn FnMut(Option<&str>, bool) -> bool) -> bool {
        self.get("provenance")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .any(|p| {
                f(
                    p.get("origin").and_then(Value::as_str),
                    p.get("in_injection") == Some(&Value::Bool(true)),
                )
            })
    }
}

/// One step of an [`ActionGraph`], read as [`ActionGraph::to_json`] writes it.
pub(crate) struct GraphStep<'a> {
    step: &'a Step,
    analysis: &'a StepAnalysis,
}

/// `null`, the `args` of a step whose arguments are malformed.
static NULL: Value = Value::Null;

impl StepView for GraphStep<'_> {
    fn id(&self) -> StepId<'_> {
        StepId::Text(&self.step.id)
    }

    fn tool(&self) -> Option<&str> {
        Some(&self.step.tool)
    }

    fn has_label(&self, label: &str) -> bool {
        self.analysis.labels.iter().any(|l| l.as_str() == label)
    }

    fn args(&self) -> Option<&Value> {
        Some(match &self.step.args {
            Args::Json { value } => value,
            Args::Malformed { .. } => &NULL,
        })
    }

    fn any_provenance(&self, f: &mut dyn FnMut(Option<&str>, bool) -> bool) -> bool {
        self.analysis
            .provenance
            .iter()
            .any(|p| f(Some(p.origin.name()), p.in_injection))
    }
}

/// The steps of `graph` as [`Input::of_graph`] reads them.
pub(crate) fn graph_steps<'a>(graph: &'a ActionGraph<'_>) -> Vec<GraphStep<'a>> {
    graph
        .plan
        .steps
        .iter()
        .zip(&graph.steps)
        .map(|(step, analysis)| GraphStep { step, analysis })
        .collect()
}

/// The guard scores the facts read: the policy input's `scores` JSON, or the
/// guard's own scores before any JSON is written.
#[derive(Clone, Copy)]
enum Scores<'a> {
    Json(Option<&'a Value>),
    Typed(&'a dyn GuardScores),
}

/// The parts of a policy input the facts read, with the facts about the whole
/// plan computed at most once per evaluation.
pub(crate) struct Input<'a, S> {
    steps: Vec<&'a S>,
    proposed: Vec<&'a S>,
    scores: Scores<'a>,
    /// The smallest number in `meta.guard_thresholds`.
    request_floor: Option<f64>,
    /// The goal as written.
    goal_text: Option<&'a str>,
    /// The goal lower-cased, when a fact asks.
    goal: OnceCell<String>,
    /// Tools whose definition changed (`pin_changed`, `meta.tool_pins_changed`).
    changed: Vec<&'a str>,
    matched: Vec<OnceCell<bool>>,
}

impl<'a> Input<'a, Value> {
    /// Reads `input` for the triggers of `triggers`.
    pub(crate) fn new(input: &'a Value, triggers: &Triggers) -> Self {
        let steps: Vec<&Value> = input
            .pointer("/graph/steps")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .collect();
        let proposed = steps
            .iter()
            .copied()
            .filter(|s| s.get("status").and_then(Value::as_str) == Some("proposed"))
            .collect();
        let pinned = input
            .pointer("/graph/tools")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|t| t.get("pin_changed") == Some(&Value::Bool(true)))
            .filter_map(|t| t.get("name").and_then(Value::as_str));
        let named = input
            .pointer("/meta/tool_pins_changed")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str);
        Input {
            steps,
            proposed,
            scores: Scores::Json(input.get("scores")),
            request_floor: input.pointer("/meta/guard_thresholds").and_then(min_number),
            goal_text: input.pointer("/graph/goal").and_then(Value::as_str),
            goal: OnceCell::new(),
            changed: pinned.chain(named).collect(),
            matched: vec![OnceCell::new(); triggers.patterns.len()],
        }
    }
}

impl<'a, 'g> Input<'a, GraphStep<'g>> {
    /// What `build_input(graph.to_json(), scores, meta)` would give
    /// [`Input::new`], read from the graph itself. `steps` are
    /// [`graph_steps`] of `graph`.
    pub(crate) fn of_graph(
        graph: &'a ActionGraph<'_>,
        steps: &'a [GraphStep<'g>],
        scores: Option<&'a dyn GuardScores>,
        meta: &'a RequestMeta,
        triggers: &Triggers,
    ) -> Self {
        Input {
            steps: steps.iter().collect(),
            proposed: steps.iter().filter(|s| s.step.is_proposed()).collect(),
            // `build_input` writes `{}` when there are no scores; every
            // fact reads `{}` and no scores alike.
            scores: scores.map_or(Scores::Json(None), Scores::Typed),
            // Serialized, a number that is not finite becomes `null`,
            // which `min_number` skips.
            request_floor: meta.guard_thresholds.as_ref().and_then(|t| {
                t.values()
                    .copied()
                    .filter(|x| x.is_finite())
                    .reduce(f64::min)
            }),
            goal_text: graph.plan.goal.as_deref(),
            goal: OnceCell::new(),
            // The graph's JSON never sets `pin_changed`.
            changed: meta.tool_pins_changed.iter().map(String::as_str).collect(),
            matched: vec![OnceCell::new(); triggers.patterns.len()],
        }
    }
}

impl<S: StepView> Input<'_, S> {
    /// The smallest threshold a guard score could be compared with: the
    /// organisation's `floor` and every number in the request's
    /// `meta.guard_thresholds`. `None` when nothing bounds it.
    fn risk_floor(&self, floor: Option<f64>) -> Option<f64> {
        match (floor, self.request_floor) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn goal(&self) -> &str {
        self.goal
            .get_or_init(|| self.goal_text.map(str::to_lowercase).unwrap_or_default())
    }

    fn args_match(&self, i: usize, re: &regex::Regex) -> bool {
        *self.matched[i].get_or_init(|| {
            self.steps.iter().filter_map(|s| s.args()).any(|args| {
                let mut hit = false;
                for_each_string(args, &mut |s| hit = hit || re.is_match(s));
                hit || serde_json::to_string(args).is_ok_and(|json| re.is_match(&json))
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_alternatives_of_conjunctions() {
        let w = parse("label:external_sink & any_label:reads_sensitive | scored").expect("valid");
        assert_eq!(
            w,
            vec![
                vec![
                    Fact::Label("external_sink".into()),
                    Fact::AnyLabel("reads_sensitive".into())
                ],
                vec![Fact::Scored]
            ]
        );
    }

    #[test]
    fn rejects_unknown_terms_and_missing_arguments() {
        assert!(
            parse("labels:x")
                .unwrap_err()
                .contains("unknown `when` term")
        );
        assert!(parse("label:").unwrap_err().contains("needs an argument"));
        assert!(parse("provenance:user").is_err());
    }

    fn input(step: Value) -> Value {
        json!({"graph": {"goal": "Do not publish", "steps": [
                  {"step_id": "s0", "status": "executed", "labels": ["reads_sensitive"], "args": {"path": "~/.ssh/id_rsa"}},
                  step]},
               "scores": {}, "meta": {}})
    }

    fn fires(when: &str, data: &Value, step: Value) -> bool {
        let w = parse(when).expect("valid");
        let t = Triggers::compile([("r", &w)], data);
        let input = input(step);
        t.fires("r", &Input::new(&input, &t))
    }

    #[test]
    fn facts_about_labels_args_tools_and_the_goal() {
        let data = json!({"config": {"cmd": ["command"], "tools": ["sudo_tool"], "markers": ["prod"],
                                     "pat": "\\.ssh"}});
        let step = |args: Value, labels: Value| json!({"step_id": "s1", "status": "proposed", "tool": "shell", "args": args, "labels": labels, "provenance": []});
        assert!(fires(
            "label:financial",
            &data,
            step(json!({}), json!(["financial"]))
        ));
        assert!(!fires("label:financial", &data, step(json!({}), json!([]))));
        assert!(fires(
            "arg:cmd",
            &data,
            step(json!({"command": "ls"}), json!([]))
        ));
        assert!(!fires(
            "arg:cmd",
            &data,
            step(json!({"q": "ls"}), json!([]))
        ));
        assert!(fires(
            "arg_value:markers",
            &data,
            step(json!({"o": {"env": "PROD"}}), json!([]))
        ));
        assert!(!fires("tool:tools", &data, step(json!({}), json!([]))));
        assert!(fires("goal:not", &data, step(json!({}), json!([]))));
        assert!(fires(
            "any_label:reads_sensitive & not_label:x",
            &data,
            step(json!({}), json!([]))
        ));
        // The executed read of ~/.ssh matches the pattern.
        assert!(fires(
            "any_args_match:pat",
            &data,
            step(json!({}), json!([]))
        ));
        assert!(!fires(
            "scored | args_null | tool_changed",
            &data,
            step(json!({}), json!([]))
        ));
    }

    #[test]
    fn a_fact_that_cannot_judge_holds() {
        let data = json!({"config": {"bad_pattern": "(", "not_a_list": 3}});
        let step = json!({"step_id": "s1", "status": "proposed", "tool": "x", "args": {}, "labels": [], "provenance": []});
        assert!(fires("arg:missing", &data, step.clone()));
        assert!(fires("tool:not_a_list", &data, step.clone()));
        assert!(fires("any_args_match:bad_pattern", &data, step));
    }
}
