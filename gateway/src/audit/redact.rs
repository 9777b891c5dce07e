//! Redaction: secrets are replaced before a record is serialized, so no
//! secret reaches a segment, the index or an export.
//!
//! What is caught: API keys and tokens of well-known shapes, bearer/basic
//! credentials, `password=...`-style assignments, URL user passwords, PEM
//! private keys, card numbers (Luhn-checked, issuer digit 2-6 so epoch
//! milliseconds and ids are left alone), and the values of fields whose name
//! is a secret's (`password`, `api_key`, ... plus the names in config).
//!
//! A secret becomes `[REDACTED:sha256:<12 hex>]`, a salted hash: the salt is
//! per data directory (`audit/salt`), so equal secrets correlate within one
//! deployment but a hash cannot be matched against a list of known values
//! from elsewhere. Strings that hold JSON (tool-call `arguments`) are parsed
//! and redacted structurally, so field names inside them count too.

use std::collections::HashSet;
use std::io::{Read, Write};
use std::path::Path;
use std::sync::LazyLock;

use aho_corasick::AhoCorasick;
use regex::{Regex, RegexSet};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::diff::DiffOp;
use super::error::{AuditError, Result};
use super::record::{AuditRecord, StepRecord};

/// The prefix every redacted value starts with.
pub const MARK: &str = "[REDACTED:sha256:";

/// Field names whose scalar values are always redacted (compared lowercased,
/// with `-` read as `_`).
const DEFAULT_FIELDS: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "passphrase",
    "secret",
    "client_secret",
    "api_key",
    "apikey",
    "x_api_key",
    "token",
    "access_token",
    "refresh_token",
    "id_token",
    "auth_token",
    "authorization",
    "proxy_authorization",
    "private_key",
    "cookie",
    "set_cookie",
    "card_number",
    "cvv",
    "cvc",
];

/// Patterns whose whole match is a secret.
const WHOLE: &[&str] = &[
    // PEM / OpenSSH private keys; an unterminated block runs to the end.
    r"(?s)-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----.*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|\z)",
    // Provider API keys and tokens.
    r"(?-u:\b)sk-(?:proj-|ant-)?[A-Za-z0-9_\-]{20,}",
    r"(?-u:\b)(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}",
    r"(?-u:\b)(?:AKIA|ASIA)[0-9A-Z]{16}(?-u:\b)",
    r"(?-u:\b)gh[pousr]_[A-Za-z0-9]{30,}",
    r"(?-u:\b)github_pat_[A-Za-z0-9_]{30,}",
    r"(?-u:\b)xox[abprs]-[A-Za-z0-9\-]{10,}",
    r"(?-u:\b)AIza[0-9A-Za-z_\-]{35}",
    r"(?-u:\b)glpat-[A-Za-z0-9_\-]{20,}",
    r"(?-u:\b)hf_[A-Za-z0-9]{30,}",
    // JSON Web Tokens.
    r"(?-u:\b)eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}",
];

/// Patterns whose first capture group is the secret.
const GROUPED: &[&str] = &[
    r"(?-u:\b)[Bb]earer\s+([A-Za-z0-9\-._~+/]{16,}=*)",
    r"(?-u:\b)Basic\s+([A-Za-z0-9+/]{16,}={0,2})",
    r#"(?i)(?-u:\b)(?:pass(?:word|wd|phrase)?|pwd|secret|client[_-]?secret|api[_-]?key|access[_-]?token|auth[_-]?token)(?-u:\b)["']?\s*[:=]\s*["']?([^\s"',;{}\]]+)"#,
    r"[A-Za-z][A-Za-z0-9+.\-]*://[^/\s:@]+:([^/\s@]+)@",
];

/// Card-number candidates: 13 to 19 digits, spaces or dashes between.
const CARD: &str = r"(?-u:\b)[2-6](?:[ \-]?[0-9]){12,18}(?-u:\b)";

/// Literals at least one of which every pattern above needs (compared
/// ASCII-case-insensitively). Most strings in a record contain none, and a
/// multi-literal search is far cheaper than running the patterns: this is
/// the fast path. Keep it in step with `WHOLE` and `GROUPED`.
const ANCHORS: &[&str] = &[
    "private key",
    "sk-",
    "sk_",
    "rk_",
    "akia",
    "asia",
    "ghp_",
    "gho_",
    "ghu_",
    "ghs_",
    "ghr_",
    "github_pat_",
    "xox",
    "aiza",
    "glpat-",
    "hf_",
    "eyj",
    "bearer",
    "basic",
    "pass",
    "pwd",
    "secret",
    "apikey",
    "api_key",
    "api-key",
    "access_token",
    "access-token",
    "accesstoken",
    "auth_token",
    "auth-token",
    "authtoken",
    "://",
];

