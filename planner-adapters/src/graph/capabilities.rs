//! What a tool can do, from its MCP annotations or, failing those, from its
//! name, description and argument schema.
//!
//! The heuristics are data: [`NAME_WORDS`] maps words of a tool's name to
//! labels, [`DESCRIPTION_PHRASES`] does the same for its description, and
//! [`PARAM_NAMES`] for the names of its parameters. To teach Preflight about a
//! new kind of tool, add a row; no code changes.
//!
//! Precedence: an explicit MCP annotation wins over the guess it contradicts
//! (`readOnlyHint: true` makes a tool read-only whatever its name says;
//! `destructiveHint: false` removes the destructive guess). A tool with no
//! side-effect word in its name or description is read-only only when its
//! name starts with a reading verb (`get_`, `list_`, `search_` ...): an
//! unknown tool is not assumed harmless.

use serde_json::Value;

use super::label::{Label, LabelSet};
use crate::plan::ToolSpec;

/// Words of a tool name (split at `_`, `-`, `.`, `/`, spaces and camelCase
/// boundaries, lowercased) and the labels each one implies.
pub const NAME_WORDS: &[(&str, &[Label])] = &[
    // Sending data out.
    ("send", &[Label::ExternalSink, Label::Irreversible]),
    ("email", &[Label::ExternalSink]),
    ("mail", &[Label::ExternalSink]),
    ("smtp", &[Label::ExternalSink]),
    ("post", &[Label::ExternalSink]),
    ("publish", &[Label::ExternalSink, Label::Irreversible]),
    ("share", &[Label::ExternalSink]),
    ("upload", &[Label::ExternalSink]),
    ("tweet", &[Label::ExternalSink, Label::Irreversible]),
    ("sms", &[Label::ExternalSink, Label::Irreversible]),
    ("message", &[Label::ExternalSink]),
    ("reply", &[Label::ExternalSink]),
    ("forward", &[Label::ExternalSink]),
    ("invite", &[Label::ExternalSink]),
    ("notify", &[Label::ExternalSink]),
    ("webhook", &[Label::ExternalSink]),
    ("http", &[Label::ExternalSink]),
    ("request", &[Label::ExternalSink]),
    ("curl", &[Label::ExternalSink]),
    ("slack", &[Label::ExternalSink]),
    ("comment", &[Label::ExternalSink]),
    ("submit", &[Label::ExternalSink]),
    // Money.
    ("pay", &[Label::Financial, Label::Irreversible]),
    ("payment", &[Label::Financial, Label::Irreversible]),
    ("transfer", &[Label::Financial, Label::Irreversible]),
    ("wire", &[Label::Financial, Label::Irreversible]),
    ("refund", &[Label::Financial]),
    ("purchase", &[Label::Financial, Label::Irreversible]),
    ("buy", &[Label::Financial, Label::Irreversible]),
    ("sell", &[Label::Financial, Label::Irreversible]),
    ("trade", &[Label::Financial, Label::Irreversible]),
    ("order", &[Label::Financial]),
    ("checkout", &[Label::Financial, Label::Irreversible]),
    ("charge", &[Label::Financial]),
    ("withdraw", &[Label::Financial, Label::Irreversible]),
    ("invoice", &[Label::Financial]),
    // Deleting and overwriting.
    ("delete", &[Label::Destructive]),
    ("remove", &[Label::Destructive]),
    ("rm", &[Label::Destructive]),
    ("drop", &[Label::Destructive, Label::Irreversible]),
    ("truncate", &[Label::Destructive, Label::Irreversible]),
    ("destroy", &[Label::Destructive, Label::Irreversible]),
    ("wipe", &[Label::Destructive, Label::Irreversible]),
    ("purge", &[Label::Destructive, Label::Irreversible]),
    ("erase", &[Label::Destructive, Label::Irreversible]),
    ("overwrite", &[Label::Destructive]),
    ("terminate", &[Label::Destructive]),
    ("kill", &[Label::Destructive]),
    // Taking things offline or out of reach: availability.
    ("stop", &[Label::Destructive]),
    ("disable", &[Label::Destructive]),
    ("lock", &[Label::Destructive]),
    ("suspend", &[Label::Destructive]),
    ("close", &[Label::Destructive]),
    ("restart", &[Label::Destructive]),
    ("reboot", &[Label::Destructive]),
    ("ban", &[Label::Destructive]),
    // Making private things public.
    ("public", &[Label::ExternalSink]),
    ("expose", &[Label::ExternalSink]),
    ("shutdown", &[Label::Destructive]),
    ("uninstall", &[Label::Destructive]),
    ("revoke", &[Label::Destructive, Label::Credential]),
    ("reset", &[Label::Destructive]),
    // Credentials and permissions.
    ("password", &[Label::Credential]),
    ("secret", &[Label::Credential, Label::ReadsSensitive]),
    ("secrets", &[Label::Credential, Label::ReadsSensitive]),
    ("credential", &[Label::Credential, Label::ReadsSensitive]),
    ("credentials", &[Label::Credential, Label::ReadsSensitive]),
    ("token", &[Label::Credential]),
    ("apikey", &[Label::Credential]),
    ("permission", &[Label::Credential]),
    ("permissions", &[Label::Credential]),
    ("role", &[Label::Credential]),
    ("grant", &[Label::Credential]),
    ("iam", &[Label::Credential]),
    ("privilege", &[Label::Credential]),
    ("sudo", &[Label::Credential, Label::CodeExecution]),
    ("mfa", &[Label::Credential]),
    ("firewall", &[Label::Credential]),
    // Running code.
    ("exec", &[Label::CodeExecution]),
    ("execute", &[Label::CodeExecution]),
    ("shell", &[Label::CodeExecution]),
    ("bash", &[Label::CodeExecution]),
    ("terminal", &[Label::CodeExecution]),
    ("command", &[Label::CodeExecution]),
    ("cmd", &[Label::CodeExecution]),
    ("eval", &[Label::CodeExecution]),
    ("python", &[Label::CodeExecution]),
    ("script", &[Label::CodeExecution]),
    ("sql", &[Label::CodeExecution]),
    ("deploy", &[Label::CodeExecution, Label::Irreversible]),
];

