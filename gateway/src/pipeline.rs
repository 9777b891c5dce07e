//! The judging seam: a [`Plan`] and the request's metadata in, a verdict per
//! proposed step out ([`Judgement`]: the `Outcomes` the adapters render, plus
//! the Decision JSON the check API returns and the audit log keeps).
//!
//! Every route calls [`Pipeline::judge`] and nothing else, so the policy
//! engine, the ActionGraph and the guard model plug in here without touching
//! the server.
//!
//! Stages, in order: `ActionGraph::build` (provenance and labels) ->
//! policy input (`graph`, `scores`, `meta`) -> the Rego bundle serving now
//! (`PolicyStore`, hot-swappable) -> operator overrides
//! (`policy.deny_tools` block, `policy.approval_tools` need approval; they
//! only ever strengthen a verdict). The graph is built once: the guard
//! model (`[guard]`, the embedded model unless `guard.model_dir` names
//! one; `guard.enabled = false` for rules only) scores its proposed steps,
//! and the scores go into the policy input's `scores`, where the
//! `guard_threshold` rule compares them with the strictness thresholds.
//!
//! `preflight check` (no server) uses the same stages through
//! [`Pipeline::from_settings`] and [`Pipeline::judge_plan`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use preflight_adapters::graph::ActionGraph;
use preflight_adapters::{Outcomes, Plan, StepOutcome, Verdict};
use preflight_policies::PolicyStore;
use preflight_policies::guard_scores::{GuardScores, json_number};
use thiserror::Error;

use crate::config::{GuardSettings, PolicySettings, Settings, Strictness};
use crate::guard::{Guard, GuardError, StepScore};
use crate::policy_files::load_bundle_dir;

/// Who is asking and through which door.
#[derive(Debug, Clone)]
pub struct RequestMeta {
    /// Tenant id.
    pub tenant: Arc<str>,
    /// Agent id, when the key names one.
    pub agent: Option<Arc<str>>,
    /// Route name (`chat_completions`, `messages`, `mcp`, `check`...).
    pub route: &'static str,
    /// Model named in the request, if any.
    pub model: Option<String>,
    /// Strictness in force for this tenant.
    pub strictness: Strictness,
    /// MCP tools whose definition changed since first seen in the session.
    pub tool_pins_changed: Vec<String>,
}

pub use preflight_policies::{Decision, StepDecision};

/// What the graph and the guard said about one proposed step (for the
/// audit log; the Decision carries the verdict, rules and risk).
#[derive(Debug, Clone, Default)]
pub struct StepAnalysis {
    /// Analysis labels (`untrusted_flow`, `external_sink`, ...).
    pub labels: Vec<String>,
    /// The graph's provenance entries for the step's arguments.
    pub provenance: serde_json::Value,
    /// The guard's score, when the guard ran.
    pub score: Option<StepScore>,
}

/// What the routes get back.
#[derive(Debug, Clone)]
pub struct Judgement {
    /// For rendering: withheld and rewritten steps (allowed ones are absent).
    pub outcomes: Outcomes,
    /// For the client, the check API and the audit log.
    pub decision: Decision,
    /// Per proposed step id: labels, provenance and guard score (empty when
    /// judging failed).
    pub analysis: BTreeMap<String, StepAnalysis>,
    /// Time per stage in microseconds (`graph`, `guard`, `policy`).
    pub stage_us: BTreeMap<&'static str, u64>,
}

impl Judgement {
    /// True when some step is withheld or rewritten.
    pub fn changes_anything(&self) -> bool {
        !self.outcomes.is_empty()
    }

    /// Recomputes the outcomes and the overall verdict after step
    /// decisions were changed (approvals).
    pub fn refresh(&mut self) {
        self.outcomes = outcomes_of(&self.decision.steps);
        self.decision.verdict = self
            .decision
            .steps
            .iter()
            .map(|s| s.verdict)
            .max()
            .unwrap_or(Verdict::Allow);
    }
}

