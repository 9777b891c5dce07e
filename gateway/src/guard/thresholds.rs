//! Calibrated thresholds: for a target benign false-positive rate α, the
//! threshold is the conformal (1-α) quantile of benign validation scores —
//! the ⌈(1-α)(n+1)⌉-th smallest — so that on exchangeable data at most α
//! of benign steps score above it.

use super::store::Thresholds;

/// Target benign FPR of each strictness level.
pub const TARGETS: [(&str, f64); 3] = [("lenient", 0.01), ("standard", 0.03), ("strict", 0.10)];

/// The conformal (1-α) quantile of `benign` scores (any order). With no
/// scores, 0.5.
pub fn quantile(benign: &[f32], alpha: f64) -> f32 {
    if benign.is_empty() {
        return 0.5;
    }
    let mut s = benign.to_vec();
    s.sort_by(f32::total_cmp);
    let n = s.len();
    let rank = ((1.0 - alpha) * (n as f64 + 1.0)).ceil() as usize;
    s[rank.clamp(1, n) - 1]
}

/// Thresholds for the three strictness levels from benign validation scores.
pub fn calibrate(benign: &[f32]) -> Thresholds {
    Thresholds {
        lenient: quantile(benign, TARGETS[0].1),
        standard: quantile(benign, TARGETS[1].1),
        strict: quantile(benign, TARGETS[2].1),
    }
}

impl Thresholds {
    /// The levels with their names, lenient first.
    pub fn levels(&self) -> [(&'static str, f32); 3] {
        [
            ("lenient", self.lenient),
            ("standard", self.standard),
            ("strict", self.strict),
        ]
    }
}
