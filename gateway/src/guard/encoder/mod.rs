//! The tier-2 sentence encoder: a BERT-family checkpoint directory
//! (`config.json`, `model.safetensors`, `tokenizer.json` or `vocab.txt`)
//! loaded onto a candle [`Device`], turning texts into L2-normalized
//! mean-pooled embeddings (what sentence-transformers computes for
//! all-MiniLM-L6-v2). A batch is padded to its longest input, never to a
//! fixed length. `scripts/setup-model` installs the default checkpoint in
//! [`default_model_dir`].

pub mod bert;
mod gelu;
pub mod layer_norm;
#[doc(hidden)]
pub mod testing;
pub mod tokenizer;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use thiserror::Error;

pub use bert::{Bert, BertConfig, Trainable};
pub use tokenizer::Tokenizer;

/// What to do about it, for every weights error.
const FIX: &str = "run `scripts/setup-model` to install the default encoder, point guard.encoder_dir at a BERT checkpoint directory, or set guard.tier2 = \"off\" for tier 1 only (guard.enabled = false for rules only)";

/// Why the encoder could not be loaded or run.
#[derive(Debug, Error)]
pub enum EncoderError {
    /// A checkpoint file does not exist.
    #[error("guard encoder file {path} not found; {FIX}")]
    Missing {
        /// The file.
        path: PathBuf,
    },
    /// A checkpoint file is unreadable as what it should be.
    #[error("guard encoder file {path} is corrupt: {reason}; {FIX}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Reading failed.
    #[error("cannot read guard encoder file {path}: {reason}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        reason: String,
    },
    /// The requested device is not available.
    #[error("guard.device: {0}")]
    Device(String),
    /// A tensor operation failed.
    #[error("guard encoder: {0}")]
    Compute(#[from] candle_core::Error),
}

impl EncoderError {
    fn io(path: &Path, e: &std::io::Error) -> EncoderError {
        if e.kind() == std::io::ErrorKind::NotFound {
            EncoderError::Missing { path: path.into() }
        } else {
            EncoderError::Io {
                path: path.into(),
                reason: e.to_string(),
            }
        }
    }

    fn corrupt(path: &Path, reason: impl Into<String>) -> EncoderError {
        EncoderError::Corrupt {
            path: path.into(),
            reason: reason.into(),
        }
    }
}

/// Where `scripts/setup-model` installs the default encoder:
/// `$PREFLIGHT_MODEL_DIR`, else
/// `${XDG_CACHE_HOME:-$HOME/.cache}/preflight/models/all-minilm-l6-v2`.
pub fn default_model_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("PREFLIGHT_MODEL_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(d);
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| PathBuf::from(".cache"));
    cache.join("preflight/models/all-minilm-l6-v2")
}

/// `guard.device`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeviceChoice {
    /// The first CUDA GPU when this build has CUDA and one works, else CPU.
    #[default]
    Auto,
    /// CPU.
    Cpu,
    /// The first CUDA GPU; an error when there is none.
    Cuda,
}

impl DeviceChoice {
    /// Parses `auto`, `cpu` or `cuda`.
    pub fn parse(s: &str) -> Option<DeviceChoice> {
        match s {
            "auto" => Some(DeviceChoice::Auto),
            "cpu" => Some(DeviceChoice::Cpu),
            "cuda" => Some(DeviceChoice::Cuda),
            _ => None,
        }
    }

    /// The device. `Auto` really opens GPU 0 (`Device::cuda_if_available`
    /// only says whether CUDA was compiled in) and falls back to CPU.
    pub fn device(self) -> Result<Device, EncoderError> {
        match self {
            DeviceChoice::Cpu => Ok(Device::Cpu),
            DeviceChoice::Cuda => cuda().map_err(EncoderError::Device),
            DeviceChoice::Auto => Ok(cuda().unwrap_or(Device::Cpu)),
        }
    }
}

#[cfg(feature = "cuda")]
fn cuda() -> Result<Device, String> {
    Device::new_cuda(0).map_err(|e| format!("cannot open CUDA device 0: {e}"))
}

#[cfg(not(feature = "cuda"))]
fn cuda() -> Result<Device, String> {
    Err("this build has no CUDA support (build with `--features cuda`); use device = \"cpu\" or \"auto\"".into())
}

/// A loaded encoder.
#[derive(Debug)]
pub struct Encoder {
    /// Text -> token ids.
    pub tokenizer: Tokenizer,
    /// The network.
    pub bert: Bert,
    /// Where it runs.
    pub device: Device,
    /// Longest input in tokens (longer inputs are truncated).
    pub max_len: usize,
    /// The checkpoint directory.
    pub dir: PathBuf,
}

