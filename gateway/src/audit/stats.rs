//! `stats`: counts over the index: by event, verdict, tenant, tool, rule and
//! category, the time span, latency percentiles, and the segments' size.

use serde::Serialize;

use super::error::{AuditError, Result};
use super::index::Index;
use super::query::Filter;
use super::segment;

/// How many top entries each breakdown keeps.
const TOP: usize = 10;

/// Latency of the `total` stage, over records that report it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Latency {
    /// Median, µs.
    pub p50_us: u64,
    /// 95th percentile, µs.
    pub p95_us: u64,
    /// 99th percentile, µs.
    pub p99_us: u64,
    /// Maximum, µs.
    pub max_us: u64,
}

/// The numbers `preflight audit stats` prints.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Stats {
    /// Matching records.
    pub records: u64,
    /// Time of the first matching record.
    pub first_ts: Option<String>,
    /// Time of the last matching record.
    pub last_ts: Option<String>,
    /// Count per event kind.
    pub by_event: Vec<(String, u64)>,
    /// Count per verdict.
    pub by_verdict: Vec<(String, u64)>,
    /// Top tenants.
    pub top_tenants: Vec<(String, u64)>,
    /// Top tools.
    pub top_tools: Vec<(String, u64)>,
    /// Top rules.
    pub top_rules: Vec<(String, u64)>,
    /// Top risk categories.
    pub top_categories: Vec<(String, u64)>,
    /// Total latency percentiles.
    pub latency: Option<Latency>,
    /// Segment files.
    pub segments: usize,
    /// Bytes in segment files.
    pub segment_bytes: u64,
}

/// Computes the statistics of the matching records.
pub fn stats(index: &Index, filter: &Filter) -> Result<Stats> {
    let (clause, params) = filter.where_clause();
    let path = Index::path_in(index.audit_dir());
    let sql_err = |source| AuditError::Index {
        path: path.clone(),
        source,
    };
    let conn = index.conn();
    let p = || rusqlite::params_from_iter(params.iter().cloned());

    let (records, first_ts, last_ts) = conn
        .query_row(
            &format!("SELECT count(*), min(r.ts), max(r.ts) FROM records r {clause}"),
            p(),
            |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?, r.get(2)?)),
        )
        .map_err(sql_err)?;
    let grouped = |sql: String| -> Result<Vec<(String, u64)>> {
        let mut stmt = conn.prepare(&sql).map_err(sql_err)?;
        let rows = stmt
            .query_map(p(), |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
            })
            .map_err(sql_err)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(sql_err)
    };
    let by_column = |col: &str, limit: usize| {
        grouped(format!(
            "SELECT r.{col}, count(*) AS n FROM records r {clause} GROUP BY r.{col} ORDER BY n DESC, r.{col} LIMIT {limit}"
        ))
    };
    let by_tag = |kind: &str| {
        grouped(format!(
            "SELECT t.value, count(*) AS n FROM tags t JOIN records r ON r.seq = t.seq
             {} t.kind = '{kind}' GROUP BY t.value ORDER BY n DESC, t.value LIMIT {TOP}",
            if clause.is_empty() {
                "WHERE".to_owned()
            } else {
                format!("{clause} AND")
            }
        ))
    };
    let mut stats = Stats {
        records,
        first_ts,
        last_ts,
        by_event: by_column("event", 100)?,
        by_verdict: by_column("verdict", 100)?,
        top_tenants: by_column("tenant", TOP)?,
        top_tools: by_tag("tool")?,
        top_rules: by_tag("rule")?,
        top_categories: by_tag("category")?,
        ..Stats::default()
    };

    let latency_clause = if clause.is_empty() {
        "WHERE".to_owned()
    } else {
        format!("{clause} AND")
    };
    let mut stmt = conn
        .prepare(&format!(
            "SELECT r.latency_total_us FROM records r {latency_clause} r.latency_total_us IS NOT NULL ORDER BY 1"
        ))
        .map_err(sql_err)?;
    let values = stmt
        .query_map(p(), |r| r.get::<_, i64>(0))
        .map_err(sql_err)?
        .collect::<rusqlite::Result<Vec<i64>>>()
        .map_err(sql_err)?;
    if !values.is_empty() {
        let at = |q: f64| values[((values.len() - 1) as f64 * q).round() as usize].max(0) as u64;
        stats.latency = Some(Latency {
            p50_us: at(0.5),
            p95_us: at(0.95),
            p99_us: at(0.99),
            max_us: at(1.0),
        });
    }

    for seg in segment::list(index.audit_dir())? {
        stats.segments += 1;
        stats.segment_bytes += std::fs::metadata(&seg.path)
            .map_err(|e| AuditError::io(&seg.path, e))?
            .len();
    }
    Ok(stats)
}
