//! Gateway configuration: one TOML file plus `PREFLIGHT__SECTION__KEY`
//! environment overrides, read into [`RawConfig`] (unknown keys are errors)
//! and validated into [`Settings`], the only form the server sees.
//!
//! Every validation error names the key (`upstreams.openai.base_url`), so an
//! operator can fix the file without reading code. No I/O happens after
//! [`load`] returns: TLS files are read later by the server, once.

mod raw;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use http::Uri;
use thiserror::Error;

pub use raw::{
    RawApprovals, RawConfig, RawGuard, RawKey, RawPolicy, RawRoutes, RawServer, RawTenant, RawTls,
    RawUpstream,
};

/// The configuration used when no file is given.
pub const DEFAULT_TOML: &str = include_str!("default.toml");

/// Why a configuration could not be used.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// The file or an override could not be read or has the wrong type.
    #[error("cannot read configuration: {0}")]
    Read(String),
    /// A key has a value that cannot be used.
    #[error("{key}: {reason}")]
    Invalid {
        /// Dotted path of the key.
        key: String,
        /// What is wrong.
        reason: String,
    },
}

fn invalid(key: impl Into<String>, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.into(),
        reason: reason.into(),
    }
}

/// Reads the file at `path` (or the embedded default) and applies the
/// `PREFLIGHT__...` overrides found in `env` (pass `std::env::vars()`).
pub fn load(
    path: Option<&Path>,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<Settings, ConfigError> {
    let mut builder = config::Config::builder();
    builder = match path {
        Some(p) => builder.add_source(config::File::from(p).format(config::FileFormat::Toml)),
        None => builder.add_source(config::File::from_str(
            DEFAULT_TOML,
            config::FileFormat::Toml,
        )),
    };
    let overrides: config::Map<String, String> = env
        .into_iter()
        .filter(|(k, _)| k.starts_with("PREFLIGHT__"))
        .collect();
    builder = builder.add_source(
        config::Environment::with_prefix("PREFLIGHT")
            .prefix_separator("__")
            .separator("__")
            .list_separator(",")
            .with_list_parse_key("policy.deny_tools")
            .with_list_parse_key("policy.approval_tools")
            .try_parsing(true)
            .source(Some(overrides)),
    );
    let raw: RawConfig = builder
        .build()
        .and_then(|c| c.try_deserialize())
        .map_err(|e| ConfigError::Read(e.to_string()))?;
    raw.validate()
}

/// Parses TOML text (no environment), for tests and `--check-config`.
pub fn from_toml(text: &str) -> Result<Settings, ConfigError> {
    let raw: RawConfig = config::Config::builder()
        .add_source(config::File::from_str(text, config::FileFormat::Toml))
        .build()
        .and_then(|c| c.try_deserialize())
        .map_err(|e| ConfigError::Read(e.to_string()))?;
    raw.validate()
}

/// Validated settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Largest request body, in bytes.
    pub max_body_bytes: usize,
    /// Largest upstream response read for judging, in bytes.
    pub max_response_bytes: usize,
    /// Requests handled at once.
    pub max_concurrent_requests: usize,
    /// `Retry-After` seconds when shedding.
    pub retry_after_secs: u64,
    /// Drain time after a shutdown signal.
    pub shutdown_grace: Duration,
    /// TLS, when enabled.
    pub tls: Option<TlsSettings>,
    /// Upstreams by name.
    pub upstreams: BTreeMap<String, Arc<UpstreamSettings>>,
    /// Upstream name for OpenAI routes.
    pub openai_upstream: Option<String>,
    /// Upstream name for the Anthropic route.
    pub anthropic_upstream: Option<String>,
    /// Per-route verdict modes.
    pub route_modes: BTreeMap<String, VerdictMode>,
    /// Policy settings.
    pub policy: PolicySettings,
    /// Approval settings.
    pub approvals: ApprovalSettings,
    /// API keys by sha256 hex; empty means no key is required on loopback.
    pub keys: BTreeMap<String, KeyEntry>,
    /// Per-tenant overrides.
    pub tenants: BTreeMap<String, TenantSettings>,
    /// The guard model.
    pub guard: GuardSettings,
    /// The `[audit]` section, checked; made into `AuditSettings` with the
    /// data directory by `preflight serve`.
    pub audit: crate::audit::RawAuditConfig,
}

