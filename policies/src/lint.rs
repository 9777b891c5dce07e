//! Static checks that regorus does not make at load time, run on every
//! compile so that a broken bundle is refused before it serves:
//!
//! - **unknown functions**: regorus reports a call to an undefined function
//!   only when evaluation reaches it, so a typo in a rarely taken branch would
//!   fail only in production. Every call must name a builtin or a function
//!   defined in the bundle.
//! - **recursion**: Rego forbids it, but regorus 0.14 overflows the stack on a
//!   recursive function (an abort, not an error). Any cycle through rules and
//!   functions is refused.
//! - **unbounded builtins**: `numbers.range` allocates its whole result in one
//!   call, before the execution timer can look; its bounds must be literals
//!   spanning at most [`MAX_RANGE`] values.
//!
//! The checks walk regorus' AST (its `ast` feature, as JSON). Name
//! resolution is conservative: a local variable that shadows a rule name may
//! add a spurious edge, which can only make the recursion check stricter.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::error::Located;

/// Largest span allowed for a literal `numbers.range`.
pub const MAX_RANGE: f64 = 10_000.0;

struct Module<'a> {
    file: String,
    package: String,
    aliases: BTreeMap<String, String>,
    rules: Vec<(String, bool, &'a Value)>,
}

/// Runs every check over regorus' AST JSON (`Engine::get_ast_as_json`).
pub fn check(ast: &Value) -> Vec<Located> {
    let modules: Vec<Module<'_>> = ast
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(module)
        .collect();
    let mut defined = BTreeMap::new(); // full path -> is_function
    for m in &modules {
        for (name, is_func, _) in &m.rules {
            defined.insert(format!("data.{}.{name}", m.package), *is_func);
        }
    }
    let mut problems = Vec::new();
    let mut edges: BTreeMap<String, (BTreeSet<String>, Located)> = BTreeMap::new();
    for m in &modules {
        for (name, _, rule) in &m.rules {
            let me = format!("data.{}.{name}", m.package);
            let mut deps = BTreeSet::new();
            for part in rule_parts(rule) {
                walk(part, &mut |node| {
                    visit(m, &defined, node, &mut deps, &mut problems)
                });
            }
            let at = span_of(rule.get("Spec").unwrap_or(rule), &m.file);
            let entry = edges.entry(me).or_insert_with(|| (BTreeSet::new(), at));
            entry.0.extend(deps);
        }
    }
    problems.extend(cycles(&edges));
    problems.sort_by(|a, b| (&a.file, a.line, a.col).cmp(&(&b.file, b.line, b.col)));
    problems.dedup();
    problems
}

fn module(entry: &Value) -> Option<Module<'_>> {
    let file = entry.pointer("/source/file")?.as_str()?.to_owned();
    let source = entry.pointer("/source/contents")?.as_str()?;
    let ast = entry.get("ast")?;
    let package = dotted(ast.pointer("/package/refr")?)?;
    let mut aliases = BTreeMap::new();
    for import in ast
        .get("imports")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(path) = import.get("refr").and_then(dotted) else {
            continue;
        };
        let alias = import
            .get("as")
            .and_then(|span| slice(source, span))
            .map(str::to_owned)
            .or_else(|| path.rsplit('.').next().map(str::to_owned));
        if let Some(alias) = alias {
            aliases.insert(alias, path);
        }
    }
    let mut rules = Vec::new();
    for rule in ast
        .get("rules")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let head = rule
            .pointer("/Spec/head")
            .or_else(|| rule.pointer("/Default"));
        let Some(head) = head else { continue };
        let (kind, inner) = match head.as_object().and_then(|o| o.iter().next()) {
            Some((k, v)) => (k.as_str(), v),
            None => ("", head),
        };
        if let Some(name) = inner.get("refr").and_then(dotted) {
            // `a.b contains x` defines `a` (its root) for resolution purposes.
            let root = name.split('.').next().unwrap_or(&name).to_owned();
            rules.push((root, kind == "Func", rule));
        }
    }
    Some(Module {
        file,
        package,
        aliases,
        rules,
    })
}

