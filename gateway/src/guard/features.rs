//! Tier-1 features of one proposed step, as names hashed into a fixed
//! number of buckets (the hashing trick): no vocabulary to ship, any tool
//! name works, and a step costs a few dozen hashes.
//!
//! What is extracted (see [`extract`]): tool-name words, capability and
//! step labels (and label pairs), argument keys and value shapes, each
//! argument's provenance origin crossed with the key, the capabilities and
//! the injection facts, whether the user's goal asks for what the tool does
//! (goal verb × capability), a read-only intent in the goal ("just check")
//! crossed with side effects, look-alike domains of addresses the user
//! typed, what already ran, and words of long text arguments (what a
//! message says). Names are stable strings so a rationale can quote them.

use std::collections::BTreeSet;

use preflight_adapters::graph::capabilities::name_words;
use preflight_adapters::graph::{ActionGraph, Label, Source};
use preflight_adapters::{Args, Origin, StepStatus};
use serde_json::Value;

/// Version of the feature set; a model records the version it was trained
/// with and refuses to load under another.
pub const FEATURE_VERSION: u32 = 2;

/// Goal words that ask for a capability.
const GOAL_VERBS: &[(&str, Label)] = &[
    ("send", Label::ExternalSink),
    ("forward", Label::ExternalSink),
    ("share", Label::ExternalSink),
    ("email", Label::ExternalSink),
    ("mail", Label::ExternalSink),
    ("post", Label::ExternalSink),
    ("upload", Label::ExternalSink),
    ("reply", Label::ExternalSink),
    ("message", Label::ExternalSink),
    ("invite", Label::ExternalSink),
    ("publish", Label::ExternalSink),
    ("export", Label::ExternalSink),
    ("delete", Label::Destructive),
    ("remove", Label::Destructive),
    ("rid", Label::Destructive),
    ("erase", Label::Destructive),
    ("wipe", Label::Destructive),
    ("drop", Label::Destructive),
    ("purge", Label::Destructive),
    ("cancel", Label::Destructive),
    ("terminate", Label::Destructive),
    ("stop", Label::Destructive),
    ("shut", Label::Destructive),
    ("turn", Label::Destructive),
    ("pay", Label::Financial),
    ("buy", Label::Financial),
    ("purchase", Label::Financial),
    ("refund", Label::Financial),
    ("payment", Label::Financial),
    ("transfer", Label::Financial),
    ("give", Label::Credential),
    ("grant", Label::Credential),
    ("access", Label::Credential),
    ("admin", Label::Credential),
    ("permission", Label::Credential),
    ("run", Label::CodeExecution),
    ("execute", Label::CodeExecution),
];

/// Words that make a request read-only or hold an action back.
const HOLD_PHRASES: &[&str] = &[
    "don't send",
    "do not send",
    "not send",
    "no changes",
    "don't do anything",
    "do not change",
    "don't change",
    "just look",
    "just check",
    "review it first",
    "not yet",
    "don't send it yet",
];

/// Tool-name verbs by the kind of harm they can do.
const VERB_FAMILIES: &[(&str, &[&str])] = &[
    (
        "availability",
        &[
            "stop", "kill", "disable", "lock", "shutdown", "suspend", "pause", "halt", "scale",
            "block", "restart", "reboot",
        ],
    ),
    (
        "tamper",
        &[
            "purge",
            "clear",
            "truncate",
            "erase",
            "history",
            "log",
            "logs",
            "audit",
            "trail",
            "cloudtrail",
            "protection",
        ],
    ),
    (
        "destroy",
        &[
            "delete",
            "remove",
            "drop",
            "destroy",
            "wipe",
            "terminate",
            "close",
            "cancel",
        ],
    ),
    (
        "grant",
        &[
            "grant",
            "share",
            "add",
            "invite",
            "role",
            "admin",
            "iam",
            "collaborator",
            "access",
            "mfa",
            "password",
        ],
    ),
];

/// Value words that ask for more power than viewing.
const ELEVATED: &[&str] = &[
    "admin",
    "owner",
    "root",
    "full",
    "write",
    "superuser",
    "all",
];

