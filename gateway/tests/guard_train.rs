//! Training: loss goes down on a tiny set, same data and seed give the same
//! weights, and a saved model loads back to identical scores.

use preflight_adapters::graph::ActionGraph;
use preflight_gateway::datagen::{self, Settings};
use preflight_gateway::guard::linear::{LinearModel, TrainSettings};
use preflight_gateway::guard::train::{self, TaggedCase};
use preflight_gateway::guard::{Guard, thresholds};

fn tiny() -> (Vec<TaggedCase>, Vec<TaggedCase>) {
    let d = datagen::generate(Settings {
        seed: 3,
        benign_per_family: 2,
        malicious_per_family: 1,
    });
    let read = |v: &[serde_json::Value]| match train::read_cases(&datagen::to_jsonl(v)) {
        Ok(c) => c,
        Err(e) => panic!("generated cases must parse: {e}"),
    };
    (read(&d.train), read(&d.val))
}

#[test]
fn training_lowers_the_loss_on_a_tiny_set() {
    let (tr, _) = tiny();
    let data = train::examples(&tr, 12);
    let mut model = LinearModel::zeros(12);
    let before = model.loss(&data);
    let losses = model.train(
        &data,
        TrainSettings {
            epochs: 3,
            ..TrainSettings::default()
        },
    );
    assert_eq!(losses.len(), 3);
    assert!(losses[2] < before * 0.5, "loss {before} -> {losses:?}");
    assert!(losses[2] <= losses[0]);
}

#[test]
fn same_data_and_seed_give_identical_weights() {
    let (tr, va) = tiny();
    let s = TrainSettings {
        epochs: 2,
        ..TrainSettings::default()
    };
    let a = train::train(&tr, &va, 12, s);
    let b = train::train(&tr, &va, 12, s);
    assert_eq!(a.guard.tier1.model, b.guard.tier1.model);
    assert_eq!(a.guard.meta.model_id, b.guard.meta.model_id);
}

#[test]
fn thresholds_are_ordered_and_come_from_benign_validation_scores() {
    let (tr, va) = tiny();
    let t = train::train(
        &tr,
        &va,
        12,
        TrainSettings {
            epochs: 2,
            ..TrainSettings::default()
        },
    );
    let th = t.guard.meta.thresholds;
    assert!(
        th.lenient >= th.standard && th.standard >= th.strict,
        "{th:?}"
    );
    assert_eq!(thresholds::quantile(&[0.1, 0.2, 0.3, 0.4], 0.5), 0.3);
}

#[test]
fn a_saved_model_loads_back_and_scores_identically() {
    let (tr, va) = tiny();
    let t = train::train(
        &tr,
        &va,
        12,
        TrainSettings {
            epochs: 2,
            ..TrainSettings::default()
        },
    );
    let dir = std::env::temp_dir().join(format!("preflight-guard-save-{}", std::process::id()));
    if let Err(e) = train::save(&dir, &t.guard) {
        panic!("save failed: {e}");
    }
    let loaded = match Guard::load(&dir) {
        Ok(g) => g,
        Err(e) => panic!("load failed: {e}"),
    };
    assert_eq!(loaded.meta.model_id, t.guard.meta.model_id);
    assert_eq!(loaded.meta.thresholds, t.guard.meta.thresholds);
    assert_eq!(loaded.tier1.model, t.guard.tier1.model);
    for tc in va.iter().take(20) {
        let g = ActionGraph::build(&tc.case.plan);
        assert_eq!(loaded.score(&g), t.guard.score(&g));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn cross_fitted_calibration_scores_every_benign_training_case_once() {
    let (tr, _) = tiny();
    let s = TrainSettings {
        epochs: 1,
        ..TrainSettings::default()
    };
    let scores = train::out_of_fold_benign(&tr, 10, s, 3);
    let benign = tr.iter().filter(|t| !t.case.is_malicious()).count();
    assert_eq!(scores.len(), benign);
    assert!(scores.iter().all(|r| (0.0..=1.0).contains(r)));
    assert!(train::out_of_fold_benign(&tr, 10, s, 1).is_empty());
}
