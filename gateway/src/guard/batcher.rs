//! Dynamic batching for tier 2: one dedicated thread owns the scoring;
//! callers (any request, any route) send their steps and wait on a oneshot
//! channel. The thread takes the first waiting job, then keeps collecting
//! jobs until it holds `max_steps` steps or `max_wait` has passed since
//! that first job, and scores them all in one encoder pass. Scoring never
//! runs on the async reactor: sync callers inside a multi-threaded tokio
//! runtime wait in `block_in_place`, async callers await the channel.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::tier2::{Engine, StepInput, Tier2Output};

/// Batch limits (`guard.batch_max_steps`, `guard.batch_max_wait_us`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchSettings {
    /// Most steps in one encoder pass.
    pub max_steps: usize,
    /// Longest wait for more jobs after the first.
    pub max_wait: Duration,
}

impl Default for BatchSettings {
    fn default() -> Self {
        BatchSettings {
            max_steps: 32,
            max_wait: Duration::from_micros(500),
        }
    }
}

type Reply = oneshot::Sender<Result<Vec<Tier2Output>, String>>;

struct Job {
    inputs: Vec<StepInput>,
    reply: Reply,
}

/// Counters of the scoring thread.
#[derive(Debug, Default)]
pub struct BatchStats {
    /// Encoder passes run.
    pub batches: AtomicU64,
    /// Steps scored.
    pub steps: AtomicU64,
}

/// A cheap, cloneable way to reach the scoring thread. The thread ends
/// when the last handle is dropped.
#[derive(Clone)]
pub struct BatcherHandle {
    tx: mpsc::Sender<Job>,
    engine: Arc<Engine>,
    stats: Arc<BatchStats>,
}

impl std::fmt::Debug for BatcherHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatcherHandle").finish_non_exhaustive()
    }
}

/// Starts the scoring thread over `engine`.
pub fn spawn(engine: Arc<Engine>, settings: BatchSettings) -> std::io::Result<BatcherHandle> {
    let (tx, rx) = mpsc::channel::<Job>();
    let stats = Arc::new(BatchStats::default());
    let (e, s) = (Arc::clone(&engine), Arc::clone(&stats));
    std::thread::Builder::new()
        .name("preflight-guard-tier2".into())
        .spawn(move || run(&e, &rx, settings, &s))?;
    Ok(BatcherHandle { tx, engine, stats })
}

fn run(engine: &Engine, rx: &mpsc::Receiver<Job>, settings: BatchSettings, stats: &BatchStats) {
    let max_steps = settings.max_steps.max(1);
    while let Ok(first) = rx.recv() {
        let deadline = Instant::now() + settings.max_wait;
        let mut steps = first.inputs.len();
        let mut jobs = vec![first];
        while steps < max_steps {
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                break;
            };
            match rx.recv_timeout(left) {
                Ok(job) => {
                    steps += job.inputs.len();
                    jobs.push(job);
                }
                Err(_) => break,
            }
        }
        let mut counts = Vec::with_capacity(jobs.len());
        let mut all = Vec::with_capacity(steps);
        let mut replies = Vec::with_capacity(jobs.len());
        for j in jobs {
            counts.push(j.inputs.len());
            all.extend(j.inputs);
            replies.push(j.reply);
        }
        let mut result: Result<Vec<Tier2Output>, String> = Ok(Vec::with_capacity(all.len()));
        for chunk in all.chunks(max_steps) {
            stats.batches.fetch_add(1, Ordering::Relaxed);
            stats.steps.fetch_add(chunk.len() as u64, Ordering::Relaxed);
            match (&mut result, engine.score(chunk)) {
                (Ok(acc), Ok(outs)) => acc.extend(outs),
                (r, Err(e)) => *r = Err(e.to_string()),
                (Err(_), Ok(_)) => {}
            }
        }
        match result {
            Ok(outs) => {
                let mut it = outs.into_iter();
                for (n, reply) in counts.into_iter().zip(replies) {
                    // A caller that gave up is not an error.
                    let _ = reply.send(Ok(it.by_ref().take(n).collect()));
                }
            }
            Err(e) => {
                for reply in replies {
                    let _ = reply.send(Err(e.clone()));
                }
            }
        }
    }
}

impl BatcherHandle {
    /// The engine (for direct, unbatched scoring).
    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    /// Encoder passes and steps so far.
    pub fn stats(&self) -> (u64, u64) {
        (
            self.stats.batches.load(Ordering::Relaxed),
            self.stats.steps.load(Ordering::Relaxed),
        )
    }

    fn submit(
        &self,
        inputs: Vec<StepInput>,
    ) -> Result<oneshot::Receiver<Result<Vec<Tier2Output>, String>>, String> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Job { inputs, reply })
            .map_err(|_| "the tier-2 scoring thread has stopped".to_owned())?;
        Ok(rx)
    }

    /// Scores `inputs` through the batch, awaiting the result.
    pub async fn score(&self, inputs: Vec<StepInput>) -> Result<Vec<Tier2Output>, String> {
        if inputs.is_empty() {
            return Ok(Vec::new());
        }
        self.submit(inputs)?
            .await
            .map_err(|_| "the tier-2 scoring thread dropped a request".to_owned())?
    }

    /// Scores `inputs` from synchronous code. Outside a runtime it blocks;
    /// on a multi-threaded runtime worker it blocks in `block_in_place` (the
    /// worker's other tasks move elsewhere); on a current-thread runtime,
    /// where neither is allowed, it scores inline.
    pub fn score_blocking(&self, inputs: Vec<StepInput>) -> Result<Vec<Tier2Output>, String> {
        use tokio::runtime::{Handle, RuntimeFlavor};
        if inputs.is_empty() {
            return Ok(Vec::new());
        }
        let wait = |rx: oneshot::Receiver<Result<Vec<Tier2Output>, String>>| {
            rx.blocking_recv()
                .map_err(|_| "the tier-2 scoring thread dropped a request".to_owned())?
        };
        match Handle::try_current() {
            Err(_) => wait(self.submit(inputs)?),
            Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => {
                let rx = self.submit(inputs)?;
                tokio::task::block_in_place(|| wait(rx))
            }
            Ok(_) => self.engine.score(&inputs).map_err(|e| e.to_string()),
        }
    }
}
