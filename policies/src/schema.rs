//! A small JSON Schema validator for the subset Preflight uses: tool input
//! schemas (to check that a rewrite still fits its tool) and the policy input
//! contract (`policies/schema/policy-input.schema.json`).
//!
//! Why not the `jsonschema` crate: it pulls in a regex engine with
//! backtracking, an HTTP resolver and several dozen crates, for keywords we do
//! not use. Supported here: `type` (one or a list), `properties`, `required`,
//! `additionalProperties` (bool or schema), `items`, `enum`, `const`,
//! `minimum`, `maximum`, `minLength`, `maxLength`, `minItems`, `maxItems`,
//! `anyOf`, and local `$ref` (`#/$defs/x`, `#/definitions/x`). Other keywords
//! are ignored, which only ever makes validation more permissive — so a tool
//! schema using them is checked on what we understand, never rejected for it.

use serde_json::Value;

/// The first violation found: a JSON pointer into the instance and the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// JSON pointer (RFC 6901) to the offending value, `""` for the root.
    pub pointer: String,
    /// What the schema wanted.
    pub reason: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let at = if self.pointer.is_empty() {
            "(root)"
        } else {
            &self.pointer
        };
        write!(f, "{at}: {}", self.reason)
    }
}

/// Checks `instance` against `schema`; `Ok(())` when it conforms.
pub fn validate(schema: &Value, instance: &Value) -> Result<(), Violation> {
    check(schema, schema, instance, &mut String::new(), 0)
}

/// Deep `$ref` chains or self-referencing schemas stop here instead of
/// overflowing the stack.
const MAX_DEPTH: usize = 64;

fn fail(pointer: &str, reason: impl Into<String>) -> Result<(), Violation> {
    Err(Violation {
        pointer: pointer.to_owned(),
        reason: reason.into(),
    })
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn type_matches(want: &str, v: &Value) -> bool {
    let have = type_name(v);
    have == want
        || (want == "number" && have == "integer")
        || (want == "integer" && v.as_f64().is_some_and(|f| f.fract() == 0.0))
}

fn resolve<'a>(root: &'a Value, reference: &str) -> Option<&'a Value> {
    root.pointer(reference.strip_prefix('#')?)
}

fn check(
    root: &Value,
    schema: &Value,
    v: &Value,
    ptr: &mut String,
    depth: usize,
) -> Result<(), Violation> {
    if depth > MAX_DEPTH {
        return fail(ptr, "schema nests too deeply (a $ref cycle?)");
    }
    let Some(s) = schema.as_object() else {
        // `true` accepts anything, `false` nothing.
        return match schema {
            Value::Bool(false) => fail(ptr, "no value is allowed here"),
            _ => Ok(()),
        };
    };
    if let Some(r) = s.get("$ref").and_then(Value::as_str) {
        let Some(target) = resolve(root, r) else {
            return fail(ptr, format!("schema $ref `{r}` does not resolve"));
        };
        check(root, target, v, ptr, depth + 1)?;
    }
    match s.get("type") {
        Some(Value::String(t)) if !type_matches(t, v) => {
            return fail(ptr, format!("expected {t}, found {}", type_name(v)));
        }
        Some(Value::Array(ts))
            if !ts
                .iter()
                .filter_map(Value::as_str)
                .any(|t| type_matches(t, v)) =>
        {
            let names: Vec<_> = ts.iter().filter_map(Value::as_str).collect();
            return fail(
                ptr,
                format!("expected {}, found {}", names.join(" or "), type_name(v)),
            );
        }
        _ => {}
    }
    if let Some(options) = s.get("enum").and_then(Value::as_array)
        && !options.contains(v)
    {
        return fail(
            ptr,
            format!("{v} is not one of {}", Value::Array(options.clone())),
        );
    }
    if let Some(c) = s.get("const")
        && c != v
    {
        return fail(ptr, format!("expected {c}"));
    }
    if let Some(any) = s.get("anyOf").and_then(Value::as_array)
        && !any
            .iter()
            .any(|alt| check(root, alt, v, &mut ptr.clone(), depth + 1).is_ok())
    {
        return fail(ptr, "matches none of the anyOf alternatives");
    }
    if let Some(n) = v.as_f64() {
        if let Some(min) = s.get("minimum").and_then(Value::as_f64)
            && n < min
        {
            return fail(ptr, format!("{n} is below the minimum {min}"));
        }
        if let Some(max) = s.get("maximum").and_then(Value::as_f64)
            && n > max
        {
            return fail(ptr, format!("{n} is above the maximum {max}"));
        }
    }
    if let Some(text) = v.as_str() {
        let len = text.chars().count() as u64;
        if let Some(min) = s.get("minLength").and_then(Value::as_u64)
            && len < min
        {
            return fail(ptr, format!("shorter than {min} characters"));
        }
        if let Some(max) = s.get("maxLength").and_then(Value::as_u64)
            && len > max
        {
            return fail(ptr, format!("longer than {max} characters"));
        }
    }
    if let Some(items) = v.as_array() {
        if let Some(min) = s.get("minItems").and_then(Value::as_u64)
            && (items.len() as u64) < min
        {
            return fail(ptr, format!("fewer than {min} items"));
        }
        if let Some(max) = s.get("maxItems").and_then(Value::as_u64)
            && (items.len() as u64) > max
        {
            return fail(ptr, format!("more than {max} items"));
        }
        if let Some(item_schema) = s.get("items") {
            for (i, item) in items.iter().enumerate() {
                with_child(ptr, &i.to_string(), |p| {
                    check(root, item_schema, item, p, depth + 1)
                })?;
            }
        }
    }
    if let Some(obj) = v.as_object() {
        if let Some(required) = s.get("required").and_then(Value::as_array) {
            for key in required.iter().filter_map(Value::as_str) {
                if !obj.contains_key(key) {
                    let mut at = ptr.clone();
                    push_token(&mut at, key);
                    return fail(&at, "missing required field");
                }
            }
        }
        let props = s.get("properties").and_then(Value::as_object);
        for (key, value) in obj {
            match props.and_then(|p| p.get(key)) {
                Some(prop_schema) => {
                    with_child(ptr, key, |p| check(root, prop_schema, value, p, depth + 1))?;
                }
                None => match s.get("additionalProperties") {
                    Some(Value::Bool(false)) => {
                        let mut at = ptr.clone();
                        push_token(&mut at, key);
                        return fail(&at, "unknown field (not in the schema)");
                    }
                    Some(extra) => {
                        with_child(ptr, key, |p| check(root, extra, value, p, depth + 1))?;
                    }
                    None => {}
                },
            }
        }
    }
    Ok(())
}

