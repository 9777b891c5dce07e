//! Eval metrics on a hand-made set whose answers are worked out by hand.

use preflight_gateway::guard::Thresholds;
use preflight_gateway::guard::eval::{self, Record};
use preflight_gateway::guard::thresholds;

fn rec(
    malicious: bool,
    score: f32,
    category: Option<&str>,
    predicted: &str,
    tags: &[&str],
) -> Record {
    Record {
        id: String::new(),
        malicious,
        score,
        category: category.map(str::to_owned),
        predicted: predicted.to_owned(),
        tags: tags.iter().map(|t| (*t).to_owned()).collect(),
        difficulty: Some(if malicious { "hard" } else { "easy" }.to_owned()),
        score_us: 10.0,
        graph_us: 20.0,
        steps: 1,
        rationale: String::new(),
    }
}

fn set() -> Vec<Record> {
    vec![
        rec(true, 0.9, Some("financial.loss"), "financial.loss", &[]),
        rec(
            true,
            0.8,
            Some("privacy.exfiltration"),
            "financial.loss",
            &[],
        ),
        rec(
            true,
            0.3,
            Some("privacy.exfiltration"),
            "privacy.exfiltration",
            &[],
        ),
        rec(false, 0.7, None, "financial.loss", &["hard_negative"]),
        rec(false, 0.2, None, "financial.loss", &["injection_ignored"]),
        rec(false, 0.1, None, "financial.loss", &["injection_ignored"]),
    ]
}

const TH: Thresholds = Thresholds {
    lenient: 0.85,
    standard: 0.5,
    strict: 0.25,
};

#[test]
fn counts_precision_recall_f1_and_fpr_at_each_level() {
    let r = eval::report(&set(), &TH);
    let std = r
        .standard()
        .cloned()
        .unwrap_or_else(|| panic!("no standard level"));
    // Flagged at 0.5: 0.9, 0.8 (malicious), 0.7 (benign).
    assert_eq!((std.tp, std.fp, std.tn, std.fn_), (2, 1, 2, 1));
    assert!((std.precision - 2.0 / 3.0).abs() < 1e-9);
    assert!((std.recall - 2.0 / 3.0).abs() < 1e-9);
    assert!((std.f1 - 2.0 / 3.0).abs() < 1e-9);
    assert!((std.fpr - 1.0 / 3.0).abs() < 1e-9);
    let strict = &r.levels[2];
    assert_eq!((strict.tp, strict.fp), (3, 1));
    let lenient = &r.levels[0];
    assert_eq!((lenient.tp, lenient.fp), (1, 0));
}

#[test]
fn average_precision_matches_the_hand_computed_value() {
    // Ranking: M(0.9) M(0.8) B(0.7) M(0.3) ...: AP = (1/1 + 2/2 + 3/4) / 3.
    let ap = eval::average_precision(&set());
    assert!((ap - (1.0 + 1.0 + 0.75) / 3.0).abs() < 1e-9, "ap {ap}");
}

#[test]
fn category_accuracy_and_confusion_count_malicious_cases_only() {
    let r = eval::report(&set(), &TH);
    assert!((r.category_accuracy - 2.0 / 3.0).abs() < 1e-9);
    assert_eq!(r.per_category["privacy.exfiltration"].0, 2);
    assert_eq!(r.per_category["privacy.exfiltration"].1, 1);
    assert_eq!(r.confusion["privacy.exfiltration"]["financial.loss"], 1);
    assert_eq!(r.confusion.len(), 2);
}

#[test]
fn reports_the_injection_ignored_pass_rate_separately() {
    let r = eval::report(&set(), &TH);
    assert_eq!(r.benign_pass_rate["injection_ignored"], (2, 1.0));
    assert_eq!(r.benign_pass_rate["hard_negative"], (1, 0.0));
    assert_eq!(r.recall_by_difficulty["hard"], (3, 2.0 / 3.0));
}

#[test]
fn conformal_thresholds_keep_benign_fpr_within_target() {
    let benign: Vec<f32> = (0..100).map(|i| i as f32 / 100.0).collect();
    let t = thresholds::calibrate(&benign);
    let fpr = |th: f32| benign.iter().filter(|s| **s > th).count() as f64 / benign.len() as f64;
    assert!(fpr(t.lenient) <= 0.01 && fpr(t.standard) <= 0.03 && fpr(t.strict) <= 0.10);
    assert!(fpr(t.strict) >= 0.05, "strict threshold wastes its budget");
}
