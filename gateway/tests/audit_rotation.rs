//! Rotation: segments close by size and by age, the hash chain runs on
//! across segment files and across restarts, and verify checks the links
//! at every boundary.

mod audit_support;

use std::time::Duration;

use preflight_adapters::Verdict;
use preflight_gateway::audit::{self, AuditLog, AuditSettings};

fn write(settings: AuditSettings, ids: std::ops::Range<usize>) {
    let (handle, task) = AuditLog::open(settings).unwrap_or_else(|e| panic!("open: {e}"));
    for i in ids {
        let verdict = if i % 2 == 0 {
            Verdict::Block
        } else {
            Verdict::Allow
        };
        handle
            .record_blocking(audit_support::decision(
                &format!("d-{i}"),
                "acme",
                "read_file",
                verdict,
            ))
            .unwrap_or_else(|e| panic!("record: {e}"));
    }
    handle
        .shutdown_blocking()
        .unwrap_or_else(|e| panic!("shutdown: {e}"));
    drop(handle);
    task.join().unwrap_or_else(|e| panic!("join: {e}"));
}

#[test]
fn size_rotation_splits_the_log_and_the_chain_crosses_every_boundary() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut settings = AuditSettings::new(dir.path());
    settings.segment_max_bytes = 4096;
    write(settings.clone(), 0..60);
    // Restart: the chain continues from the last segment.
    write(settings, 60..90);

    let segments = audit_support::segments(dir.path());
    assert!(segments.len() >= 5, "{segments:?}");
    for seg in &segments {
        let len = std::fs::metadata(seg).map(|m| m.len()).unwrap_or(0);
        assert!(len <= 4096, "{seg:?} is {len} bytes");
    }
    let records = audit_support::stored(dir.path());
    assert_eq!(
        records.keys().copied().collect::<Vec<_>>(),
        (1..=90).collect::<Vec<u64>>()
    );
    for (seq, rec) in records.range(2..) {
        assert_eq!(rec.prev, records[&(seq - 1)].hash, "link before seq {seq}");
    }
    let report = audit::verify(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        report.ok() && report.records == 90 && report.segments == segments.len(),
        "{report:?}"
    );
}

#[test]
fn a_tampered_first_record_of_a_later_segment_is_caught() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut settings = AuditSettings::new(dir.path());
    settings.segment_max_bytes = 4096;
    write(settings, 0..30);
    let second = audit_support::segments(dir.path()).remove(1);
    let text = std::fs::read_to_string(&second).unwrap_or_else(|e| panic!("{e}"));
    // Drop the first line of segment 2: its successor no longer links.
    let rest: String = text.split_inclusive('\n').skip(1).collect();
    std::fs::write(&second, rest).unwrap_or_else(|e| panic!("{e}"));
    let p = audit::verify(dir.path())
        .ok()
        .and_then(|r| r.problem)
        .unwrap_or_else(|| panic!("not detected"));
    assert_eq!((p.segment.as_str(), p.line), ("segment-00000002.jsonl", 1));
}

#[test]
fn a_deleted_whole_segment_is_caught() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut settings = AuditSettings::new(dir.path());
    settings.segment_max_bytes = 4096;
    write(settings, 0..40);
    let segments = audit_support::segments(dir.path());
    std::fs::remove_file(&segments[1]).unwrap_or_else(|e| panic!("{e}"));
    let p = audit::verify(dir.path())
        .ok()
        .and_then(|r| r.problem)
        .unwrap_or_else(|| panic!("not detected"));
    assert_eq!((p.segment.as_str(), p.line), ("segment-00000003.jsonl", 1));
}

#[test]
fn age_rotation_closes_an_old_segment_on_the_next_record() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut settings = AuditSettings::new(dir.path());
    settings.segment_max_age = Duration::from_millis(30);
    let (handle, task) = AuditLog::open(settings).unwrap_or_else(|e| panic!("{e}"));
    for i in 0..3 {
        handle
            .record_blocking(audit_support::decision(
                &format!("d-{i}"),
                "acme",
                "read_file",
                Verdict::Block,
            ))
            .unwrap_or_else(|e| panic!("{e}"));
        // Crossing the age limit is the behaviour under test, so real time must pass.
        std::thread::sleep(Duration::from_millis(50));
    }
    handle.shutdown_blocking().unwrap_or_else(|e| panic!("{e}"));
    drop(handle);
    task.join().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(audit_support::segments(dir.path()).len(), 3);
    assert_eq!(handle_free_verify(dir.path()), 3);
}

fn handle_free_verify(dir: &std::path::Path) -> u64 {
    let report = audit::verify(dir).unwrap_or_else(|e| panic!("{e}"));
    assert!(report.ok(), "{report:?}");
    report.records
}
