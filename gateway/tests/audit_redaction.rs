//! Redaction: no secret from the fixture appears anywhere on disk — not in
//! the segments, not in the SQLite index, not in an export — while equal
//! secrets still correlate through their salted hash.

mod audit_support;

use preflight_adapters::Verdict;
use preflight_gateway::audit::export::export_cases;
use preflight_gateway::audit::index::Index;
use preflight_gateway::audit::query::Filter;
use preflight_gateway::audit::record::{
    ApprovalOutcome, ApprovalResult, ReplayContext, StepRecord,
};
use preflight_gateway::audit::{AuditLog, AuditRecord, AuditSettings};
use serde_json::{Value, json};

/// Secrets of every kind the issue names, as an agent would leak them.
const SECRETS: &[&str] = &[
    "sk-proj-Qm7Zr2Lx9Vb4Nc8Tk1Wy5Hd3Jf6Gs0Pa",
    "AKIAJ7Q2XMPL4RTV9KEZ",
    "ghp_R8s7T6u5V4w3X2y1Z0a9B8c7D6e5F4g3H2i1",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJvcHMtYm90In0.dBjftJeZ4CVPmB92K27uhbUJU1p1r_wW1gFWFOEjXk",
    "Tr0ub4dor&3-staging",
    "vault-unseal-7731-xq",
    "5555555555554444",
    "4012 8888 8888 1881",
    "MIIEpAIBAAKCAQEA3fQ7uX2k",
    "hunter2-corp-ldap",
    "internal-ref-99817",
];

fn leaky_record(id: &str) -> AuditRecord {
    let args = json!({
        "to": "billing@vendor.example",
        "body": "Use key sk-proj-Qm7Zr2Lx9Vb4Nc8Tk1Wy5Hd3Jf6Gs0Pa and card 5555555555554444 for the renewal.",
        "headers": {"Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJvcHMtYm90In0.dBjftJeZ4CVPmB92K27uhbUJU1p1r_wW1gFWFOEjXk"},
        "password": "Tr0ub4dor&3-staging",
        "ticket_ref": "internal-ref-99817",
        "attachment": "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA3fQ7uX2k\n-----END RSA PRIVATE KEY-----"
    });
    let mut rec = AuditRecord::decision(id, "acme", "openai-chat", Verdict::Block);
    let mut step = StepRecord::new("call_1", "send_email", Verdict::Block, args.clone());
    step.reasons = vec!["body carries AKIAJ7Q2XMPL4RTV9KEZ".into()];
    step.provenance =
        json!([{"path": "/body", "value": "card 4012 8888 8888 1881", "origin": "tool_result"}]);
    step.category = Some("privacy.exfiltration".into());
    rec.steps =
        vec![step.with_rewrite(
            &json!({"to": "billing@vendor.example", "token": "vault-unseal-7731-xq"}),
        )];
    rec.replay = Some(ReplayContext {
        tools: json!([{"type": "function", "function": {"name": "send_email", "parameters": {"type": "object", "properties": {"password": {"type": "string"}}}}}]),
        messages: json!([
            {"role": "user", "content": "my ldap password: hunter2-corp-ldap, please reset the git token ghp_R8s7T6u5V4w3X2y1Z0a9B8c7D6e5F4g3H2i1"},
        ]),
        proposed: json!({"role": "assistant", "tool_calls": [{"id": "call_1", "type": "function",
            "function": {"name": "send_email", "arguments": args.to_string()}}]}),
    });
    rec
}

#[test]
fn no_fixture_secret_reaches_any_file_in_the_data_dir() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut settings = AuditSettings::new(dir.path());
    settings.redact_fields = vec!["ticket_ref".into()];
    let (handle, task) = AuditLog::open(settings).unwrap_or_else(|e| panic!("{e}"));
    for i in 0..3 {
        handle
            .record_blocking(leaky_record(&format!("d-{i}")))
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let approval = AuditRecord::approval(
        "d-0",
        "acme",
        "openai-chat",
        ApprovalOutcome {
            approval_id: "ap-1".into(),
            outcome: ApprovalResult::Denied,
            by: Some("sec".into()),
            note: Some("denied: it had password=hunter2-corp-ldap in it".into()),
        },
    );
    handle
        .record_blocking(approval)
        .unwrap_or_else(|e| panic!("{e}"));
    handle.shutdown_blocking().unwrap_or_else(|e| panic!("{e}"));
    drop(handle);
    task.join().unwrap_or_else(|e| panic!("{e}"));

    // Build the index and an export inside the data dir, then scan every byte.
    let index = Index::open(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    let mut export = Vec::new();
    let report =
        export_cases(&index, &Filter::default(), &mut export).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.written, 3);
    std::fs::write(dir.path().join("export.jsonl"), &export).unwrap_or_else(|e| panic!("{e}"));
    drop(index);

    let files = audit_support::all_files(dir.path());
    assert!(
        files.iter().any(|f| f.ends_with("index.sqlite")),
        "{files:?}"
    );
    for file in files {
        let bytes = std::fs::read(&file).unwrap_or_else(|e| panic!("{e}"));
        for secret in SECRETS {
            let found = bytes.windows(secret.len()).any(|w| w == secret.as_bytes());
            assert!(!found, "secret {secret:?} found in {}", file.display());
        }
    }

    // Equal secrets correlate: the key in the arguments and in the proposed
    // call's argument string carry the same placeholder.
    let stored = audit_support::stored(dir.path());
    let rec = &stored[&1].record;
    let body = rec.steps[0].arguments["body"].as_str().unwrap_or_default();
    let placeholder = body
        .split_whitespace()
        .find(|w| w.starts_with("[REDACTED"))
        .unwrap_or_default();
    assert!(placeholder.starts_with("[REDACTED:sha256:"), "{body}");
    let proposed = rec
        .replay
        .as_ref()
        .map(|r| r.proposed.to_string())
        .unwrap_or_default();
    assert!(proposed.contains(placeholder), "{proposed}");
    // The schema's `password` property stays a schema, so the case still replays.
    let tools = &rec
        .replay
        .as_ref()
        .map(|r| r.tools.clone())
        .unwrap_or(Value::Null);
    assert_eq!(
        tools[0]["function"]["parameters"]["properties"]["password"],
        json!({"type": "string"})
    );
    // The non-secret parts survive.
    assert_eq!(
        rec.steps[0].arguments["to"],
        json!("billing@vendor.example")
    );
}
