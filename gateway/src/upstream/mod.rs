//! The upstream client: one pooled hyper client (HTTP/1.1 and HTTP/2,
//! rustls with the ring provider and the webpki roots) shared by every
//! route, the header rules for forwarding (hop-by-hop headers dropped,
//! compression refused so responses can be judged, the client's credentials
//! forwarded or replaced by a key from the environment), and a timeout on
//! every call.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response, Uri, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use thiserror::Error;

use crate::config::{Protocol, Settings, UpstreamSettings};

/// Why an upstream call failed.
#[derive(Debug, Error)]
pub enum UpstreamError {
    /// Could not connect or send.
    #[error("upstream `{upstream}` is unreachable: {reason}")]
    Unreachable {
        /// Upstream name.
        upstream: String,
        /// Cause.
        reason: String,
    },
    /// No answer within the upstream's timeout.
    #[error("upstream `{upstream}` did not answer within {timeout_ms} ms")]
    Timeout {
        /// Upstream name.
        upstream: String,
        /// The timeout.
        timeout_ms: u64,
    },
    /// The response body broke off or was too large.
    #[error("upstream `{upstream}` response body: {reason}")]
    Body {
        /// Upstream name.
        upstream: String,
        /// Cause.
        reason: String,
    },
    /// The URL could not be built.
    #[error("upstream `{upstream}`: bad URL: {reason}")]
    Url {
        /// Upstream name.
        upstream: String,
        /// Cause.
        reason: String,
    },
}

impl UpstreamError {
    /// Short label for metrics.
    pub fn metric_kind(&self) -> &'static str {
        match self {
            UpstreamError::Unreachable { .. } => "connect",
            UpstreamError::Timeout { .. } => "timeout",
            UpstreamError::Body { .. } => "body",
            UpstreamError::Url { .. } => "url",
        }
    }
}

/// Startup failure of the client (a missing injected key).
#[derive(Debug, Error)]
#[error(
    "upstreams.{upstream}.api_key_env: environment variable `{var}` is not set or not a valid header value"
)]
pub struct MissingKey {
    /// Upstream name.
    pub upstream: String,
    /// Variable name.
    pub var: String,
}

type HttpsClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// The shared client.
#[derive(Debug, Clone)]
pub struct UpstreamClient {
    client: HttpsClient,
    /// Injected credentials by upstream name (read from the environment once).
    keys: Arc<BTreeMap<String, (HeaderName, HeaderValue)>>,
}

/// Request headers never forwarded: hop-by-hop ones, those Preflight
/// recomputes, and its own.
const DROP_REQUEST: [&str; 12] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
    "accept-encoding",
    "x-preflight-key",
];

/// Response headers never passed back.
const DROP_RESPONSE: [&str; 9] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "content-length",
    "content-encoding",
];

impl UpstreamClient {
    /// Builds the client and reads injected keys from `env`.
    pub fn new(
        settings: &Settings,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, MissingKey> {
        let mut keys = BTreeMap::new();
        for (name, u) in &settings.upstreams {
            if let Some(var) = &u.api_key_env {
                let missing = || MissingKey {
                    upstream: name.clone(),
                    var: var.clone(),
                };
                let key = env(var).filter(|k| !k.is_empty()).ok_or_else(missing)?;
                let (header_name, value) = match u.protocol {
                    Protocol::Anthropic => (HeaderName::from_static("x-api-key"), key),
                    Protocol::Openai | Protocol::Mcp => {
                        (header::AUTHORIZATION, format!("Bearer {key}"))
                    }
                };
                let mut value = HeaderValue::from_str(&value).map_err(|_| missing())?;
                value.set_sensitive(true);
                keys.insert(name.clone(), (header_name, value));
            }
        }
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(Duration::from_secs(10)));
        let builder = hyper_rustls::HttpsConnectorBuilder::new();
        let builder = match builder
            .with_provider_and_webpki_roots(Arc::new(rustls::crypto::ring::default_provider()))
        {
            Ok(b) => b,
            // Only fails when the provider lacks the default protocol
            // versions, which ring has; fall back to the process default.
            Err(_) => hyper_rustls::HttpsConnectorBuilder::new().with_webpki_roots(),
        };
        let connector = builder
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(90))
            .pool_max_idle_per_host(64)
            .build(connector);
        Ok(UpstreamClient {
            client,
            keys: Arc::new(keys),
        })
    }

    /// Sends a request and waits for the response head, within the
    /// upstream's timeout. `path` is appended to the base URL (LLM routes);
    /// pass `""` for MCP endpoints. `strip` names a header that carried the
    /// caller's Preflight key and must not reach the provider.
    pub async fn send(
        &self,
        up: &UpstreamSettings,
        method: Method,
        path: &str,
        client_headers: &HeaderMap,
        strip: Option<&HeaderName>,
        body: Bytes,
    ) -> Result<Response<Incoming>, UpstreamError> {
        let url = format!("{}{}", up.base_url, path);
        let uri: Uri = url
            .parse()
            .map_err(|e: http::uri::InvalidUri| UpstreamError::Url {
                upstream: up.name.clone(),
                reason: e.to_string(),
            })?;
        let mut req = Request::new(Full::new(body));
        *req.method_mut() = method;
        *req.uri_mut() = uri;
        let headers = req.headers_mut();
        for (name, value) in client_headers {
            if DROP_REQUEST.contains(&name.as_str()) || Some(name) == strip {
                continue;
            }
            headers.append(name.clone(), value.clone());
        }
        if let Some((name, value)) = self.keys.get(&up.name) {
            headers.remove(header::AUTHORIZATION);
            headers.remove("x-api-key");
            headers.insert(name.clone(), value.clone());
        }
        headers.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("identity"),
        );
        match tokio::time::timeout(up.timeout, self.client.request(req)).await {
            Err(_) => Err(UpstreamError::Timeout {
                upstream: up.name.clone(),
                timeout_ms: u64::try_from(up.timeout.as_millis()).unwrap_or(u64::MAX),
            }),
            Ok(Err(e)) => Err(UpstreamError::Unreachable {
                upstream: up.name.clone(),
                reason: error_chain(&e),
            }),
            Ok(Ok(resp)) => Ok(resp),
        }
    }

    /// Reads a whole response body, at most `limit` bytes, within `timeout`.
    pub async fn read_body(
        up: &UpstreamSettings,
        body: Incoming,
        limit: usize,
        timeout: Duration,
    ) -> Result<Bytes, UpstreamError> {
        match tokio::time::timeout(timeout, Limited::new(body, limit).collect()).await {
            Err(_) => Err(UpstreamError::Timeout {
                upstream: up.name.clone(),
                timeout_ms: u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
            }),
            Ok(Err(e)) => Err(UpstreamError::Body {
                upstream: up.name.clone(),
                reason: if e.is::<http_body_util::LengthLimitError>() {
                    format!("larger than server.max_response_bytes ({limit} bytes)")
                } else {
                    e.to_string()
                },
            }),
            Ok(Ok(c)) => Ok(c.to_bytes()),
        }
    }
}

/// The response headers to pass back to the client.
pub fn response_headers(upstream: &HeaderMap) -> HeaderMap {
    let mut out = HeaderMap::with_capacity(upstream.len());
    for (name, value) in upstream {
        if !DROP_RESPONSE.contains(&name.as_str()) {
            out.append(name.clone(), value.clone());
        }
    }
    out
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}
