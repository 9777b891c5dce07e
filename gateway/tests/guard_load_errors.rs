//! Missing or corrupt model files give an error naming the file and the fix.

use std::path::PathBuf;

use preflight_gateway::guard::{Guard, GuardError, store};

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("preflight-guard-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    if let Err(e) = std::fs::create_dir_all(&d) {
        panic!("temp dir: {e}");
    }
    d
}

fn with_builtin_meta(d: &std::path::Path) {
    let meta = match Guard::embedded() {
        Ok(g) => g.meta,
        Err(e) => panic!("{e}"),
    };
    let text = serde_json::to_string(&meta).unwrap_or_default();
    let _ = std::fs::write(d.join(store::META_FILE), text);
}

#[test]
fn missing_directory_names_the_metadata_file_and_how_to_train() {
    let d = std::env::temp_dir().join("preflight-guard-does-not-exist");
    let err = Guard::load(&d)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        err.contains("guard-tier1.json") && err.contains("not found"),
        "{err}"
    );
    assert!(err.contains("preflight guard train"), "{err}");
}

#[test]
fn missing_weights_file_is_named() {
    let d = dir("noweights");
    with_builtin_meta(&d);
    let err = Guard::load(&d).err();
    assert!(
        matches!(&err, Some(GuardError::Missing { path }) if path.ends_with(store::WEIGHTS_FILE)),
        "{err:?}"
    );
}

#[test]
fn garbage_weights_are_reported_corrupt_with_the_file_name() {
    let d = dir("garbage");
    with_builtin_meta(&d);
    let _ = std::fs::write(
        d.join(store::WEIGHTS_FILE),
        b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}",
    );
    let err = Guard::load(&d)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        err.contains("guard-tier1.safetensors") && err.contains("corrupt"),
        "{err}"
    );
}

#[test]
fn weights_of_the_wrong_shape_are_rejected() {
    let d = dir("shape");
    with_builtin_meta(&d);
    let small = preflight_gateway::guard::linear::LinearModel::zeros(8);
    let bytes = match store::weights_to_bytes(&small) {
        Ok(b) => b,
        Err(e) => panic!("{e}"),
    };
    let _ = std::fs::write(d.join(store::WEIGHTS_FILE), bytes);
    let err = Guard::load(&d)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("shape"), "{err}");
}

#[test]
fn invalid_metadata_json_is_reported_corrupt() {
    let d = dir("badmeta");
    let _ = std::fs::write(d.join(store::META_FILE), "{\"format\": 3");
    let err = Guard::load(&d).err();
    assert!(
        matches!(&err, Some(GuardError::Corrupt { path, .. }) if path.ends_with(store::META_FILE)),
        "{err:?}"
    );
}

#[test]
fn a_model_from_another_feature_version_is_incompatible() {
    let d = dir("version");
    let mut meta = match Guard::embedded() {
        Ok(g) => g.meta,
        Err(e) => panic!("{e}"),
    };
    meta.feature_version += 1;
    let _ = std::fs::write(
        d.join(store::META_FILE),
        serde_json::to_string(&meta).unwrap_or_default(),
    );
    let err = Guard::load(&d).err();
    assert!(
        matches!(err, Some(GuardError::Incompatible { .. })),
        "{err:?}"
    );
}

#[test]
fn guard_eval_with_a_missing_model_exits_2_with_the_error() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_preflight"))
        .args([
            "guard",
            "eval",
            "--cases",
            "nonexistent.jsonl",
            "--model",
            "/nonexistent/model-dir",
        ])
        .output();
    let out = match out {
        Ok(o) => o,
        Err(e) => panic!("cannot run preflight: {e}"),
    };
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("guard-tier1.json"), "{stderr}");
}
