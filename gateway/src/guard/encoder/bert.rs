//! A BERT encoder (embeddings, N transformer layers) on candle, with mean
//! pooling and L2 normalization as sentence-transformers does.
//!
//! Built from plain ops where training needs gradients ([`LayerNorm`], the
//! softmax); the fused candle ops serve inference. Weights come from a
//! tensor map (a BERT-family `model.safetensors`, with or without the
//! `bert.` prefix); the top `trainable` layers hold [`Var`]s so they can be
//! fine-tuned, the rest are plain tensors.

use std::collections::HashMap;

use candle_core::{D, DType, Device, Result as CResult, Tensor, Var};
use candle_nn::{Embedding, Linear, Module};

/// A dense layer. Frozen weights are stored transposed and contiguous
/// (`(in, out)`), so the matrix multiply reads them row by row instead of
/// packing a transposed view on every call; trainable weights stay a
/// [`Linear`] over the [`Var`] so gradients reach them.
enum Dense {
    Frozen { weight_t: Tensor, bias: Tensor },
    Trainable(Linear),
}

impl Dense {
    fn forward(&self, x: &Tensor) -> CResult<Tensor> {
        match self {
            Dense::Trainable(l) => l.forward(x),
            Dense::Frozen { weight_t, bias } => {
                let (b, len, inp) = x.dims3()?;
                let out = weight_t.dim(1)?;
                x.reshape((b * len, inp))?
                    .matmul(weight_t)?
                    .broadcast_add(bias)?
                    .reshape((b, len, out))
            }
        }
    }
}
use serde_json::Value;

use super::layer_norm::LayerNorm;

/// The `config.json` fields the encoder uses.
#[derive(Debug, Clone, PartialEq)]
pub struct BertConfig {
    /// Vocabulary size.
    pub vocab_size: usize,
    /// Width of every hidden state.
    pub hidden_size: usize,
    /// Transformer layers.
    pub num_hidden_layers: usize,
    /// Attention heads per layer.
    pub num_attention_heads: usize,
    /// Width of the feed-forward layer.
    pub intermediate_size: usize,
    /// Longest input in tokens.
    pub max_position_embeddings: usize,
    /// Token type (segment) embeddings.
    pub type_vocab_size: usize,
    /// LayerNorm epsilon.
    pub layer_norm_eps: f64,
    /// `gelu` (erf), `gelu_new` (tanh) or `relu`.
    pub hidden_act: String,
}

impl BertConfig {
    /// Parses a Hugging Face BERT `config.json`.
    pub fn from_json(bytes: &[u8]) -> std::result::Result<BertConfig, String> {
        let v: Value = serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
        let n = |k: &str| {
            v[k].as_u64()
                .filter(|n| *n > 0)
                .map(|n| n as usize)
                .ok_or_else(|| format!("/{k} is missing or not a positive integer"))
        };
        let cfg = BertConfig {
            vocab_size: n("vocab_size")?,
            hidden_size: n("hidden_size")?,
            num_hidden_layers: n("num_hidden_layers")?,
            num_attention_heads: n("num_attention_heads")?,
            intermediate_size: n("intermediate_size")?,
            max_position_embeddings: n("max_position_embeddings")?,
            type_vocab_size: n("type_vocab_size").unwrap_or(2),
            layer_norm_eps: v["layer_norm_eps"].as_f64().unwrap_or(1e-12),
            hidden_act: v["hidden_act"].as_str().unwrap_or("gelu").to_owned(),
        };
        if !cfg.hidden_size.is_multiple_of(cfg.num_attention_heads) {
            return Err("/hidden_size is not a multiple of /num_attention_heads".into());
        }
        if !matches!(
            cfg.hidden_act.as_str(),
            "gelu" | "gelu_new" | "gelu_pytorch_tanh" | "relu"
        ) {
            return Err(format!("/hidden_act {} is not supported", cfg.hidden_act));
        }
        Ok(cfg)
    }
}

/// Which weights are trainable [`Var`]s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trainable {
    /// None: inference only.
    None,
    /// The top `n` transformer layers.
    TopLayers(usize),
    /// Every weight, embeddings included (tests).
    All,
}

struct Attention {
    query: Dense,
    key: Dense,
    value: Dense,
    output: Dense,
    norm: LayerNorm,
}

struct Layer {
    attention: Attention,
    intermediate: Dense,
    output: Dense,
    norm: LayerNorm,
}