/// Inputs longer than this many tokens are truncated (all-MiniLM-L6-v2's
/// `max_seq_length`).
pub const DEFAULT_MAX_LEN: usize = 256;

impl Encoder {
    /// Loads the checkpoint in `dir` onto `device`; `trainable` picks the
    /// weights that can be fine-tuned. Errors name the file and the fix.
    pub fn load(
        dir: &Path,
        device: &Device,
        trainable: Trainable,
    ) -> Result<Encoder, EncoderError> {
        Encoder::load_with(dir, device, trainable, &HashMap::new())
    }

    /// [`Encoder::load`], with some checkpoint tensors replaced (fine-tuned
    /// top layers stored with tier-2 heads), by checkpoint name.
    pub fn load_with(
        dir: &Path,
        device: &Device,
        trainable: Trainable,
        overrides: &HashMap<String, Tensor>,
    ) -> Result<Encoder, EncoderError> {
        let cpath = dir.join("config.json");
        let wpath = dir.join("model.safetensors");
        let cbytes = std::fs::read(&cpath).map_err(|e| EncoderError::io(&cpath, &e))?;
        let config =
            BertConfig::from_json(&cbytes).map_err(|r| EncoderError::corrupt(&cpath, r))?;
        let tokenizer = Tokenizer::load(dir)?;
        let wbytes = std::fs::read(&wpath).map_err(|e| EncoderError::io(&wpath, &e))?;
        let mut tensors = candle_core::safetensors::load_buffer(&wbytes, &Device::Cpu)
            .map_err(|e| EncoderError::corrupt(&wpath, format!("not a safetensors file ({e})")))?;
        drop(wbytes);
        for (name, t) in overrides {
            if !tensors.contains_key(name) {
                return Err(EncoderError::corrupt(
                    &wpath,
                    format!("has no tensor {name} for the fine-tuned layer to replace"),
                ));
            }
            tensors.insert(name.clone(), t.clone());
        }
        if tokenizer.vocab_size() > config.vocab_size {
            return Err(EncoderError::corrupt(
                &cpath,
                format!(
                    "vocab_size {} is smaller than the tokenizer's {} tokens",
                    config.vocab_size,
                    tokenizer.vocab_size()
                ),
            ));
        }
        let max_len = DEFAULT_MAX_LEN.min(config.max_position_embeddings);
        let bert = Bert::from_tensors(config, &tensors, trainable, device)
            .map_err(|r| EncoderError::corrupt(&wpath, r))?;
        Ok(Encoder {
            tokenizer,
            bert,
            device: device.clone(),
            max_len,
            dir: dir.to_owned(),
        })
    }

    /// Embedding width.
    pub fn dim(&self) -> usize {
        self.bert.config.hidden_size
    }

    /// Token ids `(batch, longest)` and mask `(batch, longest)` of `texts`,
    /// padded to the longest of them.
    pub fn batch<S: AsRef<str>>(&self, texts: &[S]) -> candle_core::Result<(Tensor, Tensor)> {
        let encoded: Vec<Vec<u32>> = texts
            .iter()
            .map(|t| self.tokenizer.encode(t.as_ref(), self.max_len))
            .collect();
        let longest = encoded.iter().map(Vec::len).max().unwrap_or(2);
        let mut ids = Vec::with_capacity(encoded.len() * longest);
        let mut mask = Vec::with_capacity(encoded.len() * longest);
        for e in &encoded {
            ids.extend_from_slice(e);
            ids.resize(ids.len() + longest - e.len(), self.tokenizer.pad_id());
            mask.extend(std::iter::repeat_n(1f32, e.len()));
            mask.extend(std::iter::repeat_n(0f32, longest - e.len()));
        }
        let shape = (encoded.len(), longest);
        Ok((
            Tensor::from_vec(ids, shape, &self.device)?,
            Tensor::from_vec(mask, shape, &self.device)?,
        ))
    }

    /// Sentence embeddings `(batch, hidden)` as a tensor; `grad` keeps the
    /// differentiable path (fine-tuning).
    pub fn embed_tensor<S: AsRef<str>>(
        &self,
        texts: &[S],
        grad: bool,
    ) -> candle_core::Result<Tensor> {
        let (ids, mask) = self.batch(texts)?;
        let hidden = self.bert.forward(&ids, &mask, grad)?;
        bert::mean_pool_normalized(&hidden, &mask)
    }