/// Leading verbs that make a tool read-only when nothing else says otherwise.
pub const READ_VERBS: &[&str] = &[
    "get",
    "read",
    "list",
    "search",
    "find",
    "fetch",
    "query",
    "view",
    "show",
    "lookup",
    "look",
    "describe",
    "browse",
    "check",
    "count",
    "retrieve",
    "download",
    "inspect",
    "open",
    "cat",
    "head",
    "tail",
    "grep",
    "ls",
    "stat",
    "summarize",
    "translate",
    "calculate",
    "preview",
];

/// Phrases in a tool description and the labels they imply (matched
/// case-insensitively as substrings).
pub const DESCRIPTION_PHRASES: &[(&str, &[Label])] = &[
    (
        "sends an email",
        &[Label::ExternalSink, Label::Irreversible],
    ),
    ("send an email", &[Label::ExternalSink, Label::Irreversible]),
    ("send a message", &[Label::ExternalSink]),
    ("posts to", &[Label::ExternalSink]),
    ("http request", &[Label::ExternalSink]),
    ("makes a payment", &[Label::Financial, Label::Irreversible]),
    ("transfer money", &[Label::Financial, Label::Irreversible]),
    ("transfers money", &[Label::Financial, Label::Irreversible]),
    (
        "permanently delete",
        &[Label::Destructive, Label::Irreversible],
    ),
    ("deletes", &[Label::Destructive]),
    ("cannot be undone", &[Label::Irreversible]),
    ("shell command", &[Label::CodeExecution]),
    ("executes code", &[Label::CodeExecution]),
    ("run a command", &[Label::CodeExecution]),
    ("runs a command", &[Label::CodeExecution]),
    ("sql query", &[Label::CodeExecution]),
    ("read-only", &[Label::ReadOnly]),
    ("read only", &[Label::ReadOnly]),
];

/// Words naming logs and audit trails; with a word of [`TAMPER_VERBS`] in
/// the same tool name they make it `log_tamper` (`clear_audit_log`).
pub const LOG_WORDS: &[&str] = &[
    "log", "logs", "audit", "trail", "history", "journal", "syslog",
];

