//! A short, readable rationale per step, built from the evidence: the
//! step's labels, the data flow that matters (which argument came from
//! where), the top category, and the features that pushed the risk up most.

use std::fmt::Write as _;

use preflight_adapters::graph::{ActionGraph, Source};

use super::features::Hashed;
use super::linear::LinearModel;

/// How many features to quote.
const TOP_FEATURES: usize = 3;

/// Builds the rationale of step `index`. `names` are its feature names and
/// `hashed` the same features hashed (one entry per name).
pub fn explain(
    graph: &ActionGraph<'_>,
    index: usize,
    model: &LinearModel,
    names: &[impl AsRef<str>],
    hashed: &[Hashed],
    risk: f32,
    (category, category_p): (&str, f32),
) -> String {
    let mut out = String::new();
    let tool = graph
        .plan
        .steps
        .get(index)
        .map(|s| s.tool.as_str())
        .unwrap_or("?");
    if risk < 0.5 {
        let _ = write!(out, "risk {risk:.2}: {tool}");
    } else {
        let _ = write!(out, "risk {risk:.2}, {category} ({category_p:.2}): {tool}");
    }
    if let Some(an) = graph.steps.get(index) {
        let labels = an.labels.names();
        if !labels.is_empty() {
            let _ = write!(out, " [{}]", labels.join(", "));
        }
        // The most telling flow: injected text first, then tool output, then
        // values that appear nowhere.
        let flow = an.provenance.iter().filter(|p| !p.short).min_by_key(|p| {
            (
                !p.in_injection,
                p.origin != Source::ToolResult,
                p.origin != Source::None,
            )
        });
        if let Some(p) = flow {
            let whence = match (p.in_injection, p.origin) {
                (true, _) => format!(
                    "instruction-like text in the result of step {}",
                    p.source_step.map_or("?".into(), |s| s.to_string())
                ),
                (false, Source::ToolResult) => format!(
                    "the result of step {}",
                    p.source_step.map_or("?".into(), |s| s.to_string())
                ),
                (false, Source::None) => "nowhere in the conversation".into(),
                (false, Source::User) => "the user's request".into(),
                (false, Source::System) => "the system prompt".into(),
                (false, Source::Assistant) => "the assistant's own text".into(),
            };
            let _ = write!(
                out,
                "; {} came from {whence}",
                if p.path.is_empty() { "/" } else { &p.path }
            );
        }
    }
    // Above 0.5 the features that raised the risk most; below, those that
    // lowered it most ("why it looks fine").
    let against = risk < 0.5;
    let mut contrib: Vec<(f32, &str)> = names
        .iter()
        .zip(hashed)
        .map(|(n, &h)| {
            let w = model.risk_weight(h);
            (if against { -w } else { w }, n.as_ref())
        })
        .filter(|(w, n)| *w > 0.0 && !n.starts_with("hist:") && *n != "bias")
        .collect();
    contrib.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
    let mut top: Vec<String> = Vec::new();
    for (_, n) in &contrib {
        let d = describe(n);
        if !top.contains(&d) {
            top.push(d);
        }
        if top.len() == TOP_FEATURES {
            break;
        }
    }
    if !top.is_empty() {
        let lead = if against {
            "looks fine because"
        } else {
            "strongest evidence"
        };
        let _ = write!(out, "; {lead}: {}", top.join(", "));
    }
    out
}

/// A feature name in words, for the rationale; unknown shapes stay as they
/// are (they are still stable and greppable in `features.rs`).
pub fn describe(name: &str) -> String {
    let cut = name.find([':', '|']).unwrap_or(name.len());
    let (head, rest) = (&name[..cut], name.get(cut + 1..).unwrap_or(""));
    match head {
        "tw" => format!("tool word `{rest}`"),
        "l" => format!("label {rest}"),
        "l2" => format!("labels {}", rest.replace('+', " + ")),
        "goalcap" => {
            let (cap, yes) = rest.rsplit_once(':').unwrap_or((rest, ""));
            if yes == "true" {
                format!("the request asks for {cap}")
            } else {
                format!("the request does not ask for {cap}")
            }
        }
        "goal_asks" if rest.starts_with("false") => {
            "the request does not ask for this action".into()
        }
        "intent" if rest.ends_with("se:false") => "a read-only step".into(),
        "intent" if rest.contains("asked=false") => "an action the user did not ask for".into(),
        "intent" if rest.contains("asked=true") && rest.contains("user_only=true") => {
            "the user asked for this action with these values".into()
        }
        "goal_asks" => "the request asks for this action".into(),
        "goal_tool_word" if rest == "true" => "the request names this tool's action".into(),
        "injflow" if rest == "false" => "no value from injected text".into(),
        "injseen" if rest.starts_with("false") => "no injected instructions in the history".into(),
        "intent" if rest.contains("user_only=false") => "values not all from the user".into(),
        "dom" => match rest {
            "lookalike" => "a look-alike of a domain the user named".into(),
            "foreign" | "foreign_nouser" => "a domain the user never named".into(),
            "same" => "a domain the user named".into(),
            other => format!("domain {other}"),
        },
        "sh" => format!("a {} value", rest.replace('_', " ")),
        "value" if rest == "elevated" => "an elevated privilege value".into(),
        "hold" if rest.starts_with("true") => "the user asked to hold off".into(),
        "readintent" | "readonly_goal" => "a read-only request".into(),
        "ctxb" => format!("`{rest}` just before the value in the tool output"),
        "ctxa" => format!("`{rest}` just after the value in the tool output"),
        "injflow" if rest == "true" => "a value inside injected instructions".into(),
        "inj" => "a value inside injected instructions".into(),
        "injseen" if rest.starts_with("true") => {
            "injected instructions earlier in the history".into()
        }
        "o" | "kind" | "sho" | "cap" => {
            let origin = rest
                .split('|')
                .find_map(|p| p.strip_prefix("o:"))
                .unwrap_or(rest);
            let origin = ["none", "tool_result", "user", "system", "assistant"]
                .into_iter()
                .find(|o| origin.contains(o))
                .unwrap_or(origin);
            match origin {
                "none" => "a value found nowhere in the conversation".into(),
                "tool_result" => "a value taken from tool output".into(),
                "user" => "a value the user typed".into(),
                other => format!("a value from the {other} text"),
            }
        }
        "aw" | "vw" => format!("the word `{rest}` in the arguments"),
        "repeat_tool" => "the same tool already ran".into(),
        "prev" => format!("an earlier step was {rest}"),
        _ => name.to_owned(),
    }
}