    /// Sentence embeddings `(n, hidden)` of many texts without gradients,
    /// run in groups of similar length (at most `group` texts each) so a
    /// long text does not make every short one in the batch pay for its
    /// padding. Same values as [`Encoder::embed_tensor`].
    pub fn embed_grouped<S: AsRef<str>>(
        &self,
        texts: &[S],
        group: usize,
    ) -> candle_core::Result<Tensor> {
        if texts.len() <= 1 {
            return self.embed_tensor(texts, false);
        }
        let mut order: Vec<(usize, usize)> = texts
            .iter()
            .enumerate()
            .map(|(i, t)| (self.tokenizer.encode(t.as_ref(), self.max_len).len(), i))
            .collect();
        order.sort_unstable();
        let mut parts = Vec::new();
        for chunk in order.chunks(group.max(1)) {
            let chunk_texts: Vec<&str> = chunk.iter().map(|(_, i)| texts[*i].as_ref()).collect();
            parts.push(self.embed_tensor(&chunk_texts, false)?);
        }
        let sorted = Tensor::cat(&parts, 0)?;
        // Row r of `sorted` is text order[r].1; put every text back in place.
        let mut back = vec![0u32; texts.len()];
        for (row, (_, i)) in order.iter().enumerate() {
            back[*i] = row as u32;
        }
        let idx = Tensor::from_vec(back, texts.len(), &self.device)?;
        sorted.index_select(&idx, 0)
    }