/// Leading words of a request that only reads.
const READ_INTENT: &[&str] = &[
    "check",
    "show",
    "what",
    "summarize",
    "read",
    "look",
    "open",
    "review",
    "compare",
    "go",
    "list",
    "tell",
    "is",
    "can",
    "could",
    "just",
];

/// Feature names of one step, written into one buffer: scoring a step
/// allocates nothing per feature (it runs on every proposed step of every
/// request). Reuse one `Names` across steps.
#[derive(Debug, Default, Clone)]
pub struct Names {
    text: String,
    ends: Vec<usize>,
}

impl Names {
    /// Empties the buffer, keeping its capacity.
    pub fn clear(&mut self) {
        self.text.clear();
        self.ends.clear();
    }

    /// Adds a name.
    pub fn push(&mut self, name: &str) {
        self.text.push_str(name);
        self.ends.push(self.text.len());
    }

    /// Adds a formatted name.
    pub fn push_fmt(&mut self, name: std::fmt::Arguments<'_>) {
        let _ = std::fmt::Write::write_fmt(&mut self.text, name);
        self.ends.push(self.text.len());
    }

    /// The names in order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        let mut start = 0;
        self.ends.iter().map(move |&end| {
            let s = &self.text[start..end];
            start = end;
            s
        })
    }

    /// How many names.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }
}

/// The feature names of step `index` as owned strings (training, tests);
/// scoring uses [`extract_into`].
pub fn extract(graph: &ActionGraph<'_>, index: usize, out: &mut Vec<String>) {
    let mut names = Names::default();
    extract_into(graph, index, &mut names);
    out.clear();
    out.extend(names.iter().map(str::to_owned));
}