/// `[guard]`, validated.
#[derive(Debug, Clone)]
pub struct GuardSettings {
    /// Scores steps when true; rules only when false.
    pub enabled: bool,
    /// Model directory; the built-in model when `None`.
    pub model_dir: Option<PathBuf>,
    /// Tier 2: mode, band, device, encoder, batching.
    pub tier2: crate::guard::tier2::Tier2Settings,
}

impl Default for GuardSettings {
    fn default() -> Self {
        GuardSettings {
            enabled: true,
            model_dir: None,
            tier2: crate::guard::tier2::Tier2Settings::default(),
        }
    }
}

/// TLS files.
#[derive(Debug, Clone)]
pub struct TlsSettings {
    /// Certificate chain (PEM).
    pub cert: PathBuf,
    /// Private key (PEM).
    pub key: PathBuf,
    /// CA for client certificates (PEM); `Some` requires them.
    pub client_ca: Option<PathBuf>,
}

/// The wire protocol an upstream speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// OpenAI Chat Completions / Responses.
    Openai,
    /// Anthropic Messages.
    Anthropic,
    /// MCP Streamable HTTP.
    Mcp,
}

/// One upstream.
#[derive(Debug, Clone)]
pub struct UpstreamSettings {
    /// Its name in the config.
    pub name: String,
    /// Base URL without a trailing slash.
    pub base_url: String,
    /// Protocol.
    pub protocol: Protocol,
    /// Timeout of one call.
    pub timeout: Duration,
    /// Environment variable holding the key to inject, if any.
    pub api_key_env: Option<String>,
}

/// What to do with a withheld call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerdictMode {
    /// Remove it and tell the model why (default).
    Strip,
    /// Answer 403 with the decision.
    Error,
    /// Ask the model again, showing it the block.
    Replan,
    /// Turn blocks into approval requests.
    RequireApproval,
}

impl VerdictMode {
    fn parse(key: &str, s: &str) -> Result<Self, ConfigError> {
        match s {
            "strip" => Ok(VerdictMode::Strip),
            "error" => Ok(VerdictMode::Error),
            "replan" => Ok(VerdictMode::Replan),
            "require_approval" => Ok(VerdictMode::RequireApproval),
            other => Err(invalid(
                key,
                format!("`{other}` is not one of strip, error, replan, require_approval"),
            )),
        }
    }
}

/// Strictness level handed to the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strictness {
    /// Fewer blocks.
    Lenient,
    /// The default.
    Balanced,
    /// More blocks.
    Strict,
}

impl Strictness {
    fn parse(key: &str, s: &str) -> Result<Self, ConfigError> {
        match s {
            "lenient" => Ok(Strictness::Lenient),
            "balanced" | "standard" => Ok(Strictness::Balanced),
            "strict" => Ok(Strictness::Strict),
            other => Err(invalid(
                key,
                format!("`{other}` is not one of lenient, standard (or balanced), strict"),
            )),
        }
    }

    /// The name used in policy input.
    pub fn name(self) -> &'static str {
        match self {
            Strictness::Lenient => "lenient",
            Strictness::Balanced => "standard",
            Strictness::Strict => "strict",
        }
    }
}

/// Policy settings.
#[derive(Debug, Clone)]
pub struct PolicySettings {
    /// Default verdict mode.
    pub verdict_mode: VerdictMode,
    /// Re-planning rounds.
    pub replan_rounds: u32,
    /// Time budget of one decision.
    pub decision_deadline: Duration,
    /// Allow (true) or block (false, default) when judging fails or is late.
    pub fail_open: bool,
    /// Bundle directory.
    pub bundle: Option<PathBuf>,
    /// Strictness.
    pub strictness: Strictness,
    /// Always-blocked tools.
    pub deny_tools: Vec<String>,
    /// Always-approval tools.
    pub approval_tools: Vec<String>,
}

/// Approval settings.
#[derive(Debug, Clone)]
pub struct ApprovalSettings {
    /// MCP wait bound.
    pub timeout: Duration,
    /// Allow when nobody answers (default deny).
    pub allow_on_timeout: bool,
    /// Pending entries kept at most.
    pub max_pending: usize,
}

/// Who a key belongs to.
#[derive(Debug, Clone)]
pub struct KeyEntry {
    /// Tenant.
    pub tenant: Arc<str>,
    /// Agent, if named.
    pub agent: Option<Arc<str>>,
    /// May answer approvals.
    pub approver: bool,
}

