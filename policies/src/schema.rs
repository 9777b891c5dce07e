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
    Compiled::new(schema).validate(instance)
}

/// Deep `$ref` chains or self-referencing schemas stop here instead of
/// overflowing the stack.
const MAX_DEPTH: usize = 64;

/// A schema read once into a graph of nodes, `$ref`s resolved, so that
/// validating an instance does no keyword lookups and no allocation until a
/// violation is found (the policy input is validated on every evaluation).
#[derive(Debug, Clone)]
pub struct Compiled {
    nodes: Vec<Node>,
}

#[derive(Debug, Clone)]
enum Node {
    /// `true` (or anything that is not an object): accepts everything.
    True,
    /// `false`: accepts nothing.
    False,
    Object(Box<Keywords>),
}

#[derive(Debug, Clone)]
enum Ref {
    To(usize),
    Broken(String),
}

#[derive(Debug, Clone)]
enum Additional {
    Absent,
    Forbidden,
    Schema(usize),
}

#[derive(Debug, Clone)]
struct Keywords {
    reference: Option<Ref>,
    /// `type` as a string (one name) ...
    type_one: Option<String>,
    /// ... or as a list (its string entries).
    type_any: Option<Vec<String>>,
    enumeration: Option<Vec<Value>>,
    constant: Option<Value>,
    any_of: Option<Vec<usize>>,
    minimum: Option<f64>,
    maximum: Option<f64>,
    min_length: Option<u64>,
    max_length: Option<u64>,
    min_items: Option<u64>,
    max_items: Option<u64>,
    items: Option<usize>,
    required: Vec<String>,
    properties: Vec<(String, usize)>,
    additional: Additional,
}

impl Compiled {
    /// Reads `schema` (local `$ref`s resolve against it).
    pub fn new(schema: &Value) -> Self {
        let mut c = Compiled { nodes: Vec::new() };
        let mut seen = std::collections::HashMap::new();
        c.node(schema, schema, &mut seen);
        c
    }

