//! Hot reload for the gateway: the serving engine lives in an `ArcSwap`, so
//! requests read it without a lock while a new bundle compiles off the hot
//! path. A new version must compile *and* pass its own tests before it is
//! swapped in; otherwise the old one keeps serving and the failure is
//! counted. The store reads no files: the gateway's watcher hands it sources.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arc_swap::ArcSwap;

use crate::bundle::Bundle;
use crate::engine::{Limits, PolicyEngine};
use crate::error::Result;
use crate::testing::{TestReport, run_tests};

/// The policy engine currently serving, and its reload history.
#[derive(Debug)]
pub struct PolicyStore {
    current: ArcSwap<PolicyEngine>,
    limits: Limits,
    reloads: AtomicU64,
    failures: AtomicU64,
}

/// What a successful swap installed.
#[derive(Debug, Clone)]
pub struct Swapped {
    /// Digest of the bundle now serving.
    pub digest: String,
    /// Digest of the bundle it replaced.
    pub previous: String,
    /// The new bundle's test report (all passed).
    pub tests: TestReport,
}

impl PolicyStore {
    /// A store serving `engine`.
    pub fn new(engine: PolicyEngine, limits: Limits) -> Self {
        PolicyStore {
            current: ArcSwap::from_pointee(engine),
            limits,
            reloads: AtomicU64::new(0),
            failures: AtomicU64::new(0),
        }
    }

    /// A store serving the default bundle compiled into the binary.
    pub fn embedded() -> Result<Self> {
        let limits = Limits::default();
        Ok(Self::new(
            PolicyEngine::compile_with(&Bundle::embedded(), limits)?,
            limits,
        ))
    }

    /// The engine serving now; hold it for one request, not longer.
    pub fn current(&self) -> Arc<PolicyEngine> {
        self.current.load_full()
    }

    /// Compiles `sources`, runs the bundle's tests, and swaps it in only when
    /// both succeed. On error the old engine keeps serving and
    /// [`PolicyStore::failures`] grows. Slow (milliseconds): call it from a
    /// blocking task, never on the request path.
    pub fn try_swap<N: Into<String>, T: Into<String>>(
        &self,
        sources: impl IntoIterator<Item = (N, T)>,
    ) -> Result<Swapped> {
        let bundle = Bundle::from_sources(sources);
        let outcome = Self::prepare(&bundle, self.limits);
        match outcome {
            Ok((engine, tests)) => {
                let digest = engine.digest().to_owned();
                let previous = self.current.swap(Arc::new(engine));
                self.reloads.fetch_add(1, Ordering::Relaxed);
                Ok(Swapped {
                    digest,
                    previous: previous.digest().to_owned(),
                    tests,
                })
            }
            Err(e) => {
                self.failures.fetch_add(1, Ordering::Relaxed);
                Err(e)
            }
        }
    }

    fn prepare(bundle: &Bundle, limits: Limits) -> Result<(PolicyEngine, TestReport)> {
        let engine = PolicyEngine::compile_with(bundle, limits)?;
        let tests = run_tests(bundle)?;
        if let Some(e) = tests.to_error() {
            return Err(e);
        }
        Ok((engine, tests))
    }

    /// Successful swaps so far.
    pub fn reloads(&self) -> u64 {
        self.reloads.load(Ordering::Relaxed)
    }

    /// Rejected versions so far.
    pub fn failures(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }
}
