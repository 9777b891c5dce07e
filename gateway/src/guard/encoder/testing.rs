//! A tiny random BERT checkpoint (tests and benches): same file layout and
//! tensor names as a real one, a few thousand weights, loads in
//! milliseconds. Deterministic by seed.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{Device, Tensor};
use serde_json::json;

/// Words of the tiny vocabulary (after the special tokens and letters).
const WORDS: &[&str] = &[
    "send",
    "email",
    "the",
    "report",
    "to",
    "delete",
    "all",
    "files",
    "pay",
    "invoice",
    "read",
    "calendar",
    "goal",
    "tool",
    "action",
    "args",
    "context",
    "user",
    "asked",
    "ignore",
    "previous",
    "instructions",
    "password",
    "transfer",
    "money",
    "run",
    "shell",
    "command",
    "summarize",
];

/// The tiny model's configuration.
pub fn tiny_config(vocab_size: usize) -> serde_json::Value {
    json!({
        "vocab_size": vocab_size, "hidden_size": 16, "num_hidden_layers": 2,
        "num_attention_heads": 4, "intermediate_size": 32,
        "max_position_embeddings": 64, "type_vocab_size": 2,
        "layer_norm_eps": 1e-12, "hidden_act": "gelu", "model_type": "bert"
    })
}

/// The vocabulary: special tokens, letters, `##` letters, digits, ASCII
/// punctuation, then a few words: every ASCII text tokenizes without `[UNK]`.
pub fn tiny_vocab() -> Vec<String> {
    let mut v: Vec<String> = ["[PAD]", "[UNK]", "[CLS]", "[SEP]"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    for c in ('a'..='z').chain('0'..='9') {
        v.push(c.to_string());
        v.push(format!("##{c}"));
    }
    for c in (33u8..127)
        .map(char::from)
        .filter(char::is_ascii_punctuation)
    {
        v.push(c.to_string());
    }
    v.extend(WORDS.iter().map(|w| (*w).to_owned()));
    v
}

/// Writes `config.json`, `tokenizer.json` and `model.safetensors` of a
/// random tiny BERT into `dir`.
pub fn write_tiny_checkpoint(dir: &Path, seed: u64) -> std::io::Result<()> {
    let vocab = tiny_vocab();
    let cfg = tiny_config(vocab.len());
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("config.json"), cfg.to_string())?;
    let vmap: serde_json::Map<String, serde_json::Value> = vocab
        .iter()
        .enumerate()
        .map(|(i, w)| (w.clone(), json!(i)))
        .collect();
    let tok = json!({
        "normalizer": {"type": "BertNormalizer", "clean_text": true,
            "handle_chinese_chars": true, "strip_accents": null, "lowercase": true},
        "model": {"type": "WordPiece", "unk_token": "[UNK]",
            "continuing_subword_prefix": "##", "max_input_chars_per_word": 100, "vocab": vmap}
    });
    std::fs::write(dir.join("tokenizer.json"), tok.to_string())?;
    let tensors = random_tensors(&cfg, seed).map_err(std::io::Error::other)?;
    candle_core::safetensors::save(&tensors, dir.join("model.safetensors"))
        .map_err(std::io::Error::other)
}

fn random_tensors(
    cfg: &serde_json::Value,
    seed: u64,
) -> candle_core::Result<HashMap<String, Tensor>> {
    let n = |k: &str| cfg[k].as_u64().unwrap_or(1) as usize;
    let (h, inter, vocab) = (n("hidden_size"), n("intermediate_size"), n("vocab_size"));
    let mut rng = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut out = HashMap::new();
    let mut put = |name: String, shape: Vec<usize>, kind: u8| -> candle_core::Result<()> {
        let len: usize = shape.iter().product();
        let data: Vec<f32> = (0..len)
            .map(|_| {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                let u = (rng >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
                match kind {
                    // LayerNorm gamma around 1.
                    1 => 1.0 + 0.2 * u,
                    _ => 0.6 * u,
                }
            })
            .collect();
        out.insert(name, Tensor::from_vec(data, shape, &Device::Cpu)?);
        Ok(())
    };
    let norm = |put: &mut dyn FnMut(String, Vec<usize>, u8) -> candle_core::Result<()>, p: &str| {
        put(format!("{p}.weight"), vec![h], 1)?;
        put(format!("{p}.bias"), vec![h], 0)
    };
    put(
        "embeddings.word_embeddings.weight".into(),
        vec![vocab, h],
        0,
    )?;
    put(
        "embeddings.position_embeddings.weight".into(),
        vec![n("max_position_embeddings"), h],
        0,
    )?;
    put(
        "embeddings.token_type_embeddings.weight".into(),
        vec![2, h],
        0,
    )?;
    norm(&mut put, "embeddings.LayerNorm")?;
    for i in 0..n("num_hidden_layers") {
        let p = format!("encoder.layer.{i}");
        for (name, o, inp) in [
            ("attention.self.query", h, h),
            ("attention.self.key", h, h),
            ("attention.self.value", h, h),
            ("attention.output.dense", h, h),
            ("intermediate.dense", inter, h),
            ("output.dense", h, inter),
        ] {
            put(format!("{p}.{name}.weight"), vec![o, inp], 0)?;
            put(format!("{p}.{name}.bias"), vec![o], 0)?;
        }
        norm(&mut put, &format!("{p}.attention.output.LayerNorm"))?;
        norm(&mut put, &format!("{p}.output.LayerNorm"))?;
    }
    Ok(out)
}
