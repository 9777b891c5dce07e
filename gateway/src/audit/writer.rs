//! The writer thread: the only code that appends to segments.
//!
//! It takes batches from the bounded queue, chains each record to the one
//! before (see `chain`), writes a batch with one `write`, and syncs:
//! at once when the batch holds a durable record (block, rewrite,
//! require_approval, approval outcome) or a flush request, otherwise within
//! the group-commit interval. Durable acks are sent only after the sync.
//!
//! On any I/O error the writer fails the records it holds and stops: an
//! audit log that cannot write must make the gateway fail closed, not carry
//! on without a record. A restart repairs a torn tail and carries on the chain.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering, fence};
use std::sync::mpsc::{Receiver, RecvTimeoutError, TryRecvError};
use std::sync::{Arc, OnceLock, PoisonError, RwLock};
use std::thread::Thread;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::chain::{self, GENESIS, LineFault};
use super::error::{AuditError, Result};
use super::metrics::AuditMetrics;
use super::otlp::OtlpItem;
use super::segment::{self, Segment, TornTail};
use super::settings::AuditSettings;
use super::time;

/// Whether records may still be queued, and why not. Submitters hold the
/// read lock across the check and the send; closing takes the write lock.
/// So every record accepted before a close is in the queue ahead of the
/// shutdown message (and gets written), and none is accepted after it: no
/// record is ever accepted and then silently left behind.
#[derive(Debug, Default)]
pub(crate) struct Gate {
    state: RwLock<GateState>,
}

#[derive(Debug, Default)]
pub(crate) struct GateState {
    pub closed: bool,
    pub failure: Option<String>,
}

impl Gate {
    /// Closes the gate; `failure` says why, when the writer failed.
    pub(crate) fn close(&self, failure: Option<String>) {
        let mut state = self.state.write().unwrap_or_else(PoisonError::into_inner);
        state.closed = true;
        if failure.is_some() {
            state.failure = failure;
        }
    }

    /// Holds the gate open (shared) while a record is queued.
    pub(crate) fn enter(&self) -> std::sync::RwLockReadGuard<'_, GateState> {
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// The error for a record refused because the writer is gone.
    pub(crate) fn stopped_error(&self) -> AuditError {
        let state = self.enter();
        let reason = state
            .failure
            .clone()
            .unwrap_or_else(|| "the writer was shut down".to_owned());
        AuditError::WriterStopped(reason)
    }
}

/// What a writer confirms for one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ack {
    /// The record's position in the log.
    pub seq: u64,
    /// The record's hash (hex SHA-256), for a response header or a receipt.
    pub hash: String,
    /// True when the record was synced to disk before this ack.
    pub synced: bool,
}

/// The writer's reply channel for one record.
pub(crate) type AckSender = oneshot::Sender<Result<Ack, AuditError>>;

/// One queued record.
pub(crate) struct Job {
    /// The serialized, redacted record.
    pub body: Vec<u8>,
    /// Must be synced before the ack.
    pub durable: bool,
    /// Where to send the ack, if anyone waits.
    pub ack: Option<AckSender>,
}

/// What the queue carries.
pub(crate) enum Msg {
    Record(Job),
    /// Sync everything written so far, then reply.
    Flush(oneshot::Sender<Result<u64, AuditError>>),
    /// Sync, reply and stop.
    Shutdown(oneshot::Sender<Result<u64, AuditError>>),
}

/// What the writer did, when it stops.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriterReport {
    /// Records written in this run.
    pub written: u64,
    /// The last record's position in the log (0 when the log is empty).
    pub last_seq: u64,
}

/// Where the chain stands when the writer opens the log.
#[derive(Debug)]
pub(crate) struct Opened {
    pub dir: PathBuf,
    pub lock: File,
    pub segment: Segment,
    pub file: File,
    pub seg_len: u64,
    /// When the current segment's first record was written (µs), if it has one.
    pub seg_started_us: Option<i64>,
    pub seq: u64,
    pub prev: String,
    pub torn: Option<TornTail>,
}

