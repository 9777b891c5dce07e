//! JSON merge patches (RFC 7386): how rewrite rules say what to change in a
//! call's arguments, and how two rewrites of one step are combined.
//!
//! Two patches conflict when they set the same place to different values, or
//! one replaces an object the other edits inside. A conflict is never
//! resolved by picking one: the step is blocked (see `decision`).

use serde_json::{Map, Value};

/// Applies `patch` to `target` in place, as RFC 7386 section 2 defines:
/// `null` removes a member, an object patches recursively, anything else
/// replaces.
pub fn apply(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Value::Object(obj) = target {
        for (key, value) in patch {
            if value.is_null() {
                obj.remove(key);
            } else {
                apply(obj.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
    }
}

/// Combines two patches into one that has the effect of both, or returns the
/// JSON pointer where they disagree.
pub fn combine(a: &Value, b: &Value) -> Result<Value, String> {
    combine_at(a, b, "")
}

fn combine_at(a: &Value, b: &Value, at: &str) -> Result<Value, String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let mut out = x.clone();
            for (key, yv) in y {
                let here = format!("{at}/{}", key.replace('~', "~0").replace('/', "~1"));
                let merged = match x.get(key) {
                    Some(xv) => combine_at(xv, yv, &here)?,
                    None => yv.clone(),
                };
                out.insert(key.clone(), merged);
            }
            Ok(Value::Object(out))
        }
        _ if a == b => Ok(a.clone()),
        _ => Err(if at.is_empty() {
            "(root)".to_owned()
        } else {
            at.to_owned()
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn applies_the_rfc_7386_example() {
        let mut doc = json!({"title": "Goodbye!", "author": {"givenName": "John", "familyName": "Doe"},
                             "tags": ["example", "sample"], "content": "This will be unchanged"});
        let patch = json!({"title": "Hello!", "phoneNumber": "+01-123-456-7890",
                           "author": {"familyName": null}, "tags": ["example"]});
        apply(&mut doc, &patch);
        assert_eq!(
            doc,
            json!({"title": "Hello!", "author": {"givenName": "John"},
                               "tags": ["example"], "content": "This will be unchanged",
                               "phoneNumber": "+01-123-456-7890"})
        );
    }

    #[test]
    fn combines_disjoint_and_equal_patches() {
        let a = json!({"command": "git push --force-with-lease"});
        let b = json!({"opts": {"dry_run": true}, "command": "git push --force-with-lease"});
        assert_eq!(
            combine(&a, &b),
            Ok(json!({"command": "git push --force-with-lease", "opts": {"dry_run": true}}))
        );
    }

    #[test]
    fn reports_where_two_patches_disagree() {
        let a = json!({"opts": {"path": "/tmp/a"}});
        let b = json!({"opts": {"path": "/tmp/b"}});
        assert_eq!(combine(&a, &b), Err("/opts/path".to_owned()));
        assert_eq!(
            combine(&json!({"opts": null}), &json!({"opts": {"x": 1}})),
            Err("/opts".to_owned())
        );
    }
}
