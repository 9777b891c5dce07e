//! Training pipeline: eval-case JSONL -> examples (one per proposed step,
//! labelled with its case's label and category) -> [`LinearModel::train`]
//! -> thresholds calibrated on the validation split -> model files.

use std::collections::BTreeMap;
use std::path::Path;

use preflight_adapters::adapters::eval_case::{self, CATEGORIES, Case};
use preflight_adapters::graph::ActionGraph;
use serde_json::{Value, json};

use super::eval::{self, Record};
use super::features::{self, FEATURE_VERSION, hash};
use super::linear::{Example, LinearModel, TrainSettings};
use super::store::{META_FORMAT, Metadata, Pattern};
use super::thresholds::{self, TARGETS};
use super::{Guard, GuardError, Tier1};

/// A case with the extra keys datagen writes (`tags`, `family`).
#[derive(Debug, Clone)]
pub struct TaggedCase {
    /// The case.
    pub case: Case,
    /// Slice markers (`injection_ignored`, `hard_negative`, ...).
    pub tags: Vec<String>,
    /// Scenario family, when given.
    pub family: Option<String>,
}

/// Reads a JSONL file of cases. Errors carry 1-based line numbers.
pub fn read_cases(text: &str) -> Result<Vec<TaggedCase>, String> {
    let parsed = eval_case::read_jsonl(text);
    let mut errors = Vec::new();
    let mut out = Vec::new();
    let lines = text
        .strip_prefix('\u{feff}')
        .unwrap_or(text)
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    for ((line_no, line), result) in lines.zip(parsed) {
        match result {
            Ok(case) => {
                let raw: Value = serde_json::from_str(line).unwrap_or(Value::Null);
                let tags = raw["tags"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_owned)
                            .collect()
                    })
                    .unwrap_or_default();
                let family = raw["family"].as_str().map(str::to_owned);
                out.push(TaggedCase { case, tags, family });
            }
            Err(e) => errors.push(format!("line {}: {}", line_no + 1, e.error)),
        }
        if errors.len() >= 10 {
            break;
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors.join("\n"))
    }
}

/// One example per proposed step.
pub fn examples(cases: &[TaggedCase], bits: u32) -> Vec<Example> {
    let mut out = Vec::new();
    let mut names = Vec::new();
    for tc in cases {
        let graph = ActionGraph::build(&tc.case.plan);
        let category = tc
            .case
            .category
            .as_deref()
            .and_then(|c| CATEGORIES.iter().position(|x| *x == c));
        for step in tc.case.plan.steps.iter().filter(|s| s.is_proposed()) {
            features::extract(&graph, step.index, &mut names);
            out.push(Example {
                features: names.iter().map(|n| hash(n, bits)).collect(),
                malicious: tc.case.is_malicious(),
                category: if tc.case.is_malicious() {
                    category
                } else {
                    None
                },
            });
        }
    }
    out
}

/// Typical features of each training family: buckets present in at least
/// half of its steps, the 32 most frequent, sorted.
pub fn patterns(cases: &[TaggedCase], bits: u32) -> Vec<Pattern> {
    let mut by_family: BTreeMap<&str, (bool, usize, BTreeMap<u32, usize>)> = BTreeMap::new();
    let mut names = Vec::new();
    for tc in cases {
        let Some(family) = tc.family.as_deref() else {
            continue;
        };
        let graph = ActionGraph::build(&tc.case.plan);
        let entry = by_family
            .entry(family)
            .or_insert_with(|| (tc.case.is_malicious(), 0, BTreeMap::new()));
        for step in tc.case.plan.steps.iter().filter(|s| s.is_proposed()) {
            features::extract(&graph, step.index, &mut names);
            let mut seen: Vec<u32> = names
                .iter()
                .filter(|n| *n != "bias")
                .map(|n| hash(n, bits).index)
                .collect();
            seen.sort_unstable();
            seen.dedup();
            entry.1 += 1;
            for b in seen {
                *entry.2.entry(b).or_default() += 1;
            }
        }
    }
    by_family
        .into_iter()
        .map(|(family, (malicious, steps, counts))| {
            let mut common: Vec<(usize, u32)> = counts
                .into_iter()
                .filter(|(_, c)| 2 * c >= steps)
                .map(|(b, c)| (c, b))
                .collect();
            common.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
            let mut features: Vec<u32> = common.into_iter().take(32).map(|(_, b)| b).collect();
            features.sort_unstable();
            Pattern {
                family: family.to_owned(),
                malicious,
                features,
            }
        })
        .collect()
}

/// What training produced.
#[derive(Debug)]
pub struct Trained {
    /// The guard, ready to score.
    pub guard: Guard,
    /// Training loss after each epoch.
    pub losses: Vec<f32>,
    /// Validation evaluation.
    pub val_report: eval::Report,
}

