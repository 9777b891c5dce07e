//! OpenAI chat stream (work in progress).

use crate::error::{AdapterError, Result};
use crate::plan::Plan;

/// Assembles a whole stream into a plan.
pub fn read(_bytes: &[u8]) -> Result<Plan> {
    Err(AdapterError::UnknownFormat("openai_chat_stream: not implemented yet".into()))
}
