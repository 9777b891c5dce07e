//! Anthropic Messages (work in progress).

use serde_json::Value;

use crate::decision::Outcomes;
use crate::error::{AdapterError, Result};
use crate::plan::Plan;

/// Reads a document.
pub fn read(_doc: &Value) -> Result<Plan> {
    Err(AdapterError::UnknownFormat("anthropic: not implemented yet".into()))
}

/// Writes outcomes back in place.
pub fn render(_doc: &mut Value, _plan: &Plan, _outcomes: &Outcomes) -> Result<()> {
    Err(AdapterError::UnknownFormat("anthropic: not implemented yet".into()))
}

/// Reads a request/response exchange.
pub fn read_exchange(_request: &Value, _response: &Value) -> Result<Plan> {
    Err(AdapterError::UnknownFormat("anthropic: not implemented yet".into()))
}
