//! Model files: weights as safetensors (`guard-tier1.safetensors`, one f32
//! tensor `weights` of shape `[2^bits, OUTPUTS]`, little-endian) and a JSON
//! metadata file (`guard-tier1.json`: feature config, version, thresholds,
//! metrics). Reading checks everything that came from disk: a missing file,
//! a broken header, a wrong shape or a feature-version mismatch is a
//! [`GuardError`] naming the file and the fix.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::GuardError;
use super::features::FEATURE_VERSION;
use super::linear::{LinearModel, OUTPUTS};

/// File name of the weights.
pub const WEIGHTS_FILE: &str = "guard-tier1.safetensors";
/// File name of the metadata.
pub const META_FILE: &str = "guard-tier1.json";
/// The `format` value of a metadata file.
pub const META_FORMAT: &str = "preflight-guard-tier1";

/// Risk thresholds per strictness level: a step is flagged when its risk
/// is above the level's threshold.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    /// Fewest flags (target benign FPR 1%).
    pub lenient: f32,
    /// Default (target benign FPR 3%).
    pub standard: f32,
    /// Most flags (target benign FPR 10%).
    pub strict: f32,
}

/// The typical features of one training family (hashed bucket indices,
/// sorted): a rationale names the family a flagged step resembles most.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pattern {
    /// Family name (`template@domain`).
    pub family: String,
    /// Whether the family is malicious.
    pub malicious: bool,
    /// Buckets present in at least half of the family's steps (at most 32).
    pub features: Vec<u32>,
}

/// The metadata file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metadata {
    /// Always [`META_FORMAT`].
    pub format: String,
    /// Stable id of this trained model (`guard-t1-<hash of weights>`).
    pub model_id: String,
    /// Feature set version ([`FEATURE_VERSION`]).
    pub feature_version: u32,
    /// Hash bits.
    pub bits: u32,
    /// Category order of the outputs.
    pub categories: Vec<String>,
    /// Thresholds per strictness.
    pub thresholds: Thresholds,
    /// Target benign FPR per strictness, as calibrated on validation.
    pub target_fpr: BTreeMap<String, f64>,
    /// Risk band in which tier 1 defers to a later tier (none yet).
    #[serde(default)]
    pub escalation_band: Option<[f32; 2]>,
    /// Training settings and data counts.
    pub training: Value,
    /// Validation metrics at calibration time.
    pub metrics: Value,
    /// Typical features per training family, for "nearest pattern".
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub patterns: Vec<Pattern>,
}

/// Serializes weights to safetensors bytes.
pub fn weights_to_bytes(model: &LinearModel) -> Result<Vec<u8>, GuardError> {
    let mut bytes = Vec::with_capacity(model.weights.len() * 4);
    for w in &model.weights {
        bytes.extend_from_slice(&w.to_le_bytes());
    }
    let rows = model.weights.len() / OUTPUTS;
    let view = TensorView::new(Dtype::F32, vec![rows, OUTPUTS], &bytes).map_err(|e| {
        GuardError::Write {
            path: PathBuf::from(WEIGHTS_FILE),
            reason: e.to_string(),
        }
    })?;
    safetensors::serialize([("weights", view)], None).map_err(|e| GuardError::Write {
        path: PathBuf::from(WEIGHTS_FILE),
        reason: e.to_string(),
    })
}

/// Reads weights from safetensors bytes; `path` names the source in errors.
pub fn weights_from_bytes(bytes: &[u8], bits: u32, path: &Path) -> Result<LinearModel, GuardError> {
    let corrupt = |reason: String| GuardError::Corrupt {
        path: path.to_owned(),
        reason,
    };
    let st = SafeTensors::deserialize(bytes)
        .map_err(|e| corrupt(format!("not a safetensors file: {e}")))?;
    let view = st
        .tensor("weights")
        .map_err(|e| corrupt(format!("no `weights` tensor: {e}")))?;
    if view.dtype() != Dtype::F32 {
        return Err(corrupt(format!(
            "`weights` is {:?}, expected F32",
            view.dtype()
        )));
    }
    let rows = 1usize << bits;
    if view.shape() != [rows, OUTPUTS] {
        return Err(corrupt(format!(
            "`weights` has shape {:?}, expected [{rows}, {OUTPUTS}] for {bits} hash bits",
            view.shape()
        )));
    }
    let weights: Vec<f32> = view
        .data()
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    if weights.iter().any(|w| !w.is_finite()) {
        return Err(corrupt("`weights` holds NaN or infinite values".into()));
    }
    Ok(LinearModel { bits, weights })
}

/// Parses and checks metadata bytes.
pub fn metadata_from_bytes(bytes: &[u8], path: &Path) -> Result<Metadata, GuardError> {
    let corrupt = |reason: String| GuardError::Corrupt {
        path: path.to_owned(),
        reason,
    };
    let meta: Metadata = serde_json::from_slice(bytes)
        .map_err(|e| corrupt(format!("invalid metadata JSON: {e}")))?;
    if meta.format != META_FORMAT {
        return Err(corrupt(format!(
            "format is `{}`, expected `{META_FORMAT}`",
            meta.format
        )));
    }
    if meta.feature_version != FEATURE_VERSION {
        return Err(GuardError::Incompatible {
            path: path.to_owned(),
            reason: format!(
                "trained with feature version {}, this build uses {FEATURE_VERSION}",
                meta.feature_version
            ),
        });
    }
    if !(8..=24).contains(&meta.bits) {
        return Err(corrupt(format!(
            "hash bits {} out of range 8..=24",
            meta.bits
        )));
    }
    let expected: Vec<&str> = preflight_adapters::adapters::eval_case::CATEGORIES.to_vec();
    if meta.categories != expected {
        return Err(GuardError::Incompatible {
            path: path.to_owned(),
            reason: "category list differs from this build's taxonomy".into(),
        });
    }
    Ok(meta)
}

/// Reads a file, mapping "not found" to [`GuardError::Missing`].
pub fn read(path: &Path) -> Result<Vec<u8>, GuardError> {
    std::fs::read(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => GuardError::Missing {
            path: path.to_owned(),
        },
        _ => GuardError::Io {
            path: path.to_owned(),
            reason: e.to_string(),
        },
    })
}

/// Writes the weights and metadata into `dir`.
pub fn save(dir: &Path, model: &LinearModel, meta: &Metadata) -> Result<(), GuardError> {
    std::fs::create_dir_all(dir).map_err(|e| GuardError::Io {
        path: dir.to_owned(),
        reason: e.to_string(),
    })?;
    let wpath = dir.join(WEIGHTS_FILE);
    std::fs::write(&wpath, weights_to_bytes(model)?).map_err(|e| GuardError::Io {
        path: wpath.clone(),
        reason: e.to_string(),
    })?;
    let mpath = dir.join(META_FILE);
    let text = serde_json::to_string_pretty(meta).map_err(|e| GuardError::Write {
        path: mpath.clone(),
        reason: e.to_string(),
    })?;
    std::fs::write(&mpath, text + "\n").map_err(|e| GuardError::Io {
        path: mpath,
        reason: e.to_string(),
    })
}
