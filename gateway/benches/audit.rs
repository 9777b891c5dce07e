//! Audit log throughput, end to end through the real writer on real files:
//! redaction and serialization on the producers, chaining, writing and
//! fsync on the writer thread.
//!
//! `cargo bench -p preflight-gateway --bench audit` (release profile).
//! Scenarios: allow records with group commit (fire-and-forget `try_record`,
//! retried when the queue is full, so the figure is what the writer
//! sustains), and durable block records (each producer awaits its fsync
//! ack, as a request would). Set `AUDIT_BENCH_DIR` to measure on another disk.

use std::time::Instant;

use preflight_gateway::audit::load::{self, LoadOptions};
use preflight_gateway::audit::{AuditLog, AuditSettings};

fn scenario(name: &str, records: u64, durable_every: u64, concurrency: usize) {
    let base = std::env::var_os("AUDIT_BENCH_DIR").map(std::path::PathBuf::from);
    let dir = match &base {
        Some(b) => tempfile::tempdir_in(b),
        None => tempfile::tempdir(),
    }
    .unwrap_or_else(|e| panic!("tempdir: {e}"));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"));
    let (handle, task) =
        AuditLog::open(AuditSettings::new(dir.path())).unwrap_or_else(|e| panic!("open: {e}"));
    let opts = LoadOptions {
        records,
        durable_every,
        concurrency,
        print_acks: false,
    };
    let report = runtime
        .block_on(load::run(&handle, &opts))
        .unwrap_or_else(|e| panic!("load: {e}"));
    let m = handle.metrics_snapshot();
    runtime
        .block_on(handle.shutdown())
        .unwrap_or_else(|e| panic!("shutdown: {e}"));
    drop(handle);
    task.join().unwrap_or_else(|e| panic!("join: {e}"));
    let secs = report.elapsed.as_secs_f64();
    #[expect(clippy::print_stdout, reason = "a benchmark reports on stdout")]
    {
        println!(
            "{name:<34} {records:>8} records ({:>6} durable) in {secs:6.2} s = {:>9.0} records/s; \
             {} fsyncs, {} batches, {:.0} B/record, {} queue-full retries",
            report.durable,
            records as f64 / secs,
            m.fsyncs,
            m.batches,
            m.bytes as f64 / m.written.max(1) as f64,
            report.retries,
        );
    }
}

fn redaction_only(records: u64) {
    // Producer-side cost alone, stage by stage, as `AuditHandle` does it:
    // build a record, redact it in place, serialize it.
    let redactor = preflight_gateway::audit::Redactor::new(b"bench-salt".to_vec(), &[]);
    let (mut build, mut redact, mut to_vec) = (0.0, 0.0, 0.0);
    let mut bytes = 0usize;
    let start = Instant::now();
    for i in 0..records {
        let t = Instant::now();
        let mut rec = load::sample_record("bench", i, i % 2 == 0);
        build += t.elapsed().as_secs_f64();
        let t = Instant::now();
        redactor.redact_record(&mut rec);
        redact += t.elapsed().as_secs_f64();
        let t = Instant::now();
        bytes += serde_json::to_vec(&rec).map(|v| v.len()).unwrap_or(0);
        to_vec += t.elapsed().as_secs_f64();
    }
    let secs = start.elapsed().as_secs_f64();
    let us = |x: f64| x * 1e6 / records as f64;
    #[expect(clippy::print_stdout, reason = "a benchmark reports on stdout")]
    {
        println!(
            "{:<34} {records:>8} records in {secs:6.2} s = {:>9.0} records/s on one thread ({} B/record); \
             per record: build {:.1} us, redact {:.1} us, serialize {:.1} us",
            "build+redact+serialize (producer)",
            records as f64 / secs,
            bytes / records.max(1) as usize,
            us(build),
            us(redact),
            us(to_vec),
        );
    }
}

fn main() {
    // `cargo test --benches` runs this too; keep that run short.
    let quick =
        std::env::args().any(|a| a == "--test") || std::env::var_os("AUDIT_BENCH_QUICK").is_some();
    let scale = if quick { 100 } else { 1 };
    redaction_only(50_000 / scale);
    if std::env::var_os("AUDIT_BENCH_REDACT_ONLY").is_some() {
        return;
    }
    scenario("allow, group commit", 200_000 / scale, 0, 4);
    scenario("durable block, 64 concurrent", 20_000 / scale, 1, 64);
    scenario("mixed 1 block : 9 allow, 64 conc.", 100_000 / scale, 10, 64);
}