/// Opens the log for appending: takes the writer lock, cuts a torn tail,
/// and finds where the chain stands.
pub(crate) fn open_log(data_dir: &Path) -> Result<Opened> {
    let dir = segment::audit_dir(data_dir);
    std::fs::create_dir_all(&dir).map_err(|e| AuditError::io(&dir, e))?;
    let lock_path = dir.join("writer.lock");
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| AuditError::io(&lock_path, e))?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => return Err(AuditError::Locked(dir)),
        Err(std::fs::TryLockError::Error(e)) => return Err(AuditError::io(&lock_path, e)),
    }
    let segments = segment::list(&dir)?;
    let mut torn = None;
    if let Some(last) = segments.last() {
        torn = segment::repair_tail(last)?;
    }
    // The chain continues from the last record of the newest segment that has one.
    let (mut seq, mut prev) = (0u64, GENESIS.to_owned());
    for seg in segments.iter().rev() {
        if let Some((offset, line)) = segment::last_line(&seg.path)? {
            let info = chain::check_line(&line).map_err(|fault| AuditError::Corrupt {
                segment: seg.name(),
                line: 0,
                reason: format!(
                    "the last record (at byte {offset}) is damaged, so the chain cannot continue: {}; run `preflight audit verify`",
                    match fault {
                        LineFault::Malformed(m) => m,
                        LineFault::HashMismatch { .. } => "its hash does not match its bytes".into(),
                    }
                ),
            })?;
            seq = info.seq;
            prev = info.hash;
            break;
        }
    }
    let (segment, seg_started_us) = match segments.last() {
        Some(last) => (last.clone(), first_record_us(&last.path)?),
        None => (Segment::new(&dir, 1), None),
    };
    let file = open_append(&segment.path)?;
    segment::sync_dir(&dir)?;
    let seg_len = file
        .metadata()
        .map_err(|e| AuditError::io(&segment.path, e))?
        .len();
    Ok(Opened {
        dir,
        lock,
        segment,
        file,
        seg_len,
        seg_started_us,
        seq,
        prev,
        torn,
    })
}

fn open_append(path: &Path) -> Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| AuditError::io(path, e))
}

/// The time of a segment's first record, for age-based rotation.
fn first_record_us(path: &Path) -> Result<Option<i64>> {
    let mut lines = segment::Lines::open(path, 0, 1)?;
    let Some(line) = lines.next_line()? else {
        return Ok(None);
    };
    #[derive(serde::Deserialize)]
    struct Ts {
        record: TsInner,
    }
    #[derive(serde::Deserialize)]
    struct TsInner {
        #[serde(default)]
        ts: String,
    }
    // An unreadable first record makes the segment count as new: rotation
    // is a size/age hygiene matter, not a correctness one.
    Ok(serde_json::from_slice::<Ts>(&line.bytes)
        .ok()
        .and_then(|t| time::parse(&t.record.ts))
        .or(Some(time::now_us())))
}

/// How long the writer naps after a batch nobody waits for (only records
/// that are not durable and have no ack) before it looks at the queue
/// again. Requests queue records meanwhile without waking it: a wake-up per
/// record and the two context switches it costs on one core were a tenth
/// of a proxied request's CPU. A durable record, an ack someone awaits, a
/// flush or a shutdown rings the [`Doorbell`] and ends the nap at once.
const NAP: Duration = Duration::from_millis(1);

/// The longest the writer sleeps without looking at the queue: it notices
/// every handle being dropped within this time even if nobody rang.
const IDLE_CHECK: Duration = Duration::from_millis(100);

/// How senders wake the writer thread. The writer blocks in
/// `park_timeout`, not in the channel, so a send alone does not wake it:
/// a sender rings when its message is urgent or when the writer sleeps
/// until rung (its queue was empty).
#[derive(Debug, Default)]
pub(crate) struct Doorbell {
    /// The writer sleeps until rung (set before its last look at the queue).
    sleeping: AtomicBool,
    /// The writer thread, set when it starts.
    writer: OnceLock<Thread>,
}

