//! The tier-1 linear model: one logistic output for risk and a softmax over
//! the nine risk codes, sharing one hashed sparse input. Weights are laid
//! out bucket-major (`w[bucket * OUTPUTS + k]`, `k = 0` risk, `1..=9` the
//! categories) so one feature touches one contiguous run of floats.
//!
//! Training is AdaGrad on the sparse features with L2 on the weights it
//! touches, a fixed number of epochs, and a seeded shuffle: the same data
//! and settings give bit-identical weights.

use preflight_adapters::adapters::eval_case::CATEGORIES;

use super::features::Hashed;
use crate::datagen::rng::Rng;

/// Outputs per bucket: risk + one per category.
pub const OUTPUTS: usize = 1 + CATEGORIES.len();

/// A training example: hashed features, label, category index (malicious).
#[derive(Debug, Clone)]
pub struct Example {
    /// Hashed features.
    pub features: Vec<Hashed>,
    /// True for malicious.
    pub malicious: bool,
    /// Index into [`CATEGORIES`] for malicious examples with a category.
    pub category: Option<usize>,
}

/// Weights of the linear model.
#[derive(Debug, Clone, PartialEq)]
pub struct LinearModel {
    /// Hash bits: `2^bits` buckets.
    pub bits: u32,
    /// `2^bits * OUTPUTS` floats, bucket-major.
    pub weights: Vec<f32>,
}

/// Raw outputs for one step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Output {
    /// Probability the step is malicious.
    pub risk: f32,
    /// Softmax over [`CATEGORIES`].
    pub categories: [f32; CATEGORIES.len()],
}

/// Training settings.
#[derive(Debug, Clone, Copy)]
pub struct TrainSettings {
    /// Passes over the data.
    pub epochs: usize,
    /// AdaGrad base learning rate.
    pub learning_rate: f32,
    /// L2 penalty.
    pub l2: f32,
    /// Probability of dropping each feature of an example for one update
    /// (feature dropout): no single feature, such as a tool's name, can carry
    /// a decision alone, so structural evidence gets weight too.
    pub dropout: f32,
    /// Shuffle seed.
    pub seed: u64,
}

impl Default for TrainSettings {
    fn default() -> Self {
        TrainSettings {
            epochs: 8,
            learning_rate: 0.2,
            l2: 1e-4,
            dropout: 0.3,
            seed: 17,
        }
    }
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

impl LinearModel {
    /// All-zero weights.
    pub fn zeros(bits: u32) -> Self {
        LinearModel {
            bits,
            weights: vec![0.0; (1usize << bits) * OUTPUTS],
        }
    }

    /// Logits: `[risk, cat_1..cat_9]`.
    pub fn logits(&self, features: &[Hashed]) -> [f32; OUTPUTS] {
        let mut z = [0f32; OUTPUTS];
        for f in features {
            let base = f.index as usize * OUTPUTS;
            let Some(row) = self.weights.get(base..base + OUTPUTS) else {
                continue;
            };
            if f.positive {
                z.iter_mut().zip(row).for_each(|(a, w)| *a += w);
            } else {
                z.iter_mut().zip(row).for_each(|(a, w)| *a -= w);
            }
        }
        z
    }

    /// Risk and category distribution.
    pub fn forward(&self, features: &[Hashed]) -> Output {
        let z = self.logits(features);
        Output {
            risk: sigmoid(z[0]),
            categories: softmax(&z[1..]),
        }
    }

    /// Contribution of one feature to the risk logit.
    pub fn risk_weight(&self, f: Hashed) -> f32 {
        let w = self
            .weights
            .get(f.index as usize * OUTPUTS)
            .copied()
            .unwrap_or(0.0);
        if f.positive { w } else { -w }
    }

    /// Mean loss (risk log-loss + category cross-entropy on malicious).
    pub fn loss(&self, data: &[Example]) -> f32 {
        if data.is_empty() {
            return 0.0;
        }
        let mut total = 0.0f64;
        for ex in data {
            let out = self.forward(&ex.features);
            let p = if ex.malicious {
                out.risk
            } else {
                1.0 - out.risk
            };
            total -= f64::from(p.max(1e-7).ln());
            if let Some(c) = ex.category {
                total -= f64::from(out.categories[c].max(1e-7).ln());
            }
        }
        (total / data.len() as f64) as f32
    }

    /// Trains in place; returns the mean loss after each epoch.
    pub fn train(&mut self, data: &[Example], s: TrainSettings) -> Vec<f32> {
        let mut accum = vec![1e-6f32; self.weights.len()];
        let mut order: Vec<usize> = (0..data.len()).collect();
        let mut rng = Rng::new(s.seed);
        // Class balance: each class contributes equally to the risk loss.
        let pos = data.iter().filter(|e| e.malicious).count().max(1) as f32;
        let neg = (data.len() as f32 - pos).max(1.0);
        let (w_pos, w_neg) = (
            data.len() as f32 / (2.0 * pos),
            data.len() as f32 / (2.0 * neg),
        );
        let mut losses = Vec::with_capacity(s.epochs);
        for _ in 0..s.epochs {
            rng.shuffle(&mut order);
            let mut kept: Vec<Hashed> = Vec::new();
            for &i in &order {
                let ex = &data[i];
                kept.clear();
                if s.dropout > 0.0 {
                    kept.extend(
                        ex.features
                            .iter()
                            .copied()
                            .filter(|_| rng.unit() >= f64::from(s.dropout)),
                    );
                } else {
                    kept.extend_from_slice(&ex.features);
                }
                let z = self.logits(&kept);
                let mut grad = [0f32; OUTPUTS];
                let y = if ex.malicious { 1.0 } else { 0.0 };
                grad[0] = (sigmoid(z[0]) - y) * if ex.malicious { w_pos } else { w_neg };
                if let Some(c) = ex.category {
                    let p = softmax(&z[1..]);
                    for k in 0..CATEGORIES.len() {
                        grad[1 + k] = p[k] - if k == c { 1.0 } else { 0.0 };
                    }
                }
                for f in &kept {
                    let base = f.index as usize * OUTPUTS;
                    let sign = if f.positive { 1.0 } else { -1.0 };
                    for (k, g) in grad.iter().enumerate() {
                        if *g == 0.0 {
                            continue;
                        }
                        // Features hashed for another width are skipped,
                        // as in `logits`, rather than indexing out of range.
                        let j = base + k;
                        let (Some(w), Some(acc)) = (self.weights.get_mut(j), accum.get_mut(j))
                        else {
                            continue;
                        };
                        let gj = g * sign + s.l2 * *w;
                        *acc += gj * gj;
                        *w -= s.learning_rate * gj / acc.sqrt();
                    }
                }
            }
            losses.push(self.loss(data));
        }
        losses
    }
}

/// Numerically stable softmax over the category logits.
pub fn softmax(z: &[f32]) -> [f32; CATEGORIES.len()] {
    let mut out = [0f32; CATEGORIES.len()];
    let max = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for (o, v) in out.iter_mut().zip(z) {
        *o = (v - max).exp();
        sum += *o;
    }
    if sum > 0.0 {
        out.iter_mut().for_each(|o| *o /= sum);
    }
    out
}
