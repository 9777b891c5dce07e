//! Tier 2 of the guard: a sentence encoder ([`super::encoder`]) embeds the
//! user's goal and the proposed action separately; trained [`Heads`] read
//! both embeddings, their product and distance, and tier-1/graph features
//! ([`input`]), and output a risk and a category. It runs for steps whose
//! tier-1 risk is inside the uncertainty band (or on every step when asked),
//! through the [batcher](super::batcher) so concurrent requests
//! share one encoder call.
//!
//! Files: `guard-tier2.safetensors` (heads only, small) and
//! `guard-tier2.json` ([`Tier2Meta`]: encoder, band, thresholds, metrics).
//! The encoder weights are never stored here: `scripts/setup-model` puts
//! them in [`super::encoder::default_model_dir`].

pub mod heads;
pub mod input;
pub mod train;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};
use preflight_adapters::adapters::eval_case::CATEGORIES;
use preflight_adapters::graph::ActionGraph;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::batcher::BatcherHandle;
use super::encoder::{Encoder, EncoderError};
use super::{GuardError, Scorer, StepScore, Thresholds, Tier1};
pub use heads::Heads;
pub use input::{EXTRA, INPUT_VERSION, StepInput, step_input};

/// File name of the heads' weights.
pub const WEIGHTS_FILE: &str = "guard-tier2.safetensors";
/// File name of the heads' metadata.
pub const META_FILE: &str = "guard-tier2.json";
/// The `format` value of a tier-2 metadata file.
pub const META_FORMAT: &str = "preflight-guard-tier2";

/// The committed heads, compiled in.
const EMBEDDED_WEIGHTS: &[u8] = include_bytes!("../../../../models/guard-tier2.safetensors");
/// The committed heads' metadata, compiled in.
const EMBEDDED_META: &[u8] = include_bytes!("../../../../models/guard-tier2.json");

/// The encoder the heads were trained on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EncoderInfo {
    /// Name of the checkpoint.
    pub name: String,
    /// Embedding width.
    pub dim: usize,
    /// sha256 of its `model.safetensors`, when known.
    #[serde(default)]
    pub model_sha256: Option<String>,
}

/// `guard-tier2.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tier2Meta {
    /// Always [`META_FORMAT`].
    pub format: String,
    /// Stable id (`guard-t2-<hash of weights>`).
    pub model_id: String,
    /// [`INPUT_VERSION`] the heads were trained with.
    pub input_version: u32,
    /// The encoder.
    pub encoder: EncoderInfo,
    /// Numeric features ([`EXTRA`]).
    pub extra: usize,
    /// The tier-1 model whose outputs are features.
    pub tier1_model_id: String,
    /// Tier-1 risk band escalated to tier 2 (inclusive).
    pub band: [f32; 2],
    /// Thresholds of the cascade's risk with this band.
    pub thresholds: Thresholds,
    /// Thresholds when tier 2 scores every step (`tier2 = "always"`).
    pub thresholds_always: Thresholds,
    /// Target benign FPR per strictness.
    pub target_fpr: BTreeMap<String, f64>,
    /// Top encoder layers fine-tuned with the heads (their tensors are in
    /// the weights file, replacing the checkpoint's); 0 = frozen encoder.
    #[serde(default)]
    pub finetuned_layers: usize,
    /// Training settings and data counts.
    pub training: Value,
    /// Metrics (validation, test).
    pub metrics: Value,
}

/// Tier-2 heads with their metadata.
#[derive(Debug, Clone)]
pub struct Tier2Model {
    /// Weights.
    pub heads: Heads,
    /// Metadata.
    pub meta: Tier2Meta,
    /// Fine-tuned encoder tensors by checkpoint name (empty when frozen).
    pub encoder_overrides: HashMap<String, Tensor>,
}

