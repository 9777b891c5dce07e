//! A minimal JSON diff for rewritten arguments: JSON-pointer operations
//! (`add`, `remove`, `replace`) that turn the proposed arguments into the
//! rewritten ones. Objects are compared key by key; arrays and scalars that
//! differ are replaced whole, which keeps the diff short and unambiguous.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiffOp {
    /// `add`, `remove` or `replace`.
    pub op: DiffKind,
    /// JSON pointer to the changed value.
    pub path: String,
    /// The value before (remove, replace).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old: Option<Value>,
    /// The value after (add, replace).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new: Option<Value>,
}

/// The kind of a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DiffKind {
    /// A key that only the new value has.
    Add,
    /// A key that only the old value has.
    Remove,
    /// A value that changed.
    Replace,
}

/// The operations that turn `old` into `new` (empty when equal).
pub fn diff(old: &Value, new: &Value) -> Vec<DiffOp> {
    let mut ops = Vec::new();
    walk(old, new, &mut String::new(), &mut ops);
    ops
}

fn walk(old: &Value, new: &Value, path: &mut String, ops: &mut Vec<DiffOp>) {
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            for (key, va) in a {
                let len = path.len();
                push_token(path, key);
                match b.get(key) {
                    Some(vb) => walk(va, vb, path, ops),
                    None => ops.push(DiffOp {
                        op: DiffKind::Remove,
                        path: path.clone(),
                        old: Some(va.clone()),
                        new: None,
                    }),
                }
                path.truncate(len);
            }
            for (key, vb) in b {
                if !a.contains_key(key) {
                    let len = path.len();
                    push_token(path, key);
                    ops.push(DiffOp {
                        op: DiffKind::Add,
                        path: path.clone(),
                        old: None,
                        new: Some(vb.clone()),
                    });
                    path.truncate(len);
                }
            }
        }
        (a, b) if a == b => {}
        (a, b) => ops.push(DiffOp {
            op: DiffKind::Replace,
            path: path.clone(),
            old: Some(a.clone()),
            new: Some(b.clone()),
        }),
    }
}

/// Appends `/key` with RFC 6901 escaping (`~` -> `~0`, `/` -> `~1`).
fn push_token(path: &mut String, key: &str) {
    path.push('/');
    for c in key.chars() {
        match c {
            '~' => path.push_str("~0"),
            '/' => path.push_str("~1"),
            c => path.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn diff_names_each_changed_key_by_pointer() {
        let old = json!({"to": "x@evil.com", "body": "hi", "cc": ["a"], "a/b": 1});
        let new = json!({"to": "me@corp.com", "body": "hi", "bcc": true, "a/b": 2});
        let ops = diff(&old, &new);
        let got: Vec<(DiffKind, &str)> = ops.iter().map(|o| (o.op, o.path.as_str())).collect();
        assert_eq!(
            got,
            vec![
                (DiffKind::Replace, "/to"),
                (DiffKind::Remove, "/cc"),
                (DiffKind::Replace, "/a~1b"),
                (DiffKind::Add, "/bcc")
            ]
        );
        assert_eq!(ops[0].old, Some(json!("x@evil.com")));
        assert_eq!(ops[0].new, Some(json!("me@corp.com")));
        assert!(diff(&old, &old).is_empty());
    }
}
