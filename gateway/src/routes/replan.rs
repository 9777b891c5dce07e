//! `replan` mode: instead of answering the agent with a blocked call
//! stripped, show the model its blocked calls with a tool result that
//! explains each block, and ask again. Only blocked calls are replayed
//! (calls that were allowed are dropped from the replayed turn; the model
//! proposes them again if it still needs them), so every replayed call has
//! exactly the one result each provider requires.

use preflight_adapters::decision::explanation;
use preflight_adapters::{Format, Plan, Verdict};
use serde_json::{Value, json};

use crate::pipeline::Judgement;

/// Returns `request` extended with the blocked turn and its explanations.
pub fn extend(
    format: Format,
    mut request: Value,
    response: &Value,
    plan: &Plan,
    j: &Judgement,
) -> Result<Value, String> {
    let blocked: Vec<(&Value, String, String)> = plan
        .proposed()
        .filter_map(|step| {
            let outcome = j
                .outcomes
                .get(&step.id)
                .filter(|o| o.verdict == Verdict::Block)?;
            let call = response.pointer(&step.locator.pointer)?;
            Some((
                call,
                step.id.clone(),
                explanation(&step.tool, &step.id, outcome),
            ))
        })
        .collect();
    if blocked.is_empty() {
        return Err("replan: no blocked call could be located in the response".into());
    }
    let obj = request
        .as_object_mut()
        .ok_or_else(|| "replan: the request is not a JSON object".to_owned())?;
    match format {
        Format::OpenaiChat => {
            let content = response
                .pointer("/choices/0/message/content")
                .cloned()
                .unwrap_or(Value::Null);
            let calls: Vec<Value> = blocked.iter().map(|(c, _, _)| (*c).clone()).collect();
            let messages = messages(obj, "messages")?;
            messages.push(json!({"role": "assistant", "content": content, "tool_calls": calls}));
            for (call, id, text) in &blocked {
                let call_id = call.get("id").and_then(Value::as_str).unwrap_or(id);
                messages.push(json!({"role": "tool", "tool_call_id": call_id, "content": text}));
            }
        }
        Format::Anthropic => {
            let uses: Vec<Value> = blocked.iter().map(|(c, _, _)| (*c).clone()).collect();
            let results: Vec<Value> = blocked
                .iter()
                .map(|(call, id, text)| {
                    let use_id = call.get("id").and_then(Value::as_str).unwrap_or(id);
                    json!({"type": "tool_result", "tool_use_id": use_id, "content": text, "is_error": true})
                })
                .collect();
            let messages = messages(obj, "messages")?;
            messages.push(json!({"role": "assistant", "content": uses}));
            messages.push(json!({"role": "user", "content": results}));
        }
        Format::OpenaiResponses => {
            if let Some(Value::String(text)) = obj.get("input") {
                let text = text.clone();
                obj.insert("input".into(), json!([{"role": "user", "content": text}]));
            }
            let input = messages(obj, "input")?;
            for (call, id, text) in &blocked {
                input.push((*call).clone());
                let call_id = call.get("call_id").and_then(Value::as_str).unwrap_or(id);
                input.push(
                    json!({"type": "function_call_output", "call_id": call_id, "output": text}),
                );
            }
        }
        other => return Err(format!("replan is not supported for {other}")),
    }
    Ok(request)
}

fn messages<'a>(
    obj: &'a mut serde_json::Map<String, Value>,
    key: &str,
) -> Result<&'a mut Vec<Value>, String> {
    obj.entry(key)
        .or_insert_with(|| Value::Array(Vec::new()))
        .as_array_mut()
        .ok_or_else(|| format!("replan: request `/{key}` is not an array"))
}