impl Tier2Model {
    /// Reads heads and metadata from bytes; `dir` names them in errors.
    pub fn from_bytes(
        meta: &[u8],
        weights: &[u8],
        dir: &Path,
        device: &Device,
    ) -> Result<Tier2Model, GuardError> {
        let mpath = dir.join(META_FILE);
        let wpath = dir.join(WEIGHTS_FILE);
        let meta: Tier2Meta = serde_json::from_slice(meta).map_err(|e| GuardError::Corrupt {
            path: mpath.clone(),
            reason: e.to_string(),
        })?;
        if meta.format != META_FORMAT || meta.input_version != INPUT_VERSION || meta.extra != EXTRA
        {
            return Err(GuardError::Incompatible {
                path: mpath,
                reason: format!(
                    "format {} input version {} with {} features; this build reads {META_FORMAT} version {INPUT_VERSION} with {EXTRA}",
                    meta.format, meta.input_version, meta.extra
                ),
            });
        }
        let heads =
            Heads::from_bytes(weights, meta.encoder.dim, meta.extra, device).map_err(|reason| {
                GuardError::Corrupt {
                    path: wpath.clone(),
                    reason,
                }
            })?;
        let mut encoder_overrides = HashMap::new();
        if meta.finetuned_layers > 0 {
            let all = candle_core::safetensors::load_buffer(weights, device).map_err(|e| {
                GuardError::Corrupt {
                    path: wpath.clone(),
                    reason: e.to_string(),
                }
            })?;
            encoder_overrides = all
                .into_iter()
                .filter(|(n, _)| n.contains("encoder.layer."))
                .collect();
            if encoder_overrides.is_empty() {
                return Err(GuardError::Corrupt {
                    path: wpath,
                    reason: "the metadata says fine-tuned encoder layers, the file has none".into(),
                });
            }
        }
        Ok(Tier2Model {
            heads,
            meta,
            encoder_overrides,
        })
    }

    /// Loads `guard-tier2.{json,safetensors}` from `dir`.
    pub fn load(dir: &Path, device: &Device) -> Result<Tier2Model, GuardError> {
        let m = super::store::read(&dir.join(META_FILE))?;
        let w = super::store::read(&dir.join(WEIGHTS_FILE))?;
        Tier2Model::from_bytes(&m, &w, dir, device)
    }

    /// The heads compiled into the binary (`models/` at build time).
    pub fn embedded(device: &Device) -> Result<Tier2Model, GuardError> {
        Tier2Model::from_bytes(
            EMBEDDED_META,
            EMBEDDED_WEIGHTS,
            Path::new("<built-in>"),
            device,
        )
    }

    /// The weights file: heads plus any fine-tuned encoder tensors.
    pub fn weights_bytes(&self) -> Result<Vec<u8>, String> {
        let mut more: Vec<(String, Tensor)> = self
            .encoder_overrides
            .iter()
            .map(|(n, t)| (n.clone(), t.clone()))
            .collect();
        more.sort_by(|a, b| a.0.cmp(&b.0));
        self.heads.to_bytes(&more)
    }

    /// Writes both files into `dir`.
    pub fn save(&self, dir: &Path) -> Result<(), GuardError> {
        let werr = |path: PathBuf, reason: String| GuardError::Write { path, reason };
        std::fs::create_dir_all(dir).map_err(|e| werr(dir.into(), e.to_string()))?;
        let w = self
            .weights_bytes()
            .map_err(|e| werr(dir.join(WEIGHTS_FILE), e))?;
        std::fs::write(dir.join(WEIGHTS_FILE), w)
            .map_err(|e| werr(dir.join(WEIGHTS_FILE), e.to_string()))?;
        let mut m = serde_json::to_string_pretty(&self.meta)
            .map_err(|e| werr(dir.join(META_FILE), e.to_string()))?;
        m.push('\n');
        std::fs::write(dir.join(META_FILE), m).map_err(|e| werr(dir.join(META_FILE), e.to_string()))
    }
}

/// One step's tier-2 output.
#[derive(Debug, Clone, PartialEq)]
pub struct Tier2Output {
    /// Probability the step is harmful.
    pub risk: f32,
    /// Distribution over the risk codes.
    pub categories: Vec<f32>,
}

/// Encoder + heads: scores a batch of step inputs. Shared by the batcher
/// thread, training and eval.
#[derive(Debug)]
pub struct Engine {
    /// The encoder.
    pub encoder: Encoder,
    /// The heads (on the encoder's device).
    pub heads: Heads,
    /// Embeddings of recent goals: every step of a conversation, and every
    /// request of it, has the same goal.
    goals: std::sync::Mutex<HashMap<String, Tensor>>,
}

/// Goals kept in [`Engine`]'s cache (cleared when full).
const GOAL_CACHE: usize = 4096;

impl Engine {
    /// An engine over `encoder` and `heads`.
    pub fn new(encoder: Encoder, heads: Heads) -> Engine {
        Engine {
            encoder,
            heads,
            goals: std::sync::Mutex::new(HashMap::new()),
        }
    }