impl Doorbell {
    /// Wakes the writer for a message just queued: always when `urgent`,
    /// else only when it sleeps until rung.
    pub(crate) fn ring(&self, urgent: bool) {
        // Pairs with the fence in `Writer::wait`: either the writer's last
        // look at the queue sees the message, or this load sees it asleep.
        fence(Ordering::SeqCst);
        if (urgent || self.sleeping.load(Ordering::SeqCst))
            && let Some(t) = self.writer.get()
        {
            t.unpark();
        }
    }
}

/// The writer thread's state.
pub(crate) struct Writer {
    settings: AuditSettings,
    metrics: Arc<AuditMetrics>,
    gate: Arc<Gate>,
    dir: PathBuf,
    _lock: File,
    segment: Segment,
    file: File,
    seg_len: u64,
    seg_started_us: Option<i64>,
    seq: u64,
    prev: String,
    written: u64,
    buf: Vec<u8>,
    /// Records in `buf`.
    buffered: u64,
    /// Acks waiting for the next sync.
    waiting: Vec<(AckSender, Ack)>,
    /// Flush and shutdown requests waiting for the next sync.
    flushes: Vec<oneshot::Sender<Result<u64, AuditError>>>,
    /// When the oldest unsynced write happened.
    unsynced_since: Option<Instant>,
    /// The OTLP export queue and thread, when export is on.
    otlp: Option<OtlpExport>,
    /// Records of the current batch, sent for export once written.
    otlp_pending: Vec<OtlpItem>,
    /// How senders wake this thread.
    bell: Arc<Doorbell>,
}

/// The OTLP export queue and its thread.
pub(crate) type OtlpExport = (
    std::sync::mpsc::SyncSender<OtlpItem>,
    std::thread::JoinHandle<()>,
);

impl Writer {
    pub(crate) fn new(
        opened: Opened,
        settings: AuditSettings,
        metrics: Arc<AuditMetrics>,
        gate: Arc<Gate>,
        otlp: Option<OtlpExport>,
        bell: Arc<Doorbell>,
    ) -> Self {
        Writer {
            settings,
            metrics,
            gate,
            dir: opened.dir,
            _lock: opened.lock,
            segment: opened.segment,
            file: opened.file,
            seg_len: opened.seg_len,
            seg_started_us: opened.seg_started_us,
            seq: opened.seq,
            prev: opened.prev,
            written: 0,
            buf: Vec::with_capacity(1 << 20),
            buffered: 0,
            waiting: Vec::new(),
            flushes: Vec::new(),
            unsynced_since: None,
            otlp,
            otlp_pending: Vec::new(),
            bell,
        }
    }

    /// Runs until every handle is gone, a shutdown arrives, or I/O fails.
    pub(crate) fn run(mut self, rx: Receiver<Msg>) -> Result<WriterReport> {
        let _ = self.bell.writer.set(std::thread::current());
        let result = self.serve(&rx);
        // Let the exporter drain what it has (each POST has a timeout) and end.
        if let Some((tx, thread)) = self.otlp.take() {
            drop(tx);
            let _ = thread.join();
        }
        if let Err(e) = &result {
            let reason = e.to_string();
            // Close the gate first: after this no record can be queued,
            // so draining the queue below fails every record still in it.
            self.gate.close(Some(reason.clone()));
            self.fail_all(&reason);
            // Fail whatever is still queued; new sends see the queue closed.
            drop(self.file);
            while let Ok(msg) = rx.try_recv() {
                fail_msg(msg, &reason, &self.metrics);
            }
            return Err(AuditError::WriterStopped(reason));
        }
        Ok(WriterReport {
            written: self.written,
            last_seq: self.seq,
        })
    }

