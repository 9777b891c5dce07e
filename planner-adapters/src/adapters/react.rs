//! ReAct text: the `Thought:` / `Action:` / `Action Input:` / `Observation:`
//! transcript that ReAct agents (LangChain's `create_react_agent`, the
//! original paper's prompts, many home-grown loops) keep as their scratchpad.
//!
//! A block starts at a line beginning with a keyword (case-insensitive, an
//! optional step number allowed: `Action 2:`) and runs until the next keyword
//! line, so inputs and observations may span lines. `Question:` is the user's
//! goal; `Thought:` and `Final Answer:` are assistant text. An `Action:`
//! answered by an `Observation:` ran (the observation is its result); the
//! last `Action:` without one is the proposed step. `Action Input:` that
//! starts with `{` is JSON (broken JSON is kept as malformed arguments); any
//! other input is `{"input": "<text>"}`, the way ReAct tools take a single
//! string. The paper's `Action: Search[query]` form is read the same way.
//!
//! Text before the first keyword is assistant text (the model's first
//! thought: LangChain's prompt ends in `Thought:`, so the completion starts
//! mid-block). A LangChain prompt template (everything up to a `Begin!`
//! line) is system text, and the tool names
//! it lists (`should be one of [a, b]`) become the plan's tools, with the
//! descriptions given as `name: description` lines.
//!
//! ReAct has no quoting: an observation line that starts with a keyword
//! (an injected `Action:` in fetched text) starts a new block. That either
//! breaks the transcript (an error) or becomes the proposed step (judged),
//! so it never slips through unjudged.
//!
//! Errors carry the 1-based line: an `Observation:` or `Action Input:` with
//! no action to belong to, an action left unanswered before the next one,
//! an empty tool name. There is no in-place render for ReAct: `preflight
//! check` reports the decision on a transcript but does not rewrite it (the
//! agent loop that produced it has to act on the decision JSON).

use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Map, Value};

use crate::error::{AdapterError, Result};
use crate::format::Format;
use crate::plan::{Args, Origin, Plan, ToolSpec};

/// The block keywords. `Action Input` must be tried before `Action`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Keyword {
    Question,
    Thought,
    ActionInput,
    Action,
    Observation,
    FinalAnswer,
}

#[expect(
    clippy::expect_used,
    reason = "a constant pattern, checked by every test"
)]
static KEYWORD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*(question|thought|action\s+input|action|observation|final\s+answer)(?:\s*\d+)?\s*:")
        .expect("the keyword pattern compiles")
});

#[expect(
    clippy::expect_used,
    reason = "a constant pattern, checked by every test"
)]
static TOOL_LIST: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"should be one of \[([^\]\n]*)\]").expect("the tool list pattern compiles")
});

/// One keyword block: its keyword, first line (1-based) and text.
struct Block {
    keyword: Keyword,
    line: usize,
    text: String,
}

/// An action waiting for its input or observation.
struct Pending {
    line: usize,
    tool: String,
    /// Input from the `Tool[input]` form, when used.
    bracket_input: Option<String>,
    input: Option<(usize, String)>,
}

/// Reads a ReAct transcript.
pub fn read(text: &str) -> Result<Plan> {
    let mut plan = Plan::new(Format::React);
    let lines: Vec<&str> = text.trim_start_matches('\u{feff}').lines().collect();
    let begin = lines.iter().position(|l| l.trim() == "Begin!");
    let start = match begin {
        Some(b) => {
            let preamble = lines[..=b].join("\n");
            plan.tools = template_tools(&preamble);
            plan.push_text(Origin::System, preamble.trim());
            b + 1
        }
        None => 0,
    };
    let (lead, blocks) = split_blocks(&lines, start);
    // Text before the first keyword is most often the model's own first
    // thought (LangChain's prompt ends in `Thought:`), so it gets the
    // assistant's trust, never the system's.
    plan.push_text(Origin::Assistant, lead.trim());
    if blocks.is_empty() {
        return Err(AdapterError::Line {
            line: start + 1,
            reason: "no ReAct block (`Thought:`, `Action:`, `Action Input:`, `Observation:`)"
                .into(),
        });
    }

    let mut pending: Option<Pending> = None;
    for block in blocks {
        let body = block.text.trim();
        match block.keyword {
            Keyword::Question => {
                plan.push_text(Origin::User, body);
            }
            Keyword::Thought | Keyword::FinalAnswer => {
                plan.push_text(Origin::Assistant, body);
            }
            Keyword::Action => {
                if let Some(open) = &pending {
                    return Err(AdapterError::Line {
                        line: block.line,
                        reason: format!(
                            "a new `Action:` before the `Observation:` of the action at line {}",
                            open.line
                        ),
                    });
                }
                pending = Some(parse_action(body, block.line)?);
            }
            Keyword::ActionInput => {
                let Some(open) = pending.as_mut() else {
                    return Err(AdapterError::Line {
                        line: block.line,
                        reason: "`Action Input:` with no `Action:` before it".into(),
                    });
                };
                if let Some((first, _)) = &open.input {
                    return Err(AdapterError::Line {
                        line: block.line,
                        reason: format!("a second `Action Input:` for the action at line {first}"),
                    });
                }
                open.input = Some((block.line, body.to_owned()));
            }
            Keyword::Observation => {
                let Some(open) = pending.take() else {
                    return Err(AdapterError::Line {
                        line: block.line,
                        reason: "`Observation:` with no `Action:` before it".into(),
                    });
                };
                let index = push_action(&mut plan, open);
                let step_id = plan.steps[index].id.clone();
                plan.push_result(Some(&step_id), body);
            }
        }
    }
    if let Some(open) = pending {
        push_action(&mut plan, open);
    }
    Ok(plan)
}