/// Per-tenant overrides.
#[derive(Debug, Clone, Default)]
pub struct TenantSettings {
    /// Verdict mode.
    pub verdict_mode: Option<VerdictMode>,
    /// Bundle directory.
    pub bundle: Option<PathBuf>,
    /// Strictness.
    pub strictness: Option<Strictness>,
}

const ROUTE_NAMES: [&str; 4] = ["chat_completions", "responses", "messages", "mcp"];

impl RawConfig {
    /// Checks every value and builds [`Settings`].
    pub fn validate(self) -> Result<Settings, ConfigError> {
        let s = &self.server;
        let listen_text = s.listen.as_deref().unwrap_or("127.0.0.1:8787");
        let listen: SocketAddr = listen_text.parse().map_err(|e| {
            invalid(
                "server.listen",
                format!("`{listen_text}` is not host:port: {e}"),
            )
        })?;
        let positive = |key: &str, v: Option<u64>, default: u64| -> Result<u64, ConfigError> {
            match v {
                Some(0) => Err(invalid(key, "must be greater than 0")),
                Some(n) => Ok(n),
                None => Ok(default),
            }
        };
        let to_usize = |key: &str, n: u64| {
            usize::try_from(n).map_err(|_| invalid(key, "is too large for this machine"))
        };
        let max_body_bytes = to_usize(
            "server.max_body_bytes",
            positive("server.max_body_bytes", s.max_body_bytes, 4 << 20)?,
        )?;
        let max_response_bytes = to_usize(
            "server.max_response_bytes",
            positive("server.max_response_bytes", s.max_response_bytes, 16 << 20)?,
        )?;
        let max_concurrent_requests = to_usize(
            "server.max_concurrent_requests",
            positive(
                "server.max_concurrent_requests",
                s.max_concurrent_requests,
                1024,
            )?,
        )?;
        let retry_after_secs = positive("server.retry_after_secs", s.retry_after_secs, 1)?;
        let shutdown_grace = Duration::from_millis(positive(
            "server.shutdown_grace_ms",
            s.shutdown_grace_ms,
            10_000,
        )?);
        let tls = match &s.tls {
            None => None,
            Some(t) => {
                let cert = t.cert.clone().ok_or_else(|| {
                    invalid("server.tls.cert", "is required when [server.tls] is set")
                })?;
                let key = t.key.clone().ok_or_else(|| {
                    invalid("server.tls.key", "is required when [server.tls] is set")
                })?;
                Some(TlsSettings {
                    cert: cert.into(),
                    key: key.into(),
                    client_ca: t.client_ca.clone().map(PathBuf::from),
                })
            }
        };

        let mut upstreams = BTreeMap::new();
        for (name, u) in &self.upstreams {
            let key = |k: &str| format!("upstreams.{name}.{k}");
            let base = u
                .base_url
                .as_deref()
                .ok_or_else(|| invalid(key("base_url"), "is required"))?
                .trim_end_matches('/');
            let uri: Uri = base
                .parse()
                .map_err(|e| invalid(key("base_url"), format!("`{base}` is not a URL: {e}")))?;
            match uri.scheme_str() {
                Some("http" | "https") => {}
                _ => {
                    return Err(invalid(
                        key("base_url"),
                        format!("`{base}` must start with http:// or https://"),
                    ));
                }
            }
            if uri.host().is_none() {
                return Err(invalid(key("base_url"), format!("`{base}` has no host")));
            }
            let protocol = match u.protocol.as_deref() {
                Some("openai") => Protocol::Openai,
                Some("anthropic") => Protocol::Anthropic,
                Some("mcp") => Protocol::Mcp,
                Some(other) => {
                    return Err(invalid(
                        key("protocol"),
                        format!("`{other}` is not one of openai, anthropic, mcp"),
                    ));
                }
                None => {
                    return Err(invalid(
                        key("protocol"),
                        "is required (openai, anthropic or mcp)",
                    ));
                }
            };
            let timeout =
                Duration::from_millis(positive(&key("timeout_ms"), u.timeout_ms, 600_000)?);
            upstreams.insert(
                name.clone(),
                Arc::new(UpstreamSettings {
                    name: name.clone(),
                    base_url: base.to_owned(),
                    protocol,
                    timeout,
                    api_key_env: u.api_key_env.clone().filter(|v| !v.is_empty()),
                }),
            );
        }

        let pick_route = |key: &str,
                          named: &Option<String>,
                          fallback: &str,
                          want: Protocol|
         -> Result<Option<String>, ConfigError> {
            match named {
                Some(n) => match upstreams.get(n) {
                    None => Err(invalid(key, format!("names no upstream `{n}`"))),
                    Some(u) if u.protocol != want => Err(invalid(
                        key,
                        format!("upstream `{n}` speaks {:?}, not {want:?}", u.protocol),
                    )),
                    Some(_) => Ok(Some(n.clone())),
                },
                None => Ok(upstreams
                    .get(fallback)
                    .filter(|u| u.protocol == want)
                    .map(|_| fallback.to_owned())
                    .or_else(|| {
                        upstreams
                            .values()
                            .find(|u| u.protocol == want)
                            .map(|u| u.name.clone())
                    })),
            }
        };
        let openai_upstream = pick_route(
            "routes.openai",
            &self.routes.openai,
            "openai",
            Protocol::Openai,
        )?;
        let anthropic_upstream = pick_route(
            "routes.anthropic",
            &self.routes.anthropic,
            "anthropic",
            Protocol::Anthropic,
        )?;
        let mut route_modes = BTreeMap::new();
        for (route, mode) in &self.routes.verdict_mode {
            let key = format!("routes.verdict_mode.{route}");
            if !ROUTE_NAMES.contains(&route.as_str()) {
                return Err(invalid(
                    key,
                    format!("unknown route (known: {})", ROUTE_NAMES.join(", ")),
                ));
            }
            route_modes.insert(route.clone(), VerdictMode::parse(&key, mode)?);
        }

        let p = &self.policy;
        let policy = PolicySettings {
            verdict_mode: match &p.verdict_mode {
                Some(m) => VerdictMode::parse("policy.verdict_mode", m)?,
                None => VerdictMode::Strip,
            },
            replan_rounds: u32::try_from(p.replan_rounds.unwrap_or(2))
                .map_err(|_| invalid("policy.replan_rounds", "is too large"))?,
            decision_deadline: Duration::from_millis(positive(
                "policy.decision_deadline_ms",
                p.decision_deadline_ms,
                250,
            )?),
            fail_open: match p.on_failure.as_deref() {
                None | Some("block") => false,
                Some("allow") => true,
                Some(other) => {
                    return Err(invalid(
                        "policy.on_failure",
                        format!("`{other}` is not block or allow"),
                    ));
                }
            },
            bundle: p.bundle.clone().map(PathBuf::from),
            strictness: match (&self.guard.strictness, &p.strictness) {
                (Some(s), _) => Strictness::parse("guard.strictness", s)?,
                (None, Some(s)) => Strictness::parse("policy.strictness", s)?,
                (None, None) => Strictness::Balanced,
            },
            deny_tools: p.deny_tools.clone(),
            approval_tools: p.approval_tools.clone(),
        };

        let a = &self.approvals;
        let approvals = ApprovalSettings {
            timeout: Duration::from_millis(positive("approvals.timeout_ms", a.timeout_ms, 30_000)?),
            allow_on_timeout: match a.on_timeout.as_deref() {
                None | Some("deny") => false,
                Some("allow") => true,
                Some(other) => {
                    return Err(invalid(
                        "approvals.on_timeout",
                        format!("`{other}` is not deny or allow"),
                    ));
                }
            },
            max_pending: to_usize(
                "approvals.max_pending",
                positive("approvals.max_pending", a.max_pending, 1000)?,
            )?,
        };

        let mut tenants = BTreeMap::new();
        for (name, t) in &self.tenants {
            let key = |k: &str| format!("tenants.{name}.{k}");
            tenants.insert(
                name.clone(),
                TenantSettings {
                    verdict_mode: t
                        .verdict_mode
                        .as_deref()
                        .map(|m| VerdictMode::parse(&key("verdict_mode"), m))
                        .transpose()?,
                    bundle: t.bundle.clone().map(PathBuf::from),
                    strictness: t
                        .strictness
                        .as_deref()
                        .map(|s| Strictness::parse(&key("strictness"), s))
                        .transpose()?,
                },
            );
        }

        let mut keys = BTreeMap::new();
        for (i, k) in self.keys.iter().enumerate() {
            let key = |f: &str| format!("keys[{i}].{f}");
            let hash = k
                .sha256
                .as_deref()
                .ok_or_else(|| invalid(key("sha256"), "is required"))?
                .to_ascii_lowercase();
            if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(invalid(
                    key("sha256"),
                    "must be 64 hex digits (sha256 of the key)",
                ));
            }
            let tenant = k.tenant.clone().unwrap_or_else(|| "default".to_owned());
            if tenant != "default" && !tenants.contains_key(&tenant) {
                tenants.insert(tenant.clone(), TenantSettings::default());
            }
            if keys
                .insert(
                    hash,
                    KeyEntry {
                        tenant: tenant.into(),
                        agent: k.agent.clone().map(Into::into),
                        approver: k.approver,
                    },
                )
                .is_some()
            {
                return Err(invalid(key("sha256"), "the same key is listed twice"));
            }
        }

