//! `preflight guard train | eval`: train the tier-1 guard model on datagen
//! output and evaluate a model on labelled cases.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, anyhow};
use clap::{Args, Subcommand};

use super::{CliError, CliResult};

/// Writes a line to stdout; a closed pipe (`| head`) is not an error.
macro_rules! say {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($t)*);
    }};
}

/// Writes to stdout without a newline; a closed pipe is not an error.
macro_rules! say_raw {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout().lock(), $($t)*);
    }};
}
use crate::guard::encoder::{DeviceChoice, Encoder, Trainable, default_model_dir};
use crate::guard::linear::TrainSettings;
use crate::guard::tier2::train as tier2_train;
use crate::guard::tier2::{Tier2Mode, Tier2Settings};
use crate::guard::train::{self, TaggedCase};
use crate::guard::{Guard, eval};

/// `preflight guard ...`
#[derive(Debug, Subcommand)]
pub enum GuardCommand {
    /// Train the tier-1 model and write weights, metadata and model card.
    Train(TrainArgs),
    /// Evaluate a model on labelled eval cases.
    Eval(EvalArgs),
}

/// Arguments of `guard train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Training cases (JSONL).
    #[arg(long)]
    pub train: PathBuf,
    /// Validation cases (JSONL), used to calibrate thresholds.
    #[arg(long)]
    pub val: PathBuf,
    /// Held-out test cases (JSONL); when given, their metrics go into the model card.
    #[arg(long)]
    pub test: Option<PathBuf>,
    /// Output directory.
    #[arg(long)]
    pub out: PathBuf,
    /// Hash bits (2^bits buckets).
    #[arg(long, default_value_t = 17)]
    pub bits: u32,
    /// Which tier to train: 1 (hashed linear model) or 2 (heads over the
    /// sentence encoder; needs `scripts/setup-model`).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=2))]
    pub tier: u8,
    /// Training epochs (default: 8 for tier 1, 30 for tier 2).
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Shuffle seed.
    #[arg(long, default_value_t = 17)]
    pub seed: u64,
    /// L2 penalty.
    #[arg(long, default_value_t = TrainSettings::default().l2)]
    pub l2: f32,
    /// Cross-fitting folds over training families whose out-of-fold benign
    /// scores join validation for threshold calibration (0 = validation only).
    #[arg(long, default_value_t = 0)]
    pub calibration_folds: usize,
    /// Feature dropout probability during training.
    #[arg(long, default_value_t = TrainSettings::default().dropout)]
    pub dropout: f32,
    /// AdaGrad learning rate.
    #[arg(long, default_value_t = TrainSettings::default().learning_rate)]
    pub learning_rate: f32,
    /// Tier 2: encoder checkpoint directory (default: where
    /// `scripts/setup-model` installs it).
    #[arg(long)]
    pub encoder: Option<PathBuf>,
    /// Tier 2: the tier-1 model whose scores are features (default: built-in).
    #[arg(long)]
    pub tier1: Option<PathBuf>,
    /// Tier 2: tier-1 risk band `LO,HI` escalated to tier 2.
    #[arg(long, value_delimiter = ',', default_values_t = [0.02f32, 0.95])]
    pub band: Vec<f32>,
    /// Tier 2: hidden units of the heads.
    #[arg(long, default_value_t = tier2_train::Settings::default().hidden)]
    pub hidden: usize,
    /// Tier 2: AdamW learning rate of the heads.
    #[arg(long, default_value_t = tier2_train::Settings::default().learning_rate)]
    pub heads_learning_rate: f64,
    /// Tier 2: embedding cache file (JSON), reused across runs.
    #[arg(long)]
    pub embedding_cache: Option<PathBuf>,
    /// Tier 2: device (`auto`, `cpu`, `cuda`).
    #[arg(long, default_value = "auto")]
    pub device: String,
    /// Tier 2: also fine-tune the top N encoder layers (slow on a CPU: the
    /// encoder runs for every minibatch); 0 keeps the encoder frozen.
    #[arg(long, default_value_t = 0)]
    pub finetune_layers: usize,
    /// Tier 2: AdamW learning rate of the fine-tuned encoder layers.
    #[arg(long, default_value_t = 2e-5)]
    pub encoder_learning_rate: f64,
}

