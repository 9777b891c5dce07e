//! `/healthz` (the process answers), `/readyz` (it takes traffic: 503 once
//! shutdown began) and `/metrics` (Prometheus text).

use http::{HeaderValue, Method, Response, StatusCode, header};
use serde_json::json;

use crate::server::AppState;
use crate::server::body::{Body, full};
use crate::server::error::json_response;

/// `GET /healthz`; `None` for another method.
pub fn healthz(method: &Method) -> Option<Response<Body>> {
    (method == Method::GET || method == Method::HEAD)
        .then(|| json_response(StatusCode::OK, &json!({"status": "ok"})))
}

/// `GET /readyz`.
pub fn readyz(state: &AppState, method: &Method) -> Option<Response<Body>> {
    if method != Method::GET && method != Method::HEAD {
        return None;
    }
    Some(if state.is_draining() {
        json_response(
            StatusCode::SERVICE_UNAVAILABLE,
            &json!({"status": "draining"}),
        )
    } else {
        json_response(StatusCode::OK, &json!({"status": "ready"}))
    })
}

/// `GET /metrics`.
pub fn metrics(state: &AppState, method: &Method) -> Option<Response<Body>> {
    if method != Method::GET {
        return None;
    }
    let mut text = state.metrics.render();
    let (reloads, rejected) = state.pipeline.reload_counts();
    let mut extra = vec![
        ("preflight_policy_reloads_total", reloads),
        ("preflight_policy_reload_failures_total", rejected),
        (
            "preflight_audit_refused_requests_total",
            state
                .audit_refusals
                .load(std::sync::atomic::Ordering::Relaxed),
        ),
    ];
    if let Some(audit) = &state.audit {
        extra.extend(audit.metrics_snapshot().pairs());
    }
    for (name, value) in extra {
        text.push_str(&format!("# TYPE {name} counter\n{name} {value}\n"));
    }
    let mut resp = Response::new(full(text));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    Some(resp)
}
