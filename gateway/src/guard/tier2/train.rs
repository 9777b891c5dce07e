//! Training the tier-2 heads on cached embeddings: every distinct goal and
//! action text of the training and validation cases is embedded once
//! (optionally kept in an on-disk cache), the heads train with AdamW on
//! binary cross-entropy (risk) plus cross-entropy over the risk codes
//! (malicious steps only), and thresholds are calibrated on validation for
//! the cascade, like tier 1's.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use candle_core::{D, DType, Device, Result as CResult, Tensor};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use preflight_adapters::adapters::eval_case::CATEGORIES;
use preflight_adapters::graph::ActionGraph;

use super::super::batcher::{self, BatchSettings, BatcherHandle};
use super::super::encoder::Encoder;
use super::super::eval::{Record, Report, records, report};
use super::super::thresholds::{self, TARGETS};
use super::super::train::TaggedCase;
use super::super::{Guard, Scorer as _, Tier1};
use super::heads::Heads;
use super::input::{EXTRA, INPUT_VERSION, StepInput, step_input};
use super::{
    EncoderInfo, Engine, Escalation, META_FORMAT, Tier2Meta, Tier2Model, Tier2Scorer, extra_tensor,
};

/// Training settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    /// Passes over the training steps.
    pub epochs: usize,
    /// AdamW learning rate.
    pub learning_rate: f64,
    /// AdamW weight decay.
    pub weight_decay: f64,
    /// Hidden units of the heads.
    pub hidden: usize,
    /// Minibatch size.
    pub batch: usize,
    /// Initialization and shuffle seed.
    pub seed: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            epochs: 30,
            learning_rate: 1e-3,
            weight_decay: 1e-2,
            hidden: 256,
            batch: 64,
            seed: 17,
        }
    }
}

/// One proposed step with its labels.
#[derive(Debug, Clone)]
pub struct Example {
    /// The tier-2 input.
    pub input: StepInput,
    /// Whether its case is malicious.
    pub malicious: bool,
    /// Index into [`CATEGORIES`] (malicious steps only).
    pub category: Option<usize>,
}

/// One example per proposed step of every case.
pub fn examples(cases: &[TaggedCase], tier1: &Tier1) -> Vec<Example> {
    let mut out = Vec::new();
    for tc in cases {
        let graph = ActionGraph::build(&tc.case.plan);
        let malicious = tc.case.is_malicious();
        let category = tc
            .case
            .category
            .as_deref()
            .and_then(|c| CATEGORIES.iter().position(|x| *x == c))
            .filter(|_| malicious);
        for step in tc.case.plan.steps.iter().filter(|s| s.is_proposed()) {
            out.push(Example {
                input: step_input(&graph, step.index, tier1),
                malicious,
                category,
            });
        }
    }
    out
}

/// Embeddings by text, filled on demand and optionally persisted.
#[derive(Debug, Default)]
pub struct EmbeddingCache {
    map: HashMap<String, Vec<f32>>,
    /// Texts embedded by this process (not found in the cache).
    pub computed: usize,
}

impl EmbeddingCache {
    /// Reads a cache written by [`EmbeddingCache::save`] for the encoder
    /// `tag`; a missing, unreadable or other-encoder cache is empty.
    pub fn load(path: &Path, tag: &str) -> EmbeddingCache {
        let parsed = std::fs::read(path)
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok());
        let mut map = HashMap::new();
        if let Some(v) = parsed.filter(|v| v["encoder"].as_str() == Some(tag))
            && let Some(entries) = v["entries"].as_object()
        {
            for (text, e) in entries {
                if let Some(a) = e.as_array() {
                    map.insert(
                        text.clone(),
                        a.iter()
                            .filter_map(|x| x.as_f64())
                            .map(|x| x as f32)
                            .collect(),
                    );
                }
            }
        }
        EmbeddingCache { map, computed: 0 }
    }

    /// Writes the cache as JSON.
    pub fn save(&self, path: &Path, tag: &str) -> std::io::Result<()> {
        let entries: serde_json::Map<String, serde_json::Value> = self
            .map
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::json!(v)))
            .collect();
        let v = serde_json::json!({"encoder": tag, "entries": entries});
        std::fs::write(path, v.to_string())
    }

    /// Embeddings `(n, dim)` of `texts`, computing the missing ones in
    /// batches of similar length.
    pub fn embed(&mut self, enc: &Encoder, texts: &[&str], batch: usize) -> CResult<Tensor> {
        let mut missing: Vec<&str> = texts
            .iter()
            .copied()
            .filter(|t| !self.map.contains_key(*t))
            .collect();
        missing.sort_by_key(|t| t.len());
        missing.dedup();
        for chunk in missing.chunks(batch.max(1)) {
            for (t, e) in chunk
                .iter()
                .zip(enc.embed_tensor(chunk, false)?.to_vec2::<f32>()?)
            {
                self.map.insert((*t).to_owned(), e);
            }
            self.computed += chunk.len();
        }
        let dim = enc.dim();
        let mut flat = Vec::with_capacity(texts.len() * dim);
        for t in texts {
            match self.map.get(*t) {
                Some(e) => flat.extend_from_slice(e),
                None => return Err(candle_core::Error::Msg(format!("no embedding for {t:?}"))),
            }
        }
        Tensor::from_vec(flat, (texts.len(), dim), &enc.device)
    }
}

