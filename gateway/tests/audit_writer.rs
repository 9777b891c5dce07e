//! The writer behind its bounded queue: concurrent producers, durable acks
//! after fsync, backpressure that refuses (and counts) instead of dropping,
//! shutdown, allow sampling, and the single-writer lock.

mod audit_support;

use std::collections::HashSet;

use preflight_adapters::Verdict;
use preflight_gateway::audit::{
    self, AllowRecording, ApprovalOutcome, ApprovalResult, AuditError, AuditLog, AuditRecord,
    Queued,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_producers_get_unique_gapless_seqs_and_the_chain_verifies() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut settings = audit_support::settings(dir.path());
    settings.segment_max_bytes = 16 * 1024;
    let (handle, task) = AuditLog::open(settings).unwrap_or_else(|e| panic!("{e}"));
    let mut tasks = Vec::new();
    for t in 0..16 {
        let handle = handle.clone();
        tasks.push(tokio::spawn(async move {
            let mut acks = Vec::new();
            for i in 0..50 {
                let verdict = if (t + i) % 2 == 0 {
                    Verdict::Block
                } else {
                    Verdict::Allow
                };
                let rec = audit_support::decision(
                    &format!("t{t}-{i}"),
                    &format!("tenant-{t}"),
                    "send_email",
                    verdict,
                );
                let ack = handle.record(rec).await.unwrap_or_else(|e| panic!("{e}"));
                if verdict == Verdict::Block {
                    assert!(ack.synced, "a block was acked before fsync: {ack:?}");
                }
                acks.push((ack.seq, format!("t{t}-{i}")));
            }
            acks
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap_or_else(|e| panic!("{e}")));
    }
    handle.shutdown().await.unwrap_or_else(|e| panic!("{e}"));
    drop(handle);
    task.finished().await.unwrap_or_else(|e| panic!("{e}"));

    let seqs: HashSet<u64> = all.iter().map(|(s, _)| *s).collect();
    assert_eq!(seqs.len(), 800);
    assert_eq!(seqs, (1..=800).collect());
    let on_disk = audit_support::stored(dir.path());
    for (seq, id) in &all {
        assert_eq!(&on_disk[seq].record.decision_id, id);
    }
    let report = audit::verify(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    assert!(report.ok() && report.records == 800, "{report:?}");
}

#[test]
fn a_full_queue_refuses_with_backpressure_and_counts_every_refusal() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut settings = audit_support::settings(dir.path());
    settings.queue_capacity = 1;
    let (handle, task) = AuditLog::open(settings).unwrap_or_else(|e| panic!("{e}"));
    let (mut queued, mut refused) = (0u64, 0u64);
    for i in 0..5000 {
        match handle.try_record(audit_support::decision(
            &format!("d-{i}"),
            "acme",
            "read_file",
            Verdict::Allow,
        )) {
            Ok(Queued::Queued) => queued += 1,
            Ok(Queued::SampledOut) => panic!("sampling is off"),
            Err(AuditError::Backpressure { capacity }) => {
                assert_eq!(capacity, 1);
                refused += 1;
            }
            Err(e) => panic!("{e}"),
        }
    }
    assert!(
        refused > 0,
        "a one-slot queue never filled over 5000 records"
    );
    handle.shutdown_blocking().unwrap_or_else(|e| panic!("{e}"));
    let m = handle.metrics_snapshot();
    assert_eq!((m.enqueued, m.rejected_backpressure), (queued, refused));
    drop(handle);
    let report = task.join().unwrap_or_else(|e| panic!("{e}"));
    // Everything accepted was written; nothing vanished.
    assert_eq!(report.written, queued);
    assert_eq!(audit_support::stored(dir.path()).len() as u64, queued);
}

#[tokio::test]
async fn records_after_shutdown_fail_closed_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (handle, task) =
        AuditLog::open(audit_support::settings(dir.path())).unwrap_or_else(|e| panic!("{e}"));
    handle.shutdown().await.unwrap_or_else(|e| panic!("{e}"));
    task.finished().await.unwrap_or_else(|e| panic!("{e}"));
    let err = handle
        .record(audit_support::decision(
            "late",
            "acme",
            "read_file",
            Verdict::Block,
        ))
        .await
        .map(|_| ())
        .unwrap_err();
    assert!(matches!(err, AuditError::WriterStopped(_)), "{err}");
    assert_eq!(handle.metrics_snapshot().rejected_stopped, 1);
}

#[test]
fn a_second_writer_on_the_same_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (_handle, _task) =
        AuditLog::open(audit_support::settings(dir.path())).unwrap_or_else(|e| panic!("{e}"));
    let err = AuditLog::open(audit_support::settings(dir.path()))
        .map(|_| ())
        .unwrap_err();
    assert!(matches!(err, AuditError::Locked(_)), "{err}");
}

