//! The one error type every route returns, its HTTP status (one mapping,
//! [`GatewayError::status`]) and its one JSON body shape:
//!
//! ```json
//! {"type": "error", "error": {"type": "payload_too_large", "message": "..."}, "decision": {...}?}
//! ```
//!
//! The shape reads as an error to both the OpenAI and the Anthropic SDKs
//! (`error.message` / `error.type`), so an agent sees a normal API error.

use http::{HeaderValue, Response, StatusCode, header};
use thiserror::Error;

use super::body::{Body, full};
use crate::pipeline::Decision;
use crate::upstream::UpstreamError;

/// Why a request failed.
#[derive(Debug, Error)]
pub enum GatewayError {
    /// The request is malformed (bad JSON, wrong shape, unknown format).
    #[error("{0}")]
    BadRequest(String),
    /// No valid API key.
    #[error("{0}")]
    Unauthorized(String),
    /// The caller may not do this (approvals without approver rights).
    #[error("{0}")]
    Forbidden(String),
    /// A proposed call was blocked and the route answers with an error.
    #[error("{}", blocked_message(.0))]
    Blocked(Box<Decision>),
    /// Unknown path.
    #[error("no route for {0}")]
    NotFound(String),
    /// Known path, wrong method.
    #[error("{0} is not allowed here")]
    MethodNotAllowed(String),
    /// Body over the configured limit.
    #[error("request body exceeds the limit of {limit} bytes")]
    PayloadTooLarge {
        /// The limit.
        limit: usize,
    },
    /// Too many requests in flight.
    #[error("the gateway is at its concurrency limit; retry after {retry_after} s")]
    Overloaded {
        /// Seconds to wait.
        retry_after: u64,
    },
    /// The server is draining for shutdown.
    #[error("the gateway is shutting down")]
    ShuttingDown,
    /// No upstream is configured for this route.
    #[error("no upstream is configured for {0}")]
    NoUpstream(String),
    /// The upstream failed.
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
    /// The upstream answered something Preflight cannot read, so it cannot
    /// check the calls in it (fail closed).
    #[error("the upstream response could not be checked: {0}")]
    Unjudgeable(String),
    /// The audit log could not take the record a decision needs (queue
    /// full or writer stopped): the request fails closed.
    #[error("the audit log cannot record this decision, so it is refused (fail closed): {0}")]
    AuditUnavailable(String),
    /// A bug or an environment failure.
    #[error("internal error: {0}")]
    Internal(String),
}

fn blocked_message(d: &Decision) -> String {
    let reasons: Vec<String> = d
        .steps
        .iter()
        .filter(|s| s.verdict.withholds())
        .map(|s| {
            format!(
                "`{}` ({}): {}",
                s.tool,
                s.verdict.name(),
                s.reasons.join("; ")
            )
        })
        .collect();
    format!(
        "[preflight] proposed tool calls were withheld: {}",
        reasons.join(" | ")
    )
}

impl GatewayError {
    /// The HTTP status: the only place errors meet status codes.
    pub fn status(&self) -> StatusCode {
        match self {
            GatewayError::BadRequest(_) => StatusCode::BAD_REQUEST,
            GatewayError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            GatewayError::Forbidden(_) | GatewayError::Blocked(_) => StatusCode::FORBIDDEN,
            GatewayError::NotFound(_) => StatusCode::NOT_FOUND,
            GatewayError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            GatewayError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            GatewayError::Overloaded { .. }
            | GatewayError::ShuttingDown
            | GatewayError::AuditUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            GatewayError::NoUpstream(_) => StatusCode::BAD_GATEWAY,
            GatewayError::Upstream(UpstreamError::Timeout { .. }) => StatusCode::GATEWAY_TIMEOUT,
            GatewayError::Upstream(_) | GatewayError::Unjudgeable(_) => StatusCode::BAD_GATEWAY,
            GatewayError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable `error.type` string.
    pub fn kind(&self) -> &'static str {
        match self {
            GatewayError::BadRequest(_) => "invalid_request_error",
            GatewayError::Unauthorized(_) => "authentication_error",
            GatewayError::Forbidden(_) => "permission_error",
            GatewayError::Blocked(_) => "preflight_blocked",
            GatewayError::NotFound(_) => "not_found_error",
            GatewayError::MethodNotAllowed(_) => "method_not_allowed",
            GatewayError::PayloadTooLarge { .. } => "request_too_large",
            GatewayError::Overloaded { .. } => "overloaded_error",
            GatewayError::ShuttingDown => "shutting_down",
            GatewayError::NoUpstream(_) => "no_upstream",
            GatewayError::Upstream(UpstreamError::Timeout { .. }) => "upstream_timeout",
            GatewayError::Upstream(_) => "upstream_error",
            GatewayError::Unjudgeable(_) => "upstream_unjudgeable",
            GatewayError::AuditUnavailable(_) => "audit_unavailable",
            GatewayError::Internal(_) => "internal_error",
        }
    }

    /// The response every route sends for this error.
    pub fn into_response(self) -> Response<Body> {
        let status = self.status();
        let mut body = serde_json::json!({
            "type": "error",
            "error": {"type": self.kind(), "message": self.to_string()},
        });
        let retry_after = match &self {
            GatewayError::Overloaded { retry_after } => Some(*retry_after),
            GatewayError::ShuttingDown | GatewayError::AuditUnavailable(_) => Some(1),
            _ => None,
        };
        if let GatewayError::Blocked(decision) = self
            && let Ok(d) = serde_json::to_value(&*decision)
        {
            body["decision"] = d;
        }
        let mut resp = json_response(status, &body);
        if let Some(secs) = retry_after {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}

/// A JSON response.
pub fn json_response(status: StatusCode, value: &impl serde::Serialize) -> Response<Body> {
    let bytes = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
    let mut resp = Response::new(full(bytes));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}