/// Feature rows of `examples` (see [`Heads::features`]).
pub fn features(
    enc: &Encoder,
    cache: &mut EmbeddingCache,
    examples: &[Example],
) -> CResult<Tensor> {
    let goals: Vec<&str> = examples.iter().map(|e| e.input.goal.as_str()).collect();
    let actions: Vec<&str> = examples.iter().map(|e| e.input.action.as_str()).collect();
    let g = cache.embed(enc, &goals, 32)?;
    let a = cache.embed(enc, &actions, 32)?;
    let inputs: Vec<StepInput> = examples.iter().map(|e| e.input.clone()).collect();
    let extra = extra_tensor(&inputs, &enc.device)?;
    Heads::features(&g, &a, &extra)
}

/// Mean loss of `heads` on rows `x`: BCE of the risk plus cross-entropy of
/// the category over malicious rows (`cat_mask` = 1).
pub fn loss(
    heads: &Heads,
    x: &Tensor,
    y: &Tensor,
    cat: &Tensor,
    cat_mask: &Tensor,
) -> CResult<Tensor> {
    let (z, c) = heads.forward(x)?;
    // Stable BCE with logits: max(z,0) - z*y + log(1 + exp(-|z|)).
    let bce = ((z.relu()? - (&z * y)?)? + (z.abs()?.neg()?.exp()? + 1.0)?.log()?)?.mean_all()?;
    let logp = candle_nn::ops::log_softmax(&c, D::Minus1)?;
    let nll = logp.gather(&cat.unsqueeze(1)?, 1)?.squeeze(1)?.neg()?;
    let count = cat_mask
        .sum_all()?
        .to_dtype(DType::F32)?
        .to_scalar::<f32>()?
        .max(1.0);
    let ce = ((nll * cat_mask)?.sum_all()? / f64::from(count))?;
    bce + ce
}

/// Label tensors of `examples`: risk target, category index, category mask.
pub fn targets(examples: &[Example], device: &Device) -> CResult<(Tensor, Tensor, Tensor)> {
    let n = examples.len();
    let y: Vec<f32> = examples
        .iter()
        .map(|e| f32::from(u8::from(e.malicious)))
        .collect();
    let c: Vec<u32> = examples
        .iter()
        .map(|e| e.category.unwrap_or(0) as u32)
        .collect();
    let m: Vec<f32> = examples
        .iter()
        .map(|e| f32::from(u8::from(e.category.is_some())))
        .collect();
    Ok((
        Tensor::from_vec(y, n, device)?,
        Tensor::from_vec(c, n, device)?,
        Tensor::from_vec(m, n, device)?,
    ))
}