#[test]
fn allow_sampling_none_keeps_blocks_and_approvals_but_no_allows() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut settings = audit_support::settings(dir.path());
    settings.allow = AllowRecording::None;
    let (handle, task) = AuditLog::open(settings).unwrap_or_else(|e| panic!("{e}"));
    let allow = handle.try_record(audit_support::decision(
        "a",
        "acme",
        "read_file",
        Verdict::Allow,
    ));
    let block = handle.try_record(audit_support::decision(
        "b",
        "acme",
        "send_email",
        Verdict::Block,
    ));
    let approval = AuditRecord::approval(
        "c",
        "acme",
        "openai-chat",
        ApprovalOutcome {
            approval_id: "ap-1".into(),
            outcome: ApprovalResult::Denied,
            by: Some("sec-oncall".into()),
            note: None,
        },
    );
    assert!(approval.needs_durability());
    let approval_ack = handle
        .record_blocking(approval)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(approval_ack.synced);
    assert_eq!(allow.ok(), Some(Queued::SampledOut));
    assert_eq!(block.ok(), Some(Queued::Queued));
    handle.shutdown_blocking().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(handle.metrics_snapshot().sampled_out, 1);
    drop(handle);
    task.join().unwrap_or_else(|e| panic!("{e}"));
    let ids: Vec<String> = audit_support::stored(dir.path())
        .values()
        .map(|r| r.record.decision_id.clone())
        .collect();
    assert_eq!(ids, ["b", "c"]);
}

#[test]
fn every_record_accepted_while_shutdown_races_producers_is_written() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (handle, task) =
        AuditLog::open(audit_support::settings(dir.path())).unwrap_or_else(|e| panic!("{e}"));
    let producers: Vec<_> = (0..4)
        .map(|t| {
            let handle = handle.clone();
            std::thread::spawn(move || {
                let mut accepted = 0u64;
                for i in 0..20_000 {
                    let rec = audit_support::decision(
                        &format!("t{t}-{i}"),
                        "acme",
                        "read_file",
                        Verdict::Allow,
                    );
                    match handle.try_record(rec) {
                        Ok(_) => accepted += 1,
                        Err(AuditError::WriterStopped(_)) => break,
                        Err(AuditError::Backpressure { .. }) => std::thread::yield_now(),
                        Err(e) => panic!("{e}"),
                    }
                }
                accepted
            })
        })
        .collect();
    // Let the producers get going, then shut down under their feet.
    while handle.metrics_snapshot().enqueued < 200 {
        std::thread::yield_now();
    }
    handle.shutdown_blocking().unwrap_or_else(|e| panic!("{e}"));
    let accepted: u64 = producers
        .into_iter()
        .map(|p| p.join().unwrap_or_else(|_| panic!("producer")))
        .sum();
    drop(handle);
    let report = task.join().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        report.written, accepted,
        "accepted records were left unwritten"
    );
    assert_eq!(audit_support::stored(dir.path()).len() as u64, accepted);
}