    /// Goal embeddings `(n, dim)`, from the cache where possible.
    fn goal_embeddings(&self, inputs: &[StepInput]) -> candle_core::Result<Tensor> {
        let mut cache = self
            .goals
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut missing: Vec<&str> = inputs
            .iter()
            .map(|i| i.goal.as_str())
            .filter(|g| !cache.contains_key(*g))
            .collect();
        missing.sort_unstable();
        missing.dedup();
        if !missing.is_empty() {
            let emb = self.encoder.embed_grouped(&missing, GROUP)?;
            if cache.len() + missing.len() > GOAL_CACHE {
                cache.clear();
            }
            for (i, g) in missing.iter().enumerate() {
                cache.insert((*g).to_owned(), emb.get(i)?);
            }
        }
        let rows = inputs
            .iter()
            .map(|i| {
                cache.get(&i.goal).cloned().ok_or_else(|| {
                    candle_core::Error::Msg("goal embedding missing from the cache".into())
                })
            })
            .collect::<candle_core::Result<Vec<Tensor>>>()?;
        Tensor::stack(&rows, 0)
    }

    /// Embeds each distinct text once, goals and actions in separate
    /// batches (each padded to its own longest).
    pub fn embed_inputs(&self, inputs: &[StepInput]) -> candle_core::Result<(Tensor, Tensor)> {
        let goals = self.goal_embeddings(inputs)?;
        let actions = embed_dedup(&self.encoder, inputs.iter().map(|i| i.action.as_str()))?;
        Ok((goals, actions))
    }

    /// Feature rows of `inputs` (see [`Heads::features`]).
    pub fn features(&self, inputs: &[StepInput]) -> candle_core::Result<Tensor> {
        let (g, a) = self.embed_inputs(inputs)?;
        let extra = extra_tensor(inputs, &self.encoder.device)?;
        Heads::features(&g, &a, &extra)
    }

    /// Scores `inputs` in one pass.
    pub fn score(&self, inputs: &[StepInput]) -> Result<Vec<Tier2Output>, EncoderError> {
        if inputs.is_empty() {
            return Ok(Vec::new());
        }
        let x = self.features(inputs)?;
        let (risk, cats) = self.heads.predict(&x)?;
        Ok(risk
            .into_iter()
            .zip(cats)
            .map(|(risk, categories)| Tier2Output { risk, categories })
            .collect())
    }
}

/// Texts per encoder pass inside one scoring batch (grouped by length).
const GROUP: usize = 8;

/// Embeddings `(n, dim)` of `texts`, each distinct text encoded once.
pub fn embed_dedup<'a>(
    enc: &Encoder,
    texts: impl Iterator<Item = &'a str>,
) -> candle_core::Result<Tensor> {
    let mut index: HashMap<&str, u32> = HashMap::new();
    let mut unique: Vec<&str> = Vec::new();
    let mut rows = Vec::new();
    for t in texts {
        let i = *index.entry(t).or_insert_with(|| {
            unique.push(t);
            (unique.len() - 1) as u32
        });
        rows.push(i);
    }
    let emb = enc.embed_grouped(&unique, GROUP)?;
    if unique.len() == rows.len() {
        return Ok(emb);
    }
    let idx = Tensor::from_vec(rows.clone(), rows.len(), &enc.device)?;
    emb.index_select(&idx, 0)
}

/// The numeric features `(n, EXTRA)`.
pub fn extra_tensor(inputs: &[StepInput], device: &Device) -> candle_core::Result<Tensor> {
    let flat: Vec<f32> = inputs
        .iter()
        .flat_map(|i| i.extra.iter().copied())
        .collect();
    Tensor::from_vec(flat, (inputs.len(), EXTRA), device)
}

/// When tier 2 runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Escalation {
    /// No step (tier 1 only).
    Never,
    /// Steps whose tier-1 risk is within `[lo, hi]`.
    Band([f32; 2]),
    /// Every step.
    Always,
}

impl Escalation {
    /// Whether a step with tier-1 risk `risk` goes to tier 2.
    pub fn escalates(self, risk: f32) -> bool {
        match self {
            Escalation::Band([lo, hi]) => risk >= lo && risk <= hi,
            Escalation::Always => true,
            Escalation::Never => false,
        }
    }
}

/// Tier 2 as a [`Scorer`]: builds inputs on the caller's thread, scores
/// them through the batcher.
pub struct Tier2Scorer {
    tier1: Tier1,
    batcher: BatcherHandle,
    model_id: String,
}