/// Trains heads on feature rows `x` (`(n, 4*dim + EXTRA)`). Returns the
/// heads (plain tensors) and the mean training loss of each epoch.
pub fn train_heads(
    x: &Tensor,
    examples: &[Example],
    dim: usize,
    s: Settings,
) -> CResult<(Heads, Vec<f32>)> {
    let device = x.device().clone();
    let (heads, mut opt) = new_heads(dim, &s, &device)?;
    let (y, c, m) = targets(examples, &device)?;
    let n = examples.len();
    let mut order: Vec<u32> = (0..n as u32).collect();
    let mut rng = s.seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut losses = Vec::with_capacity(s.epochs);
    for _ in 0..s.epochs {
        shuffle(&mut order, &mut rng);
        let (mut total, mut batches) = (0f32, 0usize);
        for chunk in order.chunks(s.batch.max(1)) {
            let idx = Tensor::from_slice(chunk, chunk.len(), &device)?;
            let l = loss(
                &heads,
                &x.index_select(&idx, 0)?,
                &y.index_select(&idx, 0)?,
                &c.index_select(&idx, 0)?,
                &m.index_select(&idx, 0)?,
            )?;
            opt.backward_step(&l)?;
            total += l.to_scalar::<f32>()?;
            batches += 1;
        }
        losses.push(total / batches.max(1) as f32);
    }
    Ok((heads.detached(), losses))
}

/// Freshly initialized heads over `dim`-wide embeddings and their optimizer
/// (both trainers start from these).
fn new_heads(dim: usize, s: &Settings, device: &Device) -> CResult<(Heads, AdamW)> {
    let (heads, vars) = Heads::init(dim, EXTRA, s.hidden, s.seed, device)?;
    let opt = AdamW::new(
        vars,
        ParamsAdamW {
            lr: s.learning_rate,
            weight_decay: s.weight_decay,
            ..ParamsAdamW::default()
        },
    )?;
    Ok((heads, opt))
}

/// Fisher-Yates with xorshift: the same seed gives the same order (both
/// trainers shuffle their examples with it every epoch).
fn shuffle<T>(order: &mut [T], rng: &mut u64) {
    for i in (1..order.len()).rev() {
        *rng ^= *rng << 13;
        *rng ^= *rng >> 7;
        *rng ^= *rng << 17;
        order.swap(i, (*rng % (i as u64 + 1)) as usize);
    }
}

/// Trains the heads together with the encoder's trainable top layers
/// (`encoder` loaded with `Trainable::TopLayers`): every minibatch runs the
/// encoder with gradients, so nothing is cached. The encoder's vars hold
/// the tuned weights afterwards.
pub fn finetune(
    encoder: &Encoder,
    examples: &[Example],
    s: Settings,
    encoder_learning_rate: f64,
) -> CResult<(Heads, Vec<f32>)> {
    let device = encoder.device.clone();
    let (heads, mut opt_heads) = new_heads(encoder.dim(), &s, &device)?;
    let enc_vars = encoder.bert.vars().iter().map(|(_, v)| v.clone()).collect();
    let mut opt_enc = AdamW::new(
        enc_vars,
        ParamsAdamW {
            lr: encoder_learning_rate,
            weight_decay: 0.0,
            ..ParamsAdamW::default()
        },
    )?;
    let mut order: Vec<usize> = (0..examples.len()).collect();
    let mut rng = s.seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut losses = Vec::with_capacity(s.epochs);
    for _ in 0..s.epochs {
        shuffle(&mut order, &mut rng);
        let (mut total, mut batches) = (0f32, 0usize);
        for chunk in order.chunks(s.batch.max(1)) {
            let batch: Vec<Example> = chunk.iter().map(|i| examples[*i].clone()).collect();
            let goals: Vec<&str> = batch.iter().map(|e| e.input.goal.as_str()).collect();
            let actions: Vec<&str> = batch.iter().map(|e| e.input.action.as_str()).collect();
            let inputs: Vec<StepInput> = batch.iter().map(|e| e.input.clone()).collect();
            let x = Heads::features(
                &encoder.embed_tensor(&goals, true)?,
                &encoder.embed_tensor(&actions, true)?,
                &extra_tensor(&inputs, &device)?,
            )?;
            let (y, c, m) = targets(&batch, &device)?;
            let l = loss(&heads, &x, &y, &c, &m)?;
            let grads = l.backward()?;
            opt_heads.step(&grads)?;
            opt_enc.step(&grads)?;
            total += l.to_scalar::<f32>()?;
            batches += 1;
        }
        losses.push(total / batches.max(1) as f32);
    }
    Ok((heads.detached(), losses))
}