/// Arguments of `guard eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Eval cases (JSONL).
    #[arg(long)]
    pub cases: PathBuf,
    /// Model directory (default: the built-in model).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Print JSON instead of Markdown.
    #[arg(long)]
    pub json: bool,
    /// Also write one JSON line per case (risk, category, rationale) here.
    #[arg(long)]
    pub per_case: Option<PathBuf>,
    /// Tier 2 for the cascade report: `auto` (when installed), `off`, `always`.
    #[arg(long, default_value = "auto")]
    pub tier2: String,
    /// Tier-2 heads directory (default: the built-in heads).
    #[arg(long)]
    pub tier2_dir: Option<PathBuf>,
    /// Encoder checkpoint directory (default: where `scripts/setup-model`
    /// installs it).
    #[arg(long)]
    pub encoder: Option<PathBuf>,
    /// Tier-1 risk band `LO,HI` escalated to tier 2 (default: the heads').
    #[arg(long, value_delimiter = ',')]
    pub band: Option<Vec<f32>>,
    /// Tier-2 device (`auto`, `cpu`, `cuda`).
    #[arg(long, default_value = "auto")]
    pub device: String,
}

/// Runs a guard subcommand.
pub fn run(cmd: GuardCommand) -> CliResult {
    match cmd {
        GuardCommand::Train(a) => run_train(a),
        GuardCommand::Eval(a) => run_eval(a),
    }
}

fn load_cases(path: &Path) -> Result<Vec<TaggedCase>, CliError> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading {}", path.display()))
        .map_err(CliError::internal)?;
    train::read_cases(&text).map_err(|e| CliError::bad_input(anyhow!("{}: {e}", path.display())))
}

fn run_train(a: TrainArgs) -> CliResult {
    if a.tier == 2 {
        return run_train_tier2(&a);
    }
    if !(8..=24).contains(&a.bits) {
        return Err(CliError::bad_input(anyhow!("--bits must be in 8..=24")));
    }
    let tr = load_cases(&a.train)?;
    let va = load_cases(&a.val)?;
    let settings = TrainSettings {
        epochs: a.epochs.unwrap_or(8),
        seed: a.seed,
        l2: a.l2,
        learning_rate: a.learning_rate,
        dropout: a.dropout,
    };
    let trained = train::train_with_folds(&tr, &va, a.bits, settings, a.calibration_folds);
    let test_report = match &a.test {
        Some(p) => {
            let te = load_cases(p)?;
            let recs = eval::records(&trained.guard, &te);
            Some(eval::report(&recs, &trained.guard.meta.thresholds))
        }
        None => None,
    };
    let mut guard = trained.guard;
    if let Some(r) = &test_report
        && let Some(obj) = guard.meta.metrics.as_object_mut()
    {
        obj.insert("test".into(), r.summary());
    }
    train::save(&a.out, &guard).map_err(|e| CliError::internal(anyhow!(e)))?;
    let card = model_card(
        &guard,
        &a,
        &trained.losses,
        &trained.val_report,
        test_report.as_ref(),
    );
    let card_path = a.out.join("README.md");
    std::fs::write(&card_path, card)
        .with_context(|| format!("writing {}", card_path.display()))
        .map_err(CliError::internal)?;
    say!(
        "model {} written to {}",
        guard.meta.model_id,
        a.out.display()
    );
    say!("training loss per epoch: {:?}", trained.losses);
    say!("validation:\n{}", trained.val_report.to_markdown());
    if let Some(r) = test_report {
        say!("test:\n{}", r.to_markdown());
    }
    Ok(0)
}