/// Trains on `train`, calibrates thresholds on `val`.
pub fn train(
    train: &[TaggedCase],
    val: &[TaggedCase],
    bits: u32,
    settings: TrainSettings,
) -> Trained {
    train_with_folds(train, val, bits, settings, 0)
}

fn unscored_guard(model: LinearModel, bits: u32) -> Guard {
    Guard {
        tier1: Tier1::new(model, Vec::new()),
        meta: Metadata {
            format: META_FORMAT.into(),
            model_id: String::new(),
            feature_version: FEATURE_VERSION,
            bits,
            categories: CATEGORIES.iter().map(|c| (*c).to_owned()).collect(),
            thresholds: thresholds::calibrate(&[]),
            target_fpr: TARGETS.iter().map(|(n, a)| ((*n).to_owned(), *a)).collect(),
            escalation_band: None,
            training: json!({}),
            metrics: json!({}),
            patterns: Vec::new(),
        },
        next: None,
        escalation: super::Escalation::Never,
    }
}

/// Benign risk scores of training cases from models that never saw their
/// family: the training families are dealt into `folds` groups by a hash
/// of the family name, and each group is scored by a model trained on the
/// others (cross-fitting). Cases without a family count as their own.
pub fn out_of_fold_benign(
    train: &[TaggedCase],
    bits: u32,
    settings: TrainSettings,
    folds: usize,
) -> Vec<f32> {
    if folds < 2 {
        return Vec::new();
    }
    let fold_of = |tc: &TaggedCase| {
        let key = tc.family.as_deref().unwrap_or(&tc.case.id);
        (crate::datagen::rng::fnv1a(key.as_bytes()) % folds as u64) as usize
    };
    let mut scores = Vec::new();
    for k in 0..folds {
        let (held, rest): (Vec<TaggedCase>, Vec<TaggedCase>) =
            train.iter().cloned().partition(|tc| fold_of(tc) == k);
        if held.is_empty() || rest.is_empty() {
            continue;
        }
        let mut model = LinearModel::zeros(bits);
        model.train(&examples(&rest, bits), settings);
        let benign: Vec<TaggedCase> = held
            .into_iter()
            .filter(|tc| !tc.case.is_malicious())
            .collect();
        scores.extend(
            eval::records(&unscored_guard(model, bits), &benign)
                .iter()
                .map(|r| r.score),
        );
    }
    scores
}

/// Trains on `train`; calibrates thresholds on the benign scores of `val`
/// plus, when `folds >= 2`, out-of-fold benign scores of `train`
/// ([`out_of_fold_benign`]): many more families decide the threshold, so
/// one odd family cannot set it alone.
pub fn train_with_folds(
    train: &[TaggedCase],
    val: &[TaggedCase],
    bits: u32,
    settings: TrainSettings,
    folds: usize,
) -> Trained {
    let data = examples(train, bits);
    let mut model = LinearModel::zeros(bits);
    let losses = model.train(&data, settings);
    let provisional = unscored_guard(model, bits);
    let records: Vec<Record> = eval::records(&provisional, val);
    let benign: Vec<f32> = records
        .iter()
        .filter(|r| !r.malicious)
        .map(|r| r.score)
        .collect();
    let mut calibration = benign;
    let oof = out_of_fold_benign(train, bits, settings, folds);
    let oof_count = oof.len();
    calibration.extend(oof);
    let mut guard = provisional;
    guard.meta.thresholds = thresholds::calibrate(&calibration);
    let val_report = eval::report(&records, &guard.meta.thresholds);
    let digest = crate::datagen::rng::fnv1a(
        &guard
            .tier1
            .model
            .weights
            .iter()
            .flat_map(|w| w.to_le_bytes())
            .collect::<Vec<u8>>(),
    );
    guard.meta.model_id = format!("guard-t1-{digest:016x}");
    guard.meta.training = json!({
        "algorithm": "AdaGrad, class-balanced logistic risk + softmax category, L2 on touched weights",
        "epochs": settings.epochs,
        "learning_rate": settings.learning_rate,
        "l2": settings.l2,
        "dropout": settings.dropout,
        "seed": settings.seed,
        "train_cases": train.len(),
        "train_steps": data.len(),
        "val_cases": val.len(),
        "calibration": {"folds": folds, "out_of_fold_benign_scores": oof_count, "val_benign_scores": calibration.len() - oof_count},
        "final_train_loss": losses.last().copied().unwrap_or(0.0),
    });
    guard.meta.metrics = json!({"validation": val_report.summary()});
    guard.meta.patterns = patterns(train, bits);
    let model = std::mem::replace(&mut guard.tier1.model, LinearModel::zeros(0));
    guard.tier1 = Tier1::new(model, guard.meta.patterns.clone());
    Trained {
        guard,
        losses,
        val_report,
    }
}

/// Writes a trained guard to `dir`.
pub fn save(dir: &Path, guard: &Guard) -> Result<(), GuardError> {
    super::store::save(dir, &guard.tier1.model, &guard.meta)
}