/// Why judging failed. The caller fails closed on any of these unless the
/// operator chose `policy.on_failure = "allow"`.
#[derive(Debug, Error)]
pub enum PipelineError {
    /// The policy engine failed.
    #[error("policy evaluation failed: {0}")]
    Policy(String),
    /// The decision took longer than the deadline.
    #[error("decision took {took_us} µs, over the {deadline_us} µs deadline")]
    Deadline {
        /// Time taken.
        took_us: u64,
        /// The deadline.
        deadline_us: u64,
    },
}

/// The judging pipeline, shared by every route.
#[derive(Debug)]
pub struct Pipeline {
    policy: PolicySettings,
    /// The guard model; `None` in rules-only mode (`guard.enabled = false`).
    guard: Option<Guard>,
    store: PolicyStore,
    /// Per-tenant bundles (`tenants.NAME.bundle`).
    tenant_stores: BTreeMap<String, PolicyStore>,
    /// Bundle directories to reload: (config key, tenant, directory).
    bundle_dirs: Vec<(String, Option<String>, PathBuf)>,
    /// Which judgements carry the per-step analysis.
    analysis: AnalysisFor,
}

/// Which judgements carry [`Judgement::analysis`] (labels, provenance and
/// guard score per step). Only the audit record reads it, and building it
/// is a good share of a judgement's allocations, so a gateway that records
/// no allow decision skips it for them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AnalysisFor {
    /// Every judgement (the default: `check`, tests, benches).
    Every,
    /// Those the audit log records: every non-allow decision, allow
    /// decisions as the log's allow setting keeps them, and any decision a
    /// route may still turn into a block (a changed MCP tool pin).
    Audited(crate::audit::AllowRecording),
    /// None (no audit log).
    None,
}

/// Why the pipeline could not be built.
#[derive(Debug, Error)]
pub enum PipelineSetupError {
    /// A bundle could not be read or does not compile.
    #[error("{key}: {reason}")]
    Bundle {
        /// Config key naming the bundle.
        key: String,
        /// What went wrong.
        reason: String,
    },
    /// The guard model configured in `guard.model_dir` does not load.
    #[error(
        "guard.model_dir: {0} (in the config: remove guard.model_dir for the built-in model, or set guard.enabled = false for rules only)"
    )]
    Guard(GuardError),
    /// Tier 2 of the guard (encoder, heads) is configured but does not load.
    #[error("guard.tier2: {0}")]
    Tier2(GuardError),
}

fn load_store(key: &str, dir: Option<&Path>) -> Result<PolicyStore, PipelineSetupError> {
    let err = |reason: String| PipelineSetupError::Bundle {
        key: key.to_owned(),
        reason,
    };
    let limits = preflight_policies::Limits::default();
    let bundle = match dir {
        None => preflight_policies::Bundle::embedded(),
        Some(d) => preflight_policies::Bundle::from_sources(
            load_bundle_dir(d).map_err(|e| err(format!("{e:#}")))?,
        ),
    };
    let engine = preflight_policies::PolicyEngine::compile_with(&bundle, limits)
        .map_err(|e| err(e.to_string()))?;
    Ok(PolicyStore::new(engine, limits))
}

impl Pipeline {
    /// Builds the pipeline: compiles the configured bundle (the embedded
    /// default when none is named) and each tenant's own bundle.
    pub fn new(settings: &Settings) -> Result<Self, PipelineSetupError> {
        let store = load_store("policy.bundle", settings.policy.bundle.as_deref())?;
        let mut bundle_dirs = Vec::new();
        if let Some(dir) = &settings.policy.bundle {
            bundle_dirs.push(("policy.bundle".to_owned(), None, dir.clone()));
        }
        let mut tenant_stores = BTreeMap::new();
        for (name, t) in &settings.tenants {
            if let Some(dir) = &t.bundle {
                let key = format!("tenants.{name}.bundle");
                tenant_stores.insert(name.clone(), load_store(&key, Some(dir))?);
                bundle_dirs.push((key, Some(name.clone()), dir.clone()));
            }
        }
        Ok(Pipeline {
            policy: settings.policy.clone(),
            guard: load_guard(&settings.guard)?,
            store,
            tenant_stores,
            bundle_dirs,
            analysis: AnalysisFor::Every,
        })
    }