struct Patterns {
    anchors: AhoCorasick,
    /// `WHOLE` then `GROUPED`: one pass says which patterns to run.
    set: RegexSet,
    whole: Vec<Regex>,
    grouped: Vec<Regex>,
    card: Regex,
}

static PATTERNS: LazyLock<Patterns> = LazyLock::new(|| {
    // The patterns are constants checked by the tests; failing here is a build bug.
    #[expect(clippy::expect_used, reason = "constant patterns, covered by tests")]
    Patterns {
        anchors: AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(ANCHORS)
            .expect("anchors build"),
        set: RegexSet::new(WHOLE.iter().chain(GROUPED)).expect("patterns compile"),
        whole: WHOLE
            .iter()
            .map(|p| Regex::new(p).expect("pattern compiles"))
            .collect(),
        grouped: GROUPED
            .iter()
            .map(|p| Regex::new(p).expect("pattern compiles"))
            .collect(),
        card: Regex::new(CARD).expect("pattern compiles"),
    }
});

/// True when `s` has 13 or more digits in a run that only spaces and dashes
/// interrupt: the precondition for a card number.
fn has_digit_run(s: &str) -> bool {
    let mut run = 0;
    for b in s.bytes() {
        match b {
            b'0'..=b'9' => {
                run += 1;
                if run >= 13 {
                    return true;
                }
            }
            b' ' | b'-' => {}
            _ => run = 0,
        }
    }
    false
}

/// Replaces secrets with salted hashes.
#[derive(Clone)]
pub struct Redactor {
    salt: Vec<u8>,
    fields: HashSet<String>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the salt.
        f.debug_struct("Redactor")
            .field("fields", &self.fields.len())
            .finish_non_exhaustive()
    }
}

impl Redactor {
    /// A redactor with this salt and extra field names (beyond the defaults).
    pub fn new(salt: Vec<u8>, extra_fields: &[String]) -> Self {
        let fields = DEFAULT_FIELDS
            .iter()
            .map(|f| (*f).to_owned())
            .chain(extra_fields.iter().map(|f| normalize_field(f)))
            .collect();
        Redactor { salt, fields }
    }

    /// Loads the salt of an audit directory, creating it (32 random bytes,
    /// mode 0600) the first time.
    pub fn load(audit_dir: &Path, extra_fields: &[String]) -> Result<Self> {
        Ok(Redactor::new(load_or_create_salt(audit_dir)?, extra_fields))
    }

    /// Whether a field of this name holds a secret. Most keys are already
    /// lowercase snake_case and are looked up without allocating.
    fn is_secret_field(&self, key: &str) -> bool {
        if key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            self.fields.contains(key)
        } else {
            self.fields.contains(&normalize_field(key))
        }
    }

    /// The placeholder for a secret.
    pub fn placeholder(&self, secret: &str) -> String {
        let mut h = Sha256::new();
        h.update(&self.salt);
        h.update(secret.as_bytes());
        let digest = h.finalize();
        format!("{MARK}{}]", hex::encode(&digest[..6]))
    }

    /// Redacts a JSON value in place; returns true when anything changed.
    pub fn redact_value(&self, value: &mut Value) -> bool {
        match value {
            Value::String(s) => match self.redact_str(s) {
                Some(new) => {
                    *s = new;
                    true
                }
                None => false,
            },
            Value::Number(n) => {
                let text = n.to_string();
                if is_card_number(&text) {
                    *value = Value::String(self.placeholder(&text));
                    true
                } else {
                    false
                }
            }
            Value::Array(items) => items
                .iter_mut()
                .fold(false, |changed, v| self.redact_value(v) | changed),
            Value::Object(map) => {
                let mut changed = false;
                // A rewrite diff op (`{"op", "path": "/password", "old", "new"}`)
                // carries a field's values under other names.
                let diff_of_secret = map.contains_key("op")
                    && map
                        .get("path")
                        .and_then(Value::as_str)
                        .and_then(|p| p.rsplit('/').next())
                        .is_some_and(|last| self.is_secret_field(last));
                for (key, v) in map.iter_mut() {
                    // A secret-named field holding a structure (a JSON
                    // schema's `password` property) is walked, not erased.
                    let scalar = matches!(v, Value::String(_) | Value::Number(_) | Value::Bool(_));
                    let secret_key = self.is_secret_field(key)
                        || (diff_of_secret && (key == "old" || key == "new"));
                    if scalar && secret_key {
                        let text = match &*v {
                            Value::String(s) => s.clone(),
                            other => other.to_string(),
                        };
                        if !text.starts_with(MARK) {
                            *v = Value::String(self.placeholder(&text));
                            changed = true;
                        }
                    } else {
                        changed |= self.redact_value(v);
                    }
                }
                changed
            }
            Value::Null | Value::Bool(_) => false,
        }
    }

    /// The redacted form of a string, or `None` when it holds no secret.
    pub fn redact_str(&self, s: &str) -> Option<String> {
        let trimmed = s.trim_start();
        if (trimmed.starts_with('{') || trimmed.starts_with('['))
            && let Ok(mut inner) = serde_json::from_str::<Value>(s)
        {
            // Embedded JSON (tool-call arguments): redact structurally, and
            // re-serialize only when something changed.
            return if self.redact_value(&mut inner) {
                Some(inner.to_string())
            } else {
                None
            };
        }
        self.redact_text(s)
    }

    fn redact_text(&self, s: &str) -> Option<String> {
        let p = &*PATTERNS;
        if !p.anchors.is_match(s) && !has_digit_run(s) {
            return None;
        }
        let mut spans: Vec<(usize, usize)> = Vec::new();
        for i in p.set.matches(s).iter() {
            if let Some(re) = p.whole.get(i) {
                spans.extend(re.find_iter(s).map(|m| (m.start(), m.end())));
                continue;
            }
            let Some(re) = p.grouped.get(i - p.whole.len()) else {
                continue;
            };
            for caps in re.captures_iter(s) {
                if let Some(m) = caps.get(1)
                    && !m.as_str().starts_with("[REDACTED")
                {
                    spans.push((m.start(), m.end()));
                }
            }
        }
        for m in p.card.find_iter(s) {
            if is_card_number(m.as_str()) {
                spans.push((m.start(), m.end()));
            }
        }
        if spans.is_empty() {
            return None;
        }
        spans.sort_unstable();
        let mut out = String::with_capacity(s.len());
        let mut pos = 0;
        let mut i = 0;
        while i < spans.len() {
            let (start, mut end) = spans[i];
            while i + 1 < spans.len() && spans[i + 1].0 < end {
                end = end.max(spans[i + 1].1);
                i += 1;
            }
            if start >= pos {
                out.push_str(&s[pos..start]);
                out.push_str(&self.placeholder(&s[start..end]));
                pos = end;
            }
            i += 1;
        }
        out.push_str(&s[pos..]);
        Some(out)
    }
}