/// The parts of a rule that can reference others: its bodies and its head's
/// value/key, but not the head's own name nor a function's parameters.
fn rule_parts(rule: &Value) -> Vec<&Value> {
    let mut parts = Vec::new();
    let spec = rule.get("Spec").or_else(|| rule.get("Default"));
    let Some(spec) = spec.and_then(Value::as_object) else {
        return parts;
    };
    for (key, value) in spec {
        match key.as_str() {
            "head" => {
                if let Some(inner) = value
                    .as_object()
                    .and_then(|h| h.values().next())
                    .and_then(Value::as_object)
                {
                    parts.extend(
                        inner
                            .iter()
                            .filter(|(k, _)| !matches!(k.as_str(), "refr" | "args"))
                            .map(|(_, v)| v),
                    );
                }
            }
            "refr" | "args" | "span" => {}
            _ => parts.push(value),
        }
    }
    parts
}

fn slice<'a>(source: &'a str, span: &Value) -> Option<&'a str> {
    let start = usize::try_from(span.get("start")?.as_u64()?).ok()?;
    let end = usize::try_from(span.get("end")?.as_u64()?).ok()?;
    source.get(start..end)
}

/// `a.b.c` for a `Var`/`RefDot` chain; `None` for anything else.
fn dotted(v: &Value) -> Option<String> {
    if let Some(var) = v.get("Var") {
        return var.get("value")?.as_str().map(str::to_owned);
    }
    let refdot = v.get("RefDot")?;
    let base = dotted(refdot.get("refr")?)?;
    let field = refdot.get("field")?.as_array()?.get(1)?.as_str()?;
    Some(format!("{base}.{field}"))
}

fn span_of(node: &Value, file: &str) -> Located {
    let span = node.get("span");
    let num = |k: &str| {
        span.and_then(|s| s.get(k))
            .and_then(Value::as_u64)
            .unwrap_or(0) as u32
    };
    Located {
        file: file.to_owned(),
        line: num("line"),
        col: num("col"),
        message: String::new(),
    }
}

fn walk<'a>(v: &'a Value, f: &mut impl FnMut(&'a Value) -> bool) {
    if !f(v) {
        return;
    }
    match v {
        Value::Object(o) => o.values().for_each(|x| walk(x, f)),
        Value::Array(a) => a.iter().for_each(|x| walk(x, f)),
        _ => {}
    }
}

/// Resolves a dotted name used in `m` to the full `data.` path of a rule or
/// function, if it names one.
fn resolve(m: &Module<'_>, defined: &BTreeMap<String, bool>, name: &str) -> Option<String> {
    let (first, rest) = name
        .split_once('.')
        .map_or((name, None), |(a, b)| (a, Some(b)));
    let base = if let Some(path) = m.aliases.get(first) {
        path.clone()
    } else if first == "data" {
        "data".to_owned()
    } else {
        format!("data.{}.{first}", m.package)
    };
    let full = match rest {
        Some(rest) => format!("{base}.{rest}"),
        None => base,
    };
    // The longest prefix that names a rule: `lib.config.amount` -> `data.preflight.lib.config`.
    let mut candidate = full.as_str();
    loop {
        if defined.contains_key(candidate) {
            return Some(candidate.to_owned());
        }
        candidate = candidate.rsplit_once('.')?.0;
    }
}

fn visit(
    m: &Module<'_>,
    defined: &BTreeMap<String, bool>,
    node: &Value,
    deps: &mut BTreeSet<String>,
    problems: &mut Vec<Located>,
) -> bool {
    if let Some(call) = node.get("Call") {
        let Some(name) = call.get("fcn").and_then(dotted) else {
            return true;
        };
        let mut at = span_of(call, &m.file);
        if regorus::unstable::BUILTINS.contains_key(name.as_str()) || name == "print" {
            if name.starts_with("numbers.range") {
                let params = call.get("params").and_then(Value::as_array);
                let lit = |i: usize| params?.get(i)?.pointer("/Number/value")?.as_f64();
                match (lit(0), lit(1)) {
                    (Some(a), Some(b)) if (b - a).abs() <= MAX_RANGE => {}
                    _ => {
                        at.message = format!(
                            "`{name}` needs number literals spanning at most {MAX_RANGE} values (it allocates its whole result at once)"
                        );
                        problems.push(at);
                    }
                }
            }
        } else {
            match resolve(m, defined, &name) {
                Some(full) if defined.get(&full) == Some(&true) => {
                    deps.insert(full);
                }
                _ => {
                    at.message = format!(
                        "unknown function `{name}` (not a builtin nor defined in the bundle)"
                    );
                    problems.push(at);
                }
            }
        }
        return true;
    }
    if let Some(name) = dotted(node)
        && let Some(full) = resolve(m, defined, &name)
        && (name.contains('.') || m.rules.iter().any(|(r, _, _)| *r == name))
    {
        deps.insert(full);
        return false;
    }
    true
}