    fn serve(&mut self, rx: &Receiver<Msg>) -> Result<()> {
        loop {
            let first = match self.unsynced_since {
                Some(since) => {
                    let wait = self.settings.group_commit.saturating_sub(since.elapsed());
                    match self.wait(rx, wait) {
                        Ok(msg) => msg,
                        Err(RecvTimeoutError::Timeout) => {
                            self.sync()?;
                            continue;
                        }
                        Err(RecvTimeoutError::Disconnected) => return self.sync(),
                    }
                }
                None => match self.wait(rx, IDLE_CHECK) {
                    Ok(msg) => msg,
                    Err(RecvTimeoutError::Timeout) => continue,
                    Err(RecvTimeoutError::Disconnected) => return self.sync(),
                },
            };
            let mut urgent = false;
            let mut must_sync = false;
            let mut stop = false;
            let mut next = Some(first);
            let mut taken = 0usize;
            while let Some(msg) = next.take() {
                match msg {
                    Msg::Record(job) => {
                        must_sync |= job.durable;
                        urgent |= job.durable || job.ack.is_some();
                        self.append(job)?;
                    }
                    Msg::Flush(reply) => {
                        must_sync = true;
                        self.flushes.push(reply);
                    }
                    Msg::Shutdown(reply) => {
                        must_sync = true;
                        stop = true;
                        self.flushes.push(reply);
                        break;
                    }
                }
                taken += 1;
                if taken < self.settings.max_batch {
                    next = rx.try_recv().ok();
                }
            }
            self.write_buf()?;
            let overdue = self
                .unsynced_since
                .is_some_and(|t| t.elapsed() >= self.settings.group_commit);
            if must_sync || overdue {
                self.sync()?;
            } else if !self.waiting.is_empty() {
                // Non-durable acks leave now: written, not yet synced.
                for (tx, ack) in self.waiting.drain(..) {
                    let _ = tx.send(Ok(ack));
                }
            }
            if stop {
                return Ok(());
            }
            if !urgent && !must_sync && taken < self.settings.max_batch {
                // Let the next records gather (see NAP); a ring ends it.
                std::thread::park_timeout(NAP);
            }
        }
    }

    /// The next message, waiting at most `timeout` (`recv_timeout` that a
    /// sender's send alone does not end: see [`Doorbell`]).
    fn wait(&self, rx: &Receiver<Msg>, timeout: Duration) -> Result<Msg, RecvTimeoutError> {
        let deadline = Instant::now() + timeout;
        loop {
            match rx.try_recv() {
                Ok(msg) => return Ok(msg),
                Err(TryRecvError::Disconnected) => return Err(RecvTimeoutError::Disconnected),
                Err(TryRecvError::Empty) => {}
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(RecvTimeoutError::Timeout);
            }
            self.bell.sleeping.store(true, Ordering::SeqCst);
            fence(Ordering::SeqCst);
            let last = rx.try_recv();
            if !matches!(last, Err(TryRecvError::Empty)) {
                self.bell.sleeping.store(false, Ordering::SeqCst);
                return last.map_err(|_| RecvTimeoutError::Disconnected);
            }
            std::thread::park_timeout(deadline - now);
            self.bell.sleeping.store(false, Ordering::SeqCst);
        }
    }

    /// Chains a record into the buffer, rotating first when the segment is full or old.
    fn append(&mut self, job: Job) -> Result<()> {
        let line_len = job.body.len() as u64 + 220;
        let holds_records = self.seg_len + self.buf.len() as u64 > 0;
        let too_big =
            self.seg_len + self.buf.len() as u64 + line_len > self.settings.segment_max_bytes;
        let too_old = self.seg_started_us.is_some_and(|start| {
            time::now_us().saturating_sub(start)
                >= i64::try_from(self.settings.segment_max_age.as_micros()).unwrap_or(i64::MAX)
        });
        if holds_records && (too_big || too_old) {
            self.rotate()?;
        }
        if self.seg_started_us.is_none() {
            self.seg_started_us = Some(time::now_us());
        }
        self.seq += 1;
        self.prev = chain::append_line(&mut self.buf, self.seq, &self.prev, &job.body);
        self.buffered += 1;
        if self.otlp.is_some() {
            let item = OtlpItem {
                seq: self.seq,
                hash: self.prev.clone(),
                body: job.body,
            };
            self.otlp_pending.push(item);
        }
        if let Some(tx) = job.ack {
            let ack = Ack {
                seq: self.seq,
                hash: self.prev.clone(),
                synced: false,
            };
            self.waiting.push((tx, ack));
        }
        Ok(())
    }

