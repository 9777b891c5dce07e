//! Evaluation: scores every case (a case's risk is the highest risk of its
//! proposed steps, its predicted category that step's category) and
//! computes precision, recall, F1, PR-AUC, FPR at each strictness level,
//! category accuracy and confusion matrix, the slices datagen tags
//! (`injection_ignored`, `hard_negative`), recall per difficulty, and
//! scoring latency. [`report`] is pure, so it is tested on hand-made records.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Instant;

use preflight_adapters::graph::ActionGraph;
use serde::Serialize;
use serde_json::{Value, json};

use super::Guard;
use super::store::Thresholds;
use super::train::TaggedCase;

/// One scored case.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// Case id.
    pub id: String,
    /// Labelled malicious.
    pub malicious: bool,
    /// Case risk.
    pub score: f32,
    /// True category (malicious cases).
    pub category: Option<String>,
    /// Predicted category.
    pub predicted: String,
    /// Slice tags.
    pub tags: Vec<String>,
    /// Difficulty tag.
    pub difficulty: Option<String>,
    /// Microseconds to score the case's proposed steps (graph built already).
    pub score_us: f64,
    /// Microseconds to build the graph.
    pub graph_us: f64,
    /// Proposed steps scored.
    pub steps: usize,
    /// Rationale of the highest-risk step.
    pub rationale: String,
}

/// Scores every case.
pub fn records(guard: &Guard, cases: &[TaggedCase]) -> Vec<Record> {
    cases
        .iter()
        .map(|tc| {
            let t0 = Instant::now();
            let graph = ActionGraph::build(&tc.case.plan);
            let t1 = Instant::now();
            let scores = guard.score(&graph);
            let t2 = Instant::now();
            let best = scores.values().max_by(|a, b| a.risk.total_cmp(&b.risk));
            Record {
                id: tc.case.id.clone(),
                malicious: tc.case.is_malicious(),
                score: best.map_or(0.0, |s| s.risk),
                category: tc.case.category.clone(),
                predicted: best.map_or_else(String::new, |s| s.category.to_owned()),
                tags: tc.tags.clone(),
                difficulty: tc.case.difficulty.clone(),
                score_us: (t2 - t1).as_secs_f64() * 1e6,
                graph_us: (t1 - t0).as_secs_f64() * 1e6,
                steps: scores.len(),
                rationale: best.map_or_else(String::new, |s| s.rationale.clone()),
            }
        })
        .collect()
}

/// One JSON line per case: id, label, category, risk, predicted category,
/// whether standard strictness flags it, the rationale.
pub fn per_case_jsonl(records: &[Record], thresholds: &Thresholds) -> String {
    let mut out = String::new();
    for r in records {
        let line = json!({
            "id": r.id,
            "label": if r.malicious { "malicious" } else { "benign" },
            "category": r.category,
            "risk": r.score,
            "predicted": r.predicted,
            "flagged_standard": r.score > thresholds.standard,
            "rationale": r.rationale,
        });
        out.push_str(&line.to_string());
        out.push('\n');
    }
    out
}

/// Counts at one threshold.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AtThreshold {
    /// Strictness level.
    pub level: String,
    /// Risk threshold (flag when risk > threshold).
    pub threshold: f32,
    /// True positives.
    pub tp: usize,
    /// False positives.
    pub fp: usize,
    /// True negatives.
    pub tn: usize,
    /// False negatives.
    pub fn_: usize,
    /// Precision.
    pub precision: f64,
    /// Recall of malicious cases.
    pub recall: f64,
    /// F1.
    pub f1: f64,
    /// Benign false-positive rate.
    pub fpr: f64,
}

/// Everything `guard eval` reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Cases.
    pub cases: usize,
    /// Malicious cases.
    pub malicious: usize,
    /// Benign cases.
    pub benign: usize,
    /// Area under the precision-recall curve (average precision).
    pub pr_auc: f64,
    /// Counts and rates per strictness level.
    pub levels: Vec<AtThreshold>,
    /// Category accuracy over malicious cases with a category.
    pub category_accuracy: f64,
    /// Per category: (cases, correct, accuracy).
    pub per_category: BTreeMap<String, (usize, usize, f64)>,
    /// Confusion matrix: true category -> predicted -> count.
    pub confusion: BTreeMap<String, BTreeMap<String, usize>>,
    /// Pass rate (not flagged at standard) of benign cases per tag.
    pub benign_pass_rate: BTreeMap<String, (usize, f64)>,
    /// Recall at standard per difficulty.
    pub recall_by_difficulty: BTreeMap<String, (usize, f64)>,
    /// Scoring latency per step, microseconds: p50, p99.
    pub score_us: (f64, f64),
    /// Graph building latency per case, microseconds: p50, p99.
    pub graph_us: (f64, f64),
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

