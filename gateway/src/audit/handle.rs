//! The gateway's side of the audit log: [`AuditLog::open`] starts the writer
//! thread and returns a cloneable [`AuditHandle`] that redacts, serializes
//! and queues records, and an [`AuditTask`] to wait for the writer's end.
//!
//! Redaction and serialization happen on the caller's thread, so the single
//! writer only chains, writes and syncs. The queue is bounded: when it is
//! full a record is refused at once with [`AuditError::Backpressure`] (and
//! counted), and the request that needed it must fail closed.

use std::future::Future;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};

use tokio::sync::oneshot;

use super::error::{AuditError, Result};
use super::metrics::{AuditMetrics, MetricsSnapshot};
use super::record::AuditRecord;
use super::redact::Redactor;
use super::segment::TornTail;
use super::settings::{AllowRecording, AuditSettings};
use super::time;
use super::writer::{self, Ack, Doorbell, Gate, Job, Msg, Writer, WriterReport};

/// Entry point: opens a data directory's audit log for writing.
#[derive(Debug)]
pub struct AuditLog;

impl AuditLog {
    /// Opens (or creates) the log, cuts a torn last line left by a crash
    /// (with a warning in the returned [`AuditTask::torn_tail`] and a
    /// metric), and starts the writer thread.
    ///
    /// Fails when another process holds the log, when the last record is
    /// damaged (run `preflight audit verify`), or on I/O errors.
    pub fn open(settings: AuditSettings) -> Result<(AuditHandle, AuditTask)> {
        let opened = writer::open_log(&settings.data_dir)?;
        let redactor = Redactor::load(&opened.dir, &settings.redact_fields)?;
        let metrics = Arc::new(AuditMetrics::default());
        let torn = opened.torn.clone();
        if torn.is_some() {
            AuditMetrics::add(&metrics.torn_tails_repaired, 1);
        }
        let gate = Arc::new(Gate::default());
        let bell = Arc::new(Doorbell::default());
        let (tx, rx): (SyncSender<Msg>, Receiver<Msg>) =
            std::sync::mpsc::sync_channel(settings.queue_capacity);
        let (done_tx, done_rx) = oneshot::channel();
        let otlp = match &settings.otlp {
            Some(o) => Some(super::otlp::start(o, metrics.clone())?),
            None => None,
        };
        let writer = Writer::new(
            opened,
            settings.clone(),
            metrics.clone(),
            gate.clone(),
            otlp,
            bell.clone(),
        );
        let thread = std::thread::Builder::new()
            .name("preflight-audit-writer".into())
            .spawn(move || {
                let result = writer.run(rx);
                let _ = done_tx.send(copy_report(&result));
                result
            })
            .map_err(|e| AuditError::io(&settings.data_dir, e))?;
        let handle = AuditHandle {
            inner: Arc::new(Inner {
                tx,
                redactor,
                metrics,
                gate,
                bell,
                allow: settings.allow,
                capacity: settings.queue_capacity,
            }),
        };
        Ok((
            handle,
            AuditTask {
                thread,
                done: done_rx,
                torn_tail: torn,
            },
        ))
    }
}

/// A copy of the writer's outcome for [`AuditTask::finished`] (errors are
/// not `Clone`; the writer only ever ends with `WriterStopped`).
fn copy_report(result: &Result<WriterReport>) -> Result<WriterReport> {
    match result {
        Ok(r) => Ok(r.clone()),
        Err(AuditError::WriterStopped(reason)) => Err(AuditError::WriterStopped(reason.clone())),
        Err(other) => Err(AuditError::WriterStopped(other.to_string())),
    }
}

/// The running writer.
#[derive(Debug)]
pub struct AuditTask {
    thread: std::thread::JoinHandle<Result<WriterReport>>,
    done: oneshot::Receiver<Result<WriterReport>>,
    torn_tail: Option<TornTail>,
}

impl AuditTask {
    /// The torn last line cut at open, if any (log it as a warning).
    pub fn torn_tail(&self) -> Option<&TornTail> {
        self.torn_tail.as_ref()
    }

    /// Waits for the writer to stop (after [`AuditHandle::shutdown`] or when
    /// every handle is dropped).
    pub async fn finished(self) -> Result<WriterReport> {
        let result = self
            .done
            .await
            .unwrap_or_else(|_| Err(AuditError::WriterStopped("writer thread panicked".into())));
        // The thread has sent its outcome and is returning: this join is immediate.
        let _ = self.thread.join();
        result
    }

    /// Blocking form of [`AuditTask::finished`], for code outside a runtime.
    pub fn join(self) -> Result<WriterReport> {
        self.thread
            .join()
            .unwrap_or_else(|_| Err(AuditError::WriterStopped("writer thread panicked".into())))
    }
}

struct Inner {
    tx: SyncSender<Msg>,
    redactor: Redactor,
    metrics: Arc<AuditMetrics>,
    gate: Arc<Gate>,
    /// Wakes the writer (see [`Doorbell`]).
    bell: Arc<Doorbell>,
    allow: AllowRecording,
    capacity: usize,
}

/// What [`AuditHandle::try_record`] did with a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Queued {
    /// Queued for writing.
    Queued,
    /// An allow record left out by the sampling setting (counted).
    SampledOut,
}

/// A cheap, cloneable handle to the writer.
#[derive(Clone)]
pub struct AuditHandle {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for AuditHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditHandle")
            .field("capacity", &self.inner.capacity)
            .finish_non_exhaustive()
    }
}