impl std::fmt::Debug for Tier2Scorer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tier2Scorer")
            .field("model_id", &self.model_id)
            .finish()
    }
}

impl Tier2Scorer {
    /// A scorer over `batcher`, with `tier1` for the tier-1 features.
    pub fn new(tier1: Tier1, batcher: BatcherHandle, model_id: String) -> Self {
        Tier2Scorer {
            tier1,
            batcher,
            model_id,
        }
    }
}

impl Scorer for Tier2Scorer {
    fn tier(&self) -> u8 {
        2
    }

    fn score_step(&self, graph: &ActionGraph<'_>, index: usize) -> StepScore {
        let first = self.tier1.score_step(graph, index);
        self.score_many(graph, &[index], std::slice::from_ref(&first))
            .pop()
            .unwrap_or(first)
    }

    fn score_many(
        &self,
        graph: &ActionGraph<'_>,
        indices: &[usize],
        first: &[StepScore],
    ) -> Vec<StepScore> {
        let inputs: Vec<StepInput> = indices
            .iter()
            .map(|i| step_input(graph, *i, &self.tier1))
            .collect();
        match self.batcher.score_blocking(inputs) {
            Ok(outs) => outs
                .into_iter()
                .zip(first)
                .map(|(o, f)| combine(&o, f))
                .collect(),
            // Tier 1's scores stand; the rationale says tier 2 failed.
            Err(e) => first
                .iter()
                .map(|f| StepScore {
                    rationale: format!("{}; tier 2 unavailable ({e})", f.rationale),
                    ..f.clone()
                })
                .collect(),
        }
    }
}

/// Tier 2's score, explained next to tier 1's evidence.
pub fn combine(out: &Tier2Output, first: &StepScore) -> StepScore {
    let (best, p) = super::top_category(&out.categories);
    let category = CATEGORIES
        .get(best)
        .copied()
        .unwrap_or("unauthorized.action");
    StepScore {
        risk: out.risk,
        category,
        categories: CATEGORIES
            .iter()
            .zip(&out.categories)
            .map(|(c, p)| (*c, *p))
            .collect(),
        tier: 2,
        rationale: format!(
            "tier 2 (encoder over goal and action): risk {:.2}, {category} ({:.0}%); tier 1 said {:.2}: {}",
            out.risk,
            p * 100.0,
            first.risk,
            first.rationale
        ),
    }
}

/// `guard.tier2`: when tier 2 runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tier2Mode {
    /// For steps in the band when the encoder is installed; tier 1 only
    /// (with one warning) when it is not.
    Auto,
    /// Never (the default for now: tier 2 changes verdicts the existing
    /// policy thresholds were set for; opt in with `auto`).
    #[default]
    Off,
    /// On every step; missing weights fail at start.
    Always,
}

impl Tier2Mode {
    /// Parses `auto`, `off` or `always`.
    pub fn parse(s: &str) -> Option<Tier2Mode> {
        match s {
            "auto" => Some(Tier2Mode::Auto),
            "off" => Some(Tier2Mode::Off),
            "always" => Some(Tier2Mode::Always),
            _ => None,
        }
    }
}

/// The tier-2 part of `[guard]`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Tier2Settings {
    /// `tier2`.
    pub mode: Tier2Mode,
    /// `band`: overrides the heads' band (their thresholds stay those
    /// calibrated for their own band).
    pub band: Option<[f32; 2]>,
    /// `device`.
    pub device: super::encoder::DeviceChoice,
    /// `encoder_dir`: the checkpoint; [`super::encoder::default_model_dir`]
    /// when unset.
    pub encoder_dir: Option<PathBuf>,
    /// `tier2_dir`: trained heads; the built-in ones when unset.
    pub heads_dir: Option<PathBuf>,
    /// `batch_max_steps`, `batch_max_wait_us`.
    pub batch: super::batcher::BatchSettings,
}

/// Engines already loaded in this process, by (encoder dir, device, heads
/// dir): every pipeline built from the same settings shares one encoder and
/// one batching thread (load once).
type EngineKey = (PathBuf, String, Option<PathBuf>, usize, u128);
static ENGINES: std::sync::Mutex<Vec<(EngineKey, BatcherHandle, Tier2Meta)>> =
    std::sync::Mutex::new(Vec::new());

