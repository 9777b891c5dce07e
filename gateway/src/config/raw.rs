//! The configuration exactly as written: a TOML file merged with
//! `PREFLIGHT__SECTION__KEY` environment overrides. Every struct denies
//! unknown fields, so a typo is an error naming the key instead of a silently
//! ignored setting. Nothing here is checked beyond types; see
//! [`super::RawConfig::validate`].

use std::collections::BTreeMap;

use serde::Deserialize;

/// The whole file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// `[server]`: listener, limits, shutdown.
    #[serde(default)]
    pub server: RawServer,
    /// `[upstreams.NAME]`: the providers and MCP servers Preflight forwards to.
    #[serde(default)]
    pub upstreams: BTreeMap<String, RawUpstream>,
    /// `[routes]`: which upstream serves each LLM route.
    #[serde(default)]
    pub routes: RawRoutes,
    /// `[policy]`: verdict handling defaults.
    #[serde(default)]
    pub policy: RawPolicy,
    /// `[approvals]`: human approval waits.
    #[serde(default)]
    pub approvals: RawApprovals,
    /// `[[keys]]`: API keys (sha256 hex) mapped to tenant and agent.
    #[serde(default)]
    pub keys: Vec<RawKey>,
    /// `[tenants.NAME]`: per-tenant overrides.
    #[serde(default)]
    pub tenants: BTreeMap<String, RawTenant>,
    /// `[guard]`: the guard model.
    #[serde(default)]
    pub guard: RawGuard,
    /// `[audit]`: the audit log (the data directory comes from `--data-dir`).
    #[serde(default)]
    pub audit: crate::audit::RawAuditConfig,
}

/// `[guard]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawGuard {
    /// `false` for rules only (no scores); default `true`.
    pub enabled: Option<bool>,
    /// A model directory (`guard-tier1.json` + `guard-tier1.safetensors`);
    /// the built-in model when absent.
    pub model_dir: Option<String>,
    /// Threshold level for the guard's scores: `lenient`, `standard`
    /// (default) or `strict`; same as `policy.strictness`, which it overrides.
    pub strictness: Option<String>,
    /// Tier 2 (encoder): `off` (default), `auto` (when installed, for steps
    /// in the band), or `always` (every step; fails at start without it).
    pub tier2: Option<String>,
    /// Tier-1 risk band `[lo, hi]` escalated to tier 2 (default: the
    /// trained heads' band).
    pub band: Option<Vec<f64>>,
    /// Where tier 2 runs: `auto` (default), `cpu` or `cuda`.
    pub device: Option<String>,
    /// Encoder checkpoint directory (default: where `scripts/setup-model`
    /// installs it).
    pub encoder_dir: Option<String>,
    /// Trained tier-2 heads directory (default: the built-in heads).
    pub tier2_dir: Option<String>,
    /// Most steps per tier-2 batch (default 32).
    pub batch_max_steps: Option<u64>,
    /// Longest wait for a tier-2 batch to fill, in µs (default 500).
    pub batch_max_wait_us: Option<u64>,
}

/// `[server]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawServer {
    /// `host:port` to listen on.
    pub listen: Option<String>,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: Option<u64>,
    /// Largest upstream response body read for judging, in bytes.
    pub max_response_bytes: Option<u64>,
    /// Requests handled at once; more are shed with 503.
    pub max_concurrent_requests: Option<u64>,
    /// Seconds advertised in `Retry-After` when shedding.
    pub retry_after_secs: Option<u64>,
    /// How long in-flight requests may drain after a shutdown signal.
    pub shutdown_grace_ms: Option<u64>,
    /// TLS on the listener.
    pub tls: Option<RawTls>,
}

/// `[server.tls]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTls {
    /// PEM certificate chain.
    pub cert: Option<String>,
    /// PEM private key.
    pub key: Option<String>,
    /// PEM CA bundle: when set, clients must present a certificate it signed.
    pub client_ca: Option<String>,
}

/// `[upstreams.NAME]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawUpstream {
    /// Base URL (LLM providers: the request path is appended) or, for MCP,
    /// the server's endpoint URL.
    pub base_url: Option<String>,
    /// `openai`, `anthropic` or `mcp`.
    pub protocol: Option<String>,
    /// Timeout of one upstream call, in milliseconds.
    pub timeout_ms: Option<u64>,
    /// Name of an environment variable holding the provider key to inject;
    /// unset means the client's own credentials are forwarded.
    pub api_key_env: Option<String>,
}

/// `[routes]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRoutes {
    /// Upstream for `/v1/chat/completions` and `/v1/responses`.
    pub openai: Option<String>,
    /// Upstream for `/v1/messages`.
    pub anthropic: Option<String>,
    /// Per-route verdict modes: `chat_completions`, `responses`, `messages`, `mcp`.
    #[serde(default)]
    pub verdict_mode: BTreeMap<String, String>,
}

/// `[policy]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPolicy {
    /// `strip`, `error`, `replan` or `require_approval`.
    pub verdict_mode: Option<String>,
    /// Rounds of re-planning in `replan` mode.
    pub replan_rounds: Option<u64>,
    /// Time the decision may take before the call is blocked (fail closed).
    pub decision_deadline_ms: Option<u64>,
    /// `block` (default) or `allow` when the deadline passes or judging fails.
    pub on_failure: Option<String>,
    /// Policy bundle directory.
    pub bundle: Option<String>,
    /// `lenient`, `balanced` or `strict`.
    pub strictness: Option<String>,
    /// Tools always blocked (operator override, applied before the policy).
    #[serde(default)]
    pub deny_tools: Vec<String>,
    /// Tools that always need human approval.
    #[serde(default)]
    pub approval_tools: Vec<String>,
}

/// `[approvals]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawApprovals {
    /// How long an MCP call waits for an approver, in milliseconds.
    pub timeout_ms: Option<u64>,
    /// `deny` (default) or `allow` when no approver answers in time.
    pub on_timeout: Option<String>,
    /// Pending approvals kept at most; more are denied at once.
    pub max_pending: Option<u64>,
}

/// `[[keys]]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawKey {
    /// Lowercase hex SHA-256 of the key.
    pub sha256: Option<String>,
    /// Tenant the key belongs to.
    pub tenant: Option<String>,
    /// Agent id, if the key names one agent.
    pub agent: Option<String>,
    /// May answer approvals.
    #[serde(default)]
    pub approver: bool,
}

/// `[tenants.NAME]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTenant {
    /// Verdict mode for all routes of this tenant.
    pub verdict_mode: Option<String>,
    /// Policy bundle directory.
    pub bundle: Option<String>,
    /// `lenient`, `balanced` or `strict`.
    pub strictness: Option<String>,
}