/// Writes the feature names of step `index` of `graph` into `out`
/// (cleared first). Executed steps get the same features; the guard only
/// asks for proposed ones.
pub fn extract_into(graph: &ActionGraph<'_>, index: usize, out: &mut Names) {
    out.clear();
    let plan = graph.plan;
    let (Some(step), Some(an)) = (plan.steps.get(index), graph.steps.get(index)) else {
        return;
    };
    out.push("bias");
    let goal = plan.goal.as_deref().unwrap_or("").to_lowercase();
    // A plan without a user request (an MCP session, a bare plan file) says
    // nothing about intent: the goal features then read `nogoal` instead of
    // a `false` that would count as "the user did not ask for this".
    let has_goal = !goal.trim().is_empty();
    let yes_no = |b: bool| {
        if has_goal {
            if b { "true" } else { "false" }
        } else {
            "nogoal"
        }
    };
    out.push_fmt(format_args!("has_goal:{has_goal}"));
    let goal_words: BTreeSet<&str> = goal
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.len() >= 2)
        .collect();

    // Tool name words and whether the goal uses them.
    let words = name_words(&step.tool);
    let mut goal_has_tool_word = false;
    for w in &words {
        out.push_fmt(format_args!("tw:{w}"));
        if w.len() >= 3 && goal_words.iter().any(|g| stem_eq(g, w)) {
            goal_has_tool_word = true;
        }
    }
    out.push_fmt(format_args!(
        "goal_tool_word:{}",
        yes_no(goal_has_tool_word)
    ));
    // Verb families the capability labels do not separate: stopping a
    // service vs deleting data vs erasing records of what happened.
    for (family, verbs) in VERB_FAMILIES {
        if words.iter().any(|w| verbs.contains(&w.as_str())) {
            out.push_fmt(format_args!("verb:{family}"));
        }
    }

    // Labels, label pairs, capabilities.
    let labels: Vec<&str> = an.labels.names();
    for l in &labels {
        out.push_fmt(format_args!("l:{l}"));
    }
    for (i, a) in labels.iter().enumerate() {
        for b in &labels[i + 1..] {
            out.push_fmt(format_args!("l2:{a}+{b}"));
        }
    }
    if labels.is_empty() {
        out.push("l:none");
    }
    let side_effect = an.labels.has_side_effect() || !an.labels.contains(Label::ReadOnly);

    // Goal verbs × capabilities: does the user ask for what this tool does?
    let asked: BTreeSet<Label> = GOAL_VERBS
        .iter()
        .filter(|(w, _)| goal_words.iter().any(|g| stem_eq(g, w)))
        .map(|(_, l)| *l)
        .collect();
    let mut any_asked = false;
    for cap in an.capabilities.iter().filter(|c| c.is_side_effect()) {
        let yes = asked.contains(&cap);
        any_asked |= yes;
        out.push_fmt(format_args!("goalcap:{}:{}", cap.as_str(), yes_no(yes)));
    }
    out.push_fmt(format_args!(
        "goal_asks:{}|se:{side_effect}",
        yes_no(any_asked || goal_has_tool_word)
    ));
    let hold = HOLD_PHRASES.iter().any(|p| goal.contains(p));
    let first = goal.split_whitespace().next().unwrap_or("");
    let read_intent = asked.is_empty() && READ_INTENT.contains(&first);
    out.push_fmt(format_args!("hold:{}|se:{side_effect}", yes_no(hold)));
    out.push_fmt(format_args!(
        "readintent:{}|se:{side_effect}",
        yes_no(read_intent)
    ));
    for l in &labels {
        if hold || read_intent {
            out.push_fmt(format_args!("readonly_goal|l:{l}"));
        }
    }

    // Arguments: keys, shapes, provenance.
    let user_domains = user_domains(graph);
    match &step.args {
        Args::Malformed { .. } => out.push("args:malformed"),
        Args::Json { value } => {
            let mut leaves = Vec::new();
            leaves_of(value, "", &mut leaves);
            for (_key, leaf) in &leaves {
                let shape = shape(leaf);
                out.push_fmt(format_args!("sh:{shape}"));
                if let Value::String(s) = leaf {
                    if s.len() < 40 {
                        let lower = s.to_lowercase();
                        if lower
                            .split(|c: char| !c.is_alphanumeric())
                            .any(|w| ELEVATED.contains(&w))
                        {
                            out.push("value:elevated");
                        }
                    }
                    if let Some(dom) = domain_of(s) {
                        out.push_fmt(format_args!("dom:{}", domain_match(&dom, &user_domains)));
                    }
                    if s.len() >= 24 {
                        for w in s
                            .split(|c: char| !c.is_alphanumeric())
                            .filter(|w| w.len() >= 4)
                            .take(40)
                        {
                            out.push_fmt(format_args!("aw:{}", w.to_lowercase()));
                        }
                    }
                }
            }
        }
    }
    let mut any_injected = false;
    for p in an.provenance.iter().filter(|p| !p.short) {
        let origin = source_name(p.origin);
        out.push_fmt(format_args!("o:{origin}"));
        let vshape = shape(&Value::String(p.value.clone()));
        out.push_fmt(format_args!("sho:{vshape}|{origin}"));
        out.push_fmt(format_args!("sho:{vshape}|{origin}|se:{side_effect}"));
        out.push_fmt(format_args!("kind:{}|{origin}", p.kind));
        for cap in an.labels.iter().filter(|c| c.is_side_effect()) {
            out.push_fmt(format_args!("cap:{}|o:{origin}", cap.as_str()));
        }
        if p.origin == Source::ToolResult {
            context_words(graph, p.source_step, &p.value, out);
        }
        if p.in_injection {
            any_injected = true;
            out.push_fmt(format_args!("inj:{vshape}"));
            for cap in an.labels.iter().filter(|c| c.is_side_effect()) {
                out.push_fmt(format_args!("cap:{}|inj", cap.as_str()));
            }
        }
    }
    out.push_fmt(format_args!("injflow:{any_injected}"));

    // Intent consistency: the user asked for this kind of action and every
    // traced value came from the user. The linear model needs the cross
    // spelled out to tell "delete the file I named" from "delete something".
    let mut traced = an.provenance.iter().filter(|p| !p.short).peekable();
    let user_only = traced.peek().is_some() && traced.all(|p| p.origin == Source::User);
    let asked = yes_no(any_asked || goal_has_tool_word);
    out.push_fmt(format_args!(
        "intent:asked={asked}|user_only={user_only}|se:{side_effect}"
    ));
    for l in an.labels.iter().filter(|l| l.is_side_effect()) {
        out.push_fmt(format_args!(
            "intent:{}|asked={asked}|user_only={user_only}",
            l.as_str()
        ));
    }
    out.push_fmt(format_args!(
        "injseen:{}|se:{side_effect}",
        an.labels.contains(Label::InjectedInstructionSeen)
    ));

    // What already ran.
    let executed: Vec<_> = plan
        .steps
        .iter()
        .zip(&graph.steps)
        .take(index)
        .filter(|(s, _)| matches!(s.status, StepStatus::Executed { .. }))
        .collect();
    out.push_fmt(format_args!("hist:{}", executed.len().min(3)));
    if executed.iter().any(|(s, _)| s.tool == step.tool) {
        out.push_fmt(format_args!("repeat_tool|se:{side_effect}"));
    }
    for (_, a) in &executed {
        for l in a.labels.iter().filter(|l| l.is_side_effect()) {
            out.push_fmt(format_args!("prev:{}", l.as_str()));
        }
    }
}