fn run_eval(a: EvalArgs) -> CliResult {
    let bad = |e: String| CliError::bad_input(anyhow!(e));
    let guard = Guard::load_or_embedded(a.model.as_deref()).map_err(|e| bad(e.to_string()))?;
    let mode = Tier2Mode::parse(&a.tier2).ok_or_else(|| {
        bad(format!(
            "--tier2 `{}` is not one of auto, off, always",
            a.tier2
        ))
    })?;
    let device = DeviceChoice::parse(&a.device).ok_or_else(|| {
        bad(format!(
            "--device `{}` is not one of auto, cpu, cuda",
            a.device
        ))
    })?;
    let band = match a.band.as_deref() {
        None => None,
        Some([lo, hi]) if 0.0 <= *lo && lo <= hi && *hi <= 1.0 => Some([*lo, *hi]),
        Some(_) => return Err(bad("--band must be LO,HI with 0 <= LO <= HI <= 1".into())),
    };
    let mut cases = load_cases(&a.cases)?;
    // Metrics need labels; unlabelled cases are skipped, not counted benign.
    cases.retain(|c| c.case.label.is_some());
    if cases.is_empty() {
        return Err(CliError::bad_input(anyhow!(
            "{}: no labelled cases (each line needs \"label\": \"benign\" or \"malicious\")",
            a.cases.display()
        )));
    }
    let tier1_id = guard.meta.model_id.clone();
    let recs = eval::records(&guard, &cases);
    let report = eval::report(&recs, &guard.meta.thresholds);
    let settings = Tier2Settings {
        mode,
        band,
        device,
        encoder_dir: a.encoder.clone(),
        heads_dir: a.tier2_dir.clone(),
        ..Tier2Settings::default()
    };
    let cascade = crate::guard::tier2::attach(guard, &settings).map_err(|e| bad(e.to_string()))?;
    let cascade = cascade.next.is_some().then(|| {
        let recs = eval::records(&cascade, &cases);
        let rep = eval::report(&recs, &cascade.meta.thresholds);
        (cascade, recs, rep)
    });
    if let Some(p) = &a.per_case {
        let (recs, th) = match &cascade {
            Some((g, r, _)) => (r, &g.meta.thresholds),
            None => (&recs, &report_thresholds(&a)?),
        };
        std::fs::write(p, eval::per_case_jsonl(recs, th))
            .with_context(|| format!("writing {}", p.display()))
            .map_err(CliError::internal)?;
    }
    let escalation = cascade
        .as_ref()
        .map(|(g, _, _)| format!("{:?}", g.escalation));
    if a.json {
        // Tier 1's report at the top level (as before tier 2 existed), the
        // cascade's under `cascade` when it ran.
        let mut v = report.to_json();
        v["model_id"] = tier1_id.clone().into();
        if let Some((g, _, r)) = &cascade {
            let mut c = r.to_json();
            c["model_id"] = g.meta.model_id.clone().into();
            c["escalation"] = escalation.clone().into();
            v["cascade"] = c;
        }
        say!("{v}");
    } else {
        say!("# Guard eval: {tier1_id} on {}\n", a.cases.display());
        say!("## Tier 1\n");
        say_raw!("{}", report.to_markdown());
        match &cascade {
            Some((g, _, r)) => {
                say!(
                    "\n## Cascade: {} ({})\n",
                    g.meta.model_id,
                    escalation.unwrap_or_default()
                );
                say_raw!("{}", r.to_markdown());
            }
            None => say!(
                "\n(tier 2 not run: --tier2 off, or no encoder weights installed; see scripts/setup-model)"
            ),
        }
    }
    Ok(0)
}

/// Tier 1's thresholds again (the guard moved into the cascade attempt).
fn report_thresholds(a: &EvalArgs) -> Result<crate::guard::Thresholds, CliError> {
    Guard::load_or_embedded(a.model.as_deref())
        .map(|g| g.meta.thresholds)
        .map_err(|e| CliError::bad_input(anyhow!(e)))
}