/// Verbs that erase or silence what [`LOG_WORDS`] name.
pub const TAMPER_VERBS: &[&str] = &[
    "delete", "clear", "purge", "remove", "disable", "stop", "truncate", "wipe", "erase", "rotate",
];

/// Parameter names (lowercased, exact) and the labels they imply.
pub const PARAM_NAMES: &[(&str, &[Label])] = &[
    ("to", &[Label::ExternalSink]),
    ("recipient", &[Label::ExternalSink]),
    ("recipients", &[Label::ExternalSink]),
    ("cc", &[Label::ExternalSink]),
    ("bcc", &[Label::ExternalSink]),
    ("webhook_url", &[Label::ExternalSink]),
    ("amount", &[Label::Financial]),
    ("iban", &[Label::Financial]),
    ("account_number", &[Label::Financial]),
    ("payee", &[Label::Financial]),
    ("command", &[Label::CodeExecution]),
    ("cmd", &[Label::CodeExecution]),
    ("script", &[Label::CodeExecution]),
    ("code", &[Label::CodeExecution]),
    ("password", &[Label::Credential]),
];

/// Splits a tool name into lowercase words: `sendEmail`, `send_email`,
/// `mail.send` and `Send-Email` all give `send`, `email`.
pub fn name_words(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if !c.is_alphanumeric() {
            if !cur.is_empty() {
                words.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower && !cur.is_empty() {
            words.push(std::mem::take(&mut cur));
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        cur.extend(c.to_lowercase());
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    words
}

/// Capability labels of a tool by name, with its spec when the agent was
/// given one. Pure and cheap: computed once per tool per plan.
pub fn tool_capabilities(name: &str, spec: Option<&ToolSpec>) -> LabelSet {
    let words = name_words(name);
    let mut set = LabelSet::EMPTY;
    for w in &words {
        for (word, labels) in NAME_WORDS {
            if w == word {
                set = set.union(labels.iter().copied().collect());
            }
        }
    }
    if let Some(spec) = spec {
        if let Some(desc) = &spec.description {
            let desc = desc.to_lowercase();
            for (phrase, labels) in DESCRIPTION_PHRASES {
                if desc.contains(phrase) {
                    set = set.union(labels.iter().copied().collect());
                }
            }
        }
        if let Some(props) = spec
            .input_schema
            .as_ref()
            .and_then(|s| s.get("properties"))
            .and_then(Value::as_object)
        {
            for key in props.keys() {
                // ASCII keys (nearly all) are compared without a lower-cased
                // copy; others are lower-cased as before (`K`, the Kelvin
                // sign, lower-cases to `k`).
                let lower = (!key.is_ascii()).then(|| key.to_lowercase());
                for (param, labels) in PARAM_NAMES {
                    let same = match &lower {
                        Some(lower) => lower == param,
                        None => key.eq_ignore_ascii_case(param),
                    };
                    if same {
                        set = set.union(labels.iter().copied().collect());
                    }
                }
            }
        }
    }
    let has = |list: &[&str]| words.iter().any(|w| list.contains(&w.as_str()));
    if has(LOG_WORDS) && has(TAMPER_VERBS) {
        set.insert(Label::LogTamper);
    }
    let read_verb = words
        .first()
        .is_some_and(|w| READ_VERBS.contains(&w.as_str()));
    if read_verb {
        // `get_password` reads a credential; `read_file` reads; neither sends.
        for l in [Label::ExternalSink, Label::CodeExecution, Label::Financial] {
            if !spec_says(spec, l) {
                set.remove(l);
            }
        }
        set.remove(Label::Irreversible);
        set.remove(Label::Destructive);
        // Reading a credential is a sensitive read.
        if set.contains(Label::Credential) {
            set.insert(Label::ReadsSensitive);
        }
    }
    if set.contains(Label::ReadOnly) || (read_verb && !set.has_side_effect()) {
        set.insert(Label::ReadOnly);
    }
    if let Some(ann) = spec.map(|s| &s.annotations) {
        match ann.read_only_hint {
            Some(true) => {
                set = LabelSet::from_iter(set.iter().filter(|l| !l.is_side_effect()));
                set.insert(Label::ReadOnly);
            }
            Some(false) => set.remove(Label::ReadOnly),
            None => {}
        }
        match ann.destructive_hint {
            Some(true) if ann.read_only_hint != Some(true) => set.insert(Label::Destructive),
            Some(false) => set.remove(Label::Destructive),
            _ => {}
        }
        if ann.open_world_hint == Some(true) && ann.read_only_hint != Some(true) {
            set.insert(Label::ExternalSink);
        }
    }
    if set.has_side_effect() {
        set.remove(Label::ReadOnly);
    }
    set
}

/// True when the tool's description says it has this capability: a reading
/// verb in the name does not override an explicit description.
fn spec_says(spec: Option<&ToolSpec>, label: Label) -> bool {
    let Some(desc) = spec.and_then(|s| s.description.as_ref()) else {
        return false;
    };
    let desc = desc.to_lowercase();
    DESCRIPTION_PHRASES
        .iter()
        .any(|(p, labels)| labels.contains(&label) && desc.contains(p))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::ToolAnnotations;

    fn caps(name: &str) -> Vec<&'static str> {
        tool_capabilities(name, None).names()
    }

    #[test]
    fn splits_names_in_every_common_style() {
        assert_eq!(name_words("sendEmail"), ["send", "email"]);
        assert_eq!(name_words("send_email"), ["send", "email"]);
        assert_eq!(
            name_words("gmail.send-Message"),
            ["gmail", "send", "message"]
        );
        assert_eq!(name_words("HTTPRequest"), ["httprequest"]);
    }

    #[test]
    fn infers_capabilities_from_names() {
        assert_eq!(caps("send_email"), ["external_sink", "irreversible"]);
        assert_eq!(caps("read_file"), ["read_only"]);
        assert_eq!(caps("get_password"), ["credential", "reads_sensitive"]);
        assert_eq!(caps("clear_audit_log"), ["log_tamper"]);
        assert_eq!(caps("run_shell_command"), ["code_execution"]);
        assert!(
            caps("run_payroll_adjustment").is_empty(),
            "`run` alone is not code"
        );
        assert_eq!(caps("stop_instance"), ["destructive"]);
        assert_eq!(caps("make_bucket_public"), ["external_sink"]);
        assert_eq!(caps("transfer_funds"), ["financial", "irreversible"]);
        assert_eq!(caps("delete_file"), ["destructive"]);
        assert!(
            caps("frobnicate").is_empty(),
            "unknown tools are not read-only"
        );
    }

    #[test]
    fn mcp_annotations_override_the_name() {
        let spec = ToolSpec {
            name: "delete_cache_entry".into(),
            annotations: ToolAnnotations {
                read_only_hint: Some(true),
                ..Default::default()
            },
            ..Default::default()
        };
        assert_eq!(
            tool_capabilities(&spec.name, Some(&spec)).names(),
            ["read_only"]
        );
        let spec = ToolSpec {
            name: "archive".into(),
            annotations: ToolAnnotations {
                destructive_hint: Some(true),
                open_world_hint: Some(true),
                ..Default::default()
            },
            ..Default::default()
        };
        assert_eq!(
            tool_capabilities(&spec.name, Some(&spec)).names(),
            ["destructive", "external_sink"]
        );
    }

    #[test]
    fn parameter_names_are_lower_case_ascii() {
        // Schema keys are compared case-insensitively against these.
        assert!(
            PARAM_NAMES
                .iter()
                .all(|(p, _)| p.is_ascii() && p.to_ascii_lowercase() == *p)
        );
    }

    #[test]
    fn schema_parameters_add_capabilities() {
        let spec = ToolSpec {
            name: "notify_contact".into(),
            input_schema: Some(std::sync::Arc::new(
                serde_json::json!({"properties": {"to": {}, "amount": {}}}),
            )),
            ..Default::default()
        };
        assert_eq!(
            tool_capabilities(&spec.name, Some(&spec)).names(),
            ["external_sink", "financial"]
        );
    }
}
