//! Prometheus metrics kept in plain atomics (no registry crate): counters per
//! route and status, verdicts by rule and category, latency histograms per
//! stage, upstream errors and shed requests. Rendering to the text exposition
//! format happens only when `/metrics` is scraped; the hot path does a few
//! relaxed atomic adds and, for verdict labels, one short mutex.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// Routes counted separately (index into the counters).
pub const ROUTES: [&str; 9] = [
    "chat_completions",
    "responses",
    "messages",
    "mcp",
    "check",
    "approvals",
    "health",
    "metrics",
    "other",
];

/// Latency stages.
#[derive(Debug, Clone, Copy)]
pub enum Stage {
    /// The whole request inside the gateway.
    Total = 0,
    /// Waiting for the upstream.
    Upstream = 1,
    /// Adapter + judge + render: the time Preflight adds.
    Judge = 2,
}

const STAGES: [&str; 3] = ["total", "upstream", "judge"];
/// Bucket upper bounds in microseconds.
const BUCKETS_US: [u64; 14] = [
    50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 1_000_000,
    5_000_000,
];
const STATUS_CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

#[derive(Debug, Default)]
struct Histogram {
    buckets: [AtomicU64; BUCKETS_US.len()],
    count: AtomicU64,
    sum_us: AtomicU64,
}

impl Histogram {
    fn observe(&self, us: u64) {
        if let Some(i) = BUCKETS_US.iter().position(|b| us <= *b) {
            self.buckets[i].fetch_add(1, Relaxed);
        }
        self.count.fetch_add(1, Relaxed);
        self.sum_us.fetch_add(us, Relaxed);
    }
}

/// All gateway metrics.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: [[AtomicU64; STATUS_CLASSES.len()]; ROUTES.len()],
    latency: [[Histogram; STAGES.len()]; ROUTES.len()],
    upstream_errors: Mutex<BTreeMap<String, u64>>,
    shed: AtomicU64,
    verdicts: Mutex<BTreeMap<(String, String, String), u64>>,
    steps: [AtomicU64; 4],
    tool_changes: AtomicU64,
}

fn route_index(route: &str) -> usize {
    ROUTES
        .iter()
        .position(|r| *r == route)
        .unwrap_or(ROUTES.len() - 1)
}

impl Metrics {
    /// Counts a finished request.
    pub fn request(&self, route: &str, status: u16) {
        let class = usize::from(status / 100).clamp(1, 5) - 1;
        self.requests[route_index(route)][class].fetch_add(1, Relaxed);
    }

    /// Records a stage latency.
    pub fn latency(&self, route: &str, stage: Stage, d: Duration) {
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        self.latency[route_index(route)][stage as usize].observe(us);
    }

    /// Counts a request shed by the concurrency limit.
    pub fn shed(&self) {
        self.shed.fetch_add(1, Relaxed);
    }

    /// Counts an upstream failure (`kind`: connect, timeout, status, body).
    pub fn upstream_error(&self, upstream: &str, kind: &str) {
        if let Ok(mut m) = self.upstream_errors.lock() {
            *m.entry(format!("upstream=\"{}\",kind=\"{kind}\"", escape(upstream)))
                .or_default() += 1;
        }
    }

    /// Counts one judged step.
    pub fn verdict(
        &self,
        verdict: preflight_adapters::Verdict,
        rules: &[String],
        category: Option<&str>,
    ) {
        self.steps[verdict as usize].fetch_add(1, Relaxed);
        if verdict == preflight_adapters::Verdict::Allow {
            return;
        }
        if let Ok(mut m) = self.verdicts.lock() {
            let category = category.unwrap_or("none").to_owned();
            if rules.is_empty() {
                *m.entry((
                    verdict.name().to_owned(),
                    "none".to_owned(),
                    category.clone(),
                ))
                .or_default() += 1;
            }
            for rule in rules {
                *m.entry((verdict.name().to_owned(), rule.clone(), category.clone()))
                    .or_default() += 1;
            }
        }
    }

    /// Counts an MCP tool definition that changed after it was pinned.
    pub fn tool_changed(&self) {
        self.tool_changes.fetch_add(1, Relaxed);
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(8 * 1024);
        // `write!` into a String cannot fail.
        let _ = self.write(&mut out);
        out
    }

