//! Layer normalization built from plain tensor ops, so gradients flow
//! through it (candle-nn's fused `layer_norm` op has no backward pass: an
//! encoder using it trains only what sits above it). Inference may take the
//! fused op; a test keeps the two equal.

use candle_core::{D, Result, Tensor};

/// `gamma * (x - mean) / sqrt(var + eps) + beta` over the last dimension.
#[derive(Debug, Clone)]
pub struct LayerNorm {
    /// Scale (`weight` / `gamma`).
    pub gamma: Tensor,
    /// Shift (`bias` / `beta`).
    pub beta: Tensor,
    /// Added to the variance.
    pub eps: f64,
}

impl LayerNorm {
    /// Normalizes `x`; `grad` picks the differentiable plain-op path.
    pub fn forward(&self, x: &Tensor, grad: bool) -> Result<Tensor> {
        if !grad {
            return candle_nn::ops::layer_norm(x, &self.gamma, &self.beta, self.eps as f32);
        }
        let mean = x.mean_keepdim(D::Minus1)?;
        let centered = x.broadcast_sub(&mean)?;
        let var = centered.sqr()?.mean_keepdim(D::Minus1)?;
        let normed = centered.broadcast_div(&(var + self.eps)?.sqrt()?)?;
        normed.broadcast_mul(&self.gamma)?.broadcast_add(&self.beta)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    fn ln() -> (LayerNorm, Var, Var) {
        let dev = Device::Cpu;
        let g = Var::from_vec(vec![1.0f32, 2.0, 0.5, -1.0], 4, &dev).expect("gamma");
        let b = Var::from_vec(vec![0.1f32, 0.0, -0.2, 0.3], 4, &dev).expect("beta");
        let ln = LayerNorm {
            gamma: g.as_tensor().clone(),
            beta: b.as_tensor().clone(),
            eps: 1e-12,
        };
        (ln, g, b)
    }

    #[test]
    fn plain_ops_match_the_fused_op() {
        let (ln, _, _) = ln();
        let x = Tensor::new(
            &[[1.0f32, 3.0, -2.0, 0.5], [0.0, 0.1, 0.2, 0.3]],
            &Device::Cpu,
        )
        .expect("x");
        let a: Vec<Vec<f32>> = ln.forward(&x, true).and_then(|t| t.to_vec2()).expect("a");
        let b: Vec<Vec<f32>> = ln.forward(&x, false).and_then(|t| t.to_vec2()).expect("b");
        for (ra, rb) in a.iter().zip(&b) {
            for (p, q) in ra.iter().zip(rb) {
                assert!((p - q).abs() < 1e-5, "{p} vs {q}");
            }
        }
    }

    #[test]
    fn gradients_reach_scale_shift_and_input() {
        let (ln, g, b) = ln();
        let x = Var::from_vec(vec![1.0f32, 3.0, -2.0, 0.5], (1, 4), &Device::Cpu).expect("x");
        let y = ln.forward(x.as_tensor(), true).expect("y");
        let w = Tensor::new(&[[0.3f32, -1.0, 2.0, 0.7]], &Device::Cpu).expect("w");
        let loss = (y * w).and_then(|t| t.sum_all()).expect("loss");
        let grads = loss.backward().expect("backward");
        for v in [&g, &b, &x] {
            let gr = grads.get(v.as_tensor()).expect("a gradient");
            let s: f32 = gr
                .abs()
                .and_then(|t| t.sum_all())
                .and_then(|t| t.to_scalar())
                .expect("s");
            assert!(s > 0.0);
        }
    }
}