    fn node(
        &mut self,
        root: &Value,
        schema: &Value,
        seen: &mut std::collections::HashMap<*const Value, usize>,
    ) -> usize {
        if let Some(&id) = seen.get(&std::ptr::from_ref(schema)) {
            return id;
        }
        let id = self.nodes.len();
        self.nodes.push(Node::True);
        seen.insert(std::ptr::from_ref(schema), id);
        let Some(s) = schema.as_object() else {
            if let Value::Bool(false) = schema {
                self.nodes[id] = Node::False;
            }
            return id;
        };
        let mut sub = |c: &mut Self, v: &Value| c.node(root, v, seen);
        let reference = s
            .get("$ref")
            .and_then(Value::as_str)
            .map(|r| match resolve(root, r) {
                Some(target) => Ref::To(sub(self, target)),
                None => Ref::Broken(r.to_owned()),
            });
        let any_of = s
            .get("anyOf")
            .and_then(Value::as_array)
            .map(|alts| alts.iter().map(|a| sub(self, a)).collect());
        let items = s.get("items").map(|i| sub(self, i));
        let properties = s
            .get("properties")
            .and_then(Value::as_object)
            .map(|props| {
                props
                    .iter()
                    .map(|(k, v)| (k.clone(), sub(self, v)))
                    .collect()
            })
            .unwrap_or_default();
        let additional = match s.get("additionalProperties") {
            None => Additional::Absent,
            Some(Value::Bool(false)) => Additional::Forbidden,
            Some(extra) => Additional::Schema(sub(self, extra)),
        };
        let keywords = Keywords {
            reference,
            type_one: s.get("type").and_then(Value::as_str).map(str::to_owned),
            type_any: s.get("type").and_then(Value::as_array).map(|ts| {
                ts.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            }),
            enumeration: s.get("enum").and_then(Value::as_array).cloned(),
            constant: s.get("const").cloned(),
            any_of,
            minimum: s.get("minimum").and_then(Value::as_f64),
            maximum: s.get("maximum").and_then(Value::as_f64),
            min_length: s.get("minLength").and_then(Value::as_u64),
            max_length: s.get("maxLength").and_then(Value::as_u64),
            min_items: s.get("minItems").and_then(Value::as_u64),
            max_items: s.get("maxItems").and_then(Value::as_u64),
            items,
            required: s
                .get("required")
                .and_then(Value::as_array)
                .map(|r| {
                    r.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
            properties,
            additional,
        };
        self.nodes[id] = Node::Object(Box::new(keywords));
        id
    }

    /// Checks `instance`; `Ok(())` when it conforms, else the first violation.
    pub fn validate(&self, instance: &Value) -> Result<(), Violation> {
        if self.nodes.is_empty() {
            return Ok(());
        }
        self.check(0, instance, &Path::Root, 0)
    }

    fn check(&self, node: usize, v: &Value, at: &Path<'_>, depth: usize) -> Result<(), Violation> {
        if depth > MAX_DEPTH {
            return at.fail("schema nests too deeply (a $ref cycle?)");
        }
        let s = match &self.nodes[node] {
            Node::True => return Ok(()),
            Node::False => return at.fail("no value is allowed here"),
            Node::Object(k) => k,
        };
        match &s.reference {
            Some(Ref::To(target)) => self.check(*target, v, at, depth + 1)?,
            Some(Ref::Broken(r)) => {
                return at.fail(format!("schema $ref `{r}` does not resolve"));
            }
            None => {}
        }
        if let Some(t) = &s.type_one
            && !type_matches(t, v)
        {
            return at.fail(format!("expected {t}, found {}", type_name(v)));
        }
        if let Some(ts) = &s.type_any
            && !ts.iter().any(|t| type_matches(t, v))
        {
            return at.fail(format!(
                "expected {}, found {}",
                ts.join(" or "),
                type_name(v)
            ));
        }
        if let Some(options) = &s.enumeration
            && !options.contains(v)
        {
            return at.fail(format!(
                "{v} is not one of {}",
                Value::Array(options.clone())
            ));
        }
        if let Some(c) = &s.constant
            && c != v
        {
            return at.fail(format!("expected {c}"));
        }
        if let Some(any) = &s.any_of
            && !any
                .iter()
                .any(|alt| self.check(*alt, v, at, depth + 1).is_ok())
        {
            return at.fail("matches none of the anyOf alternatives");
        }
        match v {
            Value::Number(_) => {
                let n = v.as_f64().unwrap_or(f64::NAN);
                if let Some(min) = s.minimum
                    && n < min
                {
                    return at.fail(format!("{n} is below the minimum {min}"));
                }
                if let Some(max) = s.maximum
                    && n > max
                {
                    return at.fail(format!("{n} is above the maximum {max}"));
                }
            }
            Value::String(text) => {
                // Counting characters walks the string: only when a bound asks.
                let len = || text.chars().count() as u64;
                if let Some(min) = s.min_length
                    && len() < min
                {
                    return at.fail(format!("shorter than {min} characters"));
                }
                if let Some(max) = s.max_length
                    && len() > max
                {
                    return at.fail(format!("longer than {max} characters"));
                }
            }
            Value::Array(items) => {
                if let Some(min) = s.min_items
                    && (items.len() as u64) < min
                {
                    return at.fail(format!("fewer than {min} items"));
                }
                if let Some(max) = s.max_items
                    && (items.len() as u64) > max
                {
                    return at.fail(format!("more than {max} items"));
                }
                if let Some(item_schema) = s.items {
                    for (i, item) in items.iter().enumerate() {
                        self.check(item_schema, item, &Path::Index(at, i), depth + 1)?;
                    }
                }
            }
            Value::Object(obj) => {
                for key in &s.required {
                    if !obj.contains_key(key) {
                        return Path::Key(at, key).fail("missing required field");
                    }
                }
                for (key, value) in obj {
                    let prop = s
                        .properties
                        .iter()
                        .find_map(|(k, id)| (k == key).then_some(*id));
                    let next = match (prop, &s.additional) {
                        (Some(id), _) => id,
                        (None, Additional::Schema(id)) => *id,
                        (None, Additional::Forbidden) => {
                            return Path::Key(at, key).fail("unknown field (not in the schema)");
                        }
                        (None, Additional::Absent) => continue,
                    };
                    self.check(next, value, &Path::Key(at, key), depth + 1)?;
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// Where the validator is in the instance, rendered as a JSON pointer only
/// when a violation is reported.
enum Path<'a> {
    Root,
    Key(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
}

impl Path<'_> {
    fn render(&self, out: &mut String) {
        match self {
            Path::Root => {}
            Path::Key(parent, key) => {
                parent.render(out);
                push_token(out, key);
            }
            Path::Index(parent, i) => {
                parent.render(out);
                push_token(out, &i.to_string());
            }
        }
    }

    fn fail(&self, reason: impl Into<String>) -> Result<(), Violation> {
        let mut pointer = String::new();
        self.render(&mut pointer);
        Err(Violation {
            pointer,
            reason: reason.into(),
        })
    }
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

fn push_token(ptr: &mut String, key: &str) {
    ptr.push('/');
    ptr.push_str(&key.replace('~', "~0").replace('/', "~1"));
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
