//! The guard model: scores each proposed step of an [`ActionGraph`] with a
//! risk in [0, 1], a risk category and a short rationale.
//!
//! Tiers implement [`Scorer`]. Tier 1 ([`Tier1`]) is a hashed-feature
//! linear model ([`features`], [`linear`]) that runs in microseconds on every
//! step; a later tier (a transformer encoder) can be chained behind it for
//! steps whose tier-1 risk falls in the metadata's `escalation_band`.
//! [`Guard::load`] reads a model directory ([`store`]); [`Guard::embedded`]
//! uses the default model compiled into the binary. Training ([`train`])
//! and evaluation ([`eval`]) live here too. Scoring is pure and
//! deterministic: same graph, same scores.

pub mod batcher;
pub mod encoder;
pub mod eval;
pub mod features;
pub mod linear;
pub mod rationale;
pub mod store;
pub mod thresholds;
pub mod tier2;
pub mod train;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use preflight_adapters::adapters::eval_case::CATEGORIES;
use preflight_adapters::graph::ActionGraph;
use serde::Serialize;
use thiserror::Error;

use features::hash;
use linear::LinearModel;
pub use store::{Metadata, Thresholds};
pub use tier2::Escalation;

/// The default model's weights, compiled in.
const EMBEDDED_WEIGHTS: &[u8] = include_bytes!("../../../models/guard-tier1.safetensors");
/// The default model's metadata, compiled in.
const EMBEDDED_META: &[u8] = include_bytes!("../../../models/guard-tier1.json");

/// Why a model could not be loaded or saved.
#[derive(Debug, Error)]
pub enum GuardError {
    /// A model file does not exist.
    #[error(
        "guard model file {path} not found; train one with `preflight guard train --train train.jsonl --val val.jsonl --out DIR` (data from `preflight datagen --out DIR`), or omit --model to use the built-in model"
    )]
    Missing {
        /// The file.
        path: PathBuf,
    },
    /// A model file exists but is unreadable as a model.
    #[error(
        "guard model file {path} is corrupt: {reason}; retrain it with `preflight guard train` or restore it from version control"
    )]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A valid model made for another build.
    #[error(
        "guard model file {path} does not fit this build: {reason}; retrain it with `preflight guard train`"
    )]
    Incompatible {
        /// The file.
        path: PathBuf,
        /// What differs.
        reason: String,
    },
    /// Reading or writing failed.
    #[error("cannot access {path}: {reason}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        reason: String,
    },
    /// The tier-2 encoder could not be loaded.
    #[error("{0}")]
    Encoder(#[from] encoder::EncoderError),
    /// Serializing failed.
    #[error("cannot write {path}: {reason}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

/// The score of one proposed step (the policy input's `scores` entry).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepScore {
    /// Probability the step is harmful.
    pub risk: f32,
    /// Most likely risk code.
    pub category: &'static str,
    /// Probability of each risk code (given the step is harmful).
    pub categories: BTreeMap<&'static str, f32>,
    /// Which tier decided (1 = linear).
    pub tier: u8,
    /// Short evidence-based explanation.
    pub rationale: String,
}

/// A scoring tier.
pub trait Scorer: Send + Sync {
    /// The tier number reported in [`StepScore::tier`].
    fn tier(&self) -> u8;
    /// Scores step `index` of `graph`.
    fn score_step(&self, graph: &ActionGraph<'_>, index: usize) -> StepScore;
    /// Scores several steps of one graph at once (a later tier batches
    /// them); `first` holds the earlier tier's scores, same order.
    fn score_many(
        &self,
        graph: &ActionGraph<'_>,
        indices: &[usize],
        first: &[StepScore],
    ) -> Vec<StepScore> {
        let _ = first;
        indices.iter().map(|i| self.score_step(graph, *i)).collect()
    }
}

/// Tier 1: the hashed linear model.
#[derive(Debug, Clone)]
pub struct Tier1 {
    /// Weights.
    pub model: LinearModel,
    /// Typical features of training families (from the metadata).
    patterns: Vec<store::Pattern>,
    /// Bucket -> indices of the malicious patterns holding it (an inverted
    /// index, so the nearest-pattern search costs one lookup per feature).
    postings: HashMap<u32, Vec<u32>>,
}

impl Tier1 {
    /// Tier 1 from weights and the training families' patterns.
    pub fn new(model: LinearModel, patterns: Vec<store::Pattern>) -> Self {
        let mut postings: HashMap<u32, Vec<u32>> = HashMap::new();
        for (i, p) in patterns.iter().enumerate().filter(|(_, p)| p.malicious) {
            for f in &p.features {
                postings.entry(*f).or_default().push(i as u32);
            }
        }
        Tier1 {
            model,
            patterns,
            postings,
        }
    }

