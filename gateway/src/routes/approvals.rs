//! `GET /v1/approvals` lists the caller's tenant's approval requests;
//! `POST /v1/approvals/{id}` with `{"approve": true|false}` (or
//! `{"decision": "approve"|"deny"}`) answers one. Only keys marked
//! `approver = true` may answer (with no keys configured, loopback callers
//! are approvers), and only for their own tenant.

use http::{Request, Response, StatusCode};
use hyper::body::Incoming;
use serde_json::{Value, json};

use crate::audit::{ApprovalOutcome, ApprovalResult, AuditRecord};
use crate::server::approvals::ApprovalError;
use crate::server::body::{Body, read_limited};
use crate::server::error::{GatewayError, json_response};
use crate::server::{AppState, Conn, auth};

/// `GET /v1/approvals`.
pub fn list(
    state: &AppState,
    req: &Request<Incoming>,
    conn: Conn,
) -> Result<Response<Body>, GatewayError> {
    let caller = auth::authenticate(&state.settings, req.headers(), conn.peer)?;
    let items = state.approvals.list(Some(&caller.tenant));
    Ok(json_response(StatusCode::OK, &json!({"approvals": items})))
}

/// `POST /v1/approvals/{id}`.
pub async fn decide(
    state: &AppState,
    req: Request<Incoming>,
    conn: Conn,
    id: &str,
) -> Result<Response<Body>, GatewayError> {
    let (parts, body) = req.into_parts();
    let caller = auth::authenticate(&state.settings, &parts.headers, conn.peer)?;
    if !caller.approver {
        return Err(GatewayError::Forbidden(
            "this key may not answer approvals".into(),
        ));
    }
    let bytes = read_limited(&parts.headers, body, 64 * 1024).await?;
    let v: Value = serde_json::from_slice(&bytes)
        .map_err(|e| GatewayError::BadRequest(format!("body is not valid JSON: {e}")))?;
    let approve = match (v.get("approve"), v.get("decision").and_then(Value::as_str)) {
        (Some(Value::Bool(b)), _) => *b,
        (_, Some("approve")) => true,
        (_, Some("deny")) => false,
        _ => {
            return Err(GatewayError::BadRequest(
                "/approve: expected {\"approve\": true|false} or {\"decision\": \"approve\"|\"deny\"}".into(),
            ));
        }
    };
    if state
        .approvals
        .tenant_of(id)
        .is_some_and(|t| *t != *caller.tenant)
    {
        return Err(GatewayError::NotFound(format!("approval {id}")));
    }
    let by = caller.agent.as_deref().unwrap_or(&caller.tenant).to_owned();
    match state.approvals.decide(id, approve, &by) {
        Ok(a) => {
            // The outcome is on disk before the approver hears it was taken.
            let outcome = ApprovalOutcome {
                approval_id: id.to_owned(),
                outcome: if approve {
                    ApprovalResult::Approved
                } else {
                    ApprovalResult::Denied
                },
                by: Some(by.clone()),
                note: v.get("note").and_then(Value::as_str).map(str::to_owned),
            };
            let mut rec = AuditRecord::approval(
                crate::pipeline::new_id(),
                caller.tenant.to_string(),
                "approvals",
                outcome,
            );
            rec.agent = caller.agent.as_deref().map(str::to_owned);
            super::audit_trail::record(state, rec).await?;
            Ok(json_response(StatusCode::OK, &a))
        }
        Err(ApprovalError::NotFound(_)) => Err(GatewayError::NotFound(format!("approval {id}"))),
        Err(e) => Err(GatewayError::BadRequest(e.to_string())),
    }
}