        let guard = GuardSettings {
            enabled: self.guard.enabled.unwrap_or(true),
            model_dir: self.guard.model_dir.clone().map(PathBuf::from),
            tier2: tier2_settings(&self.guard).map_err(|(k, why)| invalid(k, why))?,
        };
        // The data directory is not known yet: check the values now so
        // `--check-config` catches them, build the real settings later.
        self.audit
            .clone()
            .validate(crate::audit::DEFAULT_DATA_DIR)
            .map_err(|e| invalid("audit", e.to_string()))?;

        Ok(Settings {
            guard,
            audit: self.audit.clone(),
            listen,
            max_body_bytes,
            max_response_bytes,
            max_concurrent_requests,
            retry_after_secs,
            shutdown_grace,
            tls,
            upstreams,
            openai_upstream,
            anthropic_upstream,
            route_modes,
            policy,
            approvals,
            keys,
            tenants,
        })
    }
}

impl Settings {
    /// The built-in defaults.
    pub fn default_settings() -> Result<Settings, ConfigError> {
        from_toml(DEFAULT_TOML)
    }

    /// The verdict mode for a route and tenant: tenant, then route, then policy default.
    pub fn verdict_mode(&self, route: &str, tenant: &str) -> VerdictMode {
        self.tenants
            .get(tenant)
            .and_then(|t| t.verdict_mode)
            .or_else(|| self.route_modes.get(route).copied())
            .unwrap_or(self.policy.verdict_mode)
    }
}

