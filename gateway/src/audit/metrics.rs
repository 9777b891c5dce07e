//! Audit counters as plain atomics, for the gateway's `/metrics` to read.
//! Every refused or failed record is counted here: nothing is lost silently.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

/// Live counters, shared by the handles and the writer.
#[derive(Debug, Default)]
pub struct AuditMetrics {
    /// Records accepted into the queue.
    pub enqueued: AtomicU64,
    /// Records written to a segment.
    pub written: AtomicU64,
    /// Bytes written to segments.
    pub bytes: AtomicU64,
    /// `fsync` calls.
    pub fsyncs: AtomicU64,
    /// Write batches.
    pub batches: AtomicU64,
    /// Segments opened after a rotation.
    pub rotations: AtomicU64,
    /// Records refused because the queue was full (the request fails closed).
    pub rejected_backpressure: AtomicU64,
    /// Records refused because the writer had stopped.
    pub rejected_stopped: AtomicU64,
    /// I/O failures in the writer; it stops after the first.
    pub write_errors: AtomicU64,
    /// Records left unconfirmed by a writer failure (their callers got an error).
    pub failed_records: AtomicU64,
    /// Allow records left out by the sampling setting.
    pub sampled_out: AtomicU64,
    /// Torn last lines cut at startup.
    pub torn_tails_repaired: AtomicU64,
    /// Records sent to the OTLP collector.
    pub otlp_exported: AtomicU64,
    /// Records not exported because the export queue was full.
    pub otlp_dropped: AtomicU64,
    /// Records whose export POST failed.
    pub otlp_failed: AtomicU64,
}

/// A point-in-time copy of the counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct MetricsSnapshot {
    /// See [`AuditMetrics::enqueued`].
    pub enqueued: u64,
    /// See [`AuditMetrics::written`].
    pub written: u64,
    /// See [`AuditMetrics::bytes`].
    pub bytes: u64,
    /// See [`AuditMetrics::fsyncs`].
    pub fsyncs: u64,
    /// See [`AuditMetrics::batches`].
    pub batches: u64,
    /// See [`AuditMetrics::rotations`].
    pub rotations: u64,
    /// See [`AuditMetrics::rejected_backpressure`].
    pub rejected_backpressure: u64,
    /// See [`AuditMetrics::rejected_stopped`].
    pub rejected_stopped: u64,
    /// See [`AuditMetrics::write_errors`].
    pub write_errors: u64,
    /// See [`AuditMetrics::failed_records`].
    pub failed_records: u64,
    /// See [`AuditMetrics::sampled_out`].
    pub sampled_out: u64,
    /// See [`AuditMetrics::torn_tails_repaired`].
    pub torn_tails_repaired: u64,
    /// See [`AuditMetrics::otlp_exported`].
    pub otlp_exported: u64,
    /// See [`AuditMetrics::otlp_dropped`].
    pub otlp_dropped: u64,
    /// See [`AuditMetrics::otlp_failed`].
    pub otlp_failed: u64,
}

impl AuditMetrics {
    /// Reads every counter.
    pub fn snapshot(&self) -> MetricsSnapshot {
        let r = |a: &AtomicU64| a.load(Ordering::Relaxed);
        MetricsSnapshot {
            enqueued: r(&self.enqueued),
            written: r(&self.written),
            bytes: r(&self.bytes),
            fsyncs: r(&self.fsyncs),
            batches: r(&self.batches),
            rotations: r(&self.rotations),
            rejected_backpressure: r(&self.rejected_backpressure),
            rejected_stopped: r(&self.rejected_stopped),
            write_errors: r(&self.write_errors),
            failed_records: r(&self.failed_records),
            sampled_out: r(&self.sampled_out),
            torn_tails_repaired: r(&self.torn_tails_repaired),
            otlp_exported: r(&self.otlp_exported),
            otlp_dropped: r(&self.otlp_dropped),
            otlp_failed: r(&self.otlp_failed),
        }
    }

    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

impl MetricsSnapshot {
    /// `(metric name, value)` pairs in Prometheus naming, all counters.
    pub fn pairs(&self) -> [(&'static str, u64); 15] {
        [
            ("preflight_audit_enqueued_total", self.enqueued),
            ("preflight_audit_written_total", self.written),
            ("preflight_audit_bytes_total", self.bytes),
            ("preflight_audit_fsyncs_total", self.fsyncs),
            ("preflight_audit_batches_total", self.batches),
            ("preflight_audit_rotations_total", self.rotations),
            (
                "preflight_audit_rejected_backpressure_total",
                self.rejected_backpressure,
            ),
            (
                "preflight_audit_rejected_stopped_total",
                self.rejected_stopped,
            ),
            ("preflight_audit_write_errors_total", self.write_errors),
            ("preflight_audit_failed_records_total", self.failed_records),
            ("preflight_audit_sampled_out_total", self.sampled_out),
            (
                "preflight_audit_torn_tails_repaired_total",
                self.torn_tails_repaired,
            ),
            ("preflight_audit_otlp_exported_total", self.otlp_exported),
            ("preflight_audit_otlp_dropped_total", self.otlp_dropped),
            ("preflight_audit_otlp_failed_total", self.otlp_failed),
        ]
    }
}
