//! Routing: one match from (method, path) to a handler. Handlers return
//! `Result<Response, GatewayError>`; the server turns errors into the one
//! JSON error shape.

pub mod approvals;
pub mod audit_trail;
pub mod check;
pub mod health;
pub mod llm;
pub mod mcp;
pub mod passthrough;
pub mod replan;
pub mod stream;

use std::sync::Arc;

use http::{Method, Request, Response};
use hyper::body::Incoming;
use preflight_adapters::Format;

use crate::server::body::Body;
use crate::server::error::GatewayError;
use crate::server::{AppState, Conn};

/// The metrics label of a path (a fixed set, so labels stay bounded).
pub fn route_name(path: &str) -> &'static str {
    match path {
        "/v1/chat/completions" => "chat_completions",
        "/v1/responses" => "responses",
        "/v1/messages" => "messages",
        "/v1/check" => "check",
        "/healthz" | "/readyz" => "health",
        "/metrics" => "metrics",
        p if p.starts_with("/mcp/") => "mcp",
        p if p == "/v1/approvals" || p.starts_with("/v1/approvals/") => "approvals",
        p if passthrough::tool_free(&http::Method::GET, p).is_some()
            || passthrough::tool_free(&http::Method::POST, p).is_some() =>
        {
            "passthrough"
        }
        _ => "other",
    }
}

/// Sends a request to its handler.
pub async fn dispatch(
    state: &Arc<AppState>,
    req: Request<Incoming>,
    conn: Conn,
) -> Result<Response<Body>, GatewayError> {
    let path = req.uri().path().to_owned();
    let method = req.method().clone();
    let wrong_method = || GatewayError::MethodNotAllowed(format!("{method} {path}"));
    match path.as_str() {
        "/healthz" => health::healthz(&method).ok_or_else(wrong_method),
        "/readyz" => health::readyz(state, &method).ok_or_else(wrong_method),
        "/metrics" => health::metrics(state, &method).ok_or_else(wrong_method),
        "/v1/chat/completions" if method == Method::POST => {
            llm::handle(state, req, conn, Format::OpenaiChat, "chat_completions").await
        }
        "/v1/responses" if method == Method::POST => {
            llm::handle(state, req, conn, Format::OpenaiResponses, "responses").await
        }
        "/v1/messages" if method == Method::POST => {
            llm::handle(state, req, conn, Format::Anthropic, "messages").await
        }
        "/v1/check" if method == Method::POST => check::handle(state, req, conn).await,
        "/v1/chat/completions" | "/v1/responses" | "/v1/messages" | "/v1/check" => {
            Err(wrong_method())
        }
        "/v1/approvals" if method == Method::GET => approvals::list(state, &req, conn),
        "/v1/approvals" => Err(wrong_method()),
        p if p.starts_with("/v1/approvals/") => {
            if method != Method::POST {
                return Err(wrong_method());
            }
            let id = p.trim_start_matches("/v1/approvals/").to_owned();
            approvals::decide(state, req, conn, &id).await
        }
        p if p.starts_with("/mcp/") => {
            let server = p
                .trim_start_matches("/mcp/")
                .trim_end_matches('/')
                .to_owned();
            mcp::handle(state, req, conn, &server).await
        }
        p => match passthrough::tool_free(&method, p) {
            Some(provider) => passthrough::handle(state, req, conn, provider).await,
            None => Err(GatewayError::NotFound(format!(
                "{method} {path} (Preflight forwards only the routes it judges and a few \
                 tool-free ones such as GET /v1/models: an unknown endpoint could carry \
                 tool calls that would pass unjudged)"
            ))),
        },
    }
}
