//! LangChain messages (work in progress).

use serde_json::Value;

use crate::decision::Outcomes;
use crate::error::{AdapterError, Result};
use crate::plan::Plan;

/// Reads a document.
pub fn read(_doc: &Value) -> Result<Plan> {
    Err(AdapterError::UnknownFormat("langchain: not implemented yet".into()))
}

/// Writes outcomes back in place.
pub fn render(_doc: &mut Value, _plan: &Plan, _outcomes: &Outcomes) -> Result<()> {
    Err(AdapterError::UnknownFormat("langchain: not implemented yet".into()))
}
