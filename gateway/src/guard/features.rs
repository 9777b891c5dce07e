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

    /// Adds the name made of `parts` in order (no formatting machinery:
    /// this runs some fifty times per step).
    pub fn push_cat(&mut self, parts: &[&str]) {
        for p in parts {
            self.text.push_str(p);
        }
        self.ends.push(self.text.len());
    }

    /// Adds `prefix` followed by `word` lower-cased (as
    /// `str::to_lowercase` does; ASCII words without an allocation).
    pub fn push_lower(&mut self, prefix: &str, word: &str) {
        self.text.push_str(prefix);
        if word.is_ascii() {
            let at = self.text.len();
            self.text.push_str(word);
            self.text[at..].make_ascii_lowercase();
        } else {
            self.text.push_str(&word.to_lowercase());
        }
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

/// What the features of every step of one plan share: the goal and what
/// it asks for, and the hosts the user typed. Built once per plan
/// ([`PlanContext::new`]) and passed to [`extract_step`] for each step.
#[derive(Debug, Clone)]
pub struct PlanContext {
    /// Whether there is a goal at all.
    has_goal: bool,
    /// The goal's words of two characters or more, as [`stem_eq`] compares
    /// them.
    goal_stems: Stems,
    /// Capabilities the goal's verbs ask for.
    asked: BTreeSet<Label>,
    /// The goal asks to hold off ("don't send yet").
    hold: bool,
    /// The goal only reads ("check ...") and asks for no capability.
    read_intent: bool,
    /// Hosts of addresses and URLs the user typed.
    user_domains: Vec<String>,
}

impl PlanContext {
    /// The shared facts of `graph`'s plan.
    pub fn new(graph: &ActionGraph<'_>) -> PlanContext {
        let goal = graph.plan.goal.as_deref().unwrap_or("").to_lowercase();
        let has_goal = !goal.trim().is_empty();
        let goal_stems = Stems::new(
            goal.split(|c: char| !c.is_alphanumeric())
                .filter(|w| w.len() >= 2),
        );
        let asked: BTreeSet<Label> = GOAL_VERBS
            .iter()
            .filter(|(w, _)| goal_stems.matches(w))
            .map(|(_, l)| *l)
            .collect();
        let hold = HOLD_PHRASES.iter().any(|p| goal.contains(p));
        let first = goal.split_whitespace().next().unwrap_or("");
        let read_intent = asked.is_empty() && READ_INTENT.contains(&first);
        PlanContext {
            has_goal,
            goal_stems,
            asked,
            hold,
            read_intent,
            user_domains: user_domains(graph),
        }
    }

    /// `true`/`false` for a goal fact, `nogoal` without a goal.
    ///
    /// A plan without a user request (an MCP session, a bare plan file)
    /// says nothing about intent: the goal features then read `nogoal`
    /// instead of a `false` that would count as "the user did not ask for
    /// this".
    fn yes_no(&self, b: bool) -> &'static str {
        if self.has_goal { tf(b) } else { "nogoal" }
    }
}

/// `true` or `false`.
fn tf(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}

/// Writes the feature names of step `index` of `graph` into `out`
/// (cleared first). Executed steps get the same features; the guard only
/// asks for proposed ones. Scoring several steps of one plan builds the
/// [`PlanContext`] once and calls [`extract_step`].
pub fn extract_into(graph: &ActionGraph<'_>, index: usize, out: &mut Names) {
    extract_step(&PlanContext::new(graph), graph, index, out);
}