/// Words around `value` in the result of step `source` ("pay to IBAN X"
/// vs "pay to X instead"): what the surrounding text says about the value.
fn context_words(graph: &ActionGraph<'_>, source: Option<usize>, value: &str, out: &mut Names) {
    const WINDOW: usize = 48;
    let Some(step) = source.and_then(|s| graph.plan.steps.get(s)) else {
        return;
    };
    let StepStatus::Executed { result: Some(seg) } = step.status else {
        return;
    };
    let Some(text) = graph.plan.segments.get(seg).map(|s| s.text.to_lowercase()) else {
        return;
    };
    let needle = value.to_lowercase();
    if needle.is_empty() {
        return;
    }
    let Some(at) = text.find(&needle) else { return };
    let mut lo = at.saturating_sub(WINDOW);
    while !text.is_char_boundary(lo) {
        lo -= 1;
    }
    let mut hi = (at + needle.len() + WINDOW).min(text.len());
    while !text.is_char_boundary(hi) {
        hi += 1;
    }
    let before = &text[lo..at];
    let after = &text[at + needle.len()..hi];
    for w in before
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.len() >= 3 && !w.chars().any(|c| c.is_ascii_digit()))
    {
        out.push_fmt(format_args!("ctxb:{w}"));
    }
    for w in after
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.len() >= 3 && !w.chars().any(|c| c.is_ascii_digit()))
    {
        out.push_fmt(format_args!("ctxa:{w}"));
    }
}

/// `goal` word and tool word match on a shared 4-letter stem (`deleted`
/// ~ `delete`, `payment` ~ `pay` only on exact match for short words).
fn stem_eq(a: &str, b: &str) -> bool {
    if a.len() < 4 || b.len() < 4 {
        return a == b;
    }
    a.as_bytes()[..4] == b.as_bytes()[..4]
}

fn source_name(s: Source) -> &'static str {
    match s {
        Source::User => "user",
        Source::System => "system",
        Source::ToolResult => "tool_result",
        Source::Assistant => "assistant",
        Source::None => "none",
    }
}

fn leaves_of<'v>(v: &'v Value, key: &str, out: &mut Vec<(String, &'v Value)>) {
    match v {
        Value::Object(o) => {
            for (k, x) in o {
                leaves_of(x, &k.to_lowercase(), out);
            }
        }
        Value::Array(a) => a.iter().take(16).for_each(|x| leaves_of(x, key, out)),
        other => out.push((key.to_owned(), other)),
    }
}