/// The encoder.
pub struct Bert {
    /// Its configuration.
    pub config: BertConfig,
    word: Embedding,
    position: Embedding,
    token_type: Tensor,
    embed_norm: LayerNorm,
    layers: Vec<Layer>,
    vars: Vec<(String, Var)>,
}

impl std::fmt::Debug for Bert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bert")
            .field("config", &self.config)
            .field("trainable", &self.vars.len())
            .finish()
    }
}

/// Reads weights by name, checking shapes and making trainable ones `Var`s.
struct Loader<'a> {
    tensors: &'a HashMap<String, Tensor>,
    prefix: &'static str,
    device: Device,
    vars: Vec<(String, Var)>,
}

impl Loader<'_> {
    fn get(
        &mut self,
        name: &str,
        shape: &[usize],
        trainable: bool,
    ) -> std::result::Result<Tensor, String> {
        let full = format!("{}{name}", self.prefix);
        // Old checkpoints name LayerNorm parameters gamma/beta.
        let alt = full
            .replace("LayerNorm.weight", "LayerNorm.gamma")
            .replace("LayerNorm.bias", "LayerNorm.beta");
        let t = self
            .tensors
            .get(&full)
            .or_else(|| self.tensors.get(&alt))
            .ok_or_else(|| format!("tensor {full} is missing"))?;
        if t.dims() != shape {
            return Err(format!(
                "tensor {full} has shape {:?}, config.json implies {shape:?}",
                t.dims()
            ));
        }
        let t = t
            .to_dtype(DType::F32)
            .and_then(|t| t.to_device(&self.device))
            .map_err(|e| format!("tensor {full}: {e}"))?;
        if trainable {
            let v = Var::from_tensor(&t).map_err(|e| format!("tensor {full}: {e}"))?;
            let out = v.as_tensor().clone();
            self.vars.push((full, v));
            Ok(out)
        } else {
            Ok(t)
        }
    }

    fn linear(
        &mut self,
        name: &str,
        inp: usize,
        out: usize,
        tr: bool,
    ) -> std::result::Result<Dense, String> {
        let w = self.get(&format!("{name}.weight"), &[out, inp], tr)?;
        let b = self.get(&format!("{name}.bias"), &[out], tr)?;
        if tr {
            return Ok(Dense::Trainable(Linear::new(w, Some(b))));
        }
        let weight_t = w
            .t()
            .and_then(|t| t.contiguous())
            .map_err(|e| format!("tensor {name}.weight: {e}"))?;
        Ok(Dense::Frozen { weight_t, bias: b })
    }

    fn norm(
        &mut self,
        name: &str,
        dim: usize,
        eps: f64,
        tr: bool,
    ) -> std::result::Result<LayerNorm, String> {
        Ok(LayerNorm {
            gamma: self.get(&format!("{name}.weight"), &[dim], tr)?,
            beta: self.get(&format!("{name}.bias"), &[dim], tr)?,
            eps,
        })
    }
}

impl Bert {
    /// Builds the encoder from `tensors` (names as in a Hugging Face BERT
    /// checkpoint). Errors name the missing or misshapen tensor.
    pub fn from_tensors(
        config: BertConfig,
        tensors: &HashMap<String, Tensor>,
        trainable: Trainable,
        device: &Device,
    ) -> std::result::Result<Bert, String> {
        let prefix = if tensors.contains_key("bert.embeddings.word_embeddings.weight") {
            "bert."
        } else {
            ""
        };
        let mut ld = Loader {
            tensors,
            prefix,
            device: device.clone(),
            vars: Vec::new(),
        };
        let c = &config;
        let (h, eps) = (c.hidden_size, c.layer_norm_eps);
        let all = trainable == Trainable::All;
        let word = ld.get("embeddings.word_embeddings.weight", &[c.vocab_size, h], all)?;
        let position = ld.get(
            "embeddings.position_embeddings.weight",
            &[c.max_position_embeddings, h],
            all,
        )?;
        let token_type = ld.get(
            "embeddings.token_type_embeddings.weight",
            &[c.type_vocab_size, h],
            all,
        )?;
        let embed_norm = ld.norm("embeddings.LayerNorm", h, eps, all)?;
        let first_trainable = match trainable {
            Trainable::None => c.num_hidden_layers,
            Trainable::TopLayers(n) => c.num_hidden_layers.saturating_sub(n),
            Trainable::All => 0,
        };
        let mut layers = Vec::with_capacity(c.num_hidden_layers);
        for i in 0..c.num_hidden_layers {
            let tr = i >= first_trainable;
            let p = format!("encoder.layer.{i}");
            layers.push(Layer {
                attention: Attention {
                    query: ld.linear(&format!("{p}.attention.self.query"), h, h, tr)?,
                    key: ld.linear(&format!("{p}.attention.self.key"), h, h, tr)?,
                    value: ld.linear(&format!("{p}.attention.self.value"), h, h, tr)?,
                    output: ld.linear(&format!("{p}.attention.output.dense"), h, h, tr)?,
                    norm: ld.norm(&format!("{p}.attention.output.LayerNorm"), h, eps, tr)?,
                },
                intermediate: ld.linear(
                    &format!("{p}.intermediate.dense"),
                    h,
                    c.intermediate_size,
                    tr,
                )?,
                output: ld.linear(&format!("{p}.output.dense"), c.intermediate_size, h, tr)?,
                norm: ld.norm(&format!("{p}.output.LayerNorm"), h, eps, tr)?,
            });
        }
        Ok(Bert {
            word: Embedding::new(word, h),
            position: Embedding::new(position, h),
            token_type,
            embed_norm,
            layers,
            vars: ld.vars,
            config,
        })
    }

