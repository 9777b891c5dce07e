//! The audit log: a durable, tamper-evident record of every decision.
//!
//! Layout in `<data-dir>/audit/`: append-only JSONL segments
//! (`segment-NNNNNNNN.jsonl`, the source of truth), each line carrying the
//! SHA-256 of the one before (a hash chain across segments); `salt` for
//! redaction hashes; `index.sqlite`, a query index rebuilt from the segments
//! whenever it is missing or stale; `writer.lock`, held by the one writer.
//!
//! - Writing: [`AuditLog::open`] -> [`AuditHandle`] (redact, queue) -> one
//!   writer thread (`writer`): chain, write, fsync before durable acks,
//!   group commit for allow records, bounded queue that refuses when full.
//! - Reading: [`verify()`], [`index::Index`], [`query`], [`export`], [`stats`].
//!
//! This module never decides anything: it records what the pipeline decided.
//!
//! How the server uses it:
//!
//! ```no_run
//! # async fn demo() -> Result<(), preflight_gateway::audit::AuditError> {
//! use preflight_adapters::Verdict;
//! use preflight_gateway::audit::{AuditLog, AuditRecord, AuditSettings};
//!
//! let (audit, task) = AuditLog::open(AuditSettings::new("./preflight-data"))?;
//! if let Some(torn) = task.torn_tail() {
//!     // Log it as a warning: a crash left an unfinished line, now cut.
//!     let _ = torn;
//! }
//! // A block (rewrite, require_approval, approval outcome) must be on disk
//! // before the response leaves: await the ack; on any error, fail closed.
//! let ack = audit.record(AuditRecord::decision("d-1", "acme", "openai-chat", Verdict::Block)).await?;
//! let _ = ack.seq;
//! // Allow records are group-committed: queue and go on (a full queue is
//! // still an error, counted in the metrics, never a silent drop).
//! audit.try_record(AuditRecord::decision("d-2", "acme", "openai-chat", Verdict::Allow))?;
//! // `/metrics`: plain counters.
//! for (name, value) in audit.metrics_snapshot().pairs() {
//!     let _ = (name, value);
//! }
//! // Shutdown: write and sync everything queued, then stop.
//! audit.shutdown().await?;
//! task.finished().await?;
//! # Ok(())
//! # }
//! ```

pub mod chain;
pub mod diff;
pub mod error;
pub mod export;
pub mod handle;
pub mod index;
pub mod load;
pub mod metrics;
pub mod otlp;
pub mod query;
pub mod record;
pub mod redact;
pub mod segment;
pub mod settings;
pub mod stats;
pub mod time;
pub mod verify;
pub mod writer;

pub use error::{AuditError, Result};
pub use handle::{AuditHandle, AuditLog, AuditTask, Queued};
pub use metrics::{AuditMetrics, MetricsSnapshot};
pub use record::{
    ApprovalOutcome, ApprovalResult, AuditRecord, EventKind, PolicyInfo, ReplayContext, StepRecord,
    StoredRecord,
};
pub use redact::Redactor;
pub use settings::{AllowRecording, AuditSettings, DEFAULT_DATA_DIR, RawAuditConfig};
pub use verify::{Anchor, VerifyReport, verify, verify_with_anchor};
pub use writer::{Ack, WriterReport};
