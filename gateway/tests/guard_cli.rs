//! End to end through the binary: `datagen` -> `guard train` -> `guard eval`.

use std::path::Path;
use std::process::Command;

fn preflight(args: &[&str]) -> (i32, String, String) {
    let out = match Command::new(env!("CARGO_BIN_EXE_preflight"))
        .args(args)
        .output()
    {
        Ok(o) => o,
        Err(e) => panic!("cannot run preflight: {e}"),
    };
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn datagen_train_and_eval_run_end_to_end() {
    let dir = std::env::temp_dir().join(format!("preflight-guard-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let data = dir.join("data");
    let model = dir.join("model");
    let d = data.to_string_lossy().into_owned();
    let m = model.to_string_lossy().into_owned();

    let (code, out, err) = preflight(&[
        "datagen",
        "--seed",
        "3",
        "--benign-per-family",
        "2",
        "--malicious-per-family",
        "1",
        "--out",
        &d,
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("train:") && out.contains("test:"), "{out}");
    for f in ["train.jsonl", "val.jsonl", "test.jsonl"] {
        assert!(Path::new(&d).join(f).is_file(), "{f} missing");
    }

    let train = format!("{d}/train.jsonl");
    let val = format!("{d}/val.jsonl");
    let test = format!("{d}/test.jsonl");
    let (code, _, err) = preflight(&[
        "guard", "train", "--train", &train, "--val", &val, "--out", &m, "--bits", "12",
        "--epochs", "2",
    ]);
    assert_eq!(code, 0, "{err}");
    for f in ["guard-tier1.safetensors", "guard-tier1.json", "README.md"] {
        assert!(model.join(f).is_file(), "{f} missing");
    }

    let (code, out, err) = preflight(&["guard", "eval", "--cases", &test, "--model", &m, "--json"]);
    assert_eq!(code, 0, "{err}");
    let report: serde_json::Value = match serde_json::from_str(out.trim()) {
        Ok(v) => v,
        Err(e) => panic!("eval --json is not JSON ({e}): {out}"),
    };
    assert!(report["pr_auc"].is_number());
    assert_eq!(report["levels"].as_array().map(Vec::len), Some(3));
    assert!(report["benign_pass_rate"]["injection_ignored"].is_array());
    assert!(
        report["model_id"]
            .as_str()
            .is_some_and(|s| s.starts_with("guard-t1-"))
    );

    let (code, out, _) = preflight(&["guard", "eval", "--cases", &test, "--model", &m]);
    assert_eq!(code, 0);
    assert!(
        out.contains("| standard |") && out.contains("injection_ignored"),
        "{out}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn guard_eval_reports_a_bad_case_line_with_its_number() {
    let dir = std::env::temp_dir().join(format!("preflight-guard-cli-bad-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let file = dir.join("bad.jsonl");
    let _ = std::fs::write(
        &file,
        "{\"id\": \"a\", \"label\": \"evil\", \"messages\": [], \"proposed\": {}}\n",
    );
    let (code, _, err) = preflight(&["guard", "eval", "--cases", &file.to_string_lossy()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("line 1") && err.contains("/label"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
