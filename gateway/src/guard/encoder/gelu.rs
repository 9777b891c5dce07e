//! GELU with the exact (erf) form, computed in place on CPU with a rational
//! approximation of erf that the compiler vectorizes. candle's `gelu_erf`
//! calls libm's scalar `erff` per element, which was a sixth of a tier-2
//! forward pass on CPU; this is within 1e-6 of it (a test checks the whole
//! range). Inference only: no backward pass; other devices keep candle's op.

use candle_core::backend::BackendStorage;
use candle_core::{CpuStorage, Layout, Result, Tensor, bail};

/// `x * (1 + erf(x / sqrt 2)) / 2` over `x`: in place on CPU, candle's op
/// elsewhere. `x` must not share its storage with a tensor still in use
/// (the encoder passes the fresh output of a dense layer).
pub(super) fn gelu_erf(x: Tensor) -> Result<Tensor> {
    if !x.device().is_cpu() || !x.is_contiguous() {
        return x.gelu_erf();
    }
    x.inplace_op1(&GeluErf)?;
    Ok(x)
}

struct GeluErf;

impl candle_core::InplaceOp1 for GeluErf {
    fn name(&self) -> &'static str {
        "gelu-erf-rational"
    }

    fn cpu_fwd(&self, storage: &mut CpuStorage, layout: &Layout) -> Result<()> {
        let Some((start, end)) = layout.contiguous_offsets() else {
            bail!("gelu-erf-rational needs a contiguous tensor")
        };
        match storage {
            CpuStorage::F32(v) => {
                for x in &mut v[start..end] {
                    *x = gelu(*x);
                }
                Ok(())
            }
            other => bail!("gelu-erf-rational takes f32, not {:?}", other.dtype()),
        }
    }
}

/// GELU of one value.
#[inline(always)]
fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2))
}

/// erf as an odd rational function of degree 13 over 8 on [-4, 4] (erf is
/// ±1 in f32 beyond); the monomial coefficients of the single-precision
/// approximation that XLA and Eigen use. Branch-free, so loops over it
/// vectorize; plain multiply-adds, not `mul_add`, which is a libm call
/// where the build does not target FMA.
#[inline(always)]
fn erf(x: f32) -> f32 {
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let mut p = -2.726_142_3e-10_f32;
    p = p * x2 + 2.770_681_4e-8;
    p = p * x2 - 2.101_024e-6;
    p = p * x2 - 5.692_506_4e-5;
    p = p * x2 - 7.349_906_3e-4;
    p = p * x2 - 2.954_6e-3;
    p = p * x2 - 1.609_603_3e-2;
    let mut q = -1.456_607_2e-5_f32;
    q = q * x2 - 2.133_740_6e-4;
    q = q * x2 - 1.682_827e-3;
    q = q * x2 - 7.373_329e-3;
    q = q * x2 - 1.426_474e-2;
    x * p / q
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    /// erf in f64 by its Maclaurin series (|x| < 3) or its asymptotic
    /// continued fraction (beyond): an independent reference.
    fn erf_reference(x: f64) -> f64 {
        let a = x.abs();
        let r = if a < 3.0 {
            let (mut term, mut sum, mut n) = (a, a, 0.0);
            while term.abs() > 1e-17 * sum.abs() {
                n += 1.0;
                term *= -a * a / n;
                sum += term / (2.0 * n + 1.0);
            }
            sum * 2.0 / std::f64::consts::PI.sqrt()
        } else {
            // erfc(a) = exp(-a²)/sqrt(pi) * 1/(a + 1/2/(a + 1/(a + 3/2/(a + ...))))
            let mut cf = a;
            for k in (1..60).rev() {
                cf = a + (k as f64 / 2.0) / cf;
            }
            1.0 - (-a * a).exp() / std::f64::consts::PI.sqrt() / cf
        };
        r.copysign(x)
    }

    #[test]
    fn erf_is_within_1e6_of_the_reference_everywhere() {
        let mut worst = 0.0f64;
        for i in -100_000..=100_000 {
            let x = i as f64 * 6e-5;
            let e = (erf(x as f32) as f64 - erf_reference(x)).abs();
            worst = worst.max(e);
        }
        assert!(worst < 1e-6, "max |error| {worst}");
        assert!((erf(9.0) - 1.0).abs() < 1e-6 && (erf(-9.0) + 1.0).abs() < 1e-6);
        assert!(erf(f32::MAX) <= 1.0 && erf(f32::MIN) >= -1.0);
    }

    #[test]
    fn in_place_gelu_matches_candles_op() {
        let xs: Vec<f32> = (-400..400).map(|i| i as f32 * 0.013).collect();
        let t = Tensor::new(xs.as_slice(), &Device::Cpu).expect("t");
        let want: Vec<f32> = t.gelu_erf().and_then(|t| t.to_vec1()).expect("want");
        let got: Vec<f32> = gelu_erf(t.copy().expect("copy"))
            .and_then(|t| t.to_vec1())
            .expect("got");
        for (w, g) in want.iter().zip(&got) {
            assert!((w - g).abs() < 1e-6, "{w} vs {g}");
        }
    }

    #[test]
    fn a_strided_view_takes_candles_op() {
        let t = Tensor::arange(0f32, 12.0, &Device::Cpu)
            .and_then(|t| t.reshape((3, 4)))
            .and_then(|t| t.t())
            .expect("t");
        let got: Vec<Vec<f32>> = gelu_erf(t.clone()).and_then(|t| t.to_vec2()).expect("got");
        let want: Vec<Vec<f32>> = t.gelu_erf().and_then(|t| t.to_vec2()).expect("want");
        assert_eq!(got, want);
    }
}