/// The tier-2 keys of `[guard]`, checked: (key, problem) on a bad value.
fn tier2_settings(
    g: &RawGuard,
) -> Result<crate::guard::tier2::Tier2Settings, (&'static str, String)> {
    use crate::guard::batcher::BatchSettings;
    use crate::guard::encoder::DeviceChoice;
    use crate::guard::tier2::{Tier2Mode, Tier2Settings};
    let mode = match g.tier2.as_deref() {
        None => Tier2Mode::Off,
        Some(m) => Tier2Mode::parse(m).ok_or((
            "guard.tier2",
            format!("`{m}` is not one of auto, off, always"),
        ))?,
    };
    let device = match g.device.as_deref() {
        None => DeviceChoice::Auto,
        Some(d) => DeviceChoice::parse(d).ok_or((
            "guard.device",
            format!("`{d}` is not one of auto, cpu, cuda"),
        ))?,
    };
    let band = match g.band.as_deref() {
        None => None,
        Some([lo, hi]) if (0.0..=1.0).contains(lo) && (0.0..=1.0).contains(hi) && lo <= hi => {
            Some([*lo as f32, *hi as f32])
        }
        Some(_) => {
            return Err((
                "guard.band",
                "must be [lo, hi] with 0 <= lo <= hi <= 1".to_owned(),
            ));
        }
    };
    let defaults = BatchSettings::default();
    let max_steps = match g.batch_max_steps {
        None => defaults.max_steps,
        Some(n @ 1..=4096) => n as usize,
        Some(_) => return Err(("guard.batch_max_steps", "must be in 1..=4096".to_owned())),
    };
    let max_wait = match g.batch_max_wait_us {
        None => defaults.max_wait,
        Some(n @ 0..=1_000_000) => std::time::Duration::from_micros(n),
        Some(_) => {
            return Err((
                "guard.batch_max_wait_us",
                "must be at most 1000000 (one second)".to_owned(),
            ));
        }
    };
    Ok(Tier2Settings {
        mode,
        band,
        device,
        encoder_dir: g.encoder_dir.clone().map(PathBuf::from),
        heads_dir: g.tier2_dir.clone().map(PathBuf::from),
        batch: BatchSettings {
            max_steps,
            max_wait,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        match from_toml(text) {
            Ok(_) => panic!("expected an error for {text}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn embedded_default_listens_on_loopback_with_both_providers() {
        let s = Settings::default_settings().expect("default config is valid");
        assert_eq!(s.listen.to_string(), "127.0.0.1:8787");
        assert_eq!(s.openai_upstream.as_deref(), Some("openai"));
        assert_eq!(s.anthropic_upstream.as_deref(), Some("anthropic"));
        assert!(s.keys.is_empty());
        assert_eq!(s.policy.verdict_mode, VerdictMode::Strip);
        assert!(!s.policy.fail_open);
    }

    #[test]
    fn unknown_key_is_an_error_naming_it() {
        let e = err("[server]\nlisten = \"127.0.0.1:1\"\nmax_bodyy_bytes = 3\n");
        assert!(e.contains("max_bodyy_bytes"), "{e}");
    }

    #[test]
    fn invalid_values_name_their_key() {
        assert!(err("[server]\nlisten = \"nowhere\"").starts_with("server.listen:"));
        assert!(
            err("[upstreams.x]\nbase_url = \"ftp://a\"\nprotocol = \"openai\"")
                .starts_with("upstreams.x.base_url:")
        );
        assert!(
            err("[upstreams.x]\nbase_url = \"http://a\"\nprotocol = \"grpc\"")
                .starts_with("upstreams.x.protocol:")
        );
        assert!(err("[policy]\nverdict_mode = \"drop\"").starts_with("policy.verdict_mode:"));
        assert!(err("[routes]\nopenai = \"missing\"").starts_with("routes.openai:"));
        assert!(err("[[keys]]\nsha256 = \"abc\"").starts_with("keys[0].sha256:"));
        assert!(err("[server]\nmax_body_bytes = 0").starts_with("server.max_body_bytes:"));
        assert!(err("[server.tls]\ncert = \"c.pem\"").starts_with("server.tls.key:"));
    }

    #[test]
    fn environment_overrides_file_values() {
        let dir = std::env::temp_dir().join(format!("preflight-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let file = dir.join("p.toml");
        std::fs::write(&file, "[server]\nlisten = \"127.0.0.1:9000\"\n").expect("write");
        let env = vec![
            (
                "PREFLIGHT__SERVER__LISTEN".to_owned(),
                "127.0.0.1:9001".to_owned(),
            ),
            (
                "PREFLIGHT__POLICY__VERDICT_MODE".to_owned(),
                "error".to_owned(),
            ),
            (
                "PREFLIGHT__POLICY__DENY_TOOLS".to_owned(),
                "wire_money,rm".to_owned(),
            ),
            ("UNRELATED".to_owned(), "x".to_owned()),
        ];
        let s = load(Some(&file), env).expect("valid");
        assert_eq!(s.listen.port(), 9001);
        assert_eq!(s.policy.verdict_mode, VerdictMode::Error);
        assert_eq!(s.policy.deny_tools, vec!["wire_money", "rm"]);
        let bad = load(
            Some(&file),
            vec![("PREFLIGHT__SERVER__NOPE".to_owned(), "1".to_owned())],
        );
        assert!(bad.is_err_and(|e| e.to_string().contains("nope")));
    }

    #[test]
    fn tenant_mode_wins_over_route_mode_and_default() {
        let s = from_toml(
            "[routes.verdict_mode]\nmessages = \"replan\"\n[tenants.acme]\nverdict_mode = \"error\"\n",
        )
        .expect("valid");
        assert_eq!(s.verdict_mode("messages", "acme"), VerdictMode::Error);
        assert_eq!(s.verdict_mode("messages", "other"), VerdictMode::Replan);
        assert_eq!(
            s.verdict_mode("chat_completions", "other"),
            VerdictMode::Strip
        );
    }

    #[test]
    fn the_example_configuration_is_valid() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/preflight.toml");
        let s = load(Some(&path), Vec::new())
            .unwrap_or_else(|e| panic!("examples/preflight.toml: {e}"));
        assert_eq!(s.upstreams.len(), 3);
        assert_eq!(s.keys.len(), 2);
        assert_eq!(s.verdict_mode("mcp", "other"), VerdictMode::RequireApproval);
        assert_eq!(s.verdict_mode("messages", "acme"), VerdictMode::Replan);
    }
}
