//! Shared harness for the gateway's socket tests: the real gateway on
//! 127.0.0.1:0, a scripted upstream on loopback, and a plain hyper client.
#![allow(dead_code)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// One scripted answer.
#[derive(Clone)]
pub struct Script {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
    pub delay: Duration,
    /// Send the body in pieces of this many bytes (SSE scripts).
    pub chunk: Option<usize>,
    /// After this many pieces, wait for `Upstream::gate` before the rest.
    pub gate_after: Option<usize>,
}

impl Script {
    pub fn json(body: &Value) -> Self {
        Script {
            status: 200,
            content_type: "application/json",
            body: body.to_string(),
            delay: Duration::ZERO,
            chunk: None,
            gate_after: None,
        }
    }

    /// An SSE body sent `chunk` bytes at a time.
    pub fn sse(body: &str, chunk: usize) -> Self {
        Script {
            content_type: "text/event-stream",
            body: body.to_owned(),
            chunk: Some(chunk),
            ..Script::json(&Value::Null)
        }
    }
}

/// A scripted upstream: answers every request with the next script (the
/// last one repeats) and records request bodies.
pub struct Upstream {
    pub addr: SocketAddr,
    pub hits: Arc<AtomicUsize>,
    pub bodies: Arc<std::sync::Mutex<Vec<Value>>>,
    /// Opens a gated script.
    pub gate: Arc<tokio::sync::Notify>,
    /// Set when a streamed answer's reader went away before the end.
    pub cancelled: Arc<std::sync::atomic::AtomicBool>,
}