    /// The pipeline of the built-in defaults (embedded bundle, embedded
    /// guard model), or of `settings` when given: what `preflight check`
    /// uses without a server. No I/O beyond loading a configured bundle or
    /// model directory.
    pub fn from_settings(settings: Option<&Settings>) -> Result<Self, PipelineSetupError> {
        match settings {
            Some(s) => Pipeline::new(s),
            None => {
                let s = Settings::default_settings().map_err(|e| PipelineSetupError::Bundle {
                    key: "defaults".into(),
                    reason: e.to_string(),
                })?;
                Pipeline::new(&s)
            }
        }
    }

    /// Judges a plan outside the server (`preflight check`): the same
    /// stages as every route, failing closed the same way when judging
    /// fails. `tenant` defaults to `default`, strictness to the configured one.
    pub fn judge_plan(&self, plan: &Plan, tenant: Option<&str>) -> Judgement {
        let meta = RequestMeta {
            tenant: tenant.unwrap_or("default").into(),
            agent: None,
            route: "check",
            model: None,
            strictness: self.policy.strictness,
            tool_pins_changed: Vec::new(),
        };
        match self.judge(plan, &meta) {
            Ok(j) => j,
            Err(e) => self.on_failure(plan, &e),
        }
    }

    /// Sets which judgements carry the per-step analysis.
    pub fn set_analysis(&mut self, analysis: AnalysisFor) {
        self.analysis = analysis;
    }

    /// Whether a judgement with this decision carries the analysis.
    fn wants_analysis(&self, decision: &Decision, meta: &RequestMeta) -> bool {
        match self.analysis {
            AnalysisFor::Every => true,
            AnalysisFor::None => false,
            AnalysisFor::Audited(allow) => {
                allow.records(decision.verdict, &decision.decision_id)
                    || !meta.tool_pins_changed.is_empty()
            }
        }
    }

    /// The guard model's id, when the guard is on.
    pub fn guard_model_id(&self) -> Option<&str> {
        self.guard.as_ref().map(Guard::model_id)
    }

    /// Policy reloads and rejected reloads over every store (for `/metrics`).
    pub fn reload_counts(&self) -> (u64, u64) {
        std::iter::once(&self.store)
            .chain(self.tenant_stores.values())
            .fold((0, 0), |(r, f), s| (r + s.reloads(), f + s.failures()))
    }

    /// True when some bundle comes from a directory (and can be reloaded).
    pub fn reloadable(&self) -> bool {
        !self.bundle_dirs.is_empty()
    }

    /// Re-reads every bundle directory and swaps in each bundle that
    /// compiles and passes its own tests; a bad one is rejected and the old
    /// one keeps serving. Slow (compiles Rego): run it off the reactor.
    /// Returns, per config key, the new digest or why it was rejected.
    pub fn reload(&self) -> Vec<(String, Result<String, String>)> {
        self.bundle_dirs
            .iter()
            .map(|(key, tenant, dir)| {
                let store = tenant.as_deref().map_or(&self.store, |t| self.store(t));
                let result = load_bundle_dir(dir)
                    .map_err(|e| format!("{e:#}"))
                    .and_then(|files| {
                        store
                            .try_swap(files)
                            .map(|s| s.digest)
                            .map_err(|e| e.to_string())
                    });
                (key.clone(), result)
            })
            .collect()
    }

    /// The store serving a tenant (for hot reload).
    pub fn store(&self, tenant: &str) -> &PolicyStore {
        self.tenant_stores.get(tenant).unwrap_or(&self.store)
    }

    /// The decision deadline.
    pub fn deadline(&self) -> Duration {
        self.policy.decision_deadline
    }

    /// Judges every proposed step of `plan`.
    ///
    /// Evaluation is synchronous and in-process; a decision that comes back
    /// after the deadline is discarded and reported as
    /// [`PipelineError::Deadline`] so the caller fails closed.
    pub fn judge(&self, plan: &Plan, meta: &RequestMeta) -> Result<Judgement, PipelineError> {
        let start = Instant::now();
        let mut j = self.evaluate(plan, meta)?;
        let took = start.elapsed();
        if took > self.policy.decision_deadline {
            return Err(PipelineError::Deadline {
                took_us: micros(took),
                deadline_us: micros(self.policy.decision_deadline),
            });
        }
        j.decision.latency_us = micros(took);
        j.outcomes = outcomes_of(&j.decision.steps);
        Ok(j)
    }