/// Everything a tier-2 training run needs.
#[derive(Debug)]
pub struct Job<'a> {
    /// Training cases.
    pub train: &'a [TaggedCase],
    /// Validation cases (thresholds).
    pub val: &'a [TaggedCase],
    /// Held-out test cases (metrics for the model card), if any.
    pub test: Option<&'a [TaggedCase]>,
    /// Tier-1 guard whose outputs are features (and which the cascade
    /// runs first).
    pub tier1: Guard,
    /// The encoder (frozen).
    pub encoder: Encoder,
    /// Name recorded in the metadata.
    pub encoder_name: String,
    /// sha256 of the encoder's weights, when known.
    pub encoder_sha256: Option<String>,
    /// Tier-1 risk band escalated to tier 2.
    pub band: [f32; 2],
    /// Heads settings.
    pub settings: Settings,
    /// Embedding cache file (frozen encoder only).
    pub cache: Option<std::path::PathBuf>,
    /// Top encoder layers fine-tuned with the heads (the encoder must be
    /// loaded with `Trainable::TopLayers` of the same count); 0 = frozen.
    pub finetune_layers: usize,
    /// AdamW learning rate of the fine-tuned encoder layers.
    pub encoder_learning_rate: f64,
}

/// Evaluation of one split: tier 1 alone, the cascade, tier 2 on every step.
#[derive(Debug, Clone)]
pub struct SplitReports {
    /// Tier 1 alone (its own thresholds).
    pub tier1: Report,
    /// Tier 1, tier 2 in the band.
    pub cascade: Report,
    /// Tier 2 on every step.
    pub always: Report,
    /// Share of proposed steps the band escalated.
    pub escalated: f64,
}

/// A training run's result.
#[derive(Debug)]
pub struct Trained {
    /// Heads and metadata.
    pub model: Tier2Model,
    /// Mean loss per epoch.
    pub losses: Vec<f32>,
    /// Validation reports.
    pub val: SplitReports,
    /// Test reports.
    pub test: Option<SplitReports>,
    /// Texts embedded (not found in the cache).
    pub embedded_texts: usize,
}