    /// Risk and categories of a step from its feature names.
    pub fn output<S: AsRef<str>>(&self, names: &[S]) -> linear::Output {
        let hashed: Vec<_> = names
            .iter()
            .map(|n| hash(n.as_ref(), self.model.bits))
            .collect();
        self.model.forward(&hashed)
    }

    /// The malicious training family whose typical features the step shares
    /// most (fraction of the family's features present), if any.
    pub fn nearest_pattern<S: AsRef<str>>(&self, names: &[S]) -> Option<(&str, f32)> {
        let hashed: Vec<_> = names
            .iter()
            .map(|n| hash(n.as_ref(), self.model.bits))
            .collect();
        self.nearest_pattern_hashed(&hashed)
    }

    /// [`Tier1::nearest_pattern`] from already hashed features.
    fn nearest_pattern_hashed(&self, hashed: &[features::Hashed]) -> Option<(&str, f32)> {
        let mut buckets: Vec<u32> = hashed.iter().map(|h| h.index).collect();
        buckets.sort_unstable();
        buckets.dedup();
        let mut shared = vec![0u32; self.patterns.len()];
        for b in &buckets {
            for &p in self.postings.get(b).map(Vec::as_slice).unwrap_or(&[]) {
                if let Some(c) = shared.get_mut(p as usize) {
                    *c += 1;
                }
            }
        }
        let mut best: Option<(&str, f32)> = None;
        for (p, count) in self.patterns.iter().zip(shared) {
            if !p.malicious || p.features.is_empty() {
                continue;
            }
            let score = count as f32 / p.features.len() as f32;
            if best.is_none_or(|(_, b)| score > b) {
                best = Some((p.family.as_str(), score));
            }
        }
        best
    }
}

impl Scorer for Tier1 {
    fn tier(&self) -> u8 {
        1
    }

    fn score_step(&self, graph: &ActionGraph<'_>, index: usize) -> StepScore {
        self.score_in(&features::PlanContext::new(graph), graph, index)
    }
}

impl Tier1 {
    /// [`Scorer::score_step`] with the plan's shared feature facts built
    /// once for all its steps.
    pub fn score_in(
        &self,
        ctx: &features::PlanContext,
        graph: &ActionGraph<'_>,
        index: usize,
    ) -> StepScore {
        thread_local! {
            static NAMES: std::cell::RefCell<features::Names> = std::cell::RefCell::default();
        }
        NAMES.with_borrow_mut(|buf| {
            features::extract_step(ctx, graph, index, buf);
            let names: Vec<&str> = buf.iter().collect();
            self.score_names(graph, index, &names)
        })
    }

    /// [`Scorer::score_step`] from the step's feature names.
    fn score_names(&self, graph: &ActionGraph<'_>, index: usize, names: &[&str]) -> StepScore {
        // Hashed once for the scores, the rationale and the pattern search.
        let hashed: Vec<_> = names.iter().map(|n| hash(n, self.model.bits)).collect();
        let out = self.model.forward(&hashed);
        let (best, p) = top_category(&out.categories);
        let categories = CATEGORIES
            .iter()
            .zip(out.categories)
            .map(|(c, p)| (*c, p))
            .collect();
        let mut rationale = rationale::explain(
            graph,
            index,
            &self.model,
            names,
            &hashed,
            out.risk,
            (CATEGORIES[best], p),
        );
        // Only flagged-looking steps get the (slower) pattern search.
        if out.risk >= 0.5
            && let Some((family, share)) = self.nearest_pattern_hashed(&hashed)
        {
            rationale.push_str(&format!(
                "; resembles training pattern {family} ({:.0}% of its features)",
                share * 100.0
            ));
        }
        StepScore {
            risk: out.risk,
            category: CATEGORIES[best],
            categories,
            tier: 1,
            rationale,
        }
    }
}

/// The index and probability of the most likely category (the first of
/// equals; `(0, f32::MIN)` when there are none).
pub fn top_category(probs: &[f32]) -> (usize, f32) {
    probs.iter().enumerate().fold(
        (0, f32::MIN),
        |acc, (i, p)| if *p > acc.1 { (i, *p) } else { acc },
    )
}

/// The escalation a tier-1 model's metadata asks for (its band, else none).
fn escalation_of(meta: &Metadata) -> Escalation {
    meta.escalation_band
        .map_or(Escalation::Never, Escalation::Band)
}

/// A loaded guard: tier 1, its metadata, and optionally a later tier.
pub struct Guard {
    /// Tier 1.
    pub tier1: Tier1,
    /// Metadata (thresholds, version, metrics).
    pub meta: Metadata,
    /// A later tier for steps in the escalation band.
    pub next: Option<Box<dyn Scorer>>,
    /// Which steps the later tier scores.
    pub escalation: Escalation,
}

impl std::fmt::Debug for Guard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guard")
            .field("model_id", &self.meta.model_id)
            .field("next", &self.next.is_some())
            .finish()
    }
}