    /// The guard model's calibrated threshold per strictness level (what
    /// the policy's `guard_threshold` rule compares scores with), when the
    /// guard runs.
    pub fn guard_thresholds(&self) -> Option<BTreeMap<String, f64>> {
        let g = self.guard.as_ref()?;
        Some(
            ["lenient", "standard", "strict"]
                .into_iter()
                .filter_map(|l| g.threshold(l).map(|t| (l.to_owned(), f64::from(t))))
                .collect(),
        )
    }

    /// The judgement when judging failed: every proposed step blocked (fail
    /// closed), or allowed when the operator chose `on_failure = "allow"`.
    pub fn on_failure(&self, plan: &Plan, error: &PipelineError) -> Judgement {
        let verdict = if self.policy.fail_open {
            Verdict::Allow
        } else {
            Verdict::Block
        };
        let steps = plan
            .proposed()
            .map(|s| StepDecision {
                step_id: s.id.clone(),
                tool: s.tool.clone(),
                verdict,
                categories: Vec::new(),
                risk: None,
                rules: vec!["preflight.judge_failed".to_owned()],
                reasons: vec![format!("the safety check could not decide ({error})")],
                rewrite: None,
            })
            .collect();
        judgement(steps, self.store.current().digest(), 0)
    }

    /// Graph (built once), guard scores, policy, then operator overrides.
    fn evaluate(&self, plan: &Plan, meta: &RequestMeta) -> Result<Judgement, PipelineError> {
        let digest = self.store(&meta.tenant).current().digest().to_owned();
        if plan.proposed().next().is_none() {
            let mut j = judgement(Vec::new(), &digest, 0);
            j.decision.model_id = self.guard_model_id().map(str::to_owned);
            return Ok(j);
        }
        let mut stage_us = BTreeMap::new();
        let t = Instant::now();
        let graph = ActionGraph::build(plan);
        stage_us.insert("graph", micros(t.elapsed()));
        let t = Instant::now();
        let scores = self.guard.as_ref().map(|g| g.score(&graph));
        if scores.is_some() {
            stage_us.insert("guard", micros(t.elapsed()));
        }
        let t = Instant::now();
        let policy_meta = preflight_policies::RequestMeta {
            tenant: meta.tenant.to_string(),
            agent: meta.agent.as_deref().map(str::to_owned),
            route: meta.route.to_owned(),
            model: meta.model.clone(),
            strictness: Some(meta.strictness.name().to_owned()),
            tool_pins_changed: meta.tool_pins_changed.clone(),
            guard_thresholds: scores.as_ref().and_then(|_| self.guard_thresholds()),
        };
        let engine = self.store(&meta.tenant).current();
        let ctx = preflight_policies::DecisionContext {
            decision_id: new_id(),
            model_id: self.guard_model_id().map(str::to_owned),
        };
        // The policy input is built only when some rule can fire.
        let view = scores.as_ref().map(PolicyScores);
        let view = view.as_ref().map(|v| v as &dyn GuardScores);
        let mut decision = engine.evaluate_graph(&graph, view, &policy_meta, &ctx);
        stage_us.insert("policy", micros(t.elapsed()));
        for d in &mut decision.steps {
            // The guard's rationale explains a guard_threshold finding: show
            // it next to the rule's reason (the model and a person read it).
            if d.rules.iter().any(|r| r.contains("guard_threshold"))
                && let Some(score) = scores.as_ref().and_then(|s| s.get(&d.step_id))
            {
                d.reasons.push(format!("guard: {}", score.rationale));
            }
            if self.policy.deny_tools.iter().any(|t| t == &d.tool) {
                d.verdict = Verdict::Block;
                d.rules.push("operator.deny_tools".to_owned());
                d.reasons
                    .push(format!("the operator does not allow the tool `{}`", d.tool));
            } else if d.verdict < Verdict::RequireApproval
                && self.policy.approval_tools.iter().any(|t| t == &d.tool)
            {
                d.verdict = Verdict::RequireApproval;
                d.rewrite = None;
                d.rules.push("operator.approval_tools".to_owned());
                d.reasons.push(format!(
                    "the operator requires a person to approve `{}`",
                    d.tool
                ));
            }
        }
        decision.verdict = decision
            .steps
            .iter()
            .map(|s| s.verdict)
            .max()
            .unwrap_or(Verdict::Allow);
        let mut analysis = BTreeMap::new();
        if self.wants_analysis(&decision, meta) {
            analysis = analysis_of(&graph);
            for (id, score) in scores.into_iter().flatten() {
                analysis.entry(id).or_default().score = Some(score);
            }
        }
        Ok(Judgement {
            outcomes: Outcomes::new(),
            decision,
            analysis,
            stage_us,
        })
    }
}

