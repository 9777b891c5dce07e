//! Optional OpenTelemetry log export (OTLP/HTTP with JSON encoding), off by
//! default: each written record is also sent, as a log record, to a
//! collector at a plain `http://` endpoint (typically a local collector on
//! port 4318, which forwards over TLS where needed).
//!
//! The segments stay the source of truth; this is a copy for dashboards. It
//! runs on its own thread behind its own bounded queue, after the write, so
//! a slow or absent collector never slows or blocks the audit writer: a
//! record that finds the export queue full, or whose POST fails, is counted
//! (`otlp_dropped`, `otlp_failed`), never lost silently.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender};
use std::time::Duration;

use serde_json::{Value, json};

use super::error::{AuditError, Result};
use super::metrics::AuditMetrics;

/// Where and how to export.
#[derive(Debug, Clone, PartialEq)]
pub struct OtlpSettings {
    /// `http://host:port[/path]`; the path defaults to `/v1/logs`.
    pub endpoint: String,
    /// The `service.name` resource attribute.
    pub service_name: String,
    /// Connect, write and read timeout of one POST.
    pub timeout: Duration,
    /// Records the export queue holds.
    pub queue_capacity: usize,
    /// Most records per POST.
    pub max_batch: usize,
}

impl OtlpSettings {
    /// Defaults for an endpoint.
    pub fn new(endpoint: impl Into<String>) -> Self {
        OtlpSettings {
            endpoint: endpoint.into(),
            service_name: "preflight".into(),
            timeout: Duration::from_secs(2),
            queue_capacity: 8192,
            max_batch: 512,
        }
    }
}

/// A written record on its way to the collector.
pub(crate) struct OtlpItem {
    pub seq: u64,
    pub hash: String,
    pub body: Vec<u8>,
}

/// A parsed `http://` endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Endpoint {
    host: String,
    port: u16,
    path: String,
}

pub(crate) fn parse_endpoint(url: &str) -> Result<Endpoint> {
    let bad = |reason: &str| AuditError::Setting {
        key: "audit.otlp_endpoint",
        reason: format!("`{url}`: {reason}"),
    };
    let rest = url.strip_prefix("http://").ok_or_else(|| {
        bad("only plain http:// endpoints are supported (point it at a local collector)")
    })?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) => (
            h,
            p.parse::<u16>()
                .map_err(|_| bad("the port is not a number"))?,
        ),
        None => (authority, 80),
    };
    if host.is_empty() {
        return Err(bad("no host"));
    }
    let path = if path.is_empty() || path == "/" {
        "/v1/logs".to_owned()
    } else {
        path.to_owned()
    };
    Ok(Endpoint {
        host: host.to_owned(),
        port,
        path,
    })
}

/// Starts the export thread.
pub(crate) fn start(
    settings: &OtlpSettings,
    metrics: Arc<AuditMetrics>,
) -> Result<(SyncSender<OtlpItem>, std::thread::JoinHandle<()>)> {
    let endpoint = parse_endpoint(&settings.endpoint)?;
    let (tx, rx) = std::sync::mpsc::sync_channel(settings.queue_capacity.max(1));
    let settings = settings.clone();
    let thread = std::thread::Builder::new()
        .name("preflight-audit-otlp".into())
        .spawn(move || run(&settings, &endpoint, &rx, &metrics))
        .map_err(|e| AuditError::io("<otlp export thread>", e))?;
    Ok((tx, thread))
}

fn run(
    settings: &OtlpSettings,
    endpoint: &Endpoint,
    rx: &Receiver<OtlpItem>,
    metrics: &AuditMetrics,
) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < settings.max_batch {
            match rx.try_recv() {
                Ok(item) => batch.push(item),
                Err(_) => break,
            }
        }
        let n = batch.len() as u64;
        let payload = logs_payload(&settings.service_name, &batch);
        match post(endpoint, settings.timeout, &payload) {
            Ok(()) => AuditMetrics::add(&metrics.otlp_exported, n),
            Err(_) => AuditMetrics::add(&metrics.otlp_failed, n),
        }
    }
}

/// The OTLP/JSON `ExportLogsServiceRequest` for a batch.
fn logs_payload(service: &str, batch: &[OtlpItem]) -> Vec<u8> {
    let str_attr = |k: &str, v: &str| json!({"key": k, "value": {"stringValue": v}});
    let records: Vec<Value> = batch
        .iter()
        .map(|item| {
            let record: Value = serde_json::from_slice(&item.body).unwrap_or(Value::Null);
            let field = |k: &str| record.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
            let verdict = field("verdict");
            let nanos = super::time::parse(&field("ts")).unwrap_or(0).saturating_mul(1000);
            let (severity, number) = if verdict == "allow" { ("INFO", 9) } else { ("WARN", 13) };
            json!({
                "timeUnixNano": nanos.to_string(),
                "severityNumber": number,
                "severityText": severity,
                "body": {"stringValue": String::from_utf8_lossy(&item.body)},
                "attributes": [
                    str_attr("preflight.event", &field("event")),
                    str_attr("preflight.verdict", &verdict),
                    str_attr("preflight.decision_id", &field("decision_id")),
                    str_attr("preflight.tenant", &field("tenant")),
                    str_attr("preflight.route", &field("route")),
                    json!({"key": "preflight.audit.seq", "value": {"intValue": item.seq.to_string()}}),
                    str_attr("preflight.audit.hash", &item.hash),
                ],
            })
        })
        .collect();
    let payload = json!({"resourceLogs": [{
        "resource": {"attributes": [str_attr("service.name", service)]},
        "scopeLogs": [{"scope": {"name": "preflight.audit"}, "logRecords": records}],
    }]});
    serde_json::to_vec(&payload).unwrap_or_default()
}

/// One HTTP/1.1 POST; success is a 2xx status.
fn post(endpoint: &Endpoint, timeout: Duration, body: &[u8]) -> std::io::Result<()> {
    let addr = (endpoint.host.as_str(), endpoint.port)
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| std::io::Error::other("the collector's host did not resolve"))?;
    let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_write_timeout(Some(timeout))?;
    stream.set_read_timeout(Some(timeout))?;
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: {}:{}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        endpoint.path,
        endpoint.host,
        endpoint.port,
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    let mut status = String::new();
    BufReader::new(stream).read_line(&mut status)?;
    let code = status
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse::<u16>().ok())
        .unwrap_or(0);
    if (200..300).contains(&code) {
        Ok(())
    } else {
        Err(std::io::Error::other(format!(
            "collector answered `{}`",
            status.trim()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_parse_with_default_path_and_https_is_refused() {
        let e = parse_endpoint("http://127.0.0.1:4318").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (e.host.as_str(), e.port, e.path.as_str()),
            ("127.0.0.1", 4318, "/v1/logs")
        );
        let e = parse_endpoint("http://collector/custom/logs").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((e.port, e.path.as_str()), (80, "/custom/logs"));
        assert!(parse_endpoint("https://collector:4318").is_err());
        assert!(parse_endpoint("http://:4318").is_err());
    }
}