/// Splits lines (from `start`) into the text before the first keyword and
/// the keyword blocks.
fn split_blocks(lines: &[&str], start: usize) -> (String, Vec<Block>) {
    let mut lead = String::new();
    let mut blocks: Vec<Block> = Vec::new();
    for (i, line) in lines.iter().enumerate().skip(start) {
        if let Some(m) = KEYWORD.captures(line) {
            let word = m
                .get(1)
                .map(|w| w.as_str().to_ascii_lowercase())
                .unwrap_or_default();
            let keyword = match word.split_whitespace().collect::<Vec<_>>().as_slice() {
                ["question"] => Keyword::Question,
                ["thought"] => Keyword::Thought,
                ["action", "input"] => Keyword::ActionInput,
                ["action"] => Keyword::Action,
                ["observation"] => Keyword::Observation,
                _ => Keyword::FinalAnswer,
            };
            let rest = m.get(0).map_or("", |whole| &line[whole.end()..]);
            blocks.push(Block {
                keyword,
                line: i + 1,
                text: rest.to_owned(),
            });
        } else if let Some(block) = blocks.last_mut() {
            block.text.push('\n');
            block.text.push_str(line);
        } else {
            lead.push_str(line);
            lead.push('\n');
        }
    }
    (lead, blocks)
}

fn parse_action(body: &str, line: usize) -> Result<Pending> {
    let first = body.lines().next().unwrap_or("").trim();
    let (tool, bracket_input) = match first.split_once('[') {
        Some((tool, rest)) if rest.ends_with(']') => {
            (tool.trim(), Some(rest[..rest.len() - 1].to_owned()))
        }
        _ => (first, None),
    };
    let tool = tool
        .trim_matches(|c: char| c == '`' || c == '"' || c == '\'')
        .trim();
    if tool.is_empty() {
        return Err(AdapterError::Line {
            line,
            reason: "`Action:` names no tool".into(),
        });
    }
    Ok(Pending {
        line,
        tool: tool.to_owned(),
        bracket_input,
        input: None,
    })
}

fn push_action(plan: &mut Plan, action: Pending) -> usize {
    let args = match (&action.input, &action.bracket_input) {
        (Some((_, input)), _) => parse_input(input),
        (None, Some(input)) => parse_input(input),
        (None, None) => Args::Json {
            value: Value::Object(Map::new()),
        },
    };
    plan.push_step(None, action.tool, args, String::new())
}

/// Reads an action input: JSON when it looks like a JSON object, else the
/// single-string `{"input": ...}` form. Code fences and the surrounding
/// quotes models like to add are taken off first.
fn parse_input(input: &str) -> Args {
    let mut text = input.trim();
    if let Some(fenced) = text.strip_prefix("```") {
        // Drop the info string (```json) and the closing fence.
        let body = fenced.split_once('\n').map_or("", |(_, body)| body);
        text = body.trim_end().strip_suffix("```").unwrap_or(body).trim();
    }
    if text.starts_with('{') {
        return Args::from_text(text);
    }
    let text = text
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(text);
    if text.is_empty() {
        return Args::from_text("");
    }
    let mut value = Map::new();
    value.insert("input".to_owned(), Value::String(text.to_owned()));
    Args::Json {
        value: Value::Object(value),
    }
}

/// The tools a LangChain ReAct prompt offers: the names in `should be one
/// of [...]`, described by the template's `name: description` lines.
fn template_tools(preamble: &str) -> Vec<ToolSpec> {
    let Some(list) = TOOL_LIST.captures(preamble).and_then(|c| c.get(1)) else {
        return Vec::new();
    };
    list.as_str()
        .split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(|name| {
            let description = preamble.lines().find_map(|line| {
                let rest = line.trim().strip_prefix(name)?;
                let rest = rest.strip_prefix(':').or_else(|| rest.strip_prefix(" -"))?;
                Some(rest.trim().to_owned()).filter(|d| !d.is_empty())
            });
            ToolSpec {
                name: name.to_owned(),
                description,
                ..ToolSpec::default()
            }
        })
        .collect()
}
