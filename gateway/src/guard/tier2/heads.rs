//! Tier-2 heads: a small MLP over `[g, a, g*a, |g-a|, extra]` (goal and
//! action embeddings, their product and distance, numeric features) with a
//! risk output (sigmoid) and a category output (softmax over the nine risk
//! codes). Weights are a safetensors file; the encoder is never stored here.

use candle_core::{D, DType, Device, Result as CResult, Tensor, Var};

use preflight_adapters::adapters::eval_case::CATEGORIES;

/// Tensor names in the weights file.
const NAMES: [&str; 6] = ["w1", "b1", "w_risk", "b_risk", "w_cat", "b_cat"];

/// The heads' weights.
#[derive(Debug, Clone)]
pub struct Heads {
    /// Embedding width.
    pub dim: usize,
    /// Numeric features.
    pub extra: usize,
    /// Hidden units.
    pub hidden: usize,
    tensors: Vec<Tensor>,
}

impl Heads {
    /// Input width for embedding width `dim` and `extra` numeric features.
    pub fn input_width(dim: usize, extra: usize) -> usize {
        4 * dim + extra
    }

    /// Random initial weights (deterministic by seed) as trainable vars.
    pub fn init(
        dim: usize,
        extra: usize,
        hidden: usize,
        seed: u64,
        device: &Device,
    ) -> CResult<(Heads, Vec<Var>)> {
        let inp = Heads::input_width(dim, extra);
        let mut rng = seed.wrapping_mul(0x2545_f491_4f6c_dd1d) | 1;
        let mut uniform = |n: usize, scale: f32| -> Vec<f32> {
            (0..n)
                .map(|_| {
                    rng ^= rng << 13;
                    rng ^= rng >> 7;
                    rng ^= rng << 17;
                    ((rng >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * scale
                })
                .collect()
        };
        let cats = CATEGORIES.len();
        let shapes: [(Vec<usize>, f32); 6] = [
            (vec![inp, hidden], (6.0 / (inp + hidden) as f32).sqrt()),
            (vec![hidden], 0.0),
            (vec![hidden, 1], (6.0 / (hidden + 1) as f32).sqrt()),
            (vec![1], 0.0),
            (vec![hidden, cats], (6.0 / (hidden + cats) as f32).sqrt()),
            (vec![cats], 0.0),
        ];
        let mut vars = Vec::new();
        for (shape, scale) in shapes {
            let n = shape.iter().product();
            let t = Tensor::from_vec(uniform(n, scale), shape, device)?;
            vars.push(Var::from_tensor(&t)?);
        }
        let tensors = vars.iter().map(|v| v.as_tensor().clone()).collect();
        Ok((
            Heads {
                dim,
                extra,
                hidden,
                tensors,
            },
            vars,
        ))
    }

    /// Rows of input features from goal embeddings `g`, action embeddings
    /// `a` (both `(n, dim)`) and numeric features `(n, extra)`.
    pub fn features(g: &Tensor, a: &Tensor, extra: &Tensor) -> CResult<Tensor> {
        let prod = (g * a)?;
        let dist = (g - a)?.abs()?;
        Tensor::cat(&[g, a, &prod, &dist, extra], 1)
    }

    /// Risk logits `(n)` and category logits `(n, 9)` of feature rows.
    pub fn forward(&self, x: &Tensor) -> CResult<(Tensor, Tensor)> {
        let [w1, b1, wr, br, wc, bc] = &self.tensors[..] else {
            return Err(candle_core::Error::Msg("heads have 6 tensors".into()));
        };
        let h = x.matmul(w1)?.broadcast_add(b1)?.gelu_erf()?;
        let risk = h.matmul(wr)?.broadcast_add(br)?.squeeze(1)?;
        let cat = h.matmul(wc)?.broadcast_add(bc)?;
        Ok((risk, cat))
    }

    /// Risk probabilities and category distributions, on the CPU.
    pub fn predict(&self, x: &Tensor) -> CResult<(Vec<f32>, Vec<Vec<f32>>)> {
        let (r, c) = self.forward(x)?;
        let r = candle_nn::ops::sigmoid(&r)?
            .to_device(&Device::Cpu)?
            .to_vec1()?;
        let c = candle_nn::ops::softmax(&c, D::Minus1)?
            .to_device(&Device::Cpu)?
            .to_vec2()?;
        Ok((r, c))
    }

    /// Safetensors bytes of the weights (f32, little-endian), plus `more`
    /// tensors by name (fine-tuned encoder layers).
    pub fn to_bytes(&self, more: &[(String, Tensor)]) -> Result<Vec<u8>, String> {
        let mut datas = Vec::new();
        let named = NAMES
            .iter()
            .map(|n| (*n).to_owned())
            .zip(self.tensors.iter().cloned())
            .chain(more.iter().cloned());
        for (name, t) in named {
            let values: Vec<f32> = t
                .to_device(&Device::Cpu)
                .and_then(|t| t.flatten_all())
                .and_then(|t| t.to_vec1())
                .map_err(|e| e.to_string())?;
            let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
            datas.push((name, t.dims().to_vec(), bytes));
        }
        let views = datas
            .iter()
            .map(|(n, shape, b)| {
                safetensors::tensor::TensorView::new(safetensors::Dtype::F32, shape.clone(), b)
                    .map(|v| (n.as_str(), v))
                    .map_err(|e| e.to_string())
            })
            .collect::<Result<Vec<_>, _>>()?;
        safetensors::serialize(views, None).map_err(|e| e.to_string())
    }

    /// Reads weights, checking every tensor's presence and shape.
    pub fn from_bytes(
        bytes: &[u8],
        dim: usize,
        extra: usize,
        device: &Device,
    ) -> Result<Heads, String> {
        let map = candle_core::safetensors::load_buffer(bytes, device)
            .map_err(|e| format!("not a safetensors file ({e})"))?;
        let w1 = map.get("w1").ok_or("tensor w1 is missing")?;
        let hidden = w1.dims().get(1).copied().ok_or("tensor w1 is not 2-d")?;
        let inp = Heads::input_width(dim, extra);
        let cats = CATEGORIES.len();
        let want: [Vec<usize>; 6] = [
            vec![inp, hidden],
            vec![hidden],
            vec![hidden, 1],
            vec![1],
            vec![hidden, cats],
            vec![cats],
        ];
        let mut tensors = Vec::new();
        for (name, shape) in NAMES.iter().zip(want) {
            let t = map
                .get(*name)
                .ok_or_else(|| format!("tensor {name} is missing"))?;
            if t.dims() != shape.as_slice() || t.dtype() != DType::F32 {
                return Err(format!(
                    "tensor {name} is {:?} {:?}, expected F32 {shape:?}",
                    t.dtype(),
                    t.dims()
                ));
            }
            tensors.push(t.clone());
        }
        Ok(Heads {
            dim,
            extra,
            hidden,
            tensors,
        })
    }

    /// A copy with plain (non-trainable) tensors.
    pub fn detached(&self) -> Heads {
        Heads {
            tensors: self.tensors.iter().map(Tensor::detach).collect(),
            ..self.clone()
        }
    }
}
