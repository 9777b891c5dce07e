//! Tier 2 on a tiny random BERT (seconds, no downloaded weights): heads
//! train (loss goes down, every head tensor gets a gradient), scoring is
//! deterministic and batch-independent, the batcher serves concurrent
//! callers with the same results, and missing weights behave as configured.

use std::sync::Arc;
use std::time::Duration;

use candle_core::Device;
use preflight_adapters::graph::ActionGraph;
use preflight_gateway::datagen::{self, Settings as DataSettings};
use preflight_gateway::guard::batcher::{self, BatchSettings};
use preflight_gateway::guard::encoder::{Encoder, Trainable, testing};
use preflight_gateway::guard::tier2::train::{self as t2train, EmbeddingCache, Settings};
use preflight_gateway::guard::tier2::{
    self, EXTRA, Engine, Heads, StepInput, Tier2Mode, Tier2Settings, step_input,
};
use preflight_gateway::guard::{Escalation, Guard, train};

fn cases() -> Vec<train::TaggedCase> {
    let d = datagen::generate(DataSettings {
        seed: 7,
        benign_per_family: 1,
        malicious_per_family: 1,
    });
    train::read_cases(&datagen::to_jsonl(&d.val)).expect("generated cases parse")
}

fn tiny_encoder() -> (tempfile::TempDir, Encoder) {
    let dir = tempfile::tempdir().expect("tempdir");
    testing::write_tiny_checkpoint(dir.path(), 5).expect("checkpoint");
    let enc = Encoder::load(dir.path(), &Device::Cpu, Trainable::None).expect("tiny encoder loads");
    (dir, enc)
}

fn inputs(n: usize) -> Vec<StepInput> {
    let g = Guard::embedded().expect("tier 1");
    let mut out = Vec::new();
    for tc in cases() {
        let graph = ActionGraph::build(&tc.case.plan);
        for s in tc.case.plan.steps.iter().filter(|s| s.is_proposed()) {
            out.push(step_input(&graph, s.index, &g.tier1));
        }
        if out.len() >= n {
            break;
        }
    }
    out.truncate(n);
    out
}

fn tiny_engine() -> (tempfile::TempDir, Engine) {
    let (dir, encoder) = tiny_encoder();
    let (heads, _) = Heads::init(encoder.dim(), EXTRA, 8, 3, &Device::Cpu).expect("heads");
    (dir, Engine::new(encoder, heads.detached()))
}

#[test]
fn step_inputs_carry_goal_action_and_numeric_features() {
    let ins = inputs(6);
    assert_eq!(ins.len(), 6);
    for i in &ins {
        assert!(i.goal.starts_with("user goal: "), "{}", i.goal);
        assert!(
            i.action.starts_with("tool: ") && i.action.contains("arguments: "),
            "{}",
            i.action
        );
        assert_eq!(i.extra.len(), EXTRA);
        assert!(i.extra.iter().all(|x| x.is_finite()));
    }
}

#[test]
fn training_the_heads_lowers_the_loss_and_reaches_every_head_tensor() {
    let (_d, enc) = tiny_encoder();
    let g = Guard::embedded().expect("tier 1");
    let cs = cases();
    let ex: Vec<_> = t2train::examples(&cs, &g.tier1)
        .into_iter()
        .take(48)
        .collect();
    assert!(ex.iter().any(|e| e.malicious) && ex.iter().any(|e| !e.malicious));
    let mut cache = EmbeddingCache::default();
    let x = t2train::features(&enc, &mut cache, &ex).expect("features");
    assert_eq!(x.dims(), &[ex.len(), 4 * enc.dim() + EXTRA]);

    // Gradients: one backward pass from fresh heads.
    let (heads, vars) = Heads::init(enc.dim(), EXTRA, 8, 1, &Device::Cpu).expect("init");
    let (y, c, m) = t2train::targets(&ex, &Device::Cpu).expect("targets");
    let loss = t2train::loss(&heads, &x, &y, &c, &m).expect("loss");
    let grads = loss.backward().expect("backward");
    assert_eq!(vars.len(), 6);
    for v in &vars {
        let g = grads
            .get(v.as_tensor())
            .expect("every head tensor has a gradient");
        let mag: f32 = g
            .abs()
            .and_then(|t| t.sum_all())
            .and_then(|t| t.to_scalar())
            .expect("sum");
        assert!(mag > 0.0);
    }

    let settings = Settings {
        epochs: 15,
        hidden: 8,
        batch: 16,
        learning_rate: 1e-2,
        ..Settings::default()
    };
    let (_, losses) = t2train::train_heads(&x, &ex, enc.dim(), settings).expect("train");
    assert_eq!(losses.len(), 15);
    let (first, last) = (losses[0], losses[14]);
    assert!(last < first * 0.8, "loss {first} -> {last}");
}

