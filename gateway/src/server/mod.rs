//! The server: accepts connections (plain or TLS), serves HTTP/1.1 and
//! HTTP/2 on each (hyper-util's auto builder), bounds the work in flight,
//! and shuts down in two phases.
//!
//! Invariants:
//! - At most `server.max_concurrent_requests` requests are handled at once;
//!   one more is refused at once with 503 + `Retry-After` (load is shed,
//!   never queued without bound). A streamed response holds its permit until
//!   its body ends. Health and metrics endpoints are exempt, so an
//!   overloaded gateway can still be observed.
//! - Shutdown: when the `shutdown` future resolves the listener is closed
//!   (new connections are refused), every connection is told to finish its
//!   in-flight requests and close (HTTP/2 GOAWAY), and after
//!   `server.shutdown_grace_ms` whatever is left is aborted.

pub mod approvals;
pub mod auth;
pub mod body;
pub mod error;
pub mod tls;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use http::{Request, Response};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use thiserror::Error;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::audit::{AuditHandle, AuditLog, AuditSettings};
use crate::config::Settings;
use crate::metrics::{Metrics, Stage};
use crate::pipeline::Pipeline;
use crate::upstream::UpstreamClient;
use approvals::ApprovalStore;
use body::{Body, PermitBody};
use error::GatewayError;

/// Why the server could not start.
#[derive(Debug, Error)]
pub enum ServeError {
    /// TLS material is unusable.
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    /// An injected upstream key is missing.
    #[error(transparent)]
    Key(#[from] crate::upstream::MissingKey),
    /// A policy bundle or the guard model does not load.
    #[error(transparent)]
    Pipeline(#[from] crate::pipeline::PipelineSetupError),
    /// The audit log cannot be opened.
    #[error("audit log: {0}")]
    Audit(#[from] crate::audit::AuditError),
}

/// Everything a request handler may use; one per server, shared.
#[derive(Debug)]
pub struct AppState {
    /// Validated settings.
    pub settings: Arc<Settings>,
    /// The judging pipeline.
    pub pipeline: Pipeline,
    /// Metrics.
    pub metrics: Metrics,
    /// The upstream client.
    pub upstream: UpstreamClient,
    /// Pending approvals.
    pub approvals: ApprovalStore,
    /// MCP sessions and pinned tool definitions.
    pub mcp: crate::routes::mcp::Sessions,
    /// Chat Completions tool definitions read once per distinct array.
    pub tools: preflight_adapters::adapters::openai_chat::typed::ToolsCache,
    /// The audit log, when `serve` opened one.
    pub audit: Option<AuditHandle>,
    /// Requests refused because the audit log could not take their record.
    pub audit_refusals: std::sync::atomic::AtomicU64,
    limit: Arc<Semaphore>,
    draining: AtomicBool,
}

impl AppState {
    /// Builds the state, reading injected upstream keys from the process
    /// environment.
    pub fn new(settings: Settings) -> Result<Self, ServeError> {
        AppState::with_audit(settings, None)
    }

    /// [`AppState::new`] with an audit log to record decisions in.
    pub fn with_audit(settings: Settings, audit: Option<AuditHandle>) -> Result<Self, ServeError> {
        let upstream = UpstreamClient::new(&settings, |v| std::env::var(v).ok())?;
        let mut pipeline = Pipeline::new(&settings)?;
        // The per-step analysis is only read by the audit record.
        pipeline.set_analysis(match &audit {
            None => crate::pipeline::AnalysisFor::None,
            Some(a) => crate::pipeline::AnalysisFor::Audited(a.allow_recording()),
        });
        Ok(AppState {
            audit,
            audit_refusals: std::sync::atomic::AtomicU64::new(0),
            pipeline,
            metrics: Metrics::default(),
            upstream,
            approvals: ApprovalStore::new(settings.approvals.max_pending),
            mcp: crate::routes::mcp::Sessions::default(),
            tools: Default::default(),
            limit: Arc::new(Semaphore::new(settings.max_concurrent_requests)),
            draining: AtomicBool::new(false),
            settings: Arc::new(settings),
        })
    }

    /// True once shutdown began (`/readyz` answers 503).
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Relaxed)
    }
}

/// Per-request facts from the connection.
#[derive(Debug, Clone, Copy)]
pub struct Conn {
    /// The client's address.
    pub peer: SocketAddr,
}

/// Runs the gateway on `listener` until `shutdown` resolves, then drains.
/// No audit log: see [`serve_with_audit`].
pub async fn serve(
    listener: TcpListener,
    settings: Settings,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServeError> {
    serve_with_audit(listener, settings, None, shutdown).await
}

/// [`serve`], recording every decision in the audit log of `audit` (opened
/// here, flushed and closed after the drain). A torn last line left by a
/// crash is cut at open and reported on stderr.
pub async fn serve_with_audit(
    listener: TcpListener,
    settings: Settings,
    audit: Option<AuditSettings>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServeError> {
    // TLS material is checked before the audit log is opened.
    settings.tls.as_ref().map(tls::acceptor).transpose()?;
    let (audit_handle, audit_task) = match audit {
        Some(a) => {
            let (h, t) = AuditLog::open(a)?;
            if let Some(torn) = t.torn_tail() {
                #[expect(
                    clippy::print_stderr,
                    reason = "operators read startup warnings in the log"
                )]
                {
                    eprintln!(
                        "preflight: warning: audit log: cut a torn last line of {} bytes at offset {} in {} (a crash left it unfinished)",
                        torn.bytes, torn.offset, torn.segment
                    );
                }
            }
            (Some(h), Some(t))
        }
        None => (None, None),
    };
    let state = match AppState::with_audit(settings, audit_handle.clone()) {
        Ok(s) => Arc::new(s),
        Err(e) => {
            if let (Some(h), Some(t)) = (audit_handle, audit_task) {
                let _ = h.shutdown().await;
                let _ = t.finished().await;
            }
            return Err(e);
        }
    };
    let served = serve_state(listener, state, shutdown).await;
    // Every response has left (or was aborted): sync what is queued, stop.
    if let (Some(h), Some(t)) = (audit_handle, audit_task) {
        h.shutdown().await?;
        t.finished().await?;
    }
    served
}

/// Runs the gateway with a state built by the caller (tests give it an
/// audit handle of their own) until `shutdown` resolves, then drains. The
/// caller owns the audit log's shutdown.
pub async fn serve_state(
    listener: TcpListener,
    state: Arc<AppState>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServeError> {
    let tls = state.settings.tls.as_ref().map(tls::acceptor).transpose()?;
    let grace = state.settings.shutdown_grace;

    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(30));
    builder.http2().timer(TokioTimer::new());
    let reloader = spawn_reloader(state.clone());
    let graceful = GracefulShutdown::new();
    let mut conns = JoinSet::new();
    tokio::pin!(shutdown);

    loop {
        tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(a) => a,
                    Err(_) => {
                        // Out of file descriptors or a connection reset before
                        // accept: back off briefly instead of spinning.
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let state = state.clone();
                let builder = builder.clone();
                let watcher = graceful.watcher();
                let tls = tls.clone();
                conns.spawn(async move {
                    let svc = service_fn(move |req| {
                        let state = state.clone();
                        async move { Ok::<_, Infallible>(handle(state, req, Conn { peer }).await) }
                    });
                    match tls {
                        None => {
                            let conn = builder.serve_connection(TokioIo::new(stream), svc);
                            let _ = watcher.watch(conn).await;
                        }
                        Some(acceptor) => {
                            let handshake = tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream));
                            let Ok(Ok(tls_stream)) = handshake.await else { return };
                            let conn = builder.serve_connection(TokioIo::new(tls_stream), svc);
                            let _ = watcher.watch(conn).await;
                        }
                    }
                });
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }

    drop(listener);
    state.draining.store(true, Ordering::Relaxed);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(grace) => {}
    }
    conns.shutdown().await;
    if let Some(r) = reloader {
        r.abort();
    }
    Ok(())
}

/// On SIGHUP, reloads the policy bundles read from directories (off the
/// reactor: compiling Rego takes milliseconds). A bundle that fails to
/// compile or to pass its own tests is rejected; the old one keeps serving.
fn spawn_reloader(state: Arc<AppState>) -> Option<tokio::task::JoinHandle<()>> {
    if !state.pipeline.reloadable() {
        return None;
    }
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut hup = signal(SignalKind::hangup()).ok()?;
        Some(tokio::spawn(async move {
            while hup.recv().await.is_some() {
                let st = state.clone();
                let Ok(results) = tokio::task::spawn_blocking(move || st.pipeline.reload()).await
                else {
                    continue;
                };
                for (key, result) in results {
                    #[expect(
                        clippy::print_stderr,
                        reason = "operators read reload results in the log"
                    )]
                    match result {
                        Ok(digest) => eprintln!("preflight: {key}: reloaded, serving {digest}"),
                        Err(e) => eprintln!(
                            "preflight: {key}: reload rejected, old bundle keeps serving: {e}"
                        ),
                    }
                }
            }
        }))
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// Resolves on SIGTERM or SIGINT (Ctrl-C).
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

async fn handle(state: Arc<AppState>, req: Request<Incoming>, conn: Conn) -> Response<Body> {
    let start = Instant::now();
    let route = crate::routes::route_name(req.uri().path());
    let exempt = matches!(route, "health" | "metrics");
    let permit = if exempt {
        None
    } else {
        match state.limit.clone().try_acquire_owned() {
            Ok(p) => Some(p),
            Err(_) => {
                state.metrics.shed();
                state.metrics.request(route, 503);
                return GatewayError::Overloaded {
                    retry_after: state.settings.retry_after_secs,
                }
                .into_response();
            }
        }
    };
    let resp = match crate::routes::dispatch(&state, req, conn).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    };
    state.metrics.request(route, resp.status().as_u16());
    state.metrics.latency(route, Stage::Total, start.elapsed());
    if permit.is_none() {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    Response::from_parts(parts, PermitBody::wrap(body, permit))
}
