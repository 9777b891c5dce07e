//! Tamper evidence: editing, deleting or reordering one record is caught by
//! `verify`, which names the segment, line, record and what is wrong; the
//! CLI exits 1. A torn last line (a crash mark) is a warning, cut at the
//! next start without touching the lines before it.

mod audit_support;

use std::process::Command;

use preflight_adapters::Verdict;
use preflight_gateway::audit::{self, AuditLog};

/// Writes `n` records into a fresh data dir and returns it.
fn log_with(n: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let (handle, task) =
        AuditLog::open(audit_support::settings(dir.path())).unwrap_or_else(|e| panic!("open: {e}"));
    for i in 0..n {
        let verdict = if i % 3 == 0 {
            Verdict::Block
        } else {
            Verdict::Allow
        };
        let rec = audit_support::decision(&format!("d-{i}"), "acme", "send_email", verdict);
        handle
            .record_blocking(rec)
            .unwrap_or_else(|e| panic!("record: {e}"));
    }
    handle
        .shutdown_blocking()
        .unwrap_or_else(|e| panic!("shutdown: {e}"));
    drop(handle);
    task.join().unwrap_or_else(|e| panic!("join: {e}"));
    dir
}

fn segment_lines(dir: &tempfile::TempDir) -> (std::path::PathBuf, Vec<String>) {
    let seg = audit_support::segments(dir.path()).remove(0);
    let text = std::fs::read_to_string(&seg).unwrap_or_else(|e| panic!("read: {e}"));
    (seg, text.lines().map(str::to_owned).collect())
}

fn write_lines(path: &std::path::Path, lines: &[String]) {
    std::fs::write(
        path,
        lines.iter().map(|l| format!("{l}\n")).collect::<String>(),
    )
    .unwrap_or_else(|e| panic!("write: {e}"));
}

