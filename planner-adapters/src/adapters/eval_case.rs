//! Eval cases (DESIGN.md contract): one labelled situation per JSON object,
//! one object per line in a JSONL file (datagen output, `guard eval`,
//! `preflight check --cases`).
//!
//! ```json
//! {"id": "...", "label": "benign"|"malicious", "category"?: "<risk code>",
//!  "difficulty"?: "...", "tools": [OpenAI function defs],
//!  "messages": [OpenAI chat messages so far],
//!  "proposed": <OpenAI assistant message with tool_calls>}
//! ```
//!
//! `messages` and `tools` are read by the OpenAI chat adapter's readers, so a
//! case means exactly what the same request would mean at the gateway. Every
//! call in `messages` is history (executed); the calls of `proposed` are the
//! steps to judge, located at `/proposed/tool_calls/N`. `label` and
//! `category` are checked against the two labels and the nine taxonomy codes,
//! because a typo there would silently skew every metric computed from the
//! file. Unknown extra fields are ignored.
//!
//! [`read_jsonl`] reads a whole file and reports each bad line with its
//! 1-based number while still reading the good ones.

use std::collections::HashMap;

use serde_json::Value;
use thiserror::Error;

use crate::adapters::openai_chat;
use crate::decision::Outcomes;
use crate::error::{AdapterError, Result};
use crate::format::Format;
use crate::json;
use crate::plan::Plan;

/// The two labels a case may carry.
pub const LABELS: [&str; 2] = ["benign", "malicious"];

/// The risk taxonomy codes (DESIGN.md), the only valid `category` values.
pub const CATEGORIES: [&str; 9] = [
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

/// One eval case: its id, label, category and the plan it describes.
#[derive(Debug, Clone)]
pub struct Case {
    /// The case id.
    pub id: String,
    /// `benign` or `malicious` (checked against [`LABELS`]); `None` when the
    /// case is unlabelled.
    pub label: Option<String>,
    /// Risk code from the taxonomy (checked against [`CATEGORIES`]).
    pub category: Option<String>,
    /// Free-form difficulty tag (`easy`, `hard`, ...), if given.
    pub difficulty: Option<String>,
    /// The plan: history from `messages`, proposed steps from `proposed`.
    pub plan: Plan,
}

impl Case {
    /// True when the case is labelled malicious.
    pub fn is_malicious(&self) -> bool {
        self.label.as_deref() == Some("malicious")
    }
}

/// A bad line of a JSONL file: its 1-based line number and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("line {line}: {error}")]
pub struct LineError {
    /// 1-based line number in the file.
    pub line: usize,
    /// The error within that line's document (pointers are relative to it).
    pub error: AdapterError,
}

/// Reads one case.
pub fn read(doc: &Value) -> Result<Case> {
    let obj = json::object(doc, "")?;
    let id = json::str_field(obj, "", "id")?;
    let label = checked(json::opt_str(obj, "", "label")?, &LABELS, "/label", "label")?;
    let category = checked(
        json::opt_str(obj, "", "category")?,
        &CATEGORIES,
        "/category",
        "risk code",
    )?;
    let difficulty = json::opt_str(obj, "", "difficulty")?;

    let mut plan = Plan::new(Format::EvalCase);
    if let Some(tools) = obj.get("tools") {
        openai_chat::read_tools(&mut plan, tools, "/tools")?;
    }
    openai_chat::read_messages(&mut plan, json::field(obj, "", "messages")?, "/messages")?;
    // A case is a snapshot before `proposed` runs: whatever the history
    // holds already happened, answered or not.
    for index in 0..plan.steps.len() {
        plan.mark_executed(index);
    }
    let proposed = json::field(obj, "", "proposed")?;
    let proposed_obj = json::object(proposed, "/proposed")?;
    match json::opt_str(proposed_obj, "/proposed", "role")? {
        None | Some("assistant") => {}
        Some(other) => {
            return Err(AdapterError::shape(
                "/proposed/role",
                format!("expected an assistant message, found role `{other}`"),
            ));
        }
    }
    openai_chat::read_proposed_message(&mut plan, proposed, "/proposed")?;
    Ok(Case {
        id: id.to_owned(),
        label: label.map(str::to_owned),
        category: category.map(str::to_owned),
        difficulty: difficulty.map(str::to_owned),
        plan,
    })
}

fn checked<'a>(
    value: Option<&'a str>,
    allowed: &[&str],
    path: &str,
    what: &str,
) -> Result<Option<&'a str>> {
    match value {
        Some(v) if !allowed.contains(&v) => Err(AdapterError::shape(
            path,
            format!(
                "`{v}` is not a known {what} (expected one of: {})",
                allowed.join(", ")
            ),
        )),
        other => Ok(other),
    }
}

/// Reads a JSONL file: one result per non-blank line, in file order. A line
/// that is not JSON, not a case, or repeats an earlier case's id is an
/// error carrying its line number; the other lines are still read.
pub fn read_jsonl(text: &str) -> Vec<Result<Case, LineError>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let case = serde_json::from_str::<Value>(line)
            .map_err(|e| AdapterError::syntax(&e))
            .and_then(|doc| read(&doc))
            .and_then(|case| match seen.get(&case.id) {
                Some(first) => Err(AdapterError::shape(
                    "/id",
                    format!("duplicate case id `{}` (first at line {first})", case.id),
                )),
                None => {
                    seen.insert(case.id.clone(), line_no);
                    Ok(case)
                }
            });
        out.push(case.map_err(|error| LineError {
            line: line_no,
            error,
        }));
    }
    out
}

/// Writes outcomes back into `/proposed`, as the chat adapter does for a
/// response message: withheld calls removed with the explanation appended
/// to its content, rewritten calls given new `arguments`.
pub fn render(doc: &mut Value, plan: &Plan, outcomes: &Outcomes) -> Result<()> {
    openai_chat::render(doc, plan, outcomes)
}