    /// The trainable weights, by checkpoint name.
    pub fn vars(&self) -> &[(String, Var)] {
        &self.vars
    }

    /// Hidden states `(batch, len, hidden)` of `ids` `(batch, len)` (u32)
    /// under `mask` `(batch, len)` (f32, 1 = token, 0 = padding). `grad`
    /// selects the differentiable ops.
    pub fn forward(&self, ids: &Tensor, mask: &Tensor, grad: bool) -> CResult<Tensor> {
        let (_, len) = ids.dims2()?;
        let positions = Tensor::arange(0u32, len as u32, ids.device())?;
        let x = self
            .word
            .forward(ids)?
            .broadcast_add(&self.position.forward(&positions)?)?
            .broadcast_add(&self.token_type.get(0)?)?;
        let mut x = self.embed_norm.forward(&x, grad)?;
        // Padding gets a large negative score before the softmax: its
        // attention weight is exp(-1e4) = 0 in f32.
        let bias = ((mask.unsqueeze(1)?.unsqueeze(1)? - 1.0)? * 1e4)?;
        for layer in &self.layers {
            x = self.layer(layer, &x, &bias, grad)?;
        }
        Ok(x)
    }

    fn layer(&self, l: &Layer, x: &Tensor, bias: &Tensor, grad: bool) -> CResult<Tensor> {
        let (b, len, h) = x.dims3()?;
        let heads = self.config.num_attention_heads;
        let hd = h / heads;
        let split = |t: Tensor| -> CResult<Tensor> {
            t.reshape((b, len, heads, hd))?
                .transpose(1, 2)?
                .contiguous()
        };
        let a = &l.attention;
        let q = split(a.query.forward(x)?)?;
        let k = split(a.key.forward(x)?)?;
        let v = split(a.value.forward(x)?)?;
        let scores = (q.matmul(&k.t()?)? / (hd as f64).sqrt())?.broadcast_add(bias)?;
        let probs = if grad {
            candle_nn::ops::softmax(&scores, D::Minus1)?
        } else {
            candle_nn::ops::softmax_last_dim(&scores)?
        };
        let ctx = probs
            .matmul(&v)?
            .transpose(1, 2)?
            .contiguous()?
            .reshape((b, len, h))?;
        let x = a.norm.forward(&(a.output.forward(&ctx)? + x)?, grad)?;
        let inner = l.intermediate.forward(&x)?;
        let inner = match self.config.hidden_act.as_str() {
            "relu" => inner.relu()?,
            "gelu_new" | "gelu_pytorch_tanh" => inner.gelu()?,
            _ if grad => inner.gelu_erf()?,
            _ => super::gelu::gelu_erf(inner)?,
        };
        l.norm.forward(&(l.output.forward(&inner)? + x)?, grad)
    }
}

/// Mean of the hidden states over real tokens, L2-normalized:
/// `(batch, len, hidden)` -> `(batch, hidden)`.
pub fn mean_pool_normalized(hidden: &Tensor, mask: &Tensor) -> CResult<Tensor> {
    let m = mask.unsqueeze(2)?;
    let sum = hidden.broadcast_mul(&m)?.sum(1)?;
    let count = m.sum(1)?.clamp(1e-9, f64::MAX)?;
    let mean = sum.broadcast_div(&count)?;
    let norm = mean.sqr()?.sum_keepdim(1)?.sqrt()?.clamp(1e-12, f64::MAX)?;
    mean.broadcast_div(&norm)
}
