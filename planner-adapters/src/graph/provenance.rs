//! Provenance: where each argument value of a step first appeared.
//!
//! Every string and number leaf of a proposed step's arguments becomes one or
//! more *needles* in normalized forms (see [`needles`]); all needles are
//! searched in every text segment in one pass over its ASCII-lowercased form
//! ([`super::search::Needles`]). Executed steps are not traced: the history
//! is what proposed steps are judged against, and a value that passed
//! through an executed step is found at its first source directly. A leaf's origin is the most trusted place it was found:
//! `user` > `system` > `tool_result` > `assistant`, else `none` (the model made
//! it up). A tool result only counts as a source for steps after the step that
//! produced it.
//!
//! Normalization: case (ASCII-insensitive search), surrounding whitespace,
//! URLs without scheme, `www.` and trailing `/`, IBANs with and without the
//! usual 4-character grouping, phone numbers as written and as bare digits,
//! integers with and without thousands separators. Values with fewer than
//! [`MIN_SIGNIFICANT`] letters or digits are not traced (`short`): `true`,
//! `5` or `"en"` say nothing about where data came from. Long strings (over
//! [`MAX_WHOLE`] bytes, like an e-mail body) are traced by the entities inside
//! them (addresses, URLs, IBANs, phone and card-like numbers) and by two
//! fragments, which catches copied file contents.

use std::collections::HashMap;
use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;
use serde_json::Value;

use super::search::Needles;
use crate::plan::{Args, Origin, Plan};

/// Fewest letters/digits a value needs to be traced.
pub const MIN_SIGNIFICANT: usize = 4;
/// Longest string traced as a whole; longer ones by entities and fragments.
pub const MAX_WHOLE: usize = 200;
/// Length of each fragment of a long string.
pub const FRAGMENT: usize = 48;

/// Where a value came from, most trusted first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// Typed by the user.
    User,
    /// In the system or developer prompt.
    System,
    /// In the output of an earlier tool call.
    ToolResult,
    /// Written by the assistant earlier in the conversation.
    Assistant,
    /// Found nowhere: the model made it up.
    None,
}

impl Source {
    /// The snake_case name used in JSON: `user`, `system`, `tool_result`,
    /// `assistant`, `none`.
    pub fn name(self) -> &'static str {
        match self {
            Source::User => "user",
            Source::System => "system",
            Source::ToolResult => "tool_result",
            Source::Assistant => "assistant",
            Source::None => "none",
        }
    }
}

/// The provenance of one argument leaf (or an entity/fragment inside one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Provenance {
    /// JSON pointer of the leaf in the arguments (`""` for malformed raw text).
    pub path: String,
    /// The value traced (the entity or fragment, for long strings).
    pub value: String,
    /// What was traced: `value`, `email`, `url`, `iban`, `phone`, `number`, `fragment`.
    pub kind: &'static str,
    /// The most trusted place it was found.
    pub origin: Source,
    /// For `tool_result`: the earliest step whose result holds it.
    pub source_step: Option<usize>,
    /// Every step whose result holds it (for data-flow edges).
    #[serde(skip)]
    pub source_steps: Vec<usize>,
    /// It lies inside an instruction-like span of a tool result.
    pub in_injection: bool,
    /// Too short to trace (fewer than [`MIN_SIGNIFICANT`] letters/digits).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub short: bool,
}

static ENTITY: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?P<email>[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,})",
        r"|(?P<url>(?:https?://|www\.)[^\s<>\x22')\]]+)",
        r"|(?P<iban>\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b)",
        r"|(?P<phone>\+?\d[\d ()./-]{7,}\d)",
    ))
    .ok()
});

/// One leaf of a step's arguments before tracing.
#[derive(Debug, Clone)]
struct Leaf {
    path: String,
    value: String,
    kind: &'static str,
    needles: Vec<String>,
}

fn significant(s: &str) -> usize {
    s.chars().filter(|c| c.is_alphanumeric()).count()
}