impl Guard {
    /// Loads `guard-tier1.json` and `guard-tier1.safetensors` from `dir`.
    pub fn load(dir: impl AsRef<Path>) -> Result<Guard, GuardError> {
        let dir = dir.as_ref();
        let mpath = dir.join(store::META_FILE);
        let wpath = dir.join(store::WEIGHTS_FILE);
        let meta = store::metadata_from_bytes(&store::read(&mpath)?, &mpath)?;
        let model = store::weights_from_bytes(&store::read(&wpath)?, meta.bits, &wpath)?;
        Ok(Guard {
            tier1: Tier1::new(model, meta.patterns.clone()),
            escalation: escalation_of(&meta),
            meta,
            next: None,
        })
    }

    /// The default model compiled into the binary (models/ at build time).
    pub fn embedded() -> Result<Guard, GuardError> {
        let mpath = Path::new("<built-in>").join(store::META_FILE);
        let wpath = Path::new("<built-in>").join(store::WEIGHTS_FILE);
        let meta = store::metadata_from_bytes(EMBEDDED_META, &mpath)?;
        let model = store::weights_from_bytes(EMBEDDED_WEIGHTS, meta.bits, &wpath)?;
        Ok(Guard {
            tier1: Tier1::new(model, meta.patterns.clone()),
            escalation: escalation_of(&meta),
            meta,
            next: None,
        })
    }

    /// `load(dir)` when a directory is given, else [`Guard::embedded`].
    pub fn load_or_embedded(dir: Option<&Path>) -> Result<Guard, GuardError> {
        match dir {
            Some(d) => Guard::load(d),
            None => Guard::embedded(),
        }
    }

    /// Chains a later tier, consulted for the steps `escalation` selects.
    pub fn with_next(mut self, next: Box<dyn Scorer>, escalation: Escalation) -> Self {
        self.next = Some(next);
        self.escalation = escalation;
        self
    }

    /// Scores every proposed step, keyed by step id. Tier 1 scores all of
    /// them; the steps it escalates go to the later tier in one call.
    pub fn score(&self, graph: &ActionGraph<'_>) -> BTreeMap<String, StepScore> {
        let steps: Vec<_> = graph
            .plan
            .steps
            .iter()
            .filter(|s| s.is_proposed())
            .collect();
        let ctx = features::PlanContext::new(graph);
        let mut scores: Vec<StepScore> = steps
            .iter()
            .map(|s| self.tier1.score_in(&ctx, graph, s.index))
            .collect();
        if let Some(next) = &self.next {
            let picked: Vec<usize> = (0..steps.len())
                .filter(|i| self.escalation.escalates(scores[*i].risk))
                .collect();
            if !picked.is_empty() {
                let indices: Vec<usize> = picked.iter().map(|i| steps[*i].index).collect();
                let firsts: Vec<StepScore> = picked.iter().map(|i| scores[*i].clone()).collect();
                for (i, s) in picked.iter().zip(next.score_many(graph, &indices, &firsts)) {
                    scores[*i] = s;
                }
            }
        }
        steps.iter().map(|s| s.id.clone()).zip(scores).collect()
    }

    /// Scores one step by index.
    pub fn score_index(&self, graph: &ActionGraph<'_>, index: usize) -> StepScore {
        let first = self.tier1.score_step(graph, index);
        match &self.next {
            Some(next) if self.escalation.escalates(first.risk) => next
                .score_many(graph, &[index], std::slice::from_ref(&first))
                .pop()
                .unwrap_or(first),
            _ => first,
        }
    }

    /// The threshold for a strictness level name (`lenient`, `standard`,
    /// `strict`).
    pub fn threshold(&self, level: &str) -> Option<f32> {
        self.meta
            .thresholds
            .levels()
            .into_iter()
            .find(|(n, _)| *n == level)
            .map(|(_, t)| t)
    }

    /// The model id.
    pub fn model_id(&self) -> &str {
        &self.meta.model_id
    }
}
