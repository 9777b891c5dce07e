//! ReAct text (work in progress).

use crate::error::{AdapterError, Result};
use crate::plan::Plan;

/// Reads ReAct text.
pub fn read(_text: &str) -> Result<Plan> {
    Err(AdapterError::UnknownFormat("react: not implemented yet".into()))
}
