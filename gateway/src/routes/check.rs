//! `POST /v1/check`: a plan in any supported format in, the Decision JSON
//! out, nothing proxied. The format comes from `?format=NAME` or is
//! detected from the document's shape; a document that cannot be read is a
//! 400 naming the place (JSON pointer or line).

use std::str::FromStr;

use http::{Request, Response, StatusCode};
use hyper::body::Incoming;
use preflight_adapters::Format;

use crate::metrics::Stage;
use crate::pipeline::RequestMeta;
use crate::server::body::{Body, read_limited};
use crate::server::error::{GatewayError, json_response};
use crate::server::{AppState, Conn, auth};

/// Handles the check API.
pub async fn handle(
    state: &AppState,
    req: Request<Incoming>,
    conn: Conn,
) -> Result<Response<Body>, GatewayError> {
    let (parts, body) = req.into_parts();
    let caller = auth::authenticate(&state.settings, &parts.headers, conn.peer)?;
    let format = parts
        .uri
        .query()
        .into_iter()
        .flat_map(|q| q.split('&'))
        .find_map(|kv| kv.strip_prefix("format="))
        .map(|f| Format::from_str(f).map_err(|e| GatewayError::BadRequest(e.to_string())))
        .transpose()?;
    let bytes = read_limited(&parts.headers, body, state.settings.max_body_bytes).await?;
    let start = std::time::Instant::now();
    let plan = preflight_adapters::parse(&bytes, format)
        .map_err(|e| GatewayError::BadRequest(format!("cannot read the plan: {e}")))?;
    let meta = RequestMeta {
        tenant: caller.tenant.clone(),
        agent: caller.agent.clone(),
        route: "check",
        model: None,
        strictness: super::llm::strictness(state, &caller.tenant),
        tool_pins_changed: Vec::new(),
    };
    let judgement = super::llm::judge(state, &plan, &meta);
    state
        .metrics
        .latency("check", Stage::Judge, start.elapsed());
    if super::audit_trail::wanted(state, &judgement) {
        let origin = super::audit_trail::Origin {
            route: "check",
            tenant: &caller.tenant,
            agent: caller.agent.as_deref(),
            request_id: parts
                .headers
                .get("x-request-id")
                .and_then(|v| v.to_str().ok()),
            ..Default::default()
        };
        let rec = super::audit_trail::record_of(&origin, &plan, &judgement, None, &[]);
        super::audit_trail::record(state, rec).await?;
    }
    Ok(json_response(StatusCode::OK, &judgement.decision))
}
