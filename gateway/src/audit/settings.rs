//! Audit settings: the raw `[audit]` config section as the user writes it,
//! validated into [`AuditSettings`] so a typo is an error naming the key.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::error::{AuditError, Result};
use super::otlp::{self, OtlpSettings};

/// The data directory used when none is given.
pub const DEFAULT_DATA_DIR: &str = "./preflight-data";

/// Which `allow` decisions get a record (the others always do).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AllowRecording {
    /// Every allow decision.
    All,
    /// None.
    None,
    /// This fraction in (0, 1), chosen by a hash of the decision id so the
    /// choice is stable for a decision.
    Sample(f64),
}

impl AllowRecording {
    /// Whether a decision with this verdict and id is recorded: every
    /// non-allow decision, allow decisions as [`AllowRecording::keeps`] says.
    pub fn records(self, verdict: preflight_adapters::Verdict, decision_id: &str) -> bool {
        verdict != preflight_adapters::Verdict::Allow || self.keeps(decision_id)
    }

    /// Whether the allow decision with this id is recorded.
    pub fn keeps(self, decision_id: &str) -> bool {
        match self {
            AllowRecording::All => true,
            AllowRecording::None => false,
            AllowRecording::Sample(rate) => {
                // FNV-1a: stable across runs and builds, unlike std's hasher.
                let h = decision_id.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
                    (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
                });
                (h >> 11) as f64 / (1u64 << 53) as f64 <= rate
            }
        }
    }
}

/// Validated audit settings.
#[derive(Debug, Clone)]
pub struct AuditSettings {
    /// The data directory; the log lives in its `audit/` folder.
    pub data_dir: PathBuf,
    /// Which allow decisions are recorded.
    pub allow: AllowRecording,
    /// Field names whose values are redacted, beyond the built-in ones.
    pub redact_fields: Vec<String>,
    /// A segment is closed once it would grow past this many bytes.
    pub segment_max_bytes: u64,
    /// A segment is closed once its first record is this old.
    pub segment_max_age: Duration,
    /// Records the writer's queue holds before new ones are refused.
    pub queue_capacity: usize,
    /// Longest an allow record waits for its group fsync.
    pub group_commit: Duration,
    /// Most records written per batch (per `write` call).
    pub max_batch: usize,
    /// Export a copy of each record to an OTLP/HTTP collector (off when `None`).
    pub otlp: Option<OtlpSettings>,
}

impl AuditSettings {
    /// Defaults for a data directory: all allows recorded, 64 MiB or 1 day
    /// segments, a 16384-record queue, 20 ms group commit.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        AuditSettings {
            data_dir: data_dir.into(),
            allow: AllowRecording::All,
            redact_fields: Vec::new(),
            segment_max_bytes: 64 * 1024 * 1024,
            segment_max_age: Duration::from_secs(24 * 3600),
            queue_capacity: 16_384,
            group_commit: Duration::from_millis(20),
            max_batch: 4096,
            otlp: None,
        }
    }
}

/// The `[audit]` config section as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAuditConfig {
    /// `"all"`, `"none"`, or a sample rate in [0, 1].
    #[serde(default)]
    pub allow: Option<RawAllow>,
    /// Extra field names to redact.
    #[serde(default)]
    pub redact_fields: Vec<String>,
    /// Segment size limit in bytes.
    #[serde(default)]
    pub segment_max_bytes: Option<u64>,
    /// Segment age limit in seconds.
    #[serde(default)]
    pub segment_max_age_secs: Option<u64>,
    /// Queue capacity in records.
    #[serde(default)]
    pub queue_capacity: Option<usize>,
    /// Group-commit interval in milliseconds.
    #[serde(default)]
    pub group_commit_ms: Option<u64>,
    /// `http://host:port[/path]` of an OTLP/HTTP collector; off when absent.
    #[serde(default)]
    pub otlp_endpoint: Option<String>,
}

/// `allow = "all" | "none" | 0.25`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum RawAllow {
    /// `"all"` or `"none"`.
    Word(String),
    /// A sample rate.
    Rate(f64),
}

impl RawAuditConfig {
    /// Validates the section for a data directory.
    pub fn validate(self, data_dir: impl Into<PathBuf>) -> Result<AuditSettings> {
        let mut s = AuditSettings::new(data_dir);
        s.allow = match self.allow {
            None => AllowRecording::All,
            Some(RawAllow::Word(w)) if w == "all" => AllowRecording::All,
            Some(RawAllow::Word(w)) if w == "none" => AllowRecording::None,
            Some(RawAllow::Word(w)) => {
                return Err(AuditError::Setting {
                    key: "audit.allow",
                    reason: format!("`{w}` is not \"all\", \"none\" or a rate in [0, 1]"),
                });
            }
            Some(RawAllow::Rate(0.0)) => AllowRecording::None,
            Some(RawAllow::Rate(1.0)) => AllowRecording::All,
            Some(RawAllow::Rate(r)) if r > 0.0 && r < 1.0 => AllowRecording::Sample(r),
            Some(RawAllow::Rate(r)) => {
                return Err(AuditError::Setting {
                    key: "audit.allow",
                    reason: format!("rate {r} is outside [0, 1]"),
                });
            }
        };
        s.redact_fields = self.redact_fields;
        if let Some(b) = self.segment_max_bytes {
            if b < 4096 {
                return Err(AuditError::Setting {
                    key: "audit.segment_max_bytes",
                    reason: "must be at least 4096".into(),
                });
            }
            s.segment_max_bytes = b;
        }
        if let Some(secs) = self.segment_max_age_secs {
            if secs == 0 {
                return Err(AuditError::Setting {
                    key: "audit.segment_max_age_secs",
                    reason: "must be positive".into(),
                });
            }
            s.segment_max_age = Duration::from_secs(secs);
        }
        if let Some(c) = self.queue_capacity {
            if c == 0 {
                return Err(AuditError::Setting {
                    key: "audit.queue_capacity",
                    reason: "must be positive".into(),
                });
            }
            s.queue_capacity = c;
        }
        if let Some(ms) = self.group_commit_ms {
            s.group_commit = Duration::from_millis(ms);
        }
        if let Some(endpoint) = self.otlp_endpoint {
            otlp::parse_endpoint(&endpoint)?;
            s.otlp = Some(OtlpSettings::new(endpoint));
        }
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_rate_keeps_about_that_fraction_and_bad_values_name_the_key() {
        let rate = AllowRecording::Sample(0.25);
        let kept = (0..4000).filter(|i| rate.keeps(&format!("d-{i}"))).count();
        assert!((800..1200).contains(&kept), "{kept}");
        let raw = RawAuditConfig {
            allow: Some(RawAllow::Rate(1.5)),
            ..Default::default()
        };
        let err = raw.validate("x").map(|_| ()).unwrap_err().to_string();
        assert!(err.contains("audit.allow"), "{err}");
        let raw = RawAuditConfig {
            allow: Some(RawAllow::Word("none".into())),
            ..Default::default()
        };
        assert!(matches!(
            raw.validate("x").map(|s| s.allow),
            Ok(AllowRecording::None)
        ));
    }
}