fn cycles(edges: &BTreeMap<String, (BTreeSet<String>, Located)>) -> Vec<Located> {
    // Iterative three-colour DFS: 0 new, 1 on the stack, 2 done.
    let mut colour: BTreeMap<&str, u8> = BTreeMap::new();
    let mut problems = Vec::new();
    for start in edges.keys() {
        if colour.get(start.as_str()).copied().unwrap_or(0) != 0 {
            continue;
        }
        let mut stack: Vec<(&str, Vec<&str>)> = vec![(start, next_of(edges, start))];
        colour.insert(start, 1);
        while let Some((node, pending)) = stack.last_mut() {
            let node = *node;
            match pending.pop() {
                Some(next) => match colour.get(next).copied().unwrap_or(0) {
                    0 => {
                        colour.insert(next, 1);
                        let n = next_of(edges, next);
                        stack.push((next, n));
                    }
                    1 => {
                        if let Some((_, at)) = edges.get(next) {
                            let mut at = at.clone();
                            at.message = format!(
                                "recursion through `{next}` (via `{node}`): Rego forbids recursive rules and functions"
                            );
                            problems.push(at);
                        }
                    }
                    _ => {}
                },
                None => {
                    colour.insert(node, 2);
                    stack.pop();
                }
            }
        }
    }
    problems
}

fn next_of<'a>(
    edges: &'a BTreeMap<String, (BTreeSet<String>, Located)>,
    node: &str,
) -> Vec<&'a str> {
    edges
        .get(node)
        .map(|(deps, _)| deps.iter().map(String::as_str).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lint(files: &[(&str, &str)]) -> Vec<String> {
        let mut engine = regorus::Engine::new();
        for (name, src) in files {
            engine
                .add_policy((*name).to_owned(), (*src).to_owned())
                .expect("parses");
        }
        let ast: Value =
            serde_json::from_str(&engine.get_ast_as_json().expect("ast")).expect("json");
        check(&ast).iter().map(ToString::to_string).collect()
    }

    #[test]
    fn reports_an_unknown_function_in_a_branch_never_evaluated() {
        let out = lint(&[(
            "a.rego",
            "package a\nx if {\n  input.never\n  strings.reverse_words(\"a\")\n}\n",
        )]);
        assert_eq!(out.len(), 1, "{out:?}");
        assert!(out[0].starts_with("a.rego:4:"), "{out:?}");
        assert!(
            out[0].contains("unknown function `strings.reverse_words`"),
            "{out:?}"
        );
    }

    #[test]
    fn accepts_builtins_and_functions_from_imported_packages() {
        let lib = "package lib\ntwice(x) := y if { y := x * 2 }\n";
        let user = "package a\nimport data.lib\nimport data.lib as l\nx := lib.twice(count([1])) + l.twice(1)\ny := data.lib.twice(2)\n";
        assert_eq!(
            lint(&[("lib.rego", lib), ("a.rego", user)]),
            Vec::<String>::new()
        );
    }

    #[test]
    fn refuses_a_recursive_function_that_would_overflow_the_stack() {
        let out = lint(&[(
            "r.rego",
            "package r\nf(x) := y if { y := g(x) }\ng(x) := y if { y := f(x + 1) }\n",
        )]);
        assert!(
            out.iter().any(|o| o.contains("recursion through")),
            "{out:?}"
        );
    }

    #[test]
    fn refuses_a_numbers_range_with_computed_or_huge_bounds() {
        let out = lint(&[(
            "n.rego",
            "package n\na := numbers.range(1, 5)\nb := numbers.range(1, input.n)\nc := numbers.range(1, 200000000)\n",
        )]);
        assert_eq!(out.len(), 2, "{out:?}");
        assert!(
            out[0].starts_with("n.rego:3:") && out[1].starts_with("n.rego:4:"),
            "{out:?}"
        );
    }
}