impl Redactor {
    /// Redacts every field of a record in place. The destructuring is
    /// exhaustive on purpose: a field added to the record does not compile
    /// until it is decided here whether it can hold a secret.
    pub fn redact_record(&self, rec: &mut AuditRecord) {
        let AuditRecord {
            ts: _,
            event: _,
            verdict: _,
            decision_id,
            request_id,
            tenant,
            agent,
            session,
            route,
            upstream,
            model,
            format: _,
            steps,
            policy,
            guard_model: _,
            approval,
            // Stage names and numbers, set by the gateway.
            latency_us: _,
            replay,
        } = rec;
        self.text(decision_id);
        self.text(tenant);
        self.text(route);
        for s in [request_id, agent, session, upstream, model]
            .into_iter()
            .flatten()
        {
            self.text(s);
        }
        for step in steps {
            let StepRecord {
                step_id,
                tool,
                verdict: _,
                arguments,
                labels: _,
                provenance,
                risk: _,
                category: _,
                categories: _,
                rules: _,
                reasons,
                rewrite,
            } = step;
            self.text(step_id);
            self.text(tool);
            self.redact_value(arguments);
            self.redact_value(provenance);
            reasons.iter_mut().for_each(|r| self.text(r));
            for op in rewrite.iter_mut().flatten() {
                self.redact_diff_op(op);
            }
        }
        policy.rules_fired.iter_mut().for_each(|r| self.text(r));
        if let Some(a) = approval {
            for s in [&mut a.by, &mut a.note].into_iter().flatten() {
                self.text(s);
            }
        }
        if let Some(r) = replay {
            self.redact_value(&mut r.tools);
            self.redact_value(&mut r.messages);
            self.redact_value(&mut r.proposed);
        }
    }

    /// A rewrite diff op carries a field's values under `old`/`new`, so the
    /// field name comes from the op's path.
    fn redact_diff_op(&self, op: &mut DiffOp) {
        let secret_field = op
            .path
            .rsplit('/')
            .next()
            .is_some_and(|last| self.is_secret_field(last));
        for v in [&mut op.old, &mut op.new].into_iter().flatten() {
            match v {
                Value::String(_) | Value::Number(_) | Value::Bool(_) if secret_field => {
                    let text = match &*v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    *v = Value::String(self.placeholder(&text));
                }
                _ => {
                    self.redact_value(v);
                }
            }
        }
    }

    fn text(&self, s: &mut String) {
        if let Some(new) = self.redact_str(s) {
            *s = new;
        }
    }
}

fn normalize_field(name: &str) -> String {
    name.trim().to_ascii_lowercase().replace('-', "_")
}