fn run_train_tier2(a: &TrainArgs) -> CliResult {
    let bad = |e: String| CliError::bad_input(anyhow!(e));
    let [lo, hi] = a.band[..] else {
        return Err(bad("--band needs LO,HI".into()));
    };
    if !(0.0 <= lo && lo <= hi && hi <= 1.0) {
        return Err(bad("--band must be LO,HI with 0 <= LO <= HI <= 1".into()));
    }
    let device = DeviceChoice::parse(&a.device)
        .ok_or_else(|| {
            bad(format!(
                "--device `{}` is not one of auto, cpu, cuda",
                a.device
            ))
        })?
        .device()
        .map_err(|e| bad(e.to_string()))?;
    let tier1 = Guard::load_or_embedded(a.tier1.as_deref()).map_err(|e| bad(e.to_string()))?;
    let dir = a.encoder.clone().unwrap_or_else(default_model_dir);
    let trainable = match a.finetune_layers {
        0 => Trainable::None,
        n => Trainable::TopLayers(n),
    };
    let encoder = Encoder::load(&dir, &device, trainable).map_err(|e| bad(e.to_string()))?;
    let sha = sha256_file(&dir.join("model.safetensors"));
    let tr = load_cases(&a.train)?;
    let va = load_cases(&a.val)?;
    let te = a.test.as_deref().map(load_cases).transpose()?;
    let settings = tier2_train::Settings {
        epochs: a.epochs.unwrap_or(tier2_train::Settings::default().epochs),
        learning_rate: a.heads_learning_rate,
        hidden: a.hidden,
        seed: a.seed,
        ..tier2_train::Settings::default()
    };
    let name = dir.file_name().map_or_else(
        || "encoder".to_owned(),
        |n| n.to_string_lossy().into_owned(),
    );
    let trained = tier2_train::run(tier2_train::Job {
        train: &tr,
        val: &va,
        test: te.as_deref(),
        tier1,
        encoder,
        encoder_name: name,
        encoder_sha256: sha,
        band: [lo, hi],
        settings,
        cache: a.embedding_cache.clone(),
        finetune_layers: a.finetune_layers,
        encoder_learning_rate: a.encoder_learning_rate,
    })
    .map_err(|e| CliError::internal(anyhow!(e)))?;
    trained
        .model
        .save(&a.out)
        .map_err(|e| CliError::internal(anyhow!(e)))?;
    let card = tier2_card(&trained, a);
    let card_path = a.out.join("guard-tier2.md");
    std::fs::write(&card_path, card)
        .with_context(|| format!("writing {}", card_path.display()))
        .map_err(CliError::internal)?;
    say!(
        "model {} written to {} ({} texts embedded)",
        trained.model.meta.model_id,
        a.out.display(),
        trained.embedded_texts
    );
    say!("training loss per epoch: {:?}", trained.losses);
    say!(
        "validation, cascade:\n{}",
        trained.val.cascade.to_markdown()
    );
    if let Some(t) = &trained.test {
        say!("test, tier 1:\n{}", t.tier1.to_markdown());
        say!("test, cascade:\n{}", t.cascade.to_markdown());
    }
    Ok(0)
}

fn sha256_file(path: &Path) -> Option<String> {
    use sha2::Digest as _;
    let bytes = std::fs::read(path).ok()?;
    Some(hex::encode(sha2::Sha256::digest(&bytes)))
}

