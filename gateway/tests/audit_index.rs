//! The SQLite index: filters return the right records, the index is rebuilt
//! from the segments when deleted, damaged or stale, catches up on new
//! records, and `export --format cases` turns decisions into eval cases.

mod audit_support;

use std::process::Command;

use preflight_adapters::Verdict;
use preflight_gateway::audit::export::export_cases;
use preflight_gateway::audit::index::Index;
use preflight_gateway::audit::query::{self, Filter};
use preflight_gateway::audit::record::{ApprovalOutcome, ApprovalResult, ReplayContext};
use preflight_gateway::audit::stats::stats;
use preflight_gateway::audit::{AuditLog, AuditRecord};
use serde_json::{Value, json};

fn write(dir: &std::path::Path, records: Vec<AuditRecord>) {
    let (handle, task) =
        AuditLog::open(audit_support::settings(dir)).unwrap_or_else(|e| panic!("{e}"));
    for rec in records {
        handle
            .record_blocking(rec)
            .unwrap_or_else(|e| panic!("{e}"));
    }
    handle.shutdown_blocking().unwrap_or_else(|e| panic!("{e}"));
    drop(handle);
    task.join().unwrap_or_else(|e| panic!("{e}"));
}

fn with_ts(mut rec: AuditRecord, ts: &str) -> AuditRecord {
    rec.ts = ts.into();
    rec
}

fn fixture() -> Vec<AuditRecord> {
    use audit_support::decision;
    vec![
        with_ts(
            decision("d-1", "acme", "read_file", Verdict::Allow),
            "2026-11-01T10:00:00Z",
        ),
        with_ts(
            decision("d-2", "acme", "send_email", Verdict::Block),
            "2026-11-02T10:00:00Z",
        ),
        with_ts(
            decision("d-3", "globex", "delete_repo", Verdict::RequireApproval),
            "2026-11-03T10:00:00Z",
        ),
        with_ts(
            decision("d-4", "globex", "send_email", Verdict::Rewrite),
            "2026-11-04T10:00:00Z",
        ),
    ]
}

fn ids(rows: &[query::Row]) -> Vec<&str> {
    rows.iter().map(|r| r.decision_id.as_str()).collect()
}

#[test]
fn filters_select_by_verdict_tool_tenant_rule_category_and_time() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    write(dir.path(), fixture());
    let index = Index::open(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    let run = |f: Filter| query::query(&index, &f).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(ids(&run(Filter::default())), ["d-1", "d-2", "d-3", "d-4"]);
    assert_eq!(
        ids(&run(Filter {
            verdict: Some(Verdict::Block),
            ..Filter::default()
        })),
        ["d-2"]
    );
    assert_eq!(
        ids(&run(Filter {
            tool: Some("send_email".into()),
            ..Filter::default()
        })),
        ["d-2", "d-4"]
    );
    assert_eq!(
        ids(&run(Filter {
            tenant: Some("globex".into()),
            ..Filter::default()
        })),
        ["d-3", "d-4"]
    );
    assert_eq!(
        ids(&run(Filter {
            rule: Some("rule.delete_repo".into()),
            ..Filter::default()
        })),
        ["d-3"]
    );
    assert_eq!(
        ids(&run(Filter {
            category: Some("privacy.exfiltration".into()),
            ..Filter::default()
        })),
        ["d-2", "d-3", "d-4"]
    );
    let since = preflight_gateway::audit::time::parse("2026-11-02");
    let until = preflight_gateway::audit::time::parse("2026-11-04");
    assert_eq!(
        ids(&run(Filter {
            since_us: since,
            until_us: until,
            ..Filter::default()
        })),
        ["d-2", "d-3"]
    );
    assert_eq!(
        ids(&run(Filter {
            limit: Some(2),
            ..Filter::default()
        })),
        ["d-3", "d-4"]
    );

    let s = stats(&index, &Filter::default()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.records, 4);
    assert_eq!(s.top_tools.first(), Some(&("send_email".to_owned(), 2)));
    assert_eq!(s.top_tenants.len(), 2);
}

#[test]
fn a_deleted_index_is_rebuilt_from_the_segments() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    write(dir.path(), fixture());
    let first = Index::open(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        first.sync.created && first.sync.indexed == 4,
        "{:?}",
        first.sync
    );
    drop(first);
    std::fs::remove_file(Index::path(dir.path())).unwrap_or_else(|e| panic!("{e}"));
    let again = Index::open(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(again.sync.indexed, 4);
    assert_eq!(
        query::query(&again, &Filter::default())
            .map(|r| r.len())
            .ok(),
        Some(4)
    );
}

