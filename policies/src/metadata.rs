//! The `# METADATA` block every rule file starts with (OPA's annotation
//! format, the subset we use):
//!
//! ```text
//! # METADATA
//! # title: Sensitive data to an external sink
//! # description: A secret read earlier in the session reaches a call that sends data out.
//! # custom:
//! #   risk: privacy.exfiltration
//! #   example: read_file("~/.ssh/id_rsa") then http_post(url, body)
//! package preflight.rules.sensitive_exfiltration
//! ```
//!
//! An optional `custom.when` line says when the rule can fire, so that the
//! engine skips it otherwise ([`crate::trigger`]).
//!
//! Values are single-line YAML scalars; a deeper-indented comment line
//! continues the previous value. The risk code must come from the taxonomy.

use crate::error::Located;
use crate::trigger::{self, When};

/// The stable risk codes (DESIGN.md, "Risk taxonomy").
pub const RISK_CODES: [&str; 9] = [
    "privacy.exfiltration",
    "financial.loss",
    "integrity.destructive",
    "availability.disruption",
    "security.credential",
    "injection.hijack",
    "accountability.tamper",
    "unauthorized.action",
    "content.harmful",
];

/// What a rule file says about itself.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RuleMeta {
    /// Rule id: the last segment of the package (`sensitive_exfiltration`).
    pub id: String,
    /// Bundle file name.
    pub file: String,
    /// One-line title.
    pub title: String,
    /// What the rule catches and why.
    pub description: String,
    /// Risk code from [`RISK_CODES`].
    pub risk: String,
    /// An example of a call it stops.
    pub example: String,
    /// When the rule can fire (`custom.when`, see [`crate::trigger`]);
    /// `None`: always evaluated. Not part of the rule's JSON description.
    #[serde(skip)]
    pub when: Option<When>,
}

/// Reads the METADATA block of a rule file with package `preflight.rules.<id>`.
pub fn parse(file: &str, id: &str, source: &str) -> Result<RuleMeta, Located> {
    let err = |line: usize, message: String| Located {
        file: file.to_owned(),
        line: u32::try_from(line).unwrap_or(u32::MAX),
        col: 1,
        message,
    };
    let lines: Vec<&str> = source.lines().collect();
    let Some(start) = lines.iter().position(|l| l.trim() == "# METADATA") else {
        return Err(err(
            1,
            "rule file has no `# METADATA` block (title, description, custom.risk, custom.example)"
                .into(),
        ));
    };
    let mut fields: Vec<(String, String)> = Vec::new();
    let mut in_custom = false;
    for line in lines.iter().skip(start + 1) {
        let Some(body) = line.trim_start().strip_prefix('#') else {
            break;
        };
        let body = body.strip_prefix(' ').unwrap_or(body);
        let indent = body.len() - body.trim_start().len();
        let text = body.trim();
        if text.is_empty() {
            continue;
        }
        if indent == 0 {
            in_custom = text == "custom:";
            if in_custom {
                continue;
            }
        }
        match text.split_once(':') {
            Some((key, value))
                if !key.contains(' ') && (indent == 0 || (in_custom && indent <= 2)) =>
            {
                let key = if indent > 0 {
                    format!("custom.{key}")
                } else {
                    key.to_owned()
                };
                fields.push((key, unquote(value.trim())));
            }
            _ => match fields.last_mut() {
                Some((_, value)) => {
                    value.push(' ');
                    value.push_str(text);
                }
                None => {
                    return Err(err(
                        start + 2,
                        format!("cannot read METADATA line `{text}`"),
                    ));
                }
            },
        }
    }
    let get = |key: &str| {
        fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    };
    let need = |key: &str| {
        get(key)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| err(start + 1, format!("METADATA lacks `{key}`")))
    };
    let meta = RuleMeta {
        id: id.to_owned(),
        file: file.to_owned(),
        title: need("title")?,
        description: need("description")?,
        risk: need("custom.risk")?,
        example: need("custom.example")?,
        when: match get("custom.when") {
            Some(text) => Some(trigger::parse(&text).map_err(|m| err(start + 1, m))?),
            None => None,
        },
    };
    if !RISK_CODES.contains(&meta.risk.as_str()) {
        return Err(err(
            start + 1,
            format!(
                "unknown risk code `{}` (known: {})",
                meta.risk,
                RISK_CODES.join(", ")
            ),
        ));
    }
    Ok(meta)
}

fn unquote(v: &str) -> String {
    let quoted = v.len() >= 2
        && ((v.starts_with('"') && v.ends_with('"')) || (v.starts_with('\'') && v.ends_with('\'')));
    if quoted {
        v[1..v.len() - 1].to_owned()
    } else {
        v.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "# METADATA\n# title: Log tampering\n# description: Deleting logs\n#   removes accountability.\n# custom:\n#   risk: accountability.tamper\n#   example: \"rm /var/log/auth.log\"\npackage preflight.rules.log_tamper\n";

    #[test]
    fn reads_title_description_risk_and_example() {
        let meta = parse("log_tamper.rego", "log_tamper", GOOD).expect("valid");
        assert_eq!(meta.title, "Log tampering");
        assert_eq!(meta.description, "Deleting logs removes accountability.");
        assert_eq!(meta.risk, "accountability.tamper");
        assert_eq!(meta.example, "rm /var/log/auth.log");
    }

    #[test]
    fn reads_an_optional_trigger_and_rejects_a_broken_one() {
        assert_eq!(parse("a.rego", "a", GOOD).expect("valid").when, None);
        let with = GOOD.replace(
            "#   example:",
            "#   when: label:log_tamper | tool:log_tools\n#   example:",
        );
        let meta = parse("a.rego", "a", &with).expect("valid");
        assert_eq!(meta.when.map(|w| w.len()), Some(2));
        let broken = GOOD.replace("#   example:", "#   when: lable:x\n#   example:");
        let e = parse("a.rego", "a", &broken).unwrap_err();
        assert!(e.message.contains("unknown `when` term"), "{e}");
    }

    #[test]
    fn rejects_a_missing_block_and_an_unknown_risk_code() {
        assert!(parse("a.rego", "a", "package preflight.rules.a\n").is_err());
        let bad = GOOD.replace("accountability.tamper", "accountability.oops");
        let e = parse("a.rego", "a", &bad).unwrap_err();
        assert!(e.message.contains("unknown risk code"), "{e}");
    }
}
