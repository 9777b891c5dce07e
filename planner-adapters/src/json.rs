//! Small typed accessors over `serde_json::Value` that fail with the JSON
//! pointer of the offending value, so every adapter reports errors the same way.

use serde_json::{Map, Value};

use crate::error::{AdapterError, Result};

/// Appends one reference token to a JSON pointer, escaping `~` and `/`.
pub fn child(path: &str, key: impl std::fmt::Display) -> String {
    use std::fmt::Write as _;
    // Adapters build a pointer for every message and part they read, so this
    // is one allocation: the key is written straight into the result and
    // escaped in place only when it holds `~` or `/` (almost never).
    let mut out = String::with_capacity(path.len() + 16);
    out.push_str(path);
    out.push('/');
    let at = out.len();
    let _ = write!(out, "{key}");
    if out[at..].contains(['~', '/']) {
        let key = out.split_off(at);
        out.push_str(&key.replace('~', "~0").replace('/', "~1"));
    }
    out
}

/// Human name of a JSON type, for error messages.
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// `v` as an object, else a shape error at `path`.
pub fn object<'a>(v: &'a Value, path: &str) -> Result<&'a Map<String, Value>> {
    v.as_object().ok_or_else(|| {
        AdapterError::shape(path, format!("expected an object, found {}", type_name(v)))
    })
}

/// `v` as an array, else a shape error at `path`.
pub fn array<'a>(v: &'a Value, path: &str) -> Result<&'a Vec<Value>> {
    v.as_array().ok_or_else(|| {
        AdapterError::shape(path, format!("expected an array, found {}", type_name(v)))
    })
}

/// Required field `key` of object `obj` at `path`.
pub fn field<'a>(obj: &'a Map<String, Value>, path: &str, key: &str) -> Result<&'a Value> {
    obj.get(key)
        .ok_or_else(|| AdapterError::shape(child(path, key), "missing required field"))
}

/// Required string field.
pub fn str_field<'a>(obj: &'a Map<String, Value>, path: &str, key: &str) -> Result<&'a str> {
    let v = field(obj, path, key)?;
    v.as_str().ok_or_else(|| {
        AdapterError::shape(
            child(path, key),
            format!("expected a string, found {}", type_name(v)),
        )
    })
}

/// Optional string field: absent or null is `None`, another type is an error.
pub fn opt_str<'a>(obj: &'a Map<String, Value>, path: &str, key: &str) -> Result<Option<&'a str>> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(v) => Err(AdapterError::shape(
            child(path, key),
            format!("expected a string, found {}", type_name(v)),
        )),
    }
}

/// Optional array field: absent or null is an empty slice.
pub fn opt_array<'a>(obj: &'a Map<String, Value>, path: &str, key: &str) -> Result<&'a [Value]> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(a)) => Ok(a),
        Some(v) => Err(AdapterError::shape(
            child(path, key),
            format!("expected an array, found {}", type_name(v)),
        )),
    }
}

/// Parses bytes as JSON with a located syntax error.
pub fn parse_bytes(bytes: &[u8]) -> Result<Value> {
    serde_json::from_slice(bytes).map_err(|e| AdapterError::syntax(&e))
}

/// Text of a JSON value that carries content: a string as is, an array of
/// content parts joined by newlines (their `text` fields, or nested
/// `content`), anything else as compact JSON. Used for tool results, whose
/// shape differs across providers.
pub fn content_text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(parts) => {
            let mut out = String::new();
            for part in parts {
                let text = match part {
                    Value::Object(o) => match (o.get("text"), o.get("content")) {
                        (Some(Value::String(t)), _) => t.clone(),
                        (_, Some(c)) => content_text(c),
                        _ => part.to_string(),
                    },
                    other => content_text(other),
                };
                if !text.is_empty() {
                    if !out.is_empty() {
                        out.push('\n');
                    }
                    out.push_str(&text);
                }
            }
            out
        }
        other => other.to_string(),
    }
}