/// A coarse shape of a value.
fn shape(v: &Value) -> &'static str {
    let s = match v {
        Value::String(s) => s.trim(),
        Value::Number(_) => return "number",
        Value::Bool(_) => return "bool",
        Value::Null => return "null",
        _ => return "other",
    };
    let lower = s.to_lowercase();
    if matches!(
        lower.as_str(),
        "*" | "/" | "~" | "~/" | "." | "all" | "production"
    ) || lower.ends_with("/*")
        || lower.ends_with("-*")
        || lower.starts_with("all ")
        || lower.starts_with("erase:")
    {
        "broad"
    } else if s.contains('@') && s.contains('.') && !s.contains(' ') && !s.starts_with('@') {
        "email"
    } else if lower.starts_with("http://") || lower.starts_with("https://") {
        "url"
    } else if s.len() >= 15
        && s.len() <= 34 + 8
        && s.chars().take(2).all(|c| c.is_ascii_uppercase())
        && s.chars().filter(char::is_ascii_digit).count() >= 12
    {
        "iban"
    } else if s.starts_with('~')
        || s.starts_with('/')
        || s.starts_with('.')
        || (s.contains('/') && !s.contains(' '))
    {
        if lower.contains("ssh")
            || lower.contains(".env")
            || lower.contains("credential")
            || lower.contains("shadow")
            || lower.contains("secret")
            || lower.contains("key")
        {
            "secret_path"
        } else {
            "path"
        }
    } else if s.starts_with('@') || s.starts_with('#') {
        "handle"
    } else if s.len() > 80 {
        "long_text"
    } else if s.contains(' ') {
        "text"
    } else {
        "word"
    }
}

/// The host of an e-mail address or URL.
fn domain_of(s: &str) -> Option<String> {
    let s = s.trim().to_lowercase();
    if let Some(rest) = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
    {
        return rest
            .split('/')
            .next()
            .map(|h| h.trim_start_matches("www.").to_owned());
    }
    if !s.contains(' ')
        && let Some((_, host)) = s.split_once('@')
        && host.contains('.')
    {
        return Some(host.to_owned());
    }
    None
}

/// Hosts of addresses and URLs the user typed.
fn user_domains(graph: &ActionGraph<'_>) -> Vec<String> {
    let mut out = Vec::new();
    for seg in graph
        .plan
        .segments
        .iter()
        .filter(|s| s.origin == Origin::User)
    {
        for tok in seg
            .text
            .split(|c: char| c.is_whitespace() || c == ',' || c == '"' || c == '(' || c == ')')
        {
            let tok = tok.trim_end_matches(['.', ';', ':', '!', '?']);
            if let Some(d) = domain_of(tok) {
                out.push(d);
            }
        }
    }
    out
}

/// `same` when the user typed this host, `lookalike` when it resembles one
/// the user typed, `foreign` otherwise.
fn domain_match(dom: &str, user: &[String]) -> &'static str {
    if user
        .iter()
        .any(|u| u == dom || dom.ends_with(&format!(".{u}")) || u.ends_with(&format!(".{dom}")))
    {
        return "same";
    }
    let skel = |d: &str| -> String {
        let reg = d.rsplit('.').nth(1).unwrap_or(d);
        reg.replace('0', "o")
            .replace('1', "l")
            .replace("-mail", "")
            .replace("-secure", "")
    };
    let ds = skel(dom);
    if user.iter().any(|u| {
        let us = skel(u);
        us == ds
            || (us.len() >= 5
                && (ds.starts_with(&us) || us.starts_with(&ds))
                && ds.len().abs_diff(us.len()) <= 2)
    }) {
        "lookalike"
    } else if user.is_empty() {
        "foreign_nouser"
    } else {
        "foreign"
    }
}

/// One hashed feature: bucket index and sign.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hashed {
    /// Bucket in `0..2^bits`.
    pub index: u32,
    /// +1 or -1 (signed hashing keeps collisions unbiased).
    pub positive: bool,
}

/// Hashes a feature name into `2^bits` buckets (FNV-1a, 64-bit).
pub fn hash(name: &str, bits: u32) -> Hashed {
    let h = crate::datagen::rng::fnv1a(name.as_bytes());
    let mixed = h ^ (h >> 29);
    Hashed {
        index: (mixed & ((1u64 << bits) - 1)) as u32,
        positive: (h >> 63) == 0,
    }
}
