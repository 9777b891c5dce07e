//! `query`: filters over the index (verdict, event, tool, tenant, category,
//! rule, time range), and reading the matching records back from the
//! segments, which stay the source of truth for what a record says.

use preflight_adapters::Verdict;
use rusqlite::types::Value as SqlValue;
use serde::Serialize;

use super::error::{AuditError, Result};
use super::index::Index;
use super::record::{EventKind, StoredRecord};
use super::segment;

/// Which records to select. Empty fields match everything.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    /// Only this verdict.
    pub verdict: Option<Verdict>,
    /// Only decisions or only approval outcomes.
    pub event: Option<EventKind>,
    /// Only records with a step calling this tool.
    pub tool: Option<String>,
    /// Only this tenant.
    pub tenant: Option<String>,
    /// Only records tagged with this risk category.
    pub category: Option<String>,
    /// Only records where this rule fired.
    pub rule: Option<String>,
    /// Records at or after this time (µs since the epoch).
    pub since_us: Option<i64>,
    /// Records before this time (µs since the epoch).
    pub until_us: Option<i64>,
    /// At most this many, the most recent ones.
    pub limit: Option<usize>,
}

impl Filter {
    /// The SQL `WHERE` clause (over `records r`) and its parameters.
    pub(crate) fn where_clause(&self) -> (String, Vec<SqlValue>) {
        let mut conds: Vec<String> = Vec::new();
        let mut params: Vec<SqlValue> = Vec::new();
        let mut push = |cond: &str, value: SqlValue| {
            params.push(value);
            conds.push(cond.replace('?', &format!("?{}", params.len())));
        };
        if let Some(v) = self.verdict {
            push("r.verdict = ?", SqlValue::Text(v.name().into()));
        }
        if let Some(e) = self.event {
            push("r.event = ?", SqlValue::Text(e.name().into()));
        }
        if let Some(t) = &self.tenant {
            push("r.tenant = ?", SqlValue::Text(t.clone()));
        }
        for (kind, value) in [
            ("tool", &self.tool),
            ("category", &self.category),
            ("rule", &self.rule),
        ] {
            if let Some(value) = value {
                push(
                    &format!(
                        "EXISTS (SELECT 1 FROM tags t WHERE t.seq = r.seq AND t.kind = '{kind}' AND t.value = ?)"
                    ),
                    SqlValue::Text(value.clone()),
                );
            }
        }
        if let Some(s) = self.since_us {
            push("r.ts_us >= ?", SqlValue::Integer(s));
        }
        if let Some(u) = self.until_us {
            push("r.ts_us < ?", SqlValue::Integer(u));
        }
        let clause = if conds.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conds.join(" AND "))
        };
        (clause, params)
    }
}

/// One matching record, as the index knows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    /// The record's seq.
    pub seq: u64,
    /// Its segment file.
    pub segment: String,
    /// Its line in the segment.
    pub line: u64,
    /// Byte offset of the line.
    pub offset: u64,
    /// Byte length of the line (no newline).
    pub len: u64,
    /// Its time.
    pub ts: String,
    /// `decision` or `approval`.
    pub event: String,
    /// The verdict.
    pub verdict: String,
    /// The decision id.
    pub decision_id: String,
    /// The tenant.
    pub tenant: String,
    /// The route.
    pub route: String,
    /// The tools of its steps.
    pub tools: Vec<String>,
    /// The rules that fired.
    pub rules: Vec<String>,
}

/// The matching records in log order (the last `limit` of them when limited).
pub fn query(index: &Index, filter: &Filter) -> Result<Vec<Row>> {
    let (clause, mut params) = filter.where_clause();
    let limit = match filter.limit {
        Some(n) => {
            params.push(SqlValue::Integer(i64::try_from(n).unwrap_or(i64::MAX)));
            format!("LIMIT ?{}", params.len())
        }
        None => String::new(),
    };
    let tags = |kind: &str| {
        format!(
            "(SELECT group_concat(t.value, char(31)) FROM tags t WHERE t.seq = r.seq AND t.kind = '{kind}')"
        )
    };
    let sql = format!(
        "SELECT r.seq, r.segment, r.line, r.offset, r.len, r.ts, r.event, r.verdict, r.decision_id, r.tenant, r.route,
                {}, {}
         FROM records r {clause} ORDER BY r.seq DESC {limit}",
        tags("tool"),
        tags("rule"),
    );
    let path = Index::path_in(index.audit_dir());
    let sql_err = |source| AuditError::Index {
        path: path.clone(),
        source,
    };
    let mut stmt = index.conn().prepare(&sql).map_err(sql_err)?;
    let split = |s: Option<String>| -> Vec<String> {
        s.map(|s| s.split('\u{1f}').map(str::to_owned).collect())
            .unwrap_or_default()
    };
    let rows = stmt
        .query_map(rusqlite::params_from_iter(params), |r| {
            Ok(Row {
                seq: r.get::<_, i64>(0)? as u64,
                segment: r.get(1)?,
                line: r.get::<_, i64>(2)? as u64,
                offset: r.get::<_, i64>(3)? as u64,
                len: r.get::<_, i64>(4)? as u64,
                ts: r.get(5)?,
                event: r.get(6)?,
                verdict: r.get(7)?,
                decision_id: r.get(8)?,
                tenant: r.get(9)?,
                route: r.get(10)?,
                tools: split(r.get(11)?),
                rules: split(r.get(12)?),
            })
        })
        .map_err(sql_err)?;
    let mut out = rows
        .collect::<rusqlite::Result<Vec<Row>>>()
        .map_err(sql_err)?;
    out.reverse();
    Ok(out)
}

/// The stored line of a row, exactly as in its segment (no newline).
pub fn read_line(index: &Index, row: &Row) -> Result<Vec<u8>> {
    segment::read_at(&index.audit_dir().join(&row.segment), row.offset, row.len)
}

/// The stored record of a row.
pub fn load(index: &Index, row: &Row) -> Result<StoredRecord> {
    let line = read_line(index, row)?;
    serde_json::from_slice(&line).map_err(|e| AuditError::Corrupt {
        segment: row.segment.clone(),
        line: row.line,
        reason: format!(
            "the indexed record no longer reads as a record ({e}); run `preflight audit verify`"
        ),
    })
}