/// The guard's scores as the policy reads them: the triggers read the numbers
/// [`scores_input`] would write, and the JSON is written only when a rule
/// must run.
pub struct PolicyScores<'a>(pub &'a BTreeMap<String, StepScore>);

impl GuardScores for PolicyScores<'_> {
    fn scored(&self, id: &str) -> bool {
        self.0.contains_key(id)
    }

    fn max_score(&self, id: &str) -> Option<Option<f64>> {
        let s = self.0.get(id)?;
        let mut best = json_number(policy_risk(s));
        for (_, p) in policy_categories(s) {
            best = best.zip(json_number(p)).map(|(a, b)| a.max(b));
        }
        Some(best)
    }

    fn risk(&self, id: &str) -> Option<f64> {
        json_number(policy_risk(self.0.get(id)?))
    }

    fn to_json(&self) -> serde_json::Value {
        scores_input(self.0)
    }
}

/// The policy input's `scores`: exactly the fields of its schema (`risk`,
/// `category`, `categories`, `rationale`; the tier stays out).
///
/// The guard's category probabilities are conditional on the step being
/// harmful; the policy compares each category's score with a threshold, so
/// it gets the joint probability `risk * p(category | harmful)`: a benign
/// step (low risk) never crosses a category threshold.
pub fn scores_input(scores: &BTreeMap<String, StepScore>) -> serde_json::Value {
    use serde_json::{Map, Value};
    // Built by hand: `json!` would serialize (deep-copy) the category map
    // once more, on every judged request.
    let map = scores
        .iter()
        .map(|(id, s)| {
            let categories: Map<String, Value> = policy_categories(s)
                .map(|(c, p)| (c.to_owned(), Value::from(p)))
                .collect();
            let mut o = Map::with_capacity(4);
            o.insert("risk".into(), Value::from(policy_risk(s)));
            o.insert("category".into(), Value::from(s.category));
            o.insert("categories".into(), Value::Object(categories));
            o.insert("rationale".into(), Value::from(s.rationale.as_str()));
            (id.clone(), Value::Object(o))
        })
        .collect();
    Value::Object(map)
}

/// A score's risk as the policy reads it: clamped to [0, 1].
fn policy_risk(s: &StepScore) -> f32 {
    s.risk.clamp(0.0, 1.0)
}

