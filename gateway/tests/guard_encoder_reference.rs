//! The tier-2 encoder on the real all-MiniLM-L6-v2 weights (installed by
//! `scripts/setup-model`) matches embeddings computed independently by
//! `scripts/reference_encoder.py` (NumPy BERT + the official tokenizer),
//! token ids exactly and every embedding value within 1e-4.

use candle_core::Device;
use preflight_gateway::guard::encoder::{Encoder, Trainable, default_model_dir};
use serde_json::Value;

#[test]
fn real_encoder_matches_the_numpy_reference_within_1e_4() {
    let dir = default_model_dir();
    if !dir.join("model.safetensors").is_file() {
        // Loud on purpose: CI runs scripts/setup-model first, so this only
        // happens on a machine without the weights.
        eprintln!(
            "\n\n!!! SKIPPED real_encoder_matches_the_numpy_reference: no weights in {} (run scripts/setup-model) !!!\n\n",
            dir.display()
        );
        return;
    }
    let enc = Encoder::load(&dir, &Device::Cpu, Trainable::None).expect("encoder loads");
    let fixture: Value = serde_json::from_str(include_str!("fixtures/encoder_reference.json"))
        .expect("fixture is JSON");
    let cases = fixture["cases"].as_array().expect("cases");
    assert!(cases.len() >= 5);
    let texts: Vec<&str> = cases
        .iter()
        .map(|c| c["text"].as_str().expect("text"))
        .collect();
    for (c, t) in cases.iter().zip(&texts) {
        let want: Vec<u32> = c["ids"]
            .as_array()
            .expect("ids")
            .iter()
            .map(|v| v.as_u64().expect("id") as u32)
            .collect();
        assert_eq!(
            enc.tokenizer.encode(t, enc.max_len),
            want,
            "token ids of {t:?}"
        );
    }
    // One batch (padded to the longest) and one by one: both match.
    let batch = enc.embed(&texts).expect("batch");
    for (i, (c, t)) in cases.iter().zip(&texts).enumerate() {
        let want: Vec<f64> = c["embedding"]
            .as_array()
            .expect("embedding")
            .iter()
            .map(|v| v.as_f64().expect("float"))
            .collect();
        let one = enc.embed(&[*t]).expect("one");
        for got in [&batch[i], &one[0]] {
            assert_eq!(got.len(), want.len());
            let worst = got
                .iter()
                .zip(&want)
                .map(|(g, w)| (f64::from(*g) - w).abs())
                .fold(0.0, f64::max);
            assert!(worst < 1e-4, "{t:?}: max |diff| {worst}");
        }
    }
}