/// Trains heads, calibrates thresholds on validation, reports.
pub fn run(job: Job<'_>) -> Result<Trained, String> {
    let Job {
        train,
        val,
        test,
        mut tier1,
        encoder,
        encoder_name,
        encoder_sha256,
        band,
        settings,
        cache,
        finetune_layers,
        encoder_learning_rate,
    } = job;
    let e = |e: candle_core::Error| e.to_string();
    let tag = format!(
        "{encoder_name}:{}",
        encoder_sha256.as_deref().unwrap_or("?")
    );
    let mut emb = cache
        .as_deref()
        .map(|p| EmbeddingCache::load(p, &tag))
        .unwrap_or_default();
    let ex = examples(train, &tier1.tier1);
    let dim = encoder.dim();
    let (heads, losses, encoder_overrides) = if finetune_layers == 0 {
        let x = features(&encoder, &mut emb, &ex).map_err(e)?;
        if let Some(p) = &cache {
            emb.save(p, &tag)
                .map_err(|err| format!("{}: {err}", p.display()))?;
        }
        let (h, l) = train_heads(&x, &ex, dim, settings).map_err(e)?;
        (h, l, HashMap::new())
    } else {
        let (h, l) = finetune(&encoder, &ex, settings, encoder_learning_rate).map_err(e)?;
        let overrides = encoder
            .bert
            .vars()
            .iter()
            .map(|(n, v)| (n.clone(), v.as_tensor().detach()))
            .collect();
        (h, l, overrides)
    };
    let engine = Arc::new(Engine::new(encoder, heads));
    let batcher =
        batcher::spawn(Arc::clone(&engine), BatchSettings::default()).map_err(|e| e.to_string())?;
    let tier1_thresholds = tier1.meta.thresholds;
    let tier1_id = tier1.meta.model_id.clone();
    let scorer = |b: &BatcherHandle| {
        Box::new(Tier2Scorer::new(
            tier1.tier1.clone(),
            b.clone(),
            String::new(),
        ))
    };
    let next_band = scorer(&batcher);
    let next_always = scorer(&batcher);
    // Validation: calibrate the cascade's and tier 2's thresholds.
    let val_t1 = records(&tier1, val);
    let escalated_val = share_in_band(&tier1, val, band);
    tier1 = tier1.with_next(next_band, Escalation::Band(band));
    let val_c = records(&tier1, val);
    let next_band = tier1.next.take();
    tier1 = tier1.with_next(next_always, Escalation::Always);
    let val_a = records(&tier1, val);
    let next_always = tier1.next.take();
    let benign =
        |r: &[Record]| -> Vec<f32> { r.iter().filter(|r| !r.malicious).map(|r| r.score).collect() };
    let thresholds = thresholds::calibrate(&benign(&val_c));
    let thresholds_always = thresholds::calibrate(&benign(&val_a));
    let val_reports = SplitReports {
        tier1: report(&val_t1, &tier1_thresholds),
        cascade: report(&val_c, &thresholds),
        always: report(&val_a, &thresholds_always),
        escalated: escalated_val,
    };
    let test_reports = test.map(|te| {
        tier1.next = None;
        let t1 = records(&tier1, te);
        let escalated = share_in_band(&tier1, te, band);
        tier1.next = next_band;
        tier1.escalation = Escalation::Band(band);
        let c = records(&tier1, te);
        tier1.next = next_always;
        tier1.escalation = Escalation::Always;
        let a = records(&tier1, te);
        SplitReports {
            tier1: report(&t1, &tier1_thresholds),
            cascade: report(&c, &thresholds),
            always: report(&a, &thresholds_always),
            escalated,
        }
    });
    let mut metrics = serde_json::json!({
        "validation": {"tier1": val_reports.tier1.summary(), "cascade": val_reports.cascade.summary(),
            "always": val_reports.always.summary(), "escalated_steps": val_reports.escalated},
    });
    if let Some(t) = &test_reports {
        metrics["test"] = serde_json::json!({"tier1": t.tier1.summary(), "cascade": t.cascade.summary(),
            "always": t.always.summary(), "escalated_steps": t.escalated});
    }
    let mut model = Tier2Model {
        heads: engine.heads.clone(),
        meta: Tier2Meta {
            format: META_FORMAT.into(),
            model_id: String::new(),
            input_version: INPUT_VERSION,
            encoder: EncoderInfo {
                name: encoder_name,
                dim,
                model_sha256: encoder_sha256,
            },
            extra: EXTRA,
            tier1_model_id: tier1_id,
            band,
            thresholds,
            thresholds_always,
            target_fpr: TARGETS.iter().map(|(n, a)| ((*n).to_owned(), *a)).collect(),
            finetuned_layers: finetune_layers,
            training: serde_json::Value::Null,
            metrics,
        },
        encoder_overrides,
    };
    let digest = crate::datagen::rng::fnv1a(&model.weights_bytes()?);
    model.meta.model_id = format!("guard-t2-{digest:016x}");
    model.meta.training = serde_json::json!({
        "algorithm": if finetune_layers == 0 {
            "AdamW; BCE on risk + cross-entropy on category (malicious steps); frozen encoder, cached embeddings".to_owned()
        } else {
            format!("AdamW; BCE on risk + cross-entropy on category (malicious steps); top {finetune_layers} encoder layer(s) fine-tuned at learning rate {encoder_learning_rate}")
        },
        "epochs": settings.epochs, "learning_rate": settings.learning_rate,
        "weight_decay": settings.weight_decay, "hidden": settings.hidden,
        "batch": settings.batch, "seed": settings.seed,
        "train_cases": train.len(), "train_steps": ex.len(), "val_cases": val.len(),
        "final_train_loss": losses.last().copied().unwrap_or(0.0),
    });
    Ok(Trained {
        model,
        losses,
        val: val_reports,
        test: test_reports,
        embedded_texts: emb.computed,
    })
}

/// Share of proposed steps whose tier-1 risk is in `band`.
fn share_in_band(guard: &Guard, cases: &[TaggedCase], band: [f32; 2]) -> f64 {
    let (mut inside, mut all) = (0usize, 0usize);
    for tc in cases {
        let graph = ActionGraph::build(&tc.case.plan);
        for s in tc.case.plan.steps.iter().filter(|s| s.is_proposed()) {
            all += 1;
            if Escalation::Band(band).escalates(guard.tier1.score_step(&graph, s.index).risk) {
                inside += 1;
            }
        }
    }
    inside as f64 / all.max(1) as f64
}