/// A score's category scores as the policy reads them: the joint
/// probability `risk * p(category | harmful)`, clamped to [0, 1].
fn policy_categories(s: &StepScore) -> impl Iterator<Item = (&'static str, f32)> + '_ {
    s.categories
        .iter()
        .map(|(c, p)| (*c, (s.risk * p).clamp(0.0, 1.0)))
}

/// Loads the guard named by the settings (none in rules-only mode).
fn load_guard(g: &GuardSettings) -> Result<Option<Guard>, PipelineSetupError> {
    if !g.enabled {
        return Ok(None);
    }
    let guard =
        Guard::load_or_embedded(g.model_dir.as_deref()).map_err(PipelineSetupError::Guard)?;
    crate::guard::tier2::attach(guard, &g.tier2)
        .map(Some)
        .map_err(PipelineSetupError::Tier2)
}

/// Labels and provenance of each proposed step (as the graph's JSON writes
/// them).
fn analysis_of(graph: &ActionGraph<'_>) -> BTreeMap<String, StepAnalysis> {
    graph
        .plan
        .steps
        .iter()
        .zip(&graph.steps)
        .filter(|(s, _)| s.is_proposed())
        .map(|(s, a)| {
            (
                s.id.clone(),
                StepAnalysis {
                    labels: a.labels.names().into_iter().map(str::to_owned).collect(),
                    provenance: serde_json::Value::Array(
                        a.provenance
                            .iter()
                            .map(preflight_adapters::graph::provenance_json)
                            .collect(),
                    ),
                    score: None,
                },
            )
        })
        .collect()
}

/// Outcomes for rendering: every step that is not a plain allow.
fn outcomes_of(steps: &[StepDecision]) -> Outcomes {
    let mut outcomes = Outcomes::new();
    for s in steps {
        if s.verdict != Verdict::Allow {
            outcomes.insert(
                s.step_id.clone(),
                StepOutcome {
                    verdict: s.verdict,
                    reason: s.reasons.join("; "),
                    rewrite: if s.verdict == Verdict::Rewrite {
                        s.rewrite.clone()
                    } else {
                        None
                    },
                },
            );
        }
    }
    outcomes
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// Builds outcomes and the decision from per-step decisions.
pub fn judgement(steps: Vec<StepDecision>, policy_digest: &str, latency_us: u64) -> Judgement {
    let outcomes = outcomes_of(&steps);
    let verdict = steps
        .iter()
        .map(|s| s.verdict)
        .max()
        .unwrap_or(Verdict::Allow);
    Judgement {
        outcomes,
        decision: Decision {
            decision_id: new_id(),
            verdict,
            steps,
            policy_digest: policy_digest.to_owned(),
            model_id: None,
            latency_us,
        },
        analysis: BTreeMap::new(),
        stage_us: BTreeMap::new(),
    }
}

/// 128 random bits as 32 hex digits; falls back to a time-and-counter id if
/// the system RNG fails (ids must be unique, not secret). The bits come from
/// a per-thread pool refilled from the system RNG 64 ids at a time: one
/// `getrandom` call per request was a measurable share of a request.
pub fn new_id() -> String {
    use ring::rand::SecureRandom;
    use std::cell::RefCell;
    use std::sync::atomic::{AtomicU64, Ordering};
    const IDS: usize = 64;
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    thread_local! {
        // Unused random bytes, and how many of them are left (from the end).
        static POOL: RefCell<([u8; 16 * IDS], usize)> = const { RefCell::new(([0; 16 * IDS], 0)) };
    }
    let mut bytes = [0u8; 16];
    let drawn = POOL.with_borrow_mut(|(pool, left)| {
        if *left == 0 {
            if ring::rand::SystemRandom::new().fill(pool).is_err() {
                return false;
            }
            *left = pool.len();
        }
        *left -= 16;
        bytes.copy_from_slice(&pool[*left..*left + 16]);
        // Used bits are not kept around.
        pool[*left..*left + 16].fill(0);
        true
    });
    if !drawn {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        bytes[..8].copy_from_slice(&(t as u64).to_le_bytes());
        bytes[8..].copy_from_slice(&n.to_le_bytes());
    }
    hex(&bytes)
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use preflight_adapters::{Args, Format};

    #[test]
    fn policy_scores_hold_the_clamped_risk_and_joint_category_scores() {
        let score = StepScore {
            risk: 1.5,
            category: "privacy.exfiltration",
            categories: [("privacy.exfiltration", 0.5f32), ("financial.loss", 0.25)]
                .into_iter()
                .collect(),
            tier: 1,
            rationale: "why".into(),
        };
        let scores: BTreeMap<String, StepScore> = [("s1".to_owned(), score)].into_iter().collect();
        let json = scores_input(&scores);
        assert_eq!(
            json,
            serde_json::json!({"s1": {
                "risk": 1.0,
                "category": "privacy.exfiltration",
                "categories": {"financial.loss": 0.375, "privacy.exfiltration": 0.75},
                "rationale": "why"
            }})
        );
        // Keys in schema order, categories in the model's order.
        assert_eq!(
            json.to_string(),
            r#"{"s1":{"risk":1.0,"category":"privacy.exfiltration","categories":{"financial.loss":0.375,"privacy.exfiltration":0.75},"rationale":"why"}}"#
        );
    }

    #[test]
    fn ids_are_unique_hex_across_pool_refills() {
        let ids: std::collections::BTreeSet<String> = (0..1000).map(|_| new_id()).collect();
        assert_eq!(ids.len(), 1000);
        assert!(
            ids.iter()
                .all(|id| id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()))
        );
        // Another thread draws from its own pool, never the same ids.
        let other = std::thread::spawn(|| (0..100).map(|_| new_id()).collect::<Vec<_>>())
            .join()
            .unwrap_or_default();
        assert_eq!(other.len(), 100);
        assert!(other.iter().all(|id| !ids.contains(id)));
    }

    fn meta() -> RequestMeta {
        RequestMeta {
            tenant: "default".into(),
            agent: None,
            route: "check",
            model: None,
            strictness: Strictness::Balanced,
            tool_pins_changed: Vec::new(),
        }
    }

    fn plan() -> Plan {
        let mut p = Plan::new(Format::Generic);
        p.push_step(
            Some("a"),
            "read_file",
            Args::from_text(r#"{"path":"x"}"#),
            String::new(),
        );
        p.push_step(
            Some("b"),
            "wire_money",
            Args::from_text(r#"{"amount":5}"#),
            String::new(),
        );
        p.push_step(
            Some("c"),
            "send_email",
            Args::from_text(r#"{"to": "#),
            String::new(),
        );
        p
    }

    fn pipeline(extra: &str) -> Pipeline {
        let s = crate::config::from_toml(extra).unwrap_or_else(|e| panic!("{e}"));
        Pipeline::new(&s).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn blocks_denied_tools_and_malformed_arguments_and_allows_the_rest() {
        let j = pipeline("[policy]\ndeny_tools = [\"wire_money\"]\n")
            .judge(&plan(), &meta())
            .expect("judged");
        assert_eq!(j.decision.verdict, Verdict::Block);
        assert!(!j.outcomes.contains_key("a"), "{:?}", j.decision.steps[0]);
        assert_eq!(j.outcomes["b"].verdict, Verdict::Block);
        assert_eq!(j.outcomes["c"].verdict, Verdict::Block);
        assert!(
            j.decision.steps[2]
                .rules
                .iter()
                .any(|r| r.contains("malformed")),
            "{:?}",
            j.decision.steps[2]
        );
        assert_eq!(j.decision.decision_id.len(), 32);
        assert!(j.decision.policy_digest.starts_with("sha256:"));
    }

    #[test]
    fn the_default_bundle_blocks_a_destructive_command_without_any_override() {
        let mut p = Plan::new(Format::Generic);
        p.push_text(
            preflight_adapters::Origin::User,
            "tidy up my home directory",
        );
        p.push_step(
            Some("s1"),
            "shell",
            Args::from_text(r#"{"command":"rm -rf /etc"}"#),
            String::new(),
        );
        let j = pipeline("").judge(&p, &meta()).expect("judged");
        assert_eq!(j.decision.verdict, Verdict::Block, "{:?}", j.decision);
        let rules = &j.decision.steps[0].rules;
        assert!(!rules.is_empty());
        assert!(
            !rules.iter().any(|r| r.contains("fail_closed")),
            "a rule decided, not a failure: {rules:?}"
        );
    }

    #[test]
    fn reload_swaps_a_good_bundle_and_keeps_serving_the_old_one_when_the_new_one_is_broken() {
        let dir = std::env::temp_dir().join(format!("preflight-bundle-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        for f in preflight_policies::Bundle::embedded().files {
            std::fs::write(dir.join(&f.name), &f.text).expect("write");
        }
        let p = pipeline(&format!("[policy]\nbundle = \"{}\"\n", dir.display()));
        assert!(p.reloadable());
        let digest = p.store("default").current().digest().to_owned();
        let results = p.reload();
        assert_eq!(results.len(), 1);
        assert_eq!(results[0].1.as_deref(), Ok(digest.as_str()));
        std::fs::write(
            dir.join("broken.rego"),
            "package preflight.rules.broken\nthis is not rego",
        )
        .expect("write");
        let results = p.reload();
        assert!(results[0].1.is_err(), "{results:?}");
        assert_eq!(
            p.store("default").current().digest(),
            digest,
            "the old bundle keeps serving"
        );
        assert!(p.judge(&plan(), &meta()).is_ok());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_guard_scores_every_proposed_step_once_and_rules_only_mode_scores_none() {
        let j = pipeline("[policy]\ndecision_deadline_ms = 60000\n")
            .judge(&plan(), &meta())
            .expect("judged");
        assert!(j.decision.model_id.is_some());
        assert!(j.decision.steps.iter().all(|s| s.risk.is_some()));
        assert!(j.analysis.values().all(|a| a.score.is_some()));
        assert!(j.stage_us.contains_key("guard"));
        // The benign read is not turned into a block by the guard.
        assert!(!j.outcomes.contains_key("a"), "{:?}", j.decision.steps[0]);

        let p = pipeline("[guard]\nenabled = false\n[policy]\ndecision_deadline_ms = 60000\n");
        let j = p.judge_plan(&plan(), None);
        assert!(j.decision.model_id.is_none());
        assert!(j.decision.steps.iter().all(|s| s.risk.is_none()));
        assert!(!j.stage_us.contains_key("guard"));
    }

    #[test]
    fn only_judgements_the_audit_log_records_carry_the_analysis() {
        use crate::audit::AllowRecording;
        let mut allowed = Plan::new(Format::Generic);
        allowed.push_step(
            Some("a"),
            "read_file",
            Args::from_text(r#"{"path":"x"}"#),
            String::new(),
        );
        let mut p = pipeline("[policy]\ndecision_deadline_ms = 60000\n");
        let analyzed = |p: &Pipeline, plan: &Plan, meta: &RequestMeta| {
            let j = p.judge(plan, meta).expect("judged");
            (j.decision.verdict, !j.analysis.is_empty())
        };
        assert_eq!(analyzed(&p, &allowed, &meta()), (Verdict::Allow, true));
        p.set_analysis(AnalysisFor::None);
        assert_eq!(analyzed(&p, &plan(), &meta()), (Verdict::Block, false));
        p.set_analysis(AnalysisFor::Audited(AllowRecording::None));
        assert_eq!(analyzed(&p, &allowed, &meta()), (Verdict::Allow, false));
        assert_eq!(analyzed(&p, &plan(), &meta()), (Verdict::Block, true));
        // A changed MCP tool pin may still turn an allow into a block.
        let mut pinned = meta();
        pinned.tool_pins_changed = vec!["read_file".into()];
        assert!(analyzed(&p, &allowed, &pinned).1);
        p.set_analysis(AnalysisFor::Audited(AllowRecording::All));
        assert_eq!(analyzed(&p, &allowed, &meta()), (Verdict::Allow, true));
        let j = p.judge(&allowed, &meta()).expect("judged");
        assert!(j.analysis["a"].score.is_some() && !j.analysis["a"].provenance.is_null());
    }

    #[test]
    fn a_missing_model_dir_is_a_startup_error_naming_the_file_and_the_fix() {
        let dir = std::env::temp_dir().join(format!("preflight-no-model-{}", std::process::id()));
        let toml = format!("[guard]\nmodel_dir = \"{}\"\n", dir.display());
        let s = crate::config::from_toml(&toml).unwrap_or_else(|e| panic!("{e}"));
        let err = Pipeline::new(&s).map(|_| ()).unwrap_err().to_string();
        assert!(err.contains("guard.model_dir"), "{err}");
        assert!(err.contains("guard-tier1"), "{err}");
        assert!(err.contains("guard.enabled = false"), "{err}");
        let toml = format!("{toml}enabled = false\n");
        let s = crate::config::from_toml(&toml).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            Pipeline::new(&s).is_ok(),
            "rules only never loads the model"
        );
    }

    #[test]
    fn failure_blocks_every_proposed_step_unless_fail_open() {
        let err = PipelineError::Policy("boom".into());
        let closed = pipeline("").on_failure(&plan(), &err);
        assert_eq!(closed.outcomes.len(), 3);
        assert!(
            closed
                .outcomes
                .values()
                .all(|o| o.verdict == Verdict::Block)
        );
        let open = pipeline("[policy]\non_failure = \"allow\"\n").on_failure(&plan(), &err);
        assert!(open.outcomes.is_empty());
    }
}