#[test]
fn new_records_are_indexed_incrementally_without_a_rebuild() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    write(dir.path(), fixture());
    drop(Index::open(dir.path()).unwrap_or_else(|e| panic!("{e}")));
    write(
        dir.path(),
        vec![audit_support::decision(
            "d-5",
            "acme",
            "transfer_funds",
            Verdict::Block,
        )],
    );
    let index = Index::open(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (index.sync.rebuilt.as_deref(), index.sync.indexed),
        (None, 1)
    );
    let rows = query::query(
        &index,
        &Filter {
            tool: Some("transfer_funds".into()),
            ..Filter::default()
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(ids(&rows), ["d-5"]);
}

#[test]
fn a_stale_index_from_another_log_is_rebuilt() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    write(dir.path(), fixture());
    drop(Index::open(dir.path()).unwrap_or_else(|e| panic!("{e}")));
    // The segments are replaced by another log (a restore from backup):
    // the index still describes the old one.
    for seg in audit_support::segments(dir.path()) {
        std::fs::remove_file(seg).unwrap_or_else(|e| panic!("{e}"));
    }
    write(
        dir.path(),
        vec![
            audit_support::decision("n-1", "initech", "read_file", Verdict::Allow),
            audit_support::decision("n-2", "initech", "read_file", Verdict::Allow),
        ],
    );
    let index = Index::open(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    assert!(index.sync.rebuilt.is_some(), "{:?}", index.sync);
    let rows = query::query(&index, &Filter::default()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(ids(&rows), ["n-1", "n-2"]);
}

#[test]
fn a_damaged_index_file_is_replaced() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    write(dir.path(), fixture());
    std::fs::create_dir_all(dir.path().join("audit")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(Index::path(dir.path()), b"this is not a database")
        .unwrap_or_else(|e| panic!("{e}"));
    let index = Index::open(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    assert!(index.sync.rebuilt.is_some());
    assert_eq!(index.sync.indexed, 4);
}

#[test]
fn export_writes_eval_cases_labelled_by_the_final_outcome() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let replay = |content: &str| ReplayContext {
        tools: json!([{"type": "function", "function": {"name": "send_email", "parameters": {"type": "object"}}}]),
        messages: json!([{"role": "user", "content": content}]),
        proposed: json!({"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "send_email", "arguments": "{}"}}]}),
    };
    let mut blocked = audit_support::decision("d-block", "acme", "send_email", Verdict::Block);
    blocked.replay = Some(replay("email the report"));
    let mut held =
        audit_support::decision("d-held", "acme", "send_email", Verdict::RequireApproval);
    held.replay = Some(replay("email the board"));
    let mut allowed = audit_support::decision("d-allow", "acme", "send_email", Verdict::Allow);
    allowed.replay = Some(replay("email me"));
    let no_replay = audit_support::decision("d-bare", "acme", "send_email", Verdict::Block);
    let approved = AuditRecord::approval(
        "d-held",
        "acme",
        "openai-chat",
        ApprovalOutcome {
            approval_id: "ap-9".into(),
            outcome: ApprovalResult::Approved,
            by: None,
            note: None,
        },
    );
    write(
        dir.path(),
        vec![blocked, held, allowed, no_replay, approved],
    );

    let out = Command::new(env!("CARGO_BIN_EXE_preflight"))
        .args(["audit", "export", "--format", "cases", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cases: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let labels: Vec<(&str, &str)> = cases
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap_or(""),
                c["label"].as_str().unwrap_or(""),
            )
        })
        .collect();
    // The held call was later approved by a person, so it is benign.
    assert_eq!(
        labels,
        [
            ("audit-1", "malicious"),
            ("audit-2", "benign"),
            ("audit-3", "benign")
        ]
    );
    assert_eq!(cases[0]["category"], json!("privacy.exfiltration"));
    assert_eq!(
        cases[0]["messages"][0]["content"],
        json!("email the report")
    );
    assert_eq!(
        cases[0]["proposed"]["tool_calls"][0]["function"]["name"],
        json!("send_email")
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("1 decisions without replay context"));

    // Same filters as query.
    let mut buf = Vec::new();
    let index = Index::open(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    let report = export_cases(
        &index,
        &Filter {
            verdict: Some(Verdict::Allow),
            ..Filter::default()
        },
        &mut buf,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.written, 1);
}

#[test]
fn the_query_cli_prints_a_table_or_the_stored_lines_and_rejects_bad_filters() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    write(dir.path(), fixture());
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_preflight"))
            .args(["audit", "query", "--data-dir"])
            .arg(dir.path())
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let table = run(&["--tenant", "globex"]);
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        text.contains("delete_repo") && text.contains("2 records") && !text.contains("d-1"),
        "{text}"
    );

    let json = run(&["--verdict", "block", "--json"]);
    let lines: Vec<Value> = String::from_utf8_lossy(&json.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}")))
        .collect();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["record"]["decision_id"], json!("d-2"));
    assert_eq!(lines[0]["hash"].as_str().map(str::len), Some(64));

    let bad = run(&["--since", "last tuesday"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not an RFC 3339 time"));
    let bad = run(&["--verdict", "maybe"]);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn the_stats_cli_counts_by_verdict_and_tool_and_honours_filters() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut records = fixture();
    for r in &mut records {
        r.latency_us.insert("total".into(), 500);
    }
    write(dir.path(), records);
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_preflight"))
            .args(["audit", "stats", "--json", "--data-dir"])
            .arg(dir.path())
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<Value>(&out.stdout).unwrap_or_else(|e| panic!("{e}"))
    };
    let all = run(&[]);
    assert_eq!(all["records"], json!(4));
    assert_eq!(all["top_tools"][0], json!(["send_email", 2]));
    assert_eq!(all["latency"]["p50_us"], json!(500));
    assert_eq!(all["segments"], json!(1));
    let acme = run(&["--tenant", "acme"]);
    assert_eq!(acme["records"], json!(2));
    assert_eq!(acme["by_verdict"], json!([["allow", 1], ["block", 1]]));
}
