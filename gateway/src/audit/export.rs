//! `export --format cases`: recorded decisions as eval-case JSONL (DESIGN.md),
//! so `preflight policy diff` and `guard eval` can replay real traffic.
//!
//! The label is what the gateway finally did: a decision later approved by a
//! person counts as `benign`, one denied or expired as `malicious`; otherwise
//! `block` and `require_approval` are `malicious`, `allow` and `rewrite`
//! `benign`. These are the gateway's labels, not ground truth: review them
//! before using the cases as a test set.

use std::io::Write;

use preflight_adapters::Verdict;
use rusqlite::{OptionalExtension, params};
use serde_json::{Map, Value, json};

use super::error::{AuditError, Result};
use super::index::Index;
use super::query::{self, Filter};
use super::record::EventKind;

/// What an export wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExportReport {
    /// Cases written.
    pub written: u64,
    /// Decisions left out because they carry no replay context.
    pub skipped_no_replay: u64,
}

/// Writes one eval case per matching decision that has a replay context.
pub fn export_cases(index: &Index, filter: &Filter, out: &mut dyn Write) -> Result<ExportReport> {
    let mut filter = filter.clone();
    filter.event = Some(EventKind::Decision);
    let rows = query::query(index, &filter)?;
    let mut report = ExportReport::default();
    let path = Index::path_in(index.audit_dir());
    let mut approval = index
        .conn()
        .prepare(
            "SELECT verdict FROM records WHERE event = 'approval' AND decision_id = ?1 ORDER BY seq DESC LIMIT 1",
        )
        .map_err(|source| AuditError::Index { path: path.clone(), source })?;
    for row in rows {
        let stored = query::load(index, &row)?;
        let rec = &stored.record;
        let Some(replay) = &rec.replay else {
            report.skipped_no_replay += 1;
            continue;
        };
        let approved: Option<String> = approval
            .query_row(params![rec.decision_id], |r| r.get(0))
            .optional()
            .map_err(|source| AuditError::Index {
                path: path.clone(),
                source,
            })?;
        let malicious = match approved.as_deref() {
            Some(v) => v != Verdict::Allow.name(),
            None => rec.verdict.withholds(),
        };
        let mut case = Map::new();
        case.insert("id".into(), json!(format!("audit-{}", stored.seq)));
        case.insert(
            "label".into(),
            json!(if malicious { "malicious" } else { "benign" }),
        );
        if malicious
            && let Some(category) = rec
                .steps
                .iter()
                .filter(|s| s.verdict.withholds())
                .chain(&rec.steps)
                .find_map(|s| s.category.clone().or_else(|| s.categories.first().cloned()))
        {
            case.insert("category".into(), json!(category));
        }
        case.insert("tools".into(), replay.tools.clone());
        case.insert("messages".into(), replay.messages.clone());
        case.insert("proposed".into(), replay.proposed.clone());
        let mut line = serde_json::to_vec(&Value::Object(case))?;
        line.push(b'\n');
        out.write_all(&line)
            .map_err(|e| AuditError::io("<export output>", e))?;
        report.written += 1;
    }
    Ok(report)
}