    fn write(&self, out: &mut String) -> std::fmt::Result {
        writeln!(
            out,
            "# HELP preflight_requests_total Requests handled, by route and status class."
        )?;
        writeln!(out, "# TYPE preflight_requests_total counter")?;
        for (r, route) in ROUTES.iter().enumerate() {
            for (c, class) in STATUS_CLASSES.iter().enumerate() {
                let n = self.requests[r][c].load(Relaxed);
                if n > 0 {
                    writeln!(
                        out,
                        "preflight_requests_total{{route=\"{route}\",status=\"{class}\"}} {n}"
                    )?;
                }
            }
        }
        writeln!(
            out,
            "# HELP preflight_shed_requests_total Requests refused with 503 by the concurrency limit."
        )?;
        writeln!(out, "# TYPE preflight_shed_requests_total counter")?;
        writeln!(
            out,
            "preflight_shed_requests_total {}",
            self.shed.load(Relaxed)
        )?;
        writeln!(
            out,
            "# HELP preflight_steps_total Proposed steps judged, by verdict."
        )?;
        writeln!(out, "# TYPE preflight_steps_total counter")?;
        for v in [
            preflight_adapters::Verdict::Allow,
            preflight_adapters::Verdict::Rewrite,
            preflight_adapters::Verdict::RequireApproval,
            preflight_adapters::Verdict::Block,
        ] {
            writeln!(
                out,
                "preflight_steps_total{{verdict=\"{}\"}} {}",
                v.name(),
                self.steps[v as usize].load(Relaxed)
            )?;
        }
        writeln!(
            out,
            "# HELP preflight_verdicts_total Withheld or rewritten steps by verdict, rule and risk category."
        )?;
        writeln!(out, "# TYPE preflight_verdicts_total counter")?;
        if let Ok(m) = self.verdicts.lock() {
            for ((verdict, rule, category), n) in m.iter() {
                writeln!(
                    out,
                    "preflight_verdicts_total{{verdict=\"{verdict}\",rule=\"{}\",category=\"{}\"}} {n}",
                    escape(rule),
                    escape(category)
                )?;
            }
        }
        writeln!(
            out,
            "# HELP preflight_upstream_errors_total Upstream failures by upstream and kind."
        )?;
        writeln!(out, "# TYPE preflight_upstream_errors_total counter")?;
        if let Ok(m) = self.upstream_errors.lock() {
            for (labels, n) in m.iter() {
                writeln!(out, "preflight_upstream_errors_total{{{labels}}} {n}")?;
            }
        }
        writeln!(
            out,
            "# HELP preflight_mcp_tool_changes_total MCP tool definitions that changed after being pinned."
        )?;
        writeln!(out, "# TYPE preflight_mcp_tool_changes_total counter")?;
        writeln!(
            out,
            "preflight_mcp_tool_changes_total {}",
            self.tool_changes.load(Relaxed)
        )?;
        writeln!(out, "# HELP preflight_stage_seconds Latency per stage.")?;
        writeln!(out, "# TYPE preflight_stage_seconds histogram")?;
        for (r, route) in ROUTES.iter().enumerate() {
            for (s, stage) in STAGES.iter().enumerate() {
                let h = &self.latency[r][s];
                let count = h.count.load(Relaxed);
                if count == 0 {
                    continue;
                }
                let mut cumulative = 0;
                for (b, bound) in BUCKETS_US.iter().enumerate() {
                    cumulative += h.buckets[b].load(Relaxed);
                    writeln!(
                        out,
                        "preflight_stage_seconds_bucket{{route=\"{route}\",stage=\"{stage}\",le=\"{}\"}} {cumulative}",
                        *bound as f64 / 1e6
                    )?;
                }
                writeln!(
                    out,
                    "preflight_stage_seconds_bucket{{route=\"{route}\",stage=\"{stage}\",le=\"+Inf\"}} {count}"
                )?;
                writeln!(
                    out,
                    "preflight_stage_seconds_sum{{route=\"{route}\",stage=\"{stage}\"}} {}",
                    h.sum_us.load(Relaxed) as f64 / 1e6
                )?;
                writeln!(
                    out,
                    "preflight_stage_seconds_count{{route=\"{route}\",stage=\"{stage}\"}} {count}"
                )?;
            }
        }
        Ok(())
    }
}

/// Escapes a Prometheus label value.
fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_histograms_and_escaped_labels() {
        let m = Metrics::default();
        m.request("chat_completions", 200);
        m.request("chat_completions", 503);
        m.shed();
        m.latency("chat_completions", Stage::Judge, Duration::from_micros(120));
        m.verdict(
            preflight_adapters::Verdict::Block,
            &["deny.\"x\"".into()],
            Some("financial.loss"),
        );
        m.upstream_error("openai", "timeout");
        let text = m.render();
        assert!(
            text.contains("preflight_requests_total{route=\"chat_completions\",status=\"2xx\"} 1")
        );
        assert!(
            text.contains("preflight_requests_total{route=\"chat_completions\",status=\"5xx\"} 1")
        );
        assert!(text.contains("preflight_shed_requests_total 1"));
        assert!(text.contains("rule=\"deny.\\\"x\\\"\",category=\"financial.loss\"} 1"));
        assert!(text.contains("preflight_stage_seconds_bucket{route=\"chat_completions\",stage=\"judge\",le=\"0.00025\"} 1"));
        assert!(text.contains("preflight_stage_seconds_bucket{route=\"chat_completions\",stage=\"judge\",le=\"0.0001\"} 0"));
        assert!(
            text.contains(
                "preflight_upstream_errors_total{upstream=\"openai\",kind=\"timeout\"} 1"
            )
        );
    }
}
