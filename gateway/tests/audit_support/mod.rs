//! Helpers shared by the audit tests: realistic records, and reading a
//! log's lines straight from the segment files (what is really on disk).

#![allow(dead_code, reason = "each test file uses a different subset")]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use preflight_adapters::Verdict;
use preflight_gateway::audit::record::StepRecord;
use preflight_gateway::audit::{AuditRecord, AuditSettings, StoredRecord};
use serde_json::json;

/// A decision record for `tool` with `verdict`.
pub fn decision(id: &str, tenant: &str, tool: &str, verdict: Verdict) -> AuditRecord {
    let mut rec = AuditRecord::decision(id, tenant, "openai-chat", verdict);
    let mut step = StepRecord::new("call_1", tool, verdict, json!({"path": "reports/q3.txt"}));
    if verdict != Verdict::Allow {
        step.rules = vec![format!("rule.{tool}")];
        step.category = Some("privacy.exfiltration".into());
    }
    rec.policy.rules_fired = step.rules.clone();
    rec.steps = vec![step];
    rec
}

/// Settings for a temp data dir.
pub fn settings(dir: &Path) -> AuditSettings {
    AuditSettings::new(dir)
}

/// The segment files, in order.
pub fn segments(data_dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(data_dir.join("audit"))
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    out.retain(|p| {
        p.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("segment-"))
    });
    out.sort();
    out
}

/// Every complete stored record on disk, by seq.
pub fn stored(data_dir: &Path) -> BTreeMap<u64, StoredRecord> {
    let mut out = BTreeMap::new();
    for seg in segments(data_dir) {
        let text = std::fs::read_to_string(&seg).unwrap_or_default();
        for line in text.split_inclusive('\n').filter(|l| l.ends_with('\n')) {
            if let Ok(rec) = serde_json::from_str::<StoredRecord>(line.trim_end()) {
                out.insert(rec.seq, rec);
            }
        }
    }
    out
}

/// Every file under `dir`, recursively.
pub fn all_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p)
            } else {
                out.push(p)
            }
        }
    }
    out
}