fn cli_verify(dir: &tempfile::TempDir) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_preflight"))
        .args(["audit", "verify", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap_or_else(|e| panic!("run: {e}"));
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn an_untouched_log_verifies_and_the_cli_exits_0() {
    let dir = log_with(10);
    let report = audit::verify(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    assert!(report.ok(), "{report:?}");
    assert_eq!(report.records, 10);
    let (code, out) = cli_verify(&dir);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("10 records"), "{out}");
}

#[test]
fn an_edited_record_is_named_with_segment_line_seq_and_decision() {
    let dir = log_with(10);
    let (seg, mut lines) = segment_lines(&dir);
    // Turn a block into an allow: the classic cover-up.
    assert!(lines[3].contains(r#""verdict":"block""#));
    lines[3] = lines[3].replacen(r#""verdict":"block""#, r#""verdict":"allow""#, 1);
    write_lines(&seg, &lines);

    let report = audit::verify(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    let p = report
        .problem
        .unwrap_or_else(|| panic!("edit not detected"));
    assert_eq!(
        (p.segment.as_str(), p.line, p.seq),
        ("segment-00000001.jsonl", 4, Some(4))
    );
    assert_eq!(p.decision_id.as_deref(), Some("d-3"));
    assert!(
        p.what.contains("changed after it was written"),
        "{}",
        p.what
    );
    assert_eq!(report.records, 3);

    let (code, out) = cli_verify(&dir);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("segment-00000001.jsonl line 4 (record seq 4, decision d-3)"),
        "{out}"
    );
}

#[test]
fn a_deleted_record_breaks_the_chain_at_the_record_after_it() {
    let dir = log_with(10);
    let (seg, mut lines) = segment_lines(&dir);
    lines.remove(5);
    write_lines(&seg, &lines);
    let p = audit::verify(dir.path())
        .ok()
        .and_then(|r| r.problem)
        .unwrap_or_else(|| panic!("not detected"));
    assert_eq!((p.line, p.seq), (6, Some(7)));
    assert!(
        p.what.contains("deleted, inserted or reordered"),
        "{}",
        p.what
    );
}

#[test]
fn two_swapped_records_are_caught_at_the_first_moved_one() {
    let dir = log_with(10);
    let (seg, mut lines) = segment_lines(&dir);
    lines.swap(2, 3);
    write_lines(&seg, &lines);
    let p = audit::verify(dir.path())
        .ok()
        .and_then(|r| r.problem)
        .unwrap_or_else(|| panic!("not detected"));
    assert_eq!((p.line, p.seq), (3, Some(4)));
}

#[test]
fn a_record_with_a_recomputed_hash_still_breaks_the_link_to_the_next() {
    // An attacker who edits a record and fixes its own hash is caught by
    // the next record's `prev`.
    let dir = log_with(5);
    let (seg, lines) = segment_lines(&dir);
    let stored: audit::StoredRecord =
        serde_json::from_str(&lines[1]).unwrap_or_else(|e| panic!("{e}"));
    let mut forged_record = stored.record.clone();
    forged_record.tenant = "someone-else".into();
    let body = serde_json::to_vec(&forged_record).unwrap_or_else(|e| panic!("{e}"));
    let mut forged = Vec::new();
    audit::chain::append_line(&mut forged, stored.seq, &stored.prev, &body);
    let mut new_lines = lines.clone();
    new_lines[1] = String::from_utf8_lossy(&forged).trim_end().to_owned();
    write_lines(&seg, &new_lines);
    let p = audit::verify(dir.path())
        .ok()
        .and_then(|r| r.problem)
        .unwrap_or_else(|| panic!("not detected"));
    assert_eq!((p.line, p.seq), (3, Some(3)));
}

#[test]
fn a_torn_last_line_is_a_warning_and_the_next_start_cuts_only_it() {
    let dir = log_with(4);
    let (seg, _) = segment_lines(&dir);
    let before = std::fs::read(&seg).unwrap_or_else(|e| panic!("{e}"));
    let mut torn = before.clone();
    torn.extend_from_slice(br#"{"seq":5,"prev":"abc","record":{"ts":"2026-"#);
    std::fs::write(&seg, &torn).unwrap_or_else(|e| panic!("{e}"));

    let report = audit::verify(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    assert!(report.ok(), "{report:?}");
    assert_eq!(report.torn_tail.as_ref().map(|t| t.line), Some(5));

    let (handle, task) =
        AuditLog::open(audit_support::settings(dir.path())).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        task.torn_tail().map(|t| t.offset),
        Some(before.len() as u64)
    );
    assert_eq!(handle.metrics_snapshot().torn_tails_repaired, 1);
    let ack = handle
        .record_blocking(audit_support::decision(
            "after-crash",
            "acme",
            "delete_file",
            Verdict::Block,
        ))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(ack.seq, 5);
    assert!(ack.synced);
    handle.shutdown_blocking().unwrap_or_else(|e| panic!("{e}"));
    drop(handle);
    task.join().unwrap_or_else(|e| panic!("{e}"));

    let after = std::fs::read(&seg).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        &after[..before.len()],
        &before[..],
        "lines before the torn one were touched"
    );
    let report = audit::verify(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        report.ok() && report.torn_tail.is_none() && report.records == 5,
        "{report:?}"
    );
}

#[test]
fn a_damaged_last_record_stops_the_writer_from_opening() {
    let dir = log_with(3);
    let (seg, mut lines) = segment_lines(&dir);
    lines[2] = lines[2].replacen("acme", "acne", 1);
    write_lines(&seg, &lines);
    let err = AuditLog::open(audit_support::settings(dir.path()))
        .map(|_| ())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("damaged") && err.contains("audit verify"),
        "{err}"
    );
}

#[test]
fn verify_of_a_missing_data_dir_is_bad_input_not_an_intact_log() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out = Command::new(env!("CARGO_BIN_EXE_preflight"))
        .args(["audit", "verify", "--data-dir"])
        .arg(dir.path().join("typo"))
        .output()
        .unwrap_or_else(|e| panic!("run: {e}"));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist"));
}

#[test]
fn an_anchor_catches_records_cut_from_the_end_and_a_rewritten_history() {
    let dir = log_with(6);
    let report = audit::verify(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    let anchor: audit::Anchor = format!("{}:{}", report.records, report.head)
        .parse()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(audit::verify_with_anchor(dir.path(), Some(&anchor)).is_ok_and(|r| r.ok()));

    // Cutting the last two records leaves a chain that verifies on its own...
    let (seg, lines) = segment_lines(&dir);
    write_lines(&seg, &lines[..4]);
    assert!(audit::verify(dir.path()).is_ok_and(|r| r.ok()));
    // ...but not against the anchor kept elsewhere.
    let p = audit::verify_with_anchor(dir.path(), Some(&anchor))
        .ok()
        .and_then(|r| r.problem)
        .unwrap_or_else(|| panic!("tail cut not detected"));
    assert!(p.what.contains("deleted from its end"), "{}", p.what);
    let out = Command::new(env!("CARGO_BIN_EXE_preflight"))
        .args([
            "audit",
            "verify",
            "--anchor",
            &format!("6:{}", anchor.hash),
            "--data-dir",
        ])
        .arg(dir.path())
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("BROKEN at the end of the log"));

    // An anchor in the middle with another hash: the history was rewritten.
    let wrong: audit::Anchor = format!("2:{}", "a".repeat(64))
        .parse()
        .unwrap_or_else(|e| panic!("{e}"));
    let p = audit::verify_with_anchor(dir.path(), Some(&wrong))
        .ok()
        .and_then(|r| r.problem)
        .unwrap_or_else(|| panic!("rewrite not detected"));
    assert_eq!(p.seq, Some(2));
    assert!("6:nothex".parse::<audit::Anchor>().is_err());
}
