//! Provider endpoints that carry no tool calls (`GET /v1/models`,
//! `POST /v1/embeddings`, `POST /v1/moderations`, Anthropic's
//! `POST /v1/messages/count_tokens`), forwarded untouched after the same
//! key check as every route, so that an SDK pointed at Preflight keeps
//! working for the calls around the ones Preflight judges.
//!
//! The list is closed on purpose: any other path is a 404 that says why,
//! because an unknown endpoint could carry tool calls (the Assistants API's
//! runs, a batch file) that would leave unjudged. Fail closed.

use http::{Method, Request, Response};
use hyper::body::Incoming;

use crate::server::auth;
use crate::server::body::{Body, read_limited};
use crate::server::error::GatewayError;
use crate::server::{AppState, Conn};
use crate::upstream::UpstreamClient;

/// Which provider's upstream a pass-through request goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    /// The OpenAI-protocol upstream.
    OpenAi,
    /// The Anthropic upstream.
    Anthropic,
    /// Anthropic when the request says so (`anthropic-version` header),
    /// else OpenAI: both providers serve `GET /v1/models`.
    ByHeader,
}

/// The tool-free endpoint `method path` names, if it is one.
pub fn tool_free(method: &Method, path: &str) -> Option<Provider> {
    match (method.as_str(), path) {
        ("GET", "/v1/models") => Some(Provider::ByHeader),
        ("GET", p) if model_id(p).is_some() => Some(Provider::ByHeader),
        ("POST", "/v1/embeddings" | "/v1/moderations") => Some(Provider::OpenAi),
        ("POST", "/v1/messages/count_tokens") => Some(Provider::Anthropic),
        _ => None,
    }
}

/// `/v1/models/{id}` with one non-empty segment.
fn model_id(path: &str) -> Option<&str> {
    path.strip_prefix("/v1/models/")
        .filter(|id| !id.is_empty() && !id.contains('/'))
}

/// Forwards one tool-free request as it is and answers with the upstream's
/// answer as it is.
pub async fn handle(
    state: &AppState,
    req: Request<Incoming>,
    conn: Conn,
    provider: Provider,
) -> Result<Response<Body>, GatewayError> {
    let (parts, body) = req.into_parts();
    let caller = auth::authenticate(&state.settings, &parts.headers, conn.peer)?;
    let settings = &state.settings;
    let anthropic = match provider {
        Provider::OpenAi => false,
        Provider::Anthropic => true,
        Provider::ByHeader => parts.headers.contains_key("anthropic-version"),
    };
    let path = parts
        .uri
        .path_and_query()
        .map_or(parts.uri.path(), |p| p.as_str());
    let up = super::llm::provider_upstream(settings, anthropic, path)?;
    let bytes = read_limited(&parts.headers, body, settings.max_body_bytes).await?;
    let resp = state
        .upstream
        .send(
            &up,
            parts.method.clone(),
            path,
            &parts.headers,
            caller.key_header.as_ref(),
            bytes,
        )
        .await
        .inspect_err(|e| state.metrics.upstream_error(&up.name, e.metric_kind()))?;
    let (rparts, rbody) = resp.into_parts();
    let rbytes = UpstreamClient::read_body(&up, rbody, settings.max_response_bytes, up.timeout)
        .await
        .inspect_err(|e| state.metrics.upstream_error(&up.name, e.metric_kind()))?;
    if !rparts.status.is_success() {
        state.metrics.upstream_error(&up.name, "status");
    }
    Ok(super::llm::passthrough(
        rparts.status,
        &rparts.headers,
        rbytes,
        None,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_listed_tool_free_endpoints_pass_through() {
        assert_eq!(
            tool_free(&Method::GET, "/v1/models"),
            Some(Provider::ByHeader)
        );
        assert_eq!(
            tool_free(&Method::GET, "/v1/models/gpt-4o"),
            Some(Provider::ByHeader)
        );
        assert_eq!(
            tool_free(&Method::POST, "/v1/embeddings"),
            Some(Provider::OpenAi)
        );
        assert_eq!(
            tool_free(&Method::POST, "/v1/messages/count_tokens"),
            Some(Provider::Anthropic)
        );
        for (m, p) in [
            (Method::POST, "/v1/threads/runs"),
            (Method::POST, "/v1/batches"),
            (Method::POST, "/v1/completions"),
            (Method::GET, "/v1/models/a/b"),
            (Method::GET, "/v1/models/"),
            (Method::DELETE, "/v1/models/ft-1"),
        ] {
            assert_eq!(tool_free(&m, p), None, "{m} {p}");
        }
    }
}