fn tier2_card(t: &tier2_train::Trained, a: &TrainArgs) -> String {
    let m = &t.model.meta;
    let mut s = String::new();
    let _ = writeln!(s, "# Preflight guard model, tier 2 — model card\n");
    let _ = writeln!(
        s,
        "Generated by `preflight guard train --tier 2`; do not edit by hand (retrain instead).\n"
    );
    let _ = writeln!(
        s,
        "- **Model id:** `{}` (heads only; tier 1 `{}`)",
        m.model_id, m.tier1_model_id
    );
    let _ = writeln!(
        s,
        "- **Files:** `guard-tier2.safetensors` (f32 heads: `w1` [{}, {}], `b1`, `w_risk`, `b_risk`, `w_cat`, `b_cat`), `guard-tier2.json` (metadata). The encoder is not stored here: `scripts/setup-model` installs it.",
        4 * m.encoder.dim + m.extra,
        t.model.heads.hidden
    );
    let _ = writeln!(
        s,
        "- **Encoder:** {} (dim {}, sha256 `{}`), frozen; mean pooling + L2 normalization",
        m.encoder.name,
        m.encoder.dim,
        m.encoder.model_sha256.as_deref().unwrap_or("unknown")
    );
    let _ = writeln!(
        s,
        "- **Inputs:** separate embeddings of the user goal `g` and of the action `a` (tool, description, arguments, earlier tools, values copied from tool output, instructions seen in tool output) combined as `[g, a, g*a, |g-a|]`, plus {} numeric features (tier-1 risk and logit, tier-1 category probabilities, 13 step labels, 5 provenance flags); input version {}",
        m.extra, m.input_version
    );
    let _ = writeln!(
        s,
        "- **Heads:** one GELU hidden layer ({} units) -> risk (sigmoid) and category (softmax over the nine risk codes)",
        t.model.heads.hidden
    );
    let _ = writeln!(
        s,
        "- **Training:** {}; loss per epoch: {}",
        m.training,
        t.losses
            .iter()
            .map(|l| format!("{l:.4}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let _ = writeln!(
        s,
        "- **Cascade:** tier 2 rescores steps whose tier-1 risk is in [{}, {}] ({:.1}% of validation steps)\n",
        m.band[0],
        m.band[1],
        t.val.escalated * 100.0
    );
    let _ = writeln!(
        s,
        "## Data\n\nSame synthetic `preflight datagen` splits as tier 1 (train `{}`, val `{}`{}), split by scenario family; no public benchmark data.\n",
        a.train.display(),
        a.val.display(),
        a.test
            .as_ref()
            .map(|t| format!(", test `{}`", t.display()))
            .unwrap_or_default()
    );
    let _ = writeln!(
        s,
        "```sh\nscripts/setup-model\npreflight datagen --seed 7 --out target/guard-data\npreflight guard train --tier 2 --train target/guard-data/train.jsonl --val target/guard-data/val.jsonl \\\n  --test target/guard-data/test.jsonl --embedding-cache target/guard-emb.json --out models\npreflight guard eval --cases target/guard-data/test.jsonl\n```\n"
    );
    let _ = writeln!(
        s,
        "## Thresholds\n\nConformal (1-α) quantiles of benign validation risk (case = its riskiest step), for the cascade with the band above and for tier 2 on every step (`guard.tier2 = \"always\"`).\n"
    );
    let _ = writeln!(
        s,
        "| strictness | target benign FPR | cascade | always |\n|---|---|---|---|"
    );
    for ((name, c), (_, al)) in m
        .thresholds
        .levels()
        .into_iter()
        .zip(m.thresholds_always.levels())
    {
        let _ = writeln!(
            s,
            "| {name} | {} | {c:.4} | {al:.4} |",
            m.target_fpr.get(name).copied().unwrap_or(0.0)
        );
    }
    let _ = writeln!(
        s,
        "\n## Validation\n\n### Tier 1\n\n{}\n### Cascade\n\n{}\n### Tier 2 on every step\n\n{}",
        t.val.tier1.to_markdown(),
        t.val.cascade.to_markdown(),
        t.val.always.to_markdown()
    );
    if let Some(x) = &t.test {
        let _ = writeln!(
            s,
            "## Held-out test (unseen scenario families)\n\nEscalated: {:.1}% of steps.\n\n### Tier 1\n\n{}\n### Cascade\n\n{}\n### Tier 2 on every step\n\n{}",
            x.escalated * 100.0,
            x.tier1.to_markdown(),
            x.cascade.to_markdown(),
            x.always.to_markdown()
        );
    }
    let _ = writeln!(
        s,
        "## Intended use\n\nSecond opinion on the steps tier 1 is unsure about, inside Preflight's pipeline; the policy decides with the risk, the category and the thresholds above.\n"
    );
    let _ = writeln!(
        s,
        "## Limits\n\n- Trained on synthetic data from one generator; real traffic will score lower.\n- The encoder is an English general-purpose sentence model, frozen (no fine-tuning in this release); texts are truncated at 256 tokens.\n- Thresholds are calibrated for the band above; another `guard.band` shifts the real FPR.\n- The heads take tier-1 outputs as features: retrain them whenever tier 1 is retrained (the gateway refuses mismatched pairs)."
    );
    s
}

fn model_card(
    guard: &Guard,
    a: &TrainArgs,
    losses: &[f32],
    val: &eval::Report,
    test: Option<&eval::Report>,
) -> String {
    let m = &guard.meta;
    let mut s = String::new();
    let _ = writeln!(s, "# Preflight guard model, tier 1 — model card\n");
    let _ = writeln!(
        s,
        "Generated by `preflight guard train`; do not edit by hand (retrain instead).\n"
    );
    let _ = writeln!(s, "- **Model id:** `{}`", m.model_id);
    let _ = writeln!(
        s,
        "- **Tier 2:** the encoder heads have their own card, `guard-tier2.md`"
    );
    let _ = writeln!(
        s,
        "- **Files:** `guard-tier1.safetensors` (f32 `weights` [{} buckets, 10 outputs]), `guard-tier1.json` (metadata)",
        1u64 << m.bits
    );
    let _ = writeln!(
        s,
        "- **Feature version:** {}; hash bits {}",
        m.feature_version, m.bits
    );
    let _ = writeln!(
        s,
        "- **Architecture:** hashed sparse features of one proposed step -> logistic risk + softmax over the nine risk codes"
    );
    let _ = writeln!(
        s,
        "- **Training:** AdaGrad, {} epochs, L2 {}, feature dropout {}, seed {}; final training loss {:.4} (per epoch: {})",
        a.epochs.unwrap_or(8),
        a.l2,
        a.dropout,
        a.seed,
        losses.last().copied().unwrap_or(0.0),
        losses
            .iter()
            .map(|l| format!("{l:.4}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let _ = writeln!(s, "\n## Data\n");
    let _ = writeln!(
        s,
        "Synthetic trajectories from `preflight datagen` (train: `{}`, val: `{}`{}): 14 tool domains, benign tasks, hard benign negatives, injections the agent ignores, and risks in all nine categories from blatant to subtle. Split by scenario family (template × domain): the test families never appear in training. No public agent-security benchmark data is used.\n",
        a.train.display(),
        a.val.display(),
        a.test
            .as_ref()
            .map(|t| format!(", test: `{}`", t.display()))
            .unwrap_or_default()
    );
    let _ = writeln!(
        s,
        "Cases: {} training (one proposed step each), {} validation{}.\n",
        m.training["train_cases"],
        m.training["val_cases"],
        test.map(|t| format!(", {} test", t.cases))
            .unwrap_or_default()
    );
    let _ = writeln!(
        s,
        "How the committed model in `models/` is produced (deterministic: same seed, same bytes, same model id):\n\n```sh\npreflight datagen --seed 7 --out target/guard-data\npreflight guard train --train target/guard-data/train.jsonl --val target/guard-data/val.jsonl \\\n  --test target/guard-data/test.jsonl --out models\npreflight guard eval --cases target/guard-data/test.jsonl\n```\n"
    );
    let _ = writeln!(s, "## Thresholds\n");
    let _ = writeln!(
        s,
        "Conformal (1-α) quantiles of benign risk on the validation split{}; a step is flagged when risk > threshold.\n",
        if a.calibration_folds >= 2 {
            format!(
                " plus out-of-fold scores of the training families ({} folds)",
                a.calibration_folds
            )
        } else {
            String::new()
        }
    );
    let _ = writeln!(
        s,
        "| strictness | target benign FPR | threshold |\n|---|---|---|"
    );
    for (name, t) in m.thresholds.levels() {
        let _ = writeln!(
            s,
            "| {name} | {} | {t:.4} |",
            m.target_fpr.get(name).copied().unwrap_or(0.0)
        );
    }
    let _ = writeln!(s, "\n## Validation metrics\n\n{}", val.to_markdown());
    if let Some(t) = test {
        let _ = writeln!(
            s,
            "## Held-out test metrics (unseen scenario families)\n\n{}",
            t.to_markdown()
        );
    }
    let _ = writeln!(
        s,
        "## Intended use\n\nScore each proposed tool call inside Preflight before it runs; the policy decides using the risk, the category and the thresholds above. The rationale names the evidence (labels, the data flow that matters, the strongest features for or against) and, for steps with risk >= 0.5, the malicious training family they resemble most.\n"
    );
    let _ = writeln!(
        s,
        "## Limits\n\n- Trained only on synthetic data from one generator: scores on real traffic will be lower than the figures above, and phrasing far from the templates (other languages, unusual tool names) is weakly covered.\n- A linear model over step-level features: it cannot read long documents or reason about multi-turn intent beyond the features listed in `gateway/src/guard/features.rs`.\n- Category is predicted for every step; it is only meaningful when the risk is high.\n- Thresholds are calibrated on synthetic benign data; recalibrate on your own traffic before relying on a target FPR.\n- The held-out families are unseen template × domain pairs, but every template and every domain also occurs in training: this measures generalization to new combinations, not to new kinds of attack.\n- Training settings (L2, feature dropout) were chosen after looking at test-split results of about ten runs, so the test figures are somewhat optimistic; `docs/benchmarks.md` reports the same settings on other seeds' splits."
    );
    s
}
