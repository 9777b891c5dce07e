//! Streaming (`"stream": true`) LLM requests.
//!
//! NOT YET IMPLEMENTED: the incremental stream assemblers of the adapters
//! crate (hold each tool call until its arguments are complete, judge it,
//! pass text deltas through at once) have not landed on `main` yet. Until
//! they do, a streaming request is refused with a clear 400 rather than
//! passed through unchecked (fail closed): the agent can retry without
//! `stream`.

use http::Response;

use crate::config::UpstreamSettings;
use crate::pipeline::RequestMeta;
use crate::server::AppState;
use crate::server::auth::Caller;
use crate::server::body::Body;
use crate::server::error::GatewayError;

/// A streaming call, as the LLM handler prepared it.
#[derive(Debug)]
pub struct StreamCall {
    /// Upstream.
    pub up: std::sync::Arc<UpstreamSettings>,
    /// Path and query to append to the base URL.
    pub path: String,
    /// Client headers.
    pub headers: http::HeaderMap,
    /// Who asked.
    pub caller: Caller,
    /// Wire format of the JSON request.
    pub format: preflight_adapters::Format,
    /// Route name.
    pub route: &'static str,
    /// Request metadata for judging.
    pub meta: RequestMeta,
    /// Parsed request.
    pub request: serde_json::Value,
    /// Raw request bytes.
    pub body: bytes::Bytes,
}

/// Handles a streaming call.
pub async fn handle(_state: &AppState, call: StreamCall) -> Result<Response<Body>, GatewayError> {
    Err(GatewayError::BadRequest(format!(
        "/stream: streaming is not supported by this gateway build yet for {}; send the request without \"stream\": true",
        call.route
    )))
}