/// Warns once per process that tier 2 is off for lack of weights.
static WARNED: std::sync::Once = std::sync::Once::new();

#[allow(clippy::print_stderr)]
fn warn_once(text: &str) {
    WARNED.call_once(|| eprintln!("preflight: warning: {text}"));
}

/// Chains tier 2 behind `guard` as `s` asks. `auto` without installed
/// encoder weights returns tier 1 alone (warning once); `always` fails.
/// Errors name the file and the fix.
pub fn attach(guard: super::Guard, s: &Tier2Settings) -> Result<super::Guard, GuardError> {
    if s.mode == Tier2Mode::Off {
        return Ok(guard);
    }
    let dir = s
        .encoder_dir
        .clone()
        .unwrap_or_else(super::encoder::default_model_dir);
    if s.mode == Tier2Mode::Auto && !dir.join("model.safetensors").is_file() {
        warn_once(&format!(
            "guard tier 2 is off: no encoder weights in {} (run `scripts/setup-model`, or set guard.tier2 = \"off\" to silence this)",
            dir.display()
        ));
        return Ok(guard);
    }
    let (batcher, meta) = engine_for(&dir, s)?;
    if meta.tier1_model_id != guard.meta.model_id {
        let reason = format!(
            "the tier-2 heads ({}) were trained on tier-1 model {}, this guard's tier 1 is {}: retrain them with `preflight guard train --tier 2`",
            meta.model_id, meta.tier1_model_id, guard.meta.model_id
        );
        if s.mode == Tier2Mode::Auto {
            warn_once(&format!("guard tier 2 is off: {reason}"));
            return Ok(guard);
        }
        return Err(GuardError::Incompatible {
            path: s
                .heads_dir
                .clone()
                .unwrap_or_else(|| "<built-in>".into())
                .join(META_FILE),
            reason,
        });
    }
    let (escalation, thresholds) = match s.mode {
        Tier2Mode::Always => (Escalation::Always, meta.thresholds_always),
        _ => (
            Escalation::Band(s.band.unwrap_or(meta.band)),
            meta.thresholds,
        ),
    };
    let scorer = Tier2Scorer::new(guard.tier1.clone(), batcher, meta.model_id.clone());
    let mut guard = guard.with_next(Box::new(scorer), escalation);
    guard.meta.model_id = format!("{}+{}", guard.meta.model_id, meta.model_id);
    guard.meta.thresholds = thresholds;
    Ok(guard)
}

fn engine_for(dir: &Path, s: &Tier2Settings) -> Result<(BatcherHandle, Tier2Meta), GuardError> {
    let device = s.device.device().map_err(GuardError::Encoder)?;
    let key: EngineKey = (
        dir.to_owned(),
        format!("{device:?}"),
        s.heads_dir.clone(),
        s.batch.max_steps,
        s.batch.max_wait.as_micros(),
    );
    let mut engines = ENGINES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((_, h, m)) = engines.iter().find(|(k, _, _)| *k == key) {
        return Ok((h.clone(), m.clone()));
    }
    // The encoder's files first: a missing checkpoint is the likely
    // problem, and its error names the fix.
    for f in ["config.json", "model.safetensors"] {
        if !dir.join(f).is_file() {
            return Err(GuardError::Encoder(EncoderError::Missing {
                path: dir.join(f),
            }));
        }
    }
    let model = match &s.heads_dir {
        Some(d) => Tier2Model::load(d, &device)?,
        None => Tier2Model::embedded(&device)?,
    };
    let encoder = Encoder::load_with(
        dir,
        &device,
        super::encoder::Trainable::None,
        &model.encoder_overrides,
    )
    .map_err(GuardError::Encoder)?;
    if encoder.dim() != model.meta.encoder.dim {
        return Err(GuardError::Incompatible {
            path: dir.join("config.json"),
            reason: format!(
                "the encoder's hidden size is {}, the tier-2 heads expect {} ({})",
                encoder.dim(),
                model.meta.encoder.dim,
                model.meta.encoder.name
            ),
        });
    }
    let engine = std::sync::Arc::new(Engine::new(encoder, model.heads));
    let handle = super::batcher::spawn(engine, s.batch).map_err(|e| GuardError::Io {
        path: dir.to_owned(),
        reason: format!("cannot start the tier-2 scoring thread: {e}"),
    })?;
    engines.push((key, handle.clone(), model.meta.clone()));
    Ok((handle, model.meta))
}