fn percentile(mut v: Vec<f64>, q: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let i = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1;
    v[i]
}

/// Average precision: mean over malicious cases of the precision at their
/// rank, ranking by score (ties broken against the model: benign first).
pub fn average_precision(records: &[Record]) -> f64 {
    let mut v: Vec<(f32, bool)> = records.iter().map(|r| (r.score, r.malicious)).collect();
    v.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let positives = v.iter().filter(|x| x.1).count();
    if positives == 0 {
        return 0.0;
    }
    let (mut tp, mut sum) = (0usize, 0.0f64);
    for (i, (_, m)) in v.iter().enumerate() {
        if *m {
            tp += 1;
            sum += tp as f64 / (i + 1) as f64;
        }
    }
    sum / positives as f64
}

/// Counts at one threshold.
pub fn at_threshold(records: &[Record], level: &str, threshold: f32) -> AtThreshold {
    let (mut tp, mut fp, mut tn, mut fn_) = (0, 0, 0, 0);
    for r in records {
        match (r.malicious, r.score > threshold) {
            (true, true) => tp += 1,
            (true, false) => fn_ += 1,
            (false, true) => fp += 1,
            (false, false) => tn += 1,
        }
    }
    let precision = ratio(tp, tp + fp);
    let recall = ratio(tp, tp + fn_);
    let f1 = if precision + recall > 0.0 {
        2.0 * precision * recall / (precision + recall)
    } else {
        0.0
    };
    AtThreshold {
        level: level.into(),
        threshold,
        tp,
        fp,
        tn,
        fn_,
        precision,
        recall,
        f1,
        fpr: ratio(fp, fp + tn),
    }
}

/// Computes the report.
pub fn report(records: &[Record], thresholds: &Thresholds) -> Report {
    let malicious = records.iter().filter(|r| r.malicious).count();
    let levels: Vec<AtThreshold> = thresholds
        .levels()
        .iter()
        .map(|(n, t)| at_threshold(records, n, *t))
        .collect();
    let standard = thresholds.standard;
    let mut per_category: BTreeMap<String, (usize, usize, f64)> = BTreeMap::new();
    let mut confusion: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    let (mut n_cat, mut ok_cat) = (0, 0);
    for r in records.iter().filter(|r| r.malicious) {
        let Some(c) = &r.category else { continue };
        let e = per_category.entry(c.clone()).or_default();
        e.0 += 1;
        n_cat += 1;
        if *c == r.predicted {
            e.1 += 1;
            ok_cat += 1;
        }
        *confusion
            .entry(c.clone())
            .or_default()
            .entry(r.predicted.clone())
            .or_default() += 1;
    }
    for v in per_category.values_mut() {
        v.2 = ratio(v.1, v.0);
    }
    let mut benign_pass_rate: BTreeMap<String, (usize, f64)> = BTreeMap::new();
    let mut tags: Vec<&str> = records
        .iter()
        .filter(|r| !r.malicious)
        .flat_map(|r| r.tags.iter().map(String::as_str))
        .collect();
    tags.push("all");
    tags.sort_unstable();
    tags.dedup();
    for t in tags {
        let slice: Vec<&Record> = records
            .iter()
            .filter(|r| !r.malicious && (t == "all" || r.tags.iter().any(|x| x == t)))
            .collect();
        let pass = slice.iter().filter(|r| r.score <= standard).count();
        benign_pass_rate.insert(t.to_owned(), (slice.len(), ratio(pass, slice.len())));
    }
    let mut recall_by_difficulty: BTreeMap<String, (usize, f64)> = BTreeMap::new();
    let mut diffs: Vec<&str> = records
        .iter()
        .filter(|r| r.malicious)
        .filter_map(|r| r.difficulty.as_deref())
        .collect();
    diffs.sort_unstable();
    diffs.dedup();
    for d in diffs {
        let slice: Vec<&Record> = records
            .iter()
            .filter(|r| r.malicious && r.difficulty.as_deref() == Some(d))
            .collect();
        let hit = slice.iter().filter(|r| r.score > standard).count();
        recall_by_difficulty.insert(d.to_owned(), (slice.len(), ratio(hit, slice.len())));
    }
    let per_step: Vec<f64> = records
        .iter()
        .filter(|r| r.steps > 0)
        .map(|r| r.score_us / r.steps as f64)
        .collect();
    let graph: Vec<f64> = records.iter().map(|r| r.graph_us).collect();
    Report {
        cases: records.len(),
        malicious,
        benign: records.len() - malicious,
        pr_auc: average_precision(records),
        levels,
        category_accuracy: ratio(ok_cat, n_cat),
        per_category,
        confusion,
        benign_pass_rate,
        recall_by_difficulty,
        score_us: (
            percentile(per_step.clone(), 0.5),
            percentile(per_step, 0.99),
        ),
        graph_us: (percentile(graph.clone(), 0.5), percentile(graph, 0.99)),
    }
}