/// The normalized search forms of a value of the given kind.
pub fn needles(value: &str, kind: &str) -> Vec<String> {
    let v = value.trim();
    if significant(v) < MIN_SIGNIFICANT {
        return Vec::new();
    }
    let mut out = vec![v.to_owned()];
    match kind {
        "url" => {
            let bare = v
                .trim_start_matches("https://")
                .trim_start_matches("http://")
                .trim_start_matches("www.")
                .trim_end_matches('/');
            if significant(bare) >= MIN_SIGNIFICANT && bare != v {
                out.push(bare.to_owned());
            }
        }
        "iban" => {
            let compact: String = v.chars().filter(|c| !c.is_whitespace()).collect();
            let grouped = compact
                .as_bytes()
                .chunks(4)
                .map(|c| String::from_utf8_lossy(c).into_owned())
                .collect::<Vec<_>>()
                .join(" ");
            out.push(compact);
            out.push(grouped);
        }
        "phone" => {
            let digits: String = v.chars().filter(char::is_ascii_digit).collect();
            out.push(digits);
        }
        "number" => {
            if let Ok(n) = v.parse::<u64>()
                && n >= 1000
            {
                out.push(thousands(n));
            }
            // JSON drops trailing zeros: 182.4 is printed as "182.40".
            if let Some((_, frac)) = v.split_once('.')
                && frac.len() == 1
            {
                out.push(format!("{v}0"));
            }
        }
        _ => {}
    }
    for n in &mut out {
        n.make_ascii_lowercase();
    }
    out.sort();
    out.dedup();
    out
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn floor_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Leaves of one string value at `path`.
fn string_leaves(path: &str, s: &str, out: &mut Vec<Leaf>) {
    let whole = s.len() <= MAX_WHOLE;
    if let Some(re) = ENTITY.as_ref() {
        for caps in re.captures_iter(s) {
            let Some((kind, m)) = ["email", "url", "iban", "phone"]
                .iter()
                .find_map(|k| caps.name(k).map(|m| (*k, m)))
            else {
                continue;
            };
            let value = m.as_str().trim_end_matches(['.', ',', ';', ':']);
            // Dates and short codes look like phone numbers; real ones have
            // at least 9 digits.
            if kind == "phone" && value.bytes().filter(u8::is_ascii_digit).count() < 9 {
                continue;
            }
            if whole && value.len() == s.trim().len() {
                // The entity is the whole value: one leaf of that kind.
                out.push(Leaf {
                    path: path.to_owned(),
                    value: value.to_owned(),
                    kind,
                    needles: needles(value, kind),
                });
                return;
            }
            out.push(Leaf {
                path: path.to_owned(),
                value: value.to_owned(),
                kind,
                needles: needles(value, kind),
            });
        }
    }
    if whole {
        out.push(Leaf {
            path: path.to_owned(),
            value: s.to_owned(),
            kind: "value",
            needles: needles(s, "value"),
        });
    } else {
        for third in [s.len() / 3, 2 * s.len() / 3] {
            let a = floor_boundary(s, third);
            let b = floor_boundary(s, (a + FRAGMENT).min(s.len()));
            let frag = &s[a..b];
            if significant(frag) >= MIN_SIGNIFICANT {
                out.push(Leaf {
                    path: path.to_owned(),
                    value: frag.to_owned(),
                    kind: "fragment",
                    needles: vec![frag.to_ascii_lowercase()],
                });
            }
        }
    }
}

fn walk(path: &mut String, v: &Value, out: &mut Vec<Leaf>) {
    match v {
        Value::String(s) => string_leaves(path, s, out),
        Value::Number(n) => {
            let value = n.to_string();
            out.push(Leaf {
                path: path.clone(),
                needles: needles(&value, "number"),
                value,
                kind: "number",
            });
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                path.push('/');
                path.push_str(&i.to_string());
                walk(path, item, out);
                path.truncate(len);
            }
        }
        Value::Object(map) => {
            for (k, item) in map {
                let len = path.len();
                path.push('/');
                if k.contains(['~', '/']) {
                    path.push_str(&k.replace('~', "~0").replace('/', "~1"));
                } else {
                    path.push_str(k);
                }
                walk(path, item, out);
                path.truncate(len);
            }
        }
        Value::Null | Value::Bool(_) => {}
    }
}

fn leaves(args: &Args) -> Vec<Leaf> {
    let mut out = Vec::new();
    match args {
        Args::Json { value } => walk(&mut String::new(), value, &mut out),
        Args::Malformed { raw, .. } => string_leaves("", raw, &mut out),
    }
    out
}