impl AuditHandle {
    /// Redacts and queues a record, and returns a future for its ack.
    ///
    /// The record is queued when this is called, not when the future is
    /// polled. A record that needs durability ([`AuditRecord::needs_durability`])
    /// resolves after it is synced to disk; an allow record after it is
    /// written. Errors: [`AuditError::Backpressure`] when the queue is full,
    /// [`AuditError::WriterStopped`] when the writer is gone; either way the
    /// request must fail closed.
    pub fn record(&self, rec: AuditRecord) -> impl Future<Output = Result<Ack>> + Send + 'static {
        let (tx, rx) = oneshot::channel();
        let queued = self.submit(rec, Some(tx));
        let inner = self.inner.clone();
        async move {
            queued?;
            match rx.await {
                Ok(result) => result,
                Err(_) => Err(inner.stopped_error()),
            }
        }
    }

    /// Blocking form of [`AuditHandle::record`], for code outside a runtime.
    pub fn record_blocking(&self, rec: AuditRecord) -> Result<Ack> {
        let (tx, rx) = oneshot::channel();
        self.submit(rec, Some(tx))?;
        rx.blocking_recv()
            .unwrap_or_else(|_| Err(self.inner.stopped_error()))
    }

    /// Queues a record without waiting for its ack (allow records), after
    /// the allow-sampling setting. A full queue is an error, never a silent drop.
    pub fn try_record(&self, rec: AuditRecord) -> Result<Queued> {
        if !rec.needs_durability() && !self.inner.allow.keeps(&rec.decision_id) {
            AuditMetrics::add(&self.inner.metrics.sampled_out, 1);
            return Ok(Queued::SampledOut);
        }
        self.submit(rec, None).map(|()| Queued::Queued)
    }

    /// Which allow decisions are recorded (the sampling setting), so a
    /// caller can skip building a record that would be dropped.
    pub fn allow_recording(&self) -> crate::audit::AllowRecording {
        self.inner.allow
    }

    /// Syncs everything queued so far; resolves with the last written seq.
    pub async fn flush(&self) -> Result<u64> {
        let (tx, rx) = oneshot::channel();
        self.send_control(Msg::Flush(tx)).await?;
        rx.await.unwrap_or_else(|_| Err(self.inner.stopped_error()))
    }

    /// Writes and syncs everything queued, then stops the writer. Records
    /// offered afterwards fail with [`AuditError::WriterStopped`].
    pub async fn shutdown(&self) -> Result<u64> {
        self.inner.close();
        let (tx, rx) = oneshot::channel();
        self.send_control(Msg::Shutdown(tx)).await?;
        rx.await.unwrap_or_else(|_| Err(self.inner.stopped_error()))
    }

    /// Blocking form of [`AuditHandle::shutdown`].
    pub fn shutdown_blocking(&self) -> Result<u64> {
        self.inner.close();
        let (tx, rx) = oneshot::channel();
        self.inner
            .tx
            .send(Msg::Shutdown(tx))
            .map_err(|_| self.inner.stopped_error())?;
        rx.blocking_recv()
            .unwrap_or_else(|_| Err(self.inner.stopped_error()))
    }

    /// The live counters (for `/metrics`).
    pub fn metrics(&self) -> Arc<AuditMetrics> {
        self.inner.metrics.clone()
    }

    /// A copy of the counters now.
    pub fn metrics_snapshot(&self) -> MetricsSnapshot {
        self.inner.metrics.snapshot()
    }

    /// The redactor this log uses (same salt), e.g. for redacting a record
    /// the caller prints elsewhere.
    pub fn redactor(&self) -> &Redactor {
        &self.inner.redactor
    }

    fn submit(&self, mut rec: AuditRecord, ack: Option<writer::AckSender>) -> Result<()> {
        if rec.ts.is_empty() {
            rec.ts = time::now_rfc3339();
        }
        let durable = rec.needs_durability();
        let urgent = durable || ack.is_some();
        self.inner.redactor.redact_record(&mut rec);
        let body = serde_json::to_vec(&rec)?;
        let metrics = &self.inner.metrics;
        // The gate is held (shared) across the check and the send: see `Gate`.
        // The stopped error is built after it is released, since it reads
        // the gate again.
        let sent = {
            let gate = self.inner.gate.enter();
            if gate.closed {
                None
            } else {
                Some(
                    self.inner
                        .tx
                        .try_send(Msg::Record(Job { body, durable, ack })),
                )
            }
        };
        match sent {
            Some(Ok(())) => {
                self.inner.bell.ring(urgent);
                AuditMetrics::add(&metrics.enqueued, 1);
                Ok(())
            }
            Some(Err(TrySendError::Full(_))) => {
                AuditMetrics::add(&metrics.rejected_backpressure, 1);
                Err(AuditError::Backpressure {
                    capacity: self.inner.capacity,
                })
            }
            None | Some(Err(TrySendError::Disconnected(_))) => {
                AuditMetrics::add(&metrics.rejected_stopped, 1);
                Err(self.inner.stopped_error())
            }
        }
    }

    /// Control messages must get in even when records fill the queue, so
    /// they wait for room (off the reactor) instead of being refused.
    async fn send_control(&self, msg: Msg) -> Result<()> {
        let tx = self.inner.tx.clone();
        let sent = match tx.try_send(msg) {
            Ok(()) => Ok(()),
            Err(TrySendError::Disconnected(_)) => Err(()),
            Err(TrySendError::Full(msg)) => {
                tokio::task::spawn_blocking(move || tx.send(msg).map_err(|_| ()))
                    .await
                    .unwrap_or(Err(()))
            }
        };
        if sent.is_ok() {
            self.inner.bell.ring(true);
        }
        sent.map_err(|()| self.inner.stopped_error())
    }
}

impl Inner {
    fn close(&self) {
        self.gate.close(None);
    }

    fn stopped_error(&self) -> AuditError {
        self.gate.stopped_error()
    }
}