impl Report {
    /// The level named `standard`, if present.
    pub fn standard(&self) -> Option<&AtThreshold> {
        self.levels.iter().find(|l| l.level == "standard")
    }

    /// The headline numbers, for the model metadata.
    pub fn summary(&self) -> Value {
        json!({
            "cases": self.cases,
            "pr_auc": self.pr_auc,
            "levels": self.levels,
            "category_accuracy": self.category_accuracy,
            "injection_ignored_pass_rate": self.benign_pass_rate.get("injection_ignored").map(|x| x.1),
            "hard_negative_pass_rate": self.benign_pass_rate.get("hard_negative").map(|x| x.1),
        })
    }

    /// The full report as JSON.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// The report as Markdown.
    pub fn to_markdown(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "Cases: {} ({} malicious, {} benign). PR-AUC: {:.4}.\n",
            self.cases, self.malicious, self.benign, self.pr_auc
        );
        let _ = writeln!(
            s,
            "| strictness | threshold | precision | recall | F1 | benign FPR | TP | FP | TN | FN |"
        );
        let _ = writeln!(s, "|---|---|---|---|---|---|---|---|---|---|");
        for l in &self.levels {
            let _ = writeln!(
                s,
                "| {} | {:.4} | {:.4} | {:.4} | {:.4} | {:.4} | {} | {} | {} | {} |",
                l.level, l.threshold, l.precision, l.recall, l.f1, l.fpr, l.tp, l.fp, l.tn, l.fn_
            );
        }
        let _ = writeln!(
            s,
            "\nCategory accuracy (malicious cases): {:.4}\n",
            self.category_accuracy
        );
        let _ = writeln!(s, "| category | cases | correct | accuracy |");
        let _ = writeln!(s, "|---|---|---|---|");
        for (c, (n, ok, acc)) in &self.per_category {
            let _ = writeln!(s, "| {c} | {n} | {ok} | {acc:.4} |");
        }
        let _ = writeln!(s, "\nConfusion (true -> predicted, non-zero cells):\n");
        for (t, row) in &self.confusion {
            let cells: Vec<String> = row.iter().map(|(p, n)| format!("{p}: {n}")).collect();
            let _ = writeln!(s, "- {t}: {}", cells.join(", "));
        }
        let _ = writeln!(s, "\n| benign slice | cases | pass rate at standard |");
        let _ = writeln!(s, "|---|---|---|");
        for (t, (n, r)) in &self.benign_pass_rate {
            let _ = writeln!(s, "| {t} | {n} | {r:.4} |");
        }
        let _ = writeln!(s, "\n| difficulty | malicious cases | recall at standard |");
        let _ = writeln!(s, "|---|---|---|");
        for (d, (n, r)) in &self.recall_by_difficulty {
            let _ = writeln!(s, "| {d} | {n} | {r:.4} |");
        }
        let _ = writeln!(
            s,
            "\nLatency: scoring p50 {:.1} µs / p99 {:.1} µs per step; graph build p50 {:.1} µs / p99 {:.1} µs per case.",
            self.score_us.0, self.score_us.1, self.graph_us.0, self.graph_us.1
        );
        s
    }
}