pub async fn upstream(scripts: Vec<Script>) -> Upstream {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind upstream");
    let addr = listener.local_addr().expect("addr");
    let hits = Arc::new(AtomicUsize::new(0));
    let bodies = Arc::new(std::sync::Mutex::new(Vec::new()));
    let scripts = Arc::new(scripts);
    let gate = Arc::new(tokio::sync::Notify::new());
    let cancelled = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (h, b) = (hits.clone(), bodies.clone());
    let (g, c) = (gate.clone(), cancelled.clone());
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let (h, b, scripts) = (h.clone(), b.clone(), scripts.clone());
            let (g, c) = (g.clone(), c.clone());
            tokio::spawn(async move {
                let svc = service_fn(move |req: Request<Incoming>| {
                    let (h, b, scripts) = (h.clone(), b.clone(), scripts.clone());
                    let (g, c) = (g.clone(), c.clone());
                    async move {
                        let n = h.fetch_add(1, Ordering::SeqCst);
                        let body = req
                            .into_body()
                            .collect()
                            .await
                            .map(|c| c.to_bytes())
                            .unwrap_or_default();
                        if let Ok(v) = serde_json::from_slice::<Value>(&body) {
                            b.lock().expect("lock").push(v);
                        }
                        let s = scripts[n.min(scripts.len() - 1)].clone();
                        tokio::time::sleep(s.delay).await;
                        let body = match s.chunk {
                            None => Full::new(Bytes::from(s.body))
                                .map_err(|n| match n {})
                                .boxed(),
                            Some(n) => {
                                let (tx, body) =
                                    preflight_gateway::server::body::ChannelBody::channel(1);
                                let pieces: Vec<Bytes> = s
                                    .body
                                    .as_bytes()
                                    .chunks(n)
                                    .map(Bytes::copy_from_slice)
                                    .collect();
                                tokio::spawn(async move {
                                    for (i, piece) in pieces.into_iter().enumerate() {
                                        if Some(i) == s.gate_after {
                                            tokio::select! {
                                                () = g.notified() => {}
                                                () = tx.closed() => {
                                                    c.store(true, Ordering::SeqCst);
                                                    return;
                                                }
                                            }
                                        }
                                        if tx.send(Ok(piece)).await.is_err() {
                                            c.store(true, Ordering::SeqCst);
                                            return;
                                        }
                                        tokio::time::sleep(Duration::from_millis(1)).await;
                                    }
                                });
                                body
                            }
                        };
                        let resp = Response::builder()
                            .status(s.status)
                            .header("content-type", s.content_type)
                            .header("x-request-id", "req_upstream")
                            .body(body)
                            .expect("response");
                        Ok::<_, Infallible>(resp)
                    }
                });
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    Upstream {
        addr,
        hits,
        bodies,
        gate,
        cancelled,
    }
}

/// A running gateway.
pub struct Gateway {
    pub addr: SocketAddr,
    pub stop: Option<oneshot::Sender<()>>,
    pub done: tokio::task::JoinHandle<()>,
}

impl Gateway {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }
    pub async fn shutdown(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        let _ = self.done.await;
    }
}

/// Starts the gateway with `toml` (which may name `{upstream}` for the
/// scripted upstream's base URL).
/// Unoptimized test builds on two shared cores can take longer than the
/// production default of 250 ms to decide, which would fail the call closed
/// and make a test flaky; tests that do not set a deadline get 10 s.
pub fn relax_deadline(settings: &mut preflight_gateway::config::Settings, toml: &str) {
    if !toml.contains("decision_deadline_ms") {
        settings.policy.decision_deadline = Duration::from_secs(10);
    }
}

pub async fn gateway(toml: &str, upstream: Option<SocketAddr>) -> Gateway {
    let text = match upstream {
        Some(a) => toml.replace("{upstream}", &format!("http://{a}")),
        // Never contacted: tests without an upstream make no upstream call.
        None => toml.replace("{upstream}", "http://127.0.0.1:9"),
    };
    let mut settings = preflight_gateway::config::from_toml(&text).expect("valid test config");
    relax_deadline(&mut settings, &text);
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind gateway");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = oneshot::channel::<()>();
    let done = tokio::spawn(async move {
        preflight_gateway::server::serve(listener, settings, async {
            let _ = rx.await;
        })
        .await
        .expect("serve");
    });
    Gateway {
        addr,
        stop: Some(tx),
        done,
    }
}

/// [`gateway`] with the audit log of `data_dir` (`[audit]` from `toml`),
/// as `preflight serve --data-dir` runs it.
pub async fn gateway_with_audit(
    toml: &str,
    upstream: Option<SocketAddr>,
    data_dir: &std::path::Path,
) -> Gateway {
    let text = match upstream {
        Some(a) => toml.replace("{upstream}", &format!("http://{a}")),
        None => toml.replace("{upstream}", "http://127.0.0.1:9"),
    };
    let mut settings = preflight_gateway::config::from_toml(&text).expect("valid test config");
    relax_deadline(&mut settings, &text);
    let audit = settings
        .audit
        .clone()
        .validate(data_dir)
        .expect("valid audit settings");
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind gateway");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = oneshot::channel::<()>();
    let done = tokio::spawn(async move {
        preflight_gateway::server::serve_with_audit(listener, settings, Some(audit), async {
            let _ = rx.await;
        })
        .await
        .expect("serve");
    });
    Gateway {
        addr,
        stop: Some(tx),
        done,
    }
}

pub fn client() -> Client<HttpConnector, Full<Bytes>> {
    Client::builder(TokioExecutor::new()).build(HttpConnector::new())
}

/// Sends a request; returns status, headers and body bytes.
pub async fn send(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> (StatusCode, http::HeaderMap, Bytes) {
    let mut b = Request::builder().method(method).uri(url);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let req = b.body(Full::new(body.into())).expect("request");
    let resp = client().request(req).await.expect("gateway answers");
    let (parts, body) = resp.into_parts();
    let bytes = body.collect().await.expect("body").to_bytes();
    (parts.status, parts.headers, bytes)
}

pub async fn post_json(url: &str, body: &Value) -> (StatusCode, http::HeaderMap, Value) {
    let (s, h, b) = send(
        "POST",
        url,
        &[("content-type", "application/json")],
        body.to_string(),
    )
    .await;
    let v = serde_json::from_slice(&b)
        .unwrap_or(Value::String(String::from_utf8_lossy(&b).into_owned()));
    (s, h, v)
}

pub const CHAT_UPSTREAM: &str = r#"
[upstreams.openai]
base_url = "{upstream}"
protocol = "openai"
timeout_ms = 2000
[upstreams.anthropic]
base_url = "{upstream}"
protocol = "anthropic"
timeout_ms = 2000
"#;
