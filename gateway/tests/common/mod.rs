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
}

impl Script {
    pub fn json(body: &Value) -> Self {
        Script {
            status: 200,
            content_type: "application/json",
            body: body.to_string(),
            delay: Duration::ZERO,
        }
    }
}

/// A scripted upstream: answers every request with the next script (the
/// last one repeats) and records request bodies.
pub struct Upstream {
    pub addr: SocketAddr,
    pub hits: Arc<AtomicUsize>,
    pub bodies: Arc<std::sync::Mutex<Vec<Value>>>,
}

pub async fn upstream(scripts: Vec<Script>) -> Upstream {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind upstream");
    let addr = listener.local_addr().expect("addr");
    let hits = Arc::new(AtomicUsize::new(0));
    let bodies = Arc::new(std::sync::Mutex::new(Vec::new()));
    let scripts = Arc::new(scripts);
    let (h, b) = (hits.clone(), bodies.clone());
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let (h, b, scripts) = (h.clone(), b.clone(), scripts.clone());
            tokio::spawn(async move {
                let svc = service_fn(move |req: Request<Incoming>| {
                    let (h, b, scripts) = (h.clone(), b.clone(), scripts.clone());
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
                        let resp = Response::builder()
                            .status(s.status)
                            .header("content-type", s.content_type)
                            .header("x-request-id", "req_upstream")
                            .body(Full::new(Bytes::from(s.body)))
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
    Upstream { addr, hits, bodies }
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
pub async fn gateway(toml: &str, upstream: Option<SocketAddr>) -> Gateway {
    let text = match upstream {
        Some(a) => toml.replace("{upstream}", &format!("http://{a}")),
        // Never contacted: tests without an upstream make no upstream call.
        None => toml.replace("{upstream}", "http://127.0.0.1:9"),
    };
    let settings = preflight_gateway::config::from_toml(&text).expect("valid test config");
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