    /// Sentence embeddings, one vector per text.
    pub fn embed<S: AsRef<str>>(&self, texts: &[S]) -> Result<Vec<Vec<f32>>, EncoderError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        Ok(self
            .embed_tensor(texts, false)?
            .to_dtype(DType::F32)?
            .to_device(&Device::Cpu)?
            .to_vec2()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny(trainable: Trainable) -> (tempfile::TempDir, Encoder) {
        let dir = tempfile::tempdir().expect("tempdir");
        testing::write_tiny_checkpoint(dir.path(), 3).expect("checkpoint");
        let enc = Encoder::load(dir.path(), &Device::Cpu, trainable).expect("loads");
        (dir, enc)
    }

    const TEXTS: [&str; 3] = [
        "send the report to bob",
        "delete all files",
        "goal: pay the invoice. action: transfer money to account 42 (context: user asked)",
    ];

    #[test]
    fn embeddings_are_unit_length_and_identical_across_runs() {
        let (_d, enc) = tiny(Trainable::None);
        let a = enc.embed(&TEXTS).expect("a");
        let b = enc.embed(&TEXTS).expect("b");
        assert_eq!(a, b);
        for e in &a {
            assert_eq!(e.len(), 16);
            let n: f32 = e.iter().map(|x| x * x).sum::<f32>().sqrt();
            assert!((n - 1.0).abs() < 1e-5, "{n}");
        }
        assert_ne!(a[0], a[1]);
    }

    #[test]
    fn a_batch_padded_to_its_longest_equals_one_by_one() {
        let (_d, enc) = tiny(Trainable::None);
        let batch = enc.embed(&TEXTS).expect("batch");
        for (t, b) in TEXTS.iter().zip(&batch) {
            let one = enc.embed(&[*t]).expect("one");
            for (x, y) in one[0].iter().zip(b) {
                assert!((x - y).abs() < 1e-5, "{t}: {x} vs {y}");
            }
        }
        let (ids, _) = enc.batch(&TEXTS).expect("ids");
        let longest = TEXTS
            .iter()
            .map(|t| enc.tokenizer.encode(t, enc.max_len).len())
            .max();
        assert_eq!(Some(ids.dims()[1]), longest);
    }

    #[test]
    fn grouping_by_length_keeps_each_text_in_its_place() {
        let (_d, enc) = tiny(Trainable::None);
        let texts = [TEXTS[2], TEXTS[0], TEXTS[1], TEXTS[0]];
        let whole: Vec<Vec<f32>> = enc
            .embed_tensor(&texts, false)
            .and_then(|t| t.to_vec2())
            .expect("whole");
        let grouped: Vec<Vec<f32>> = enc
            .embed_grouped(&texts, 2)
            .and_then(|t| t.to_vec2())
            .expect("grouped");
        for (a, b) in whole.iter().zip(&grouped) {
            for (x, y) in a.iter().zip(b) {
                assert!((x - y).abs() < 1e-5, "{x} vs {y}");
            }
        }
    }

    #[test]
    fn the_differentiable_path_matches_inference() {
        let (_d, enc) = tiny(Trainable::None);
        let a: Vec<Vec<f32>> = enc
            .embed_tensor(&TEXTS, true)
            .and_then(|t| t.to_vec2())
            .expect("a");
        let b = enc.embed(&TEXTS).expect("b");
        for (ra, rb) in a.iter().zip(&b) {
            for (x, y) in ra.iter().zip(rb) {
                assert!((x - y).abs() < 1e-5, "{x} vs {y}");
            }
        }
    }

    #[test]
    fn every_trainable_tensor_receives_a_gradient() {
        let (_d, enc) = tiny(Trainable::All);
        let vars = enc.bert.vars();
        // 5 embedding tensors + 16 per layer.
        assert_eq!(vars.len(), 5 + 16 * 2);
        let emb = enc.embed_tensor(&TEXTS, true).expect("forward");
        let w = Tensor::arange(0f32, 16.0, &Device::Cpu)
            .and_then(|t| t.sin())
            .expect("w");
        let loss = emb
            .broadcast_mul(&w)
            .and_then(|t| t.sum_all())
            .expect("loss");
        let grads = loss.backward().expect("backward");
        for (name, v) in vars {
            let g = grads
                .get(v.as_tensor())
                .unwrap_or_else(|| panic!("{name} got no gradient"));
            let mag: f32 = g
                .abs()
                .and_then(|t| t.sum_all())
                .and_then(|t| t.to_scalar())
                .expect("sum");
            assert!(mag > 0.0, "{name} got a zero gradient");
        }
    }

    #[test]
    fn only_the_top_layers_are_trainable_when_asked() {
        let (_d, enc) = tiny(Trainable::TopLayers(1));
        let vars = enc.bert.vars();
        assert_eq!(vars.len(), 16);
        assert!(vars.iter().all(|(n, _)| n.starts_with("encoder.layer.1.")));
    }

    #[test]
    fn missing_weights_name_the_file_and_the_fix() {
        let dir = tempfile::tempdir().expect("tempdir");
        testing::write_tiny_checkpoint(dir.path(), 1).expect("checkpoint");
        std::fs::remove_file(dir.path().join("model.safetensors")).expect("rm");
        let err = Encoder::load(dir.path(), &Device::Cpu, Trainable::None)
            .expect_err("missing")
            .to_string();
        assert!(err.contains("model.safetensors"), "{err}");
        assert!(err.contains("scripts/setup-model"), "{err}");
        assert!(err.contains("guard.tier2 = \"off\""), "{err}");
    }

    #[test]
    fn corrupt_weights_name_the_file_and_the_fix() {
        let dir = tempfile::tempdir().expect("tempdir");
        testing::write_tiny_checkpoint(dir.path(), 1).expect("checkpoint");
        let w = dir.path().join("model.safetensors");
        let bytes = std::fs::read(&w).expect("read");
        std::fs::write(&w, &bytes[..bytes.len() / 2]).expect("truncate");
        let err = Encoder::load(dir.path(), &Device::Cpu, Trainable::None)
            .expect_err("corrupt")
            .to_string();
        assert!(
            err.contains("model.safetensors") && err.contains("corrupt"),
            "{err}"
        );
        assert!(err.contains("scripts/setup-model"), "{err}");
    }

    #[test]
    fn a_wrong_shape_names_the_tensor() {
        let dir = tempfile::tempdir().expect("tempdir");
        testing::write_tiny_checkpoint(dir.path(), 1).expect("checkpoint");
        let mut cfg = testing::tiny_config(testing::tiny_vocab().len());
        cfg["intermediate_size"] = 64.into();
        std::fs::write(dir.path().join("config.json"), cfg.to_string()).expect("cfg");
        let err = Encoder::load(dir.path(), &Device::Cpu, Trainable::None)
            .expect_err("shape")
            .to_string();
        assert!(
            err.contains("encoder.layer.0.intermediate.dense.weight"),
            "{err}"
        );
    }

    #[test]
    fn cpu_is_always_available_and_cuda_needs_the_feature() {
        assert!(DeviceChoice::Cpu.device().expect("cpu").is_cpu());
        assert!(DeviceChoice::Auto.device().is_ok());
        if !cfg!(feature = "cuda") {
            let err = DeviceChoice::Cuda
                .device()
                .expect_err("no cuda")
                .to_string();
            assert!(err.contains("--features cuda"), "{err}");
        }
    }
}