/// [`extract_into`] with the plan's shared facts already built.
pub fn extract_step(ctx: &PlanContext, graph: &ActionGraph<'_>, index: usize, out: &mut Names) {
    out.clear();
    let plan = graph.plan;
    let (Some(step), Some(an)) = (plan.steps.get(index), graph.steps.get(index)) else {
        return;
    };
    out.push("bias");
    let yes_no = |b: bool| ctx.yes_no(b);
    out.push_cat(&["has_goal:", tf(ctx.has_goal)]);

    // Tool name words and whether the goal uses them.
    let words = name_words(&step.tool);
    let mut goal_has_tool_word = false;
    for w in &words {
        out.push_cat(&["tw:", w]);
        if w.len() >= 3 && ctx.goal_stems.matches(w) {
            goal_has_tool_word = true;
        }
    }
    out.push_cat(&["goal_tool_word:", yes_no(goal_has_tool_word)]);
    // Verb families the capability labels do not separate: stopping a
    // service vs deleting data vs erasing records of what happened.
    for (family, verbs) in VERB_FAMILIES {
        if words.iter().any(|w| verbs.contains(&w.as_str())) {
            out.push_cat(&["verb:", family]);
        }
    }

    // Labels, label pairs, capabilities.
    let labels: Vec<&str> = an.labels.names();
    for l in &labels {
        out.push_cat(&["l:", l]);
    }
    for (i, a) in labels.iter().enumerate() {
        for b in &labels[i + 1..] {
            out.push_cat(&["l2:", a, "+", b]);
        }
    }
    if labels.is_empty() {
        out.push("l:none");
    }
    let side_effect = an.labels.has_side_effect() || !an.labels.contains(Label::ReadOnly);

    // Goal verbs × capabilities: does the user ask for what this tool does?
    let asked = &ctx.asked;
    let mut any_asked = false;
    for cap in an.capabilities.iter().filter(|c| c.is_side_effect()) {
        let yes = asked.contains(&cap);
        any_asked |= yes;
        out.push_cat(&["goalcap:", cap.as_str(), ":", yes_no(yes)]);
    }
    let se = tf(side_effect);
    out.push_cat(&[
        "goal_asks:",
        yes_no(any_asked || goal_has_tool_word),
        "|se:",
        se,
    ]);
    let (hold, read_intent) = (ctx.hold, ctx.read_intent);
    out.push_cat(&["hold:", yes_no(hold), "|se:", se]);
    out.push_cat(&["readintent:", yes_no(read_intent), "|se:", se]);
    for l in &labels {
        if hold || read_intent {
            out.push_cat(&["readonly_goal|l:", l]);
        }
    }

    // Arguments: keys, shapes, provenance.
    let user_domains = &ctx.user_domains;
    match &step.args {
        Args::Malformed { .. } => out.push("args:malformed"),
        Args::Json { value } => {
            let mut leaves = Vec::new();
            leaves_of(value, &mut leaves);
            for leaf in &leaves {
                out.push_cat(&["sh:", shape(leaf)]);
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
                        out.push_cat(&["dom:", domain_match(&dom, user_domains)]);
                    }
                    if s.len() >= 24 {
                        for w in s
                            .split(|c: char| !c.is_alphanumeric())
                            .filter(|w| w.len() >= 4)
                            .take(40)
                        {
                            out.push_lower("aw:", w);
                        }
                    }
                }
            }
        }
    }
    let mut any_injected = false;
    for p in an.provenance.iter().filter(|p| !p.short) {
        let origin = source_name(p.origin);
        out.push_cat(&["o:", origin]);
        let vshape = str_shape(&p.value);
        out.push_cat(&["sho:", vshape, "|", origin]);
        out.push_cat(&["sho:", vshape, "|", origin, "|se:", se]);
        out.push_cat(&["kind:", p.kind, "|", origin]);
        for cap in an.labels.iter().filter(|c| c.is_side_effect()) {
            out.push_cat(&["cap:", cap.as_str(), "|o:", origin]);
        }
        if p.origin == Source::ToolResult {
            context_words(graph, p.source_step, &p.value, out);
        }
        if p.in_injection {
            any_injected = true;
            out.push_cat(&["inj:", vshape]);
            for cap in an.labels.iter().filter(|c| c.is_side_effect()) {
                out.push_cat(&["cap:", cap.as_str(), "|inj"]);
            }
        }
    }
    out.push_cat(&["injflow:", tf(any_injected)]);

    // Intent consistency: the user asked for this kind of action and every
    // traced value came from the user. The linear model needs the cross
    // spelled out to tell "delete the file I named" from "delete something".
    let mut traced = an.provenance.iter().filter(|p| !p.short).peekable();
    let user_only = traced.peek().is_some() && traced.all(|p| p.origin == Source::User);
    let asked = yes_no(any_asked || goal_has_tool_word);
    let user_only = tf(user_only);
    out.push_cat(&["intent:asked=", asked, "|user_only=", user_only, "|se:", se]);
    for l in an.labels.iter().filter(|l| l.is_side_effect()) {
        out.push_cat(&[
            "intent:",
            l.as_str(),
            "|asked=",
            asked,
            "|user_only=",
            user_only,
        ]);
    }
    out.push_cat(&[
        "injseen:",
        tf(an.labels.contains(Label::InjectedInstructionSeen)),
        "|se:",
        se,
    ]);

    // What already ran.
    let executed: Vec<_> = plan
        .steps
        .iter()
        .zip(&graph.steps)
        .take(index)
        .filter(|(s, _)| matches!(s.status, StepStatus::Executed { .. }))
        .collect();
    out.push_cat(&["hist:", ["0", "1", "2", "3"][executed.len().min(3)]]);
    if executed.iter().any(|(s, _)| s.tool == step.tool) {
        out.push_cat(&["repeat_tool|se:", se]);
    }
    for (_, a) in &executed {
        for l in a.labels.iter().filter(|l| l.is_side_effect()) {
            out.push_cat(&["prev:", l.as_str()]);
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
        out.push_cat(&["ctxb:", w]);
    }
    for w in after
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.len() >= 3 && !w.chars().any(|c| c.is_ascii_digit()))
    {
        out.push_cat(&["ctxa:", w]);
    }
}