/// True for 13-19 digits (separators allowed) that start with an issuer
/// digit 2-6 and pass the Luhn check.
pub fn is_card_number(text: &str) -> bool {
    let digits: Vec<u32> = text.chars().filter_map(|c| c.to_digit(10)).collect();
    if !(13..=19).contains(&digits.len())
        || !text
            .chars()
            .all(|c| c.is_ascii_digit() || c == ' ' || c == '-')
    {
        return false;
    }
    if !(2..=6).contains(&digits[0]) {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 1 {
                if d * 2 > 9 { d * 2 - 9 } else { d * 2 }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

fn load_or_create_salt(audit_dir: &Path) -> Result<Vec<u8>> {
    let path = audit_dir.join("salt");
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            return hex::decode(text.trim()).map_err(|e| AuditError::Corrupt {
                segment: "salt".into(),
                line: 1,
                reason: format!("the redaction salt is not hex: {e}"),
            });
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(AuditError::io(&path, e)),
    }
    let mut salt = vec![0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut salt))
        .map_err(|e| AuditError::io("/dev/urandom", e))?;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    match opts.open(&path) {
        Ok(mut f) => {
            f.write_all(hex::encode(&salt).as_bytes())
                .and_then(|()| f.sync_all())
                .map_err(|e| AuditError::io(&path, e))?;
            Ok(salt)
        }
        // Another process created it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => load_or_create_salt(audit_dir),
        Err(e) => Err(AuditError::io(&path, e)),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn redactor() -> Redactor {
        Redactor::new(b"test-salt".to_vec(), &["x-internal-ref".to_owned()])
    }

    #[test]
    fn luhn_accepts_test_cards_and_rejects_near_misses() {
        assert!(is_card_number("4111 1111 1111 1111"));
        assert!(is_card_number("5500-0000-0000-0004"));
        assert!(is_card_number("378282246310005"));
        assert!(!is_card_number("4111 1111 1111 1112"));
        // Epoch milliseconds start with 1 and are left alone.
        assert!(!is_card_number("1764313742123"));
    }

    #[test]
    fn redacts_each_secret_kind_in_free_text() {
        let r = redactor();
        let cases = [
            "use sk-proj-a1B2c3D4e5F6g7H8i9J0k1L2m3 for this",
            "Authorization: Bearer abc.def-ghi_jkl123456",
            "db password=hunter2-staging and go",
            "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----",
            "pay with 4111-1111-1111-1111 today",
            "key AKIAIOSFODNN7EXAMPLE here",
            "clone https://deploy:s3cr3tpass@git.example.com/repo",
        ];
        let secrets = [
            "sk-proj-a1B2c3D4e5F6g7H8i9J0k1L2m3",
            "abc.def-ghi_jkl123456",
            "hunter2-staging",
            "MIIEow",
            "4111-1111-1111-1111",
            "AKIAIOSFODNN7EXAMPLE",
            "s3cr3tpass",
        ];
        for (text, secret) in cases.iter().zip(secrets) {
            let out = r
                .redact_str(text)
                .unwrap_or_else(|| panic!("not redacted: {text}"));
            assert!(!out.contains(secret), "{out}");
            assert!(out.contains(MARK), "{out}");
        }
        assert_eq!(
            r.redact_str("send the Q3 report to alice@example.com"),
            None
        );
    }

    #[test]
    fn equal_secrets_get_equal_placeholders_and_salt_matters() {
        let r = redactor();
        let a = r.redact_str("password=hunter2x").unwrap_or_default();
        let b = r.redact_str("pwd: hunter2x").unwrap_or_default();
        assert_eq!(a.split('=').nth(1), b.split(": ").nth(1));
        let other = Redactor::new(b"other".to_vec(), &[]);
        assert_ne!(r.placeholder("hunter2x"), other.placeholder("hunter2x"));
    }

    #[test]
    fn redacts_named_fields_and_json_inside_strings_but_keeps_schemas() {
        let r = redactor();
        let mut v = json!({
            "api_key": "plainvalue123",
            "X-Internal-Ref": 12,
            "schema": {"properties": {"password": {"type": "string"}}},
            "arguments": "{\"user\":\"bob\",\"password\":\"correct horse battery\"}",
            "card": 4111111111111111u64
        });
        assert!(r.redact_value(&mut v));
        let text = v.to_string();
        for secret in ["plainvalue123", "correct horse battery", "4111111111111111"] {
            assert!(!text.contains(secret), "{text}");
        }
        assert!(
            v["X-Internal-Ref"]
                .as_str()
                .is_some_and(|s| s.starts_with(MARK))
        );
        assert_eq!(
            v["schema"]["properties"]["password"],
            json!({"type": "string"})
        );
        assert!(text.contains("bob"));
    }
}
