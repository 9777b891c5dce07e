//! Eval-case JSONL (work in progress).

use serde_json::Value;

use crate::decision::Outcomes;
use crate::error::{AdapterError, Result};
use crate::plan::Plan;

/// One eval case: its id, label, category and the plan it describes.
#[derive(Debug, Clone)]
pub struct Case {
    /// The case id.
    pub id: String,
    /// `benign` or `malicious`.
    pub label: Option<String>,
    /// Risk code from the taxonomy.
    pub category: Option<String>,
    /// The plan.
    pub plan: Plan,
}

/// Reads one case.
pub fn read(_doc: &Value) -> Result<Case> {
    Err(AdapterError::UnknownFormat("eval-case: not implemented yet".into()))
}

/// Writes outcomes back in place.
pub fn render(_doc: &mut Value, _plan: &Plan, _outcomes: &Outcomes) -> Result<()> {
    Err(AdapterError::UnknownFormat("eval-case: not implemented yet".into()))
}
