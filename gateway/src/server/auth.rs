//! Who is calling: API keys are looked up by their SHA-256 (the config
//! stores only hashes), so a key never sits in memory in clear beyond the
//! request that carried it. With no keys configured the default tenant is
//! open, but only to loopback clients.
//!
//! A key is read from `x-preflight-key`, else `Authorization: Bearer`, else
//! `x-api-key` (so an SDK whose only change is `base_url` + `api_key` works).
//! The header that carried a Preflight key is never forwarded upstream.

use std::net::SocketAddr;
use std::sync::Arc;

use http::{HeaderMap, HeaderName, header};
use sha2::{Digest, Sha256};

use super::error::GatewayError;
use crate::config::Settings;

/// The authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Tenant id.
    pub tenant: Arc<str>,
    /// Agent id, if the key names one.
    pub agent: Option<Arc<str>>,
    /// May answer approvals.
    pub approver: bool,
    /// The header that carried the Preflight key (stripped before forwarding).
    pub key_header: Option<HeaderName>,
}

/// SHA-256 of a key as lowercase hex (what `[[keys]] sha256` holds).
pub fn key_hash(key: &str) -> String {
    crate::pipeline::hex(&Sha256::digest(key.as_bytes()))
}

/// Authenticates a request.
pub fn authenticate(
    settings: &Settings,
    headers: &HeaderMap,
    peer: SocketAddr,
) -> Result<Caller, GatewayError> {
    if settings.keys.is_empty() {
        if peer.ip().is_loopback() {
            return Ok(Caller {
                tenant: Arc::from("default"),
                agent: None,
                approver: true,
                key_header: None,
            });
        }
        return Err(GatewayError::Unauthorized(
            "no API keys are configured, so only loopback clients are served".into(),
        ));
    }
    let candidates = [
        (HeaderName::from_static("x-preflight-key"), ""),
        (header::AUTHORIZATION, "Bearer "),
        (HeaderName::from_static("x-api-key"), ""),
    ];
    let mut offered = false;
    for (name, prefix) in candidates {
        let Some(value) = headers.get(&name).and_then(|v| v.to_str().ok()) else {
            continue;
        };
        let Some(key) = value.strip_prefix(prefix) else {
            continue;
        };
        offered = true;
        if let Some(entry) = settings.keys.get(&key_hash(key.trim())) {
            return Ok(Caller {
                tenant: entry.tenant.clone(),
                agent: entry.agent.clone(),
                approver: entry.approver,
                key_header: Some(name),
            });
        }
    }
    Err(GatewayError::Unauthorized(if offered {
        "the API key is not valid for this gateway".into()
    } else {
        "an API key is required (x-preflight-key, Authorization: Bearer, or x-api-key)".into()
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        let toml = format!(
            "[[keys]]\nsha256 = \"{}\"\ntenant = \"acme\"\nagent = \"billing\"\n",
            key_hash("sk-acme")
        );
        crate::config::from_toml(&toml).unwrap_or_else(|e| panic!("{e}"))
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap_or_else(|_| panic!("header")));
        }
        h
    }

    const REMOTE: &str = "10.0.0.9:5000";
    const LOCAL: &str = "127.0.0.1:5000";

    #[test]
    fn maps_a_known_key_to_its_tenant_from_any_supported_header() {
        let s = settings();
        let peer = REMOTE.parse().unwrap_or_else(|_| panic!("addr"));
        for h in [
            headers(&[("x-preflight-key", "sk-acme")]),
            headers(&[("authorization", "Bearer sk-acme")]),
            headers(&[("x-api-key", "sk-acme")]),
        ] {
            let c = authenticate(&s, &h, peer).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(&*c.tenant, "acme");
            assert_eq!(c.agent.as_deref(), Some("billing"));
        }
    }

    #[test]
    fn refuses_wrong_or_missing_keys_even_on_loopback() {
        let s = settings();
        let peer = LOCAL.parse().unwrap_or_else(|_| panic!("addr"));
        assert!(authenticate(&s, &headers(&[("x-api-key", "sk-other")]), peer).is_err());
        assert!(authenticate(&s, &HeaderMap::new(), peer).is_err());
    }

    #[test]
    fn without_keys_only_loopback_is_served() {
        let s = Settings::default_settings().unwrap_or_else(|e| panic!("{e}"));
        assert!(
            authenticate(
                &s,
                &HeaderMap::new(),
                LOCAL.parse().unwrap_or_else(|_| panic!())
            )
            .is_ok()
        );
        assert!(
            authenticate(
                &s,
                &HeaderMap::new(),
                REMOTE.parse().unwrap_or_else(|_| panic!())
            )
            .is_err()
        );
    }
}