/// Traces the argument leaves of every proposed step in `plan` (executed
/// steps get an empty list). `lower[seg]` is segment `seg`'s text,
/// ASCII-lowercased; `spans[seg]` its injection spans (byte ranges).
pub fn trace(
    plan: &Plan,
    lower: &[Vec<u8>],
    spans: &[Vec<(usize, usize)>],
) -> Vec<Vec<Provenance>> {
    let step_leaves: Vec<Vec<Leaf>> = plan
        .steps
        .iter()
        .map(|s| {
            if s.is_proposed() {
                leaves(&s.args)
            } else {
                Vec::new()
            }
        })
        .collect();

    // Deduplicated needles, each with the (step, leaf) pairs that own it.
    let total: usize = step_leaves.iter().flatten().map(|l| l.needles.len()).sum();
    let mut index: HashMap<&str, usize> = HashMap::with_capacity(total);
    let mut patterns: Vec<&str> = Vec::with_capacity(total);
    let mut owners: Vec<Vec<(usize, usize)>> = Vec::with_capacity(total);
    for (si, ls) in step_leaves.iter().enumerate() {
        for (li, leaf) in ls.iter().enumerate() {
            for n in &leaf.needles {
                let id = *index.entry(n.as_str()).or_insert_with(|| {
                    patterns.push(n.as_str());
                    owners.push(Vec::new());
                    patterns.len() - 1
                });
                owners[id].push((si, li));
            }
        }
    }

    // hits[step][leaf]: (segment, in_injection) for each segment it is found in.
    let mut hits: Vec<Vec<Vec<(usize, bool)>>> = step_leaves
        .iter()
        .map(|ls| vec![Vec::new(); ls.len()])
        .collect();
    if !patterns.is_empty() {
        let search = Needles::new(&patterns);
        for (seg_i, text) in lower.iter().enumerate() {
            let seg_spans = spans.get(seg_i).map(Vec::as_slice).unwrap_or(&[]);
            search.for_each(text, |pattern, start, end| {
                let inside = seg_spans.iter().any(|&(a, b)| start >= a && end <= b);
                let bounded = at_token_boundary(text, start, end);
                for &(si, li) in &owners[pattern] {
                    // An address, IBAN or number must stand alone: the
                    // look-alike `initech.co` is not found inside `initech.com`.
                    if !bounded
                        && step_leaves[si][li].kind != "value"
                        && step_leaves[si][li].kind != "fragment"
                    {
                        continue;
                    }
                    let h = &mut hits[si][li];
                    match h.iter_mut().find(|(s, _)| *s == seg_i) {
                        Some(entry) => entry.1 |= inside,
                        None => h.push((seg_i, inside)),
                    }
                }
            });
        }
    }

    step_leaves
        .into_iter()
        .enumerate()
        .map(|(si, ls)| {
            ls.into_iter()
                .enumerate()
                .map(|(li, leaf)| resolve(plan, si, leaf, &hits[si][li]))
                .collect()
        })
        .collect()
}

/// True when the match is not glued to letters or digits on either side.
fn at_token_boundary(text: &[u8], start: usize, end: usize) -> bool {
    let before = start.checked_sub(1).and_then(|i| text.get(i));
    let after = text.get(end);
    !before.is_some_and(u8::is_ascii_alphanumeric) && !after.is_some_and(u8::is_ascii_alphanumeric)
}

fn resolve(plan: &Plan, step: usize, leaf: Leaf, hits: &[(usize, bool)]) -> Provenance {
    let mut origin = Source::None;
    let mut source_steps = Vec::new();
    let mut in_injection = false;
    for &(seg, inside) in hits {
        let src = match plan.segments[seg].origin {
            Origin::User => Source::User,
            Origin::System => Source::System,
            Origin::Assistant => Source::Assistant,
            Origin::ToolResult { step: producer } => {
                // A result can only feed steps that come after its call.
                if producer.is_some_and(|p| p >= step) {
                    continue;
                }
                if let Some(p) = producer {
                    source_steps.push(p);
                }
                in_injection |= inside;
                Source::ToolResult
            }
        };
        origin = origin.min(src);
    }
    source_steps.sort_unstable();
    source_steps.dedup();
    let short = leaf.needles.is_empty();
    Provenance {
        path: leaf.path,
        value: leaf.value,
        kind: leaf.kind,
        origin,
        source_step: source_steps.first().copied(),
        source_steps,
        // A value the user typed is the user's, even if injected text repeats it.
        in_injection: in_injection && origin != Source::User,
        short,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needles_cover_common_spellings() {
        assert_eq!(
            needles("https://www.acme.example/pay/", "url"),
            ["acme.example/pay", "https://www.acme.example/pay/"]
        );
        assert!(
            needles("GB33BUKB20201555555555", "iban")
                .contains(&"gb33 bukb 2020 1555 5555 55".to_owned())
        );
        assert!(needles("+1 (555) 010-4477", "phone").contains(&"15550104477".to_owned()));
        assert!(needles("250000", "number").contains(&"250,000".to_owned()));
        assert!(
            needles("yes", "value").is_empty(),
            "short values are not traced"
        );
    }

    #[test]
    fn long_strings_are_traced_by_entities_and_fragments() {
        let body = format!(
            "Hello, as discussed please find the details below. {} Send questions to ops@acme.example or call +44 20 7946 0958. Regards",
            "x".repeat(300)
        );
        let mut out = Vec::new();
        string_leaves("/body", &body, &mut out);
        let kinds: Vec<_> = out.iter().map(|l| l.kind).collect();
        assert_eq!(kinds, ["email", "phone", "fragment", "fragment"]);
    }
}
