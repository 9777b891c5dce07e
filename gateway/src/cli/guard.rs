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
use crate::guard::linear::TrainSettings;
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
    /// Training epochs.
    #[arg(long, default_value_t = 8)]
    pub epochs: usize,
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
    if !(8..=24).contains(&a.bits) {
        return Err(CliError::bad_input(anyhow!("--bits must be in 8..=24")));
    }
    let tr = load_cases(&a.train)?;
    let va = load_cases(&a.val)?;
    let settings = TrainSettings {
        epochs: a.epochs,
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
    let guard =
        Guard::load_or_embedded(a.model.as_deref()).map_err(|e| CliError::bad_input(anyhow!(e)))?;
    let mut cases = load_cases(&a.cases)?;
    // Metrics need labels; unlabelled cases are skipped, not counted benign.
    cases.retain(|c| c.case.label.is_some());
    if cases.is_empty() {
        return Err(CliError::bad_input(anyhow!(
            "{}: no labelled cases (each line needs \"label\": \"benign\" or \"malicious\")",
            a.cases.display()
        )));
    }
    let recs = eval::records(&guard, &cases);
    let report = eval::report(&recs, &guard.meta.thresholds);
    if let Some(p) = &a.per_case {
        std::fs::write(p, eval::per_case_jsonl(&recs, &guard.meta.thresholds))
            .with_context(|| format!("writing {}", p.display()))
            .map_err(CliError::internal)?;
    }
    if a.json {
        let mut v = report.to_json();
        if let Some(o) = v.as_object_mut() {
            o.insert("model_id".into(), guard.meta.model_id.clone().into());
        }
        say!("{v}");
    } else {
        say!(
            "# Guard eval: {} on {}\n",
            guard.meta.model_id,
            a.cases.display()
        );
        say_raw!("{}", report.to_markdown());
    }
    Ok(0)
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
        a.epochs,
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
