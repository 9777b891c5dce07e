//! A policy bundle as sources: Rego files (`*.rego`, tests `*_test.rego`)
//! and the organisation data (`data.json`, loaded as `data.config`...).
//!
//! The crate never reads files: the CLI and the gateway read a directory and
//! hand the sources here. The default bundle is compiled into the binary
//! (`include_str!`), so `preflight` runs with no files at all.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::error::{PolicyError, Result};

/// One bundle file: its name (relative to the bundle root) and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    /// Bundle-relative name, `/`-separated (`rules/log_tamper.rego`).
    pub name: String,
    /// The file's text.
    pub text: String,
}

/// A set of bundle files, not yet compiled.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Bundle {
    /// Files in name order (the digest does not depend on the caller's order).
    pub files: Vec<SourceFile>,
}

macro_rules! embed {
    ($($name:literal),* $(,)?) => {
        /// Names and texts of the default bundle, compiled in.
        pub const DEFAULT_FILES: &[(&str, &str)] = &[
            $(($name, include_str!(concat!("../bundle/", $name))),)*
        ];
    };
}

embed!(
    "data.json",
    "lib.rego",
    "lib_test.rego",
    "testing_test.rego",
    "credential_access.rego",
    "credential_access_test.rego",
    "destructive_action.rego",
    "destructive_action_test.rego",
    "destructive_shell.rego",
    "destructive_shell_test.rego",
    "destructive_sql.rego",
    "destructive_sql_test.rego",
    "guard_threshold.rego",
    "guard_threshold_test.rego",
    "injected_flow.rego",
    "injected_flow_test.rego",
    "log_tamper.rego",
    "log_tamper_test.rego",
    "malformed_arguments.rego",
    "malformed_arguments_test.rego",
    "off_goal_after_injection.rego",
    "off_goal_after_injection_test.rego",
    "payment_limits.rego",
    "payment_limits_test.rego",
    "safety_controls.rego",
    "safety_controls_test.rego",
    "sensitive_exfiltration.rego",
    "sensitive_exfiltration_test.rego",
    "tool_pinning.rego",
    "tool_pinning_test.rego",
    "untrusted_flow.rego",
    "untrusted_flow_test.rego",
);

impl Bundle {
    /// A bundle from `(name, text)` pairs, e.g. what `load_bundle_dir` read.
    pub fn from_sources<N: Into<String>, T: Into<String>>(
        files: impl IntoIterator<Item = (N, T)>,
    ) -> Self {
        let mut files: Vec<SourceFile> = files
            .into_iter()
            .map(|(n, t)| SourceFile {
                name: n.into(),
                text: t.into(),
            })
            .collect();
        files.sort_by(|a, b| a.name.cmp(&b.name));
        Bundle { files }
    }

    /// The default bundle shipped in the binary.
    pub fn embedded() -> Self {
        Bundle::from_sources(DEFAULT_FILES.iter().copied())
    }

    /// True for a Rego test file (`*_test.rego`).
    pub fn is_test(name: &str) -> bool {
        name.ends_with("_test.rego")
    }

    /// Rego files; `with_tests` includes `*_test.rego`.
    pub fn rego(&self, with_tests: bool) -> impl Iterator<Item = &SourceFile> {
        self.files
            .iter()
            .filter(move |f| f.name.ends_with(".rego") && (with_tests || !Bundle::is_test(&f.name)))
    }

    /// The organisation data: every `*.json` file merged at the root of
    /// `data` (each must be an object; a key defined twice is an error).
    pub fn data(&self) -> Result<Value> {
        let mut root = Map::new();
        for f in self.files.iter().filter(|f| f.name.ends_with(".json")) {
            let doc: Value = serde_json::from_str(&f.text).map_err(|e| PolicyError::Data {
                file: f.name.clone(),
                reason: format!("line {}, column {}: {e}", e.line(), e.column()),
            })?;
            let Value::Object(obj) = doc else {
                return Err(PolicyError::Data {
                    file: f.name.clone(),
                    reason: "must be a JSON object".into(),
                });
            };
            for (k, v) in obj {
                if root.insert(k.clone(), v).is_some() {
                    return Err(PolicyError::Data {
                        file: f.name.clone(),
                        reason: format!("key `{k}` is defined twice"),
                    });
                }
            }
        }
        Ok(Value::Object(root))
    }

    /// `sha256:<hex>` over every file name and text (tests included, since
    /// they are part of what was reviewed), in name order.
    pub fn digest(&self) -> String {
        let mut h = Sha256::new();
        for f in &self.files {
            h.update((f.name.len() as u64).to_le_bytes());
            h.update(f.name.as_bytes());
            h.update((f.text.len() as u64).to_le_bytes());
            h.update(f.text.as_bytes());
        }
        let out = h.finalize();
        let hex: String = out.iter().map(|b| format!("{b:02x}")).collect();
        format!("sha256:{hex}")
    }
}
