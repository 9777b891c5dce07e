//! MCP tool definitions: reading `tools/list` results into tool specs, and
//! the canonical form of a definition that the gateway hashes to pin it.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::error::{AdapterError, Result};
use crate::json::{child, field, object, opt_str, str_field, type_name};
use crate::plan::{ToolAnnotations, ToolSpec};

/// The tools of a `tools/list` result at `path` (errors point below it).
pub fn tool_specs_from_list_result(result: &Value, path: &str) -> Result<Vec<ToolSpec>> {
    let r = object(result, path)?;
    let tools_path = child(path, "tools");
    let tools = crate::json::array(field(r, path, "tools")?, &tools_path)?;
    tools
        .iter()
        .enumerate()
        .map(|(i, tool)| tool_spec(tool, &child(&tools_path, i)))
        .collect()
}

/// Canonical JSON of one tool definition for pinning: object keys sorted at
/// every depth, no whitespace. Two definitions that differ only in key order
/// or formatting give the same bytes; any change of name, description,
/// schema or annotations gives different bytes. Hash these (sha-256) to pin.
pub fn tool_definition_canonical(tool: &Value) -> String {
    canonical_json(tool).to_string()
}

/// `v` with every object's keys in sorted order (serialization keeps
/// insertion order, so sorted insertion gives sorted output).
pub fn canonical_json(v: &Value) -> Value {
    match v {
        Value::Object(o) => {
            let sorted: BTreeMap<&String, &Value> = o.iter().collect();
            Value::Object(
                sorted
                    .into_iter()
                    .map(|(k, v)| (k.clone(), canonical_json(v)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(canonical_json).collect()),
        other => other.clone(),
    }
}

/// A `tools/list` tool definition.
fn tool_spec(tool: &Value, path: &str) -> Result<ToolSpec> {
    let t = object(tool, path)?;
    let input_schema = match t.get("inputSchema") {
        None | Some(Value::Null) => None,
        Some(s @ Value::Object(_)) => Some(s.clone()),
        Some(other) => {
            return Err(AdapterError::shape(
                child(path, "inputSchema"),
                format!("expected an object, found {}", type_name(other)),
            ));
        }
    };
    let annotations = match t.get("annotations") {
        None | Some(Value::Null) => None,
        Some(a @ Value::Object(_)) => Some(a),
        Some(other) => {
            return Err(AdapterError::shape(
                child(path, "annotations"),
                format!("expected an object, found {}", type_name(other)),
            ));
        }
    };
    let title = match opt_str(t, path, "title")? {
        Some(title) => Some(title),
        None => annotations
            .and_then(|a| a.get("title"))
            .and_then(Value::as_str),
    };
    let description = opt_str(t, path, "description")?.or(title);
    Ok(ToolSpec {
        name: str_field(t, path, "name")?.to_owned(),
        description: description.map(str::to_owned),
        input_schema: input_schema.map(std::sync::Arc::new),
        annotations: annotations
            .map(ToolAnnotations::from_mcp)
            .unwrap_or_default(),
    })
}