    fn write_buf(&mut self) -> Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let n = self.buf.len() as u64;
        let records = std::mem::take(&mut self.buffered);
        self.file
            .write_all(&self.buf)
            .map_err(|e| AuditError::io(&self.segment.path, e))?;
        self.buf.clear();
        self.seg_len += n;
        self.written += records;
        AuditMetrics::add(&self.metrics.written, records);
        AuditMetrics::add(&self.metrics.bytes, n);
        AuditMetrics::add(&self.metrics.batches, 1);
        self.unsynced_since.get_or_insert_with(Instant::now);
        if let Some((tx, _)) = &self.otlp {
            for item in self.otlp_pending.drain(..) {
                let counter = match tx.try_send(item) {
                    Ok(()) => continue,
                    Err(std::sync::mpsc::TrySendError::Full(_)) => &self.metrics.otlp_dropped,
                    Err(std::sync::mpsc::TrySendError::Disconnected(_)) => {
                        &self.metrics.otlp_failed
                    }
                };
                AuditMetrics::add(counter, 1);
            }
        }
        Ok(())
    }

    /// Syncs the segment and answers everyone waiting for it.
    fn sync(&mut self) -> Result<()> {
        self.write_buf()?;
        if self.unsynced_since.is_some() {
            self.file
                .sync_data()
                .map_err(|e| AuditError::io(&self.segment.path, e))?;
            AuditMetrics::add(&self.metrics.fsyncs, 1);
            self.unsynced_since = None;
        }
        for (tx, mut ack) in self.waiting.drain(..) {
            ack.synced = true;
            let _ = tx.send(Ok(ack));
        }
        for tx in self.flushes.drain(..) {
            let _ = tx.send(Ok(self.seq));
        }
        Ok(())
    }

    /// Closes the current segment (synced) and starts the next one.
    fn rotate(&mut self) -> Result<()> {
        self.write_buf()?;
        self.file
            .sync_data()
            .map_err(|e| AuditError::io(&self.segment.path, e))?;
        AuditMetrics::add(&self.metrics.fsyncs, 1);
        self.unsynced_since = None;
        let next = Segment::new(&self.dir, self.segment.number + 1);
        let file = OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(&next.path)
            .map_err(|e| AuditError::io(&next.path, e))?;
        segment::sync_dir(&self.dir)?;
        self.file = file;
        self.segment = next;
        self.seg_len = 0;
        self.seg_started_us = None;
        AuditMetrics::add(&self.metrics.rotations, 1);
        // Records written before the rotation are synced now.
        for (tx, mut ack) in self.waiting.drain(..) {
            ack.synced = true;
            let _ = tx.send(Ok(ack));
        }
        Ok(())
    }

    fn fail_all(&mut self, reason: &str) {
        AuditMetrics::add(&self.metrics.write_errors, 1);
        // Records the failure left unconfirmed: buffered ones never reached
        // the file; acked ones may have, but were never synced.
        let unconfirmed = self.buffered.max(self.waiting.len() as u64);
        AuditMetrics::add(&self.metrics.failed_records, unconfirmed);
        for (tx, _) in self.waiting.drain(..) {
            let _ = tx.send(Err(AuditError::WriterStopped(reason.to_owned())));
        }
        for tx in self.flushes.drain(..) {
            let _ = tx.send(Err(AuditError::WriterStopped(reason.to_owned())));
        }
    }
}

fn fail_msg(msg: Msg, reason: &str, metrics: &AuditMetrics) {
    let err = || AuditError::WriterStopped(reason.to_owned());
    match msg {
        Msg::Record(job) => {
            AuditMetrics::add(&metrics.rejected_stopped, 1);
            if let Some(tx) = job.ack {
                let _ = tx.send(Err(err()));
            }
        }
        Msg::Flush(tx) | Msg::Shutdown(tx) => {
            let _ = tx.send(Err(err()));
        }
    }
}