/// `goal` word and tool word match on a shared 4-letter stem (`deleted`
/// ~ `delete`, `payment` ~ `pay` only on exact match for short words).
/// A set of words looked up by [`stem_eq`]: `matches(w)` is true when
/// some word `g` of the set has `stem_eq(g, w)`. Words shorter than four
/// bytes match exactly, longer ones by their first four bytes, so the set
/// keeps the short words and the four-byte prefixes, sorted.
#[derive(Debug, Clone, Default)]
struct Stems {
    /// Words of fewer than four bytes, zero-padded (words hold no NUL).
    short: Vec<[u8; 4]>,
    /// The first four bytes of longer words.
    prefixes: Vec<[u8; 4]>,
}

impl Stems {
    fn new<'a>(words: impl Iterator<Item = &'a str>) -> Stems {
        let mut s = Stems::default();
        for w in words {
            let (key, list) = Stems::key(w);
            if list { &mut s.prefixes } else { &mut s.short }.push(key);
        }
        for v in [&mut s.short, &mut s.prefixes] {
            v.sort_unstable();
            v.dedup();
        }
        s
    }

    /// The lookup key of `w`, and whether it is a prefix (a long word).
    fn key(w: &str) -> ([u8; 4], bool) {
        let b = w.as_bytes();
        let mut key = [0u8; 4];
        let n = b.len().min(4);
        key[..n].copy_from_slice(&b[..n]);
        (key, b.len() >= 4)
    }

    fn matches(&self, w: &str) -> bool {
        let (key, long) = Stems::key(w);
        let list = if long { &self.prefixes } else { &self.short };
        list.binary_search(&key).is_ok()
    }
}

/// Two words share a stem: equal when either is shorter than four bytes,
/// else the same first four bytes. [`Stems`] answers it for a whole set.
#[cfg(test)]
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

/// The scalar leaves of `v` in document order (at most 16 items of each
/// array).
fn leaves_of<'v>(v: &'v Value, out: &mut Vec<&'v Value>) {
    match v {
        Value::Object(o) => o.values().for_each(|x| leaves_of(x, out)),
        Value::Array(a) => a.iter().take(16).for_each(|x| leaves_of(x, out)),
        other => out.push(other),
    }
}

/// A coarse shape of a value.
fn shape(v: &Value) -> &'static str {
    match v {
        Value::String(s) => str_shape(s),
        Value::Number(_) => "number",
        Value::Bool(_) => "bool",
        Value::Null => "null",
        _ => "other",
    }
}

/// The shape of a string value.
fn str_shape(s: &str) -> &'static str {
    let s = s.trim();
    // Most values are short ASCII: lower-cased on the stack.
    let mut buf = [0u8; 64];
    let owned;
    let lower: &str = match buf.get_mut(..s.len()) {
        Some(b) if s.is_ascii() => {
            b.copy_from_slice(s.as_bytes());
            b.make_ascii_lowercase();
            std::str::from_utf8(b).unwrap_or_default()
        }
        _ => {
            owned = s.to_lowercase();
            &owned
        }
    };
    if matches!(lower, "*" | "/" | "~" | "~/" | "." | "all" | "production")
        || lower.ends_with("/*")
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
    // Without `@` or `://` neither form below can match (lowercasing
    // creates neither); most tokens end here without allocating.
    if !s.contains('@') && !s.contains("://") {
        return None;
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_match_exactly_when_some_word_shares_a_stem() {
        let goal = [
            "send", "it", "to", "the", "team", "sending", "café", "ok", "deletes", "naïve", "x1",
        ];
        let stems = Stems::new(goal.iter().copied());
        let probes = [
            "send", "sent", "sender", "it", "its", "to", "tom", "team", "teams", "tea", "caf",
            "cafés", "cafe", "ok", "okay", "delete", "dele", "del", "naïf", "naï", "x1", "x", "",
            "the", "them", "th",
        ];
        for w in probes {
            let want = goal.iter().any(|g| stem_eq(g, w));
            assert_eq!(stems.matches(w), want, "{w}");
        }
    }

    #[test]
    fn domain_of_reads_addresses_and_urls_only() {
        assert_eq!(
            domain_of("Ops@NorthWind.example").as_deref(),
            Some("northwind.example")
        );
        assert_eq!(
            domain_of(" https://www.Example.com/x").as_deref(),
            Some("example.com")
        );
        assert_eq!(domain_of("HTTP://a.b"), Some("a.b".to_owned()));
        assert_eq!(domain_of("plain words"), None);
        assert_eq!(domain_of("user@localhost"), None);
        assert_eq!(domain_of("a b@c.d"), None);
    }
}
