//! `regex.match` for the bundle, with compiled patterns kept across
//! evaluations.
//!
//! regorus' builtin caches compiled patterns but hands out a *clone* of the
//! `Regex` on every call, and a clone starts with empty matching caches: each
//! call rebuilds its lazy DFA states (about 90 000 instructions a call on the
//! 20-step benchmark, 40 % of an evaluation whose rules run). This extension
//! shadows the builtin (regorus looks up extensions before builtins) and
//! matches with one shared `Regex` per pattern, whose per-thread caches stay
//! warm.
//!
//! Semantics are the builtin's: the same size limit; a non-string argument
//! or an invalid pattern makes the call undefined (regorus' non-strict
//! builtin errors); a pattern over the size limit is an error, which fails
//! the decision closed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use regex::{Regex, RegexBuilder};

/// regorus' `REGEX_SIZE_LIMIT`: patterns whose compiled form is larger are
/// refused, bounding compile and match cost.
const SIZE_LIMIT: usize = 100 * 1024;

/// Patterns kept at most (patterns built with `sprintf` vary per input);
/// past it the cache starts over.
const MAX_PATTERNS: usize = 1024;

/// The compiled patterns, shared by every clone of the engine.
#[derive(Debug, Default)]
struct Cache {
    patterns: Mutex<HashMap<String, Option<Arc<Regex>>>>,
}

impl Cache {
    /// The compiled pattern (`Ok(None)`: invalid, the call is undefined).
    fn get(&self, pattern: &str) -> anyhow::Result<Option<Arc<Regex>>> {
        let mut map = self
            .patterns
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(re) = map.get(pattern) {
            return Ok(re.clone());
        }
        let re = match RegexBuilder::new(pattern).size_limit(SIZE_LIMIT).build() {
            Ok(re) => Some(Arc::new(re)),
            Err(regex::Error::CompiledTooBig(limit)) => {
                anyhow::bail!("regex.match: pattern exceeds the size limit of {limit} bytes")
            }
            Err(_) => None,
        };
        if map.len() >= MAX_PATTERNS {
            map.clear();
        }
        map.insert(pattern.to_owned(), re.clone());
        Ok(re)
    }
}

/// Registers the `regex.match` extension on `engine`.
pub(crate) fn install(engine: &mut regorus::Engine) -> anyhow::Result<()> {
    let cache = Arc::new(Cache::default());
    engine.add_extension(
        "regex.match".to_owned(),
        2,
        Box::new(move |args: Vec<regorus::Value>| {
            let (Some(regorus::Value::String(pattern)), Some(regorus::Value::String(text))) =
                (args.first(), args.get(1))
            else {
                return Ok(regorus::Value::Undefined);
            };
            Ok(match cache.get(pattern)? {
                Some(re) => regorus::Value::Bool(re.is_match(text)),
                None => regorus::Value::Undefined,
            })
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(rego: &str) -> regorus::Value {
        let mut engine = regorus::Engine::new();
        install(&mut engine).expect("installs");
        engine
            .add_policy(
                "t.rego".into(),
                format!("package t\nimport rego.v1\n{rego}"),
            )
            .expect("parses");
        engine.eval_rule("data.t.x".into()).expect("evaluates")
    }

    #[test]
    fn matches_like_the_builtin() {
        assert_eq!(
            eval(r#"x := regex.match(`(?i)\bsudo\s`, "SUDO rm")"#),
            true.into()
        );
        assert_eq!(eval(r#"x := regex.match(`^a$`, "ab")"#), false.into());
    }

    #[test]
    fn a_bad_pattern_or_argument_is_undefined_not_an_error() {
        assert_eq!(
            eval(r#"x := regex.match(`(`, "a")"#),
            regorus::Value::Undefined
        );
        assert_eq!(
            eval(r#"x := regex.match(`a`, 3)"#),
            regorus::Value::Undefined
        );
        assert_eq!(
            eval("x := true if { not regex.match(`(`, \"a\") }"),
            true.into()
        );
    }

    #[test]
    fn a_pattern_over_the_size_limit_is_an_error() {
        let mut engine = regorus::Engine::new();
        install(&mut engine).expect("installs");
        engine
            .add_policy(
                "t.rego".into(),
                "package t\nx := regex.match(`\\w{1000}\\w{1000}\\w{1000}`, \"a\")".into(),
            )
            .expect("parses");
        assert!(engine.eval_rule("data.t.x".into()).is_err());
    }
}