fn push_token(ptr: &mut String, key: &str) {
    ptr.push('/');
    ptr.push_str(&key.replace('~', "~0").replace('/', "~1"));
}

fn with_child<T>(ptr: &mut String, key: &str, f: impl FnOnce(&mut String) -> T) -> T {
    let len = ptr.len();
    push_token(ptr, key);
    let out = f(ptr);
    ptr.truncate(len);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn email_schema() -> Value {
        json!({"type": "object", "required": ["to"], "additionalProperties": false,
               "properties": {"to": {"type": "string", "minLength": 3},
                              "cc": {"type": "array", "items": {"type": "string"}},
                              "priority": {"enum": ["low", "high"]}}})
    }

    #[test]
    fn accepts_a_conforming_instance() {
        let ok = json!({"to": "ana@example.com", "cc": ["b@example.com"], "priority": "low"});
        assert_eq!(validate(&email_schema(), &ok), Ok(()));
    }

    #[test]
    fn names_the_pointer_of_a_wrong_type_inside_an_array() {
        let bad = json!({"to": "ana@example.com", "cc": ["b@example.com", 7]});
        let v = validate(&email_schema(), &bad).unwrap_err();
        assert_eq!(v.pointer, "/cc/1");
        assert!(v.reason.contains("expected string"), "{v}");
    }

    #[test]
    fn rejects_missing_required_and_unknown_fields() {
        assert_eq!(
            validate(&email_schema(), &json!({})).unwrap_err().pointer,
            "/to"
        );
        let extra = json!({"to": "ana@example.com", "bcc": "x"});
        assert_eq!(
            validate(&email_schema(), &extra).unwrap_err().pointer,
            "/bcc"
        );
    }

    #[test]
    fn follows_local_refs_and_type_lists() {
        let schema = json!({"$defs": {"id": {"type": ["string", "null"]}},
                            "type": "object", "properties": {"id": {"$ref": "#/$defs/id"}}});
        assert_eq!(validate(&schema, &json!({"id": null})), Ok(()));
        assert_eq!(
            validate(&schema, &json!({"id": 3})).unwrap_err().pointer,
            "/id"
        );
    }

    #[test]
    fn a_ref_cycle_is_an_error_not_a_stack_overflow() {
        let schema = json!({"$defs": {"a": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"});
        assert!(validate(&schema, &json!(1)).is_err());
    }

    #[test]
    fn integers_satisfy_number_and_whole_floats_satisfy_integer() {
        assert_eq!(validate(&json!({"type": "number"}), &json!(3)), Ok(()));
        assert_eq!(validate(&json!({"type": "integer"}), &json!(3.0)), Ok(()));
        assert!(validate(&json!({"type": "integer"}), &json!(3.5)).is_err());
    }
}