#[test]
fn scoring_is_deterministic_and_a_batch_equals_one_by_one() {
    let (_d, engine) = tiny_engine();
    let ins = inputs(5);
    let a = engine.score(&ins).expect("batch");
    let b = engine.score(&ins).expect("again");
    assert_eq!(a, b);
    for (i, want) in ins.iter().zip(&a) {
        let one = engine.score(std::slice::from_ref(i)).expect("one");
        assert!((one[0].risk - want.risk).abs() < 1e-5);
        for (x, y) in one[0].categories.iter().zip(&want.categories) {
            assert!((x - y).abs() < 1e-5);
        }
        assert!((0.0..=1.0).contains(&want.risk));
        assert!((want.categories.iter().sum::<f32>() - 1.0).abs() < 1e-4);
    }
}

#[test]
fn concurrent_callers_share_one_batch_and_get_their_own_results() {
    let (_d, engine) = tiny_engine();
    let engine = Arc::new(engine);
    let ins = inputs(8);
    let want = engine.score(&ins).expect("direct");
    // The batch fills at 8 steps long before the (generous) wait ends.
    let handle = batcher::spawn(
        Arc::clone(&engine),
        BatchSettings {
            max_steps: 8,
            max_wait: Duration::from_secs(20),
        },
    )
    .expect("thread");
    let barrier = Arc::new(std::sync::Barrier::new(8));
    let threads: Vec<_> = ins
        .iter()
        .cloned()
        .map(|input| {
            let (h, b) = (handle.clone(), Arc::clone(&barrier));
            std::thread::spawn(move || {
                b.wait();
                let key = input.action.clone();
                (key, h.score_blocking(vec![input]).expect("scored"))
            })
        })
        .collect();
    for t in threads {
        let (key, got) = t.join().expect("joined");
        let i = ins
            .iter()
            .position(|x| x.action == key)
            .expect("known input");
        assert!((got[0].risk - want[i].risk).abs() < 1e-5);
    }
    assert_eq!(handle.stats(), (1, 8));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_and_blocking_callers_inside_a_runtime_are_served() {
    let (_d, engine) = tiny_engine();
    let engine = Arc::new(engine);
    let ins = inputs(3);
    let want = engine.score(&ins).expect("direct");
    let handle = batcher::spawn(Arc::clone(&engine), BatchSettings::default()).expect("thread");
    let got = handle.score(ins.clone()).await.expect("async");
    assert_eq!(got, want);
    let got = handle.score_blocking(ins).expect("blocking in a worker");
    assert_eq!(got, want);
}

#[test]
fn auto_without_weights_runs_tier_1_only_and_always_fails_naming_the_fix() {
    let empty = tempfile::tempdir().expect("tempdir");
    let s = |mode| Tier2Settings {
        mode,
        encoder_dir: Some(empty.path().to_owned()),
        ..Tier2Settings::default()
    };
    let g = tier2::attach(Guard::embedded().expect("t1"), &s(Tier2Mode::Auto)).expect("auto");
    assert!(g.next.is_none());
    assert_eq!(g.escalation, Escalation::Never);
    let err = tier2::attach(Guard::embedded().expect("t1"), &s(Tier2Mode::Always))
        .expect_err("always needs weights")
        .to_string();
    assert!(
        err.contains("config.json") || err.contains("model.safetensors"),
        "{err}"
    );
    assert!(err.contains("scripts/setup-model"), "{err}");
    let off = tier2::attach(Guard::embedded().expect("t1"), &s(Tier2Mode::Off)).expect("off");
    assert!(off.next.is_none());
}

/// Tiny encoder + tiny heads saved as a tier-2 model for the built-in
/// tier 1, with the band covering every risk.
fn tiny_tier2_dirs() -> (tempfile::TempDir, tempfile::TempDir) {
    let (enc_dir, encoder) = tiny_encoder();
    let heads_dir = tempfile::tempdir().expect("tempdir");
    let (heads, _) = Heads::init(encoder.dim(), EXTRA, 8, 9, &Device::Cpu).expect("heads");
    let t1 = Guard::embedded().expect("tier 1");
    let th = t1.meta.thresholds;
    let model = tier2::Tier2Model {
        heads: heads.detached(),
        meta: tier2::Tier2Meta {
            format: tier2::META_FORMAT.into(),
            model_id: "guard-t2-tiny".into(),
            input_version: tier2::INPUT_VERSION,
            encoder: tier2::EncoderInfo {
                name: "tiny".into(),
                dim: encoder.dim(),
                model_sha256: None,
            },
            extra: EXTRA,
            tier1_model_id: t1.meta.model_id.clone(),
            band: [0.0, 1.0],
            thresholds: th,
            thresholds_always: th,
            target_fpr: Default::default(),
            finetuned_layers: 0,
            training: serde_json::json!({}),
            metrics: serde_json::json!({}),
        },
        encoder_overrides: Default::default(),
    };
    model.save(heads_dir.path()).expect("saved");
    (enc_dir, heads_dir)
}

#[test]
fn the_pipeline_sends_steps_to_tier_2_when_configured() {
    use preflight_adapters::{Args, Format, Plan};
    let (enc, heads) = tiny_tier2_dirs();
    let toml = format!(
        "[guard]\ntier2 = \"always\"\ndevice = \"cpu\"\nencoder_dir = \"{}\"\ntier2_dir = \"{}\"\n[policy]\ndecision_deadline_ms = 60000\n",
        enc.path().display(),
        heads.path().display()
    );
    let settings = preflight_gateway::config::from_toml(&toml).expect("config");
    let pipeline =
        preflight_gateway::pipeline::Pipeline::from_settings(Some(&settings)).expect("pipeline");
    assert!(
        pipeline
            .guard_model_id()
            .is_some_and(|id| id.ends_with("+guard-t2-tiny"))
    );
    let mut plan = Plan::new(Format::Generic);
    plan.goal = Some("email the report to bob".into());
    plan.push_step(
        Some("a"),
        "send_email",
        Args::from_text(r#"{"to":"bob@example.com"}"#),
        String::new(),
    );
    let j = pipeline.judge_plan(&plan, None);
    let score = j
        .analysis
        .get("a")
        .and_then(|a| a.score.as_ref())
        .expect("scored");
    assert_eq!(score.tier, 2);
    assert!(score.rationale.starts_with("tier 2"), "{}", score.rationale);
}

#[test]
fn bad_tier2_config_values_name_their_key() {
    for (toml, key) in [
        ("[guard]\ntier2 = \"sometimes\"\n", "guard.tier2"),
        ("[guard]\ndevice = \"tpu\"\n", "guard.device"),
        ("[guard]\nband = [0.9, 0.1]\n", "guard.band"),
        ("[guard]\nbatch_max_steps = 0\n", "guard.batch_max_steps"),
    ] {
        let err = preflight_gateway::config::from_toml(toml)
            .expect_err("invalid")
            .to_string();
        assert!(err.starts_with(key), "{toml}: {err}");
    }
}

#[test]
fn fine_tuning_the_top_layer_lowers_the_loss_and_its_weights_round_trip() {
    let dir = tempfile::tempdir().expect("tempdir");
    testing::write_tiny_checkpoint(dir.path(), 5).expect("checkpoint");
    let enc = Encoder::load(dir.path(), &Device::Cpu, Trainable::TopLayers(1)).expect("loads");
    let g = Guard::embedded().expect("tier 1");
    let cs = cases();
    let ex: Vec<_> = t2train::examples(&cs, &g.tier1)
        .into_iter()
        .take(32)
        .collect();
    let before: Vec<f32> = enc.bert.vars()[0]
        .1
        .as_tensor()
        .flatten_all()
        .and_then(|t| t.to_vec1())
        .expect("weights");
    let settings = Settings {
        epochs: 8,
        hidden: 8,
        batch: 16,
        learning_rate: 1e-2,
        ..Settings::default()
    };
    let (_heads, losses) = t2train::finetune(&enc, &ex, settings, 1e-2).expect("fine-tunes");
    assert!(losses[7] < losses[0], "{losses:?}");
    let (name, var) = &enc.bert.vars()[0];
    assert!(name.starts_with("encoder.layer.1."), "{name}");
    let after: Vec<f32> = var
        .as_tensor()
        .flatten_all()
        .and_then(|t| t.to_vec1())
        .expect("weights");
    assert_ne!(before, after, "the top layer was not updated");

    // The tuned layer replaces the checkpoint's when loaded with overrides.
    let overrides = enc
        .bert
        .vars()
        .iter()
        .map(|(n, v)| (n.clone(), v.as_tensor().detach()))
        .collect();
    let tuned = Encoder::load_with(dir.path(), &Device::Cpu, Trainable::None, &overrides)
        .expect("loads with overrides");
    let text = ["delete all files"];
    let a: Vec<Vec<f32>> = enc
        .embed_tensor(&text, false)
        .and_then(|t| t.to_vec2())
        .expect("a");
    let b = tuned.embed(&text).expect("b");
    for (x, y) in a[0].iter().zip(&b[0]) {
        assert!((x - y).abs() < 1e-5);
    }
}
