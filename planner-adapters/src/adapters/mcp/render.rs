//! Writing decisions back into MCP traffic: rewritten arguments in place,
//! and a withheld `tools/call` turned into the response its client receives.

use serde_json::{Value, json};

use super::call_at;
use crate::decision::{Outcomes, Verdict, explanation};
use crate::error::{AdapterError, Result};
use crate::json::child;
use crate::plan::Plan;

/// Writes outcomes into the document the plan was read from.
///
/// `rewrite` replaces the call's `params.arguments` (a rewrite without an
/// arguments object is an error, the document left as it was). A withheld
/// call (`block`, `require_approval`) is replaced, at the same place, by the
/// response the client receives instead ([`blocked_call_response`] with the
/// [`explanation`]); for a single-message document the whole document
/// becomes that response, which the gateway answers with rather than
/// forwarding the call.
pub fn render(doc: &mut Value, plan: &Plan, outcomes: &Outcomes) -> Result<()> {
    crate::adapters::anthropic::check_rewrites(plan, outcomes)?;
    for step in plan.proposed() {
        let Some(outcome) = outcomes.get(&step.id) else {
            continue;
        };
        let pointer = step.locator.pointer.as_str();
        let msg = doc.pointer_mut(pointer).ok_or_else(|| {
            AdapterError::shape(pointer, "no JSON-RPC message here to render into")
        })?;
        let (_, name, _) = call_at(msg, pointer)?;
        if name != step.tool {
            return Err(AdapterError::shape(
                child(&child(pointer, "params"), "name"),
                format!(
                    "the plan calls `{}` here but the document calls `{name}`",
                    step.tool
                ),
            ));
        }
        match (outcome.verdict, &outcome.rewrite) {
            (Verdict::Allow, _) => {}
            (Verdict::Rewrite, Some(args)) => {
                if let Some(params) = msg.get_mut("params").and_then(Value::as_object_mut) {
                    params.insert("arguments".into(), args.clone());
                }
            }
            _ => {
                let id = msg.get("id").cloned().unwrap_or(Value::Null);
                let text = explanation(&step.tool, &step.id, outcome);
                *msg = blocked_call_response(&id, &text);
            }
        }
    }
    Ok(())
}

/// The response a client receives for a blocked `tools/call`: a tool result
/// with `isError: true`, which MCP clients hand to the model (so it can
/// re-plan) rather than treating as a protocol failure.
pub fn blocked_call_response(id: &Value, text: &str) -> Value {
    json!({
        "jsonrpc": "2.0",
        "id": id,
        "result": {"content": [{"type": "text", "text": text}], "isError": true}
    })
}
