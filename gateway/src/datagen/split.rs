//! Train / validation / test split BY FAMILY (template × domain): every
//! case of a family lands in the same split, so the test split measures
//! generalization to scenarios never seen in training. Within each
//! template, its domain families are shuffled by seed and dealt out, so
//! every template's mechanism is trained on some domains and tested on
//! others.

use std::collections::BTreeMap;

use super::rng::Rng;

/// Which split a family belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Split {
    /// Training.
    Train,
    /// Threshold calibration and early checks.
    Val,
    /// Held-out evaluation.
    Test,
}

impl Split {
    /// `train`, `val`, `test`.
    pub fn name(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Val => "val",
            Split::Test => "test",
        }
    }
}

/// Assigns each `(template, domain)` family a split. With `n` domains for
/// a template: about 20% go to test and 15% to val (at least one each when
/// `n >= 3`), the rest to train.
pub fn assign(
    seed: u64,
    families: &[(&'static str, &'static str)],
) -> BTreeMap<(&'static str, &'static str), Split> {
    let mut by_template: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (t, d) in families {
        by_template.entry(t).or_default().push(d);
    }
    let mut out = BTreeMap::new();
    for (template, mut domains) in by_template {
        domains.sort_unstable();
        Rng::derive(seed, template).shuffle(&mut domains);
        let n = domains.len();
        let (n_test, n_val) = if n >= 3 {
            (
                ((n as f64) * 0.2).round().max(1.0) as usize,
                ((n as f64) * 0.15).round().max(1.0) as usize,
            )
        } else {
            (0, 0)
        };
        for (i, d) in domains.into_iter().enumerate() {
            let split = if i < n_test {
                Split::Test
            } else if i < n_test + n_val {
                Split::Val
            } else {
                Split::Train
            };
            let key = families
                .iter()
                .find(|(t, dd)| *t == template && *dd == d)
                .copied();
            if let Some(key) = key {
                out.insert(key, split);
            }
        }
    }
    out
}
