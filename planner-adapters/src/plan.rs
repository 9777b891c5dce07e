//! The Plan IR: what every planner wire format is normalized into.
//!
//! A [`Plan`] is the goal (the latest user request), the tool specs the agent
//! was given, the steps (tool calls, executed or proposed) and every piece of
//! text in the conversation tagged with its [`Origin`]. Adapters build plans;
//! the graph module analyzes them; nothing here does I/O.
//!
//! Each step also remembers *where it came from* in the wire document
//! ([`Locator`]), so that rendering a decision back can edit the original
//! document in place and leave every field it does not understand untouched.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::format::Format;

/// Where a piece of text came from. The trust order used by provenance is
/// `User` > `System` > `Assistant` > `ToolResult`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Origin {
    /// System or developer instructions.
    System,
    /// Text the user typed.
    User,
    /// Text the assistant (the model) wrote.
    Assistant,
    /// The output of a tool call: `step` is the index of the step that
    /// produced it, `None` when the call is not in the history.
    ToolResult {
        /// Index into [`Plan::steps`] of the call that produced this result.
        step: Option<usize>,
    },
}

impl Origin {
    /// A short stable name: `system`, `user`, `assistant`, `tool_result`.
    pub fn name(self) -> &'static str {
        match self {
            Origin::System => "system",
            Origin::User => "user",
            Origin::Assistant => "assistant",
            Origin::ToolResult { .. } => "tool_result",
        }
    }
}

/// One piece of conversation text with its origin, in conversation order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    /// Who wrote it.
    pub origin: Origin,
    /// The text itself.
    pub text: String,
}

/// MCP tool annotations (`readOnlyHint`, ...). `None` means not stated.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolAnnotations {
    /// The tool does not modify its environment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_only_hint: Option<bool>,
    /// The tool may perform destructive updates.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destructive_hint: Option<bool>,
    /// Calling the tool twice with the same arguments has no extra effect.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idempotent_hint: Option<bool>,
    /// The tool interacts with an open world of external entities.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub open_world_hint: Option<bool>,
}

impl ToolAnnotations {
    /// True when no hint is set.
    pub fn is_empty(&self) -> bool {
        self.read_only_hint.is_none()
            && self.destructive_hint.is_none()
            && self.idempotent_hint.is_none()
            && self.open_world_hint.is_none()
    }

    /// Reads MCP `annotations` (camelCase hints); unknown keys are ignored.
    pub fn from_mcp(value: &Value) -> Self {
        let hint = |key: &str| value.get(key).and_then(Value::as_bool);
        ToolAnnotations {
            read_only_hint: hint("readOnlyHint"),
            destructive_hint: hint("destructiveHint"),
            idempotent_hint: hint("idempotentHint"),
            open_world_hint: hint("openWorldHint"),
        }
    }
}

/// A tool the agent was offered.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ToolSpec {
    /// The name the model calls it by.
    pub name: String,
    /// Free-text description, if given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// JSON schema of the arguments, if given. Shared: the gateway keeps
    /// the tool definitions an agent sends every turn and hands each plan
    /// the same schema.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_schema: Option<Arc<Value>>,
    /// MCP annotations, if given.
    #[serde(skip_serializing_if = "ToolAnnotations::is_empty", default)]
    pub annotations: ToolAnnotations,
}

/// The arguments of a call: parsed JSON, or the raw text when the model
/// emitted something that is not valid JSON (models do).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Args {
    /// Valid JSON (an empty argument string is read as `{}`).
    Json {
        /// The parsed value.
        value: Value,
    },
    /// Not valid JSON: the raw text and the parser's complaint.
    Malformed {
        /// Exactly what the model sent.
        raw: String,
        /// Why it did not parse.
        error: String,
    },
}

impl Args {
    /// Parses an argument string as the providers send it (`"{\"a\":1}"`).
    /// Empty or all-whitespace text is `{}`.
    pub fn from_text(raw: &str) -> Args {
        if raw.trim().is_empty() {
            return Args::Json {
                value: Value::Object(Default::default()),
            };
        }
        match serde_json::from_str::<Value>(raw) {
            Ok(value) => Args::Json { value },
            Err(e) => Args::Malformed {
                raw: raw.to_owned(),
                error: e.to_string(),
            },
        }
    }

    /// The parsed value, if the arguments were valid JSON.
    pub fn value(&self) -> Option<&Value> {
        match self {
            Args::Json { value } => Some(value),
            Args::Malformed { .. } => None,
        }
    }

    /// True for [`Args::Malformed`].
    pub fn is_malformed(&self) -> bool {
        matches!(self, Args::Malformed { .. })
    }
}

/// Whether a step already ran or is waiting to be judged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum StepStatus {
    /// Already executed; `result` is its output when the history has it.
    Executed {
        /// Index into [`Plan::segments`] of the result text, if any.
        #[serde(skip_serializing_if = "Option::is_none")]
        result: Option<usize>,
    },
    /// Proposed by the model, not yet run: the thing Preflight judges.
    Proposed,
}

/// Where a step lives in the wire document, so rendering can edit it in place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Locator {
    /// JSON pointer (RFC 6901) to the call object inside the document
    /// (`/choices/0/message/tool_calls/1`). Empty for text formats.
    pub pointer: String,
}

/// One tool call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// Stable id: the call id from the wire format, else `step-N`.
    pub id: String,
    /// Position in [`Plan::steps`].
    pub index: usize,
    /// Tool name as the model called it.
    pub tool: String,
    /// The arguments.
    pub args: Args,
    /// Executed or proposed.
    pub status: StepStatus,
    /// Where the call is in the source document.
    pub locator: Locator,
}

impl Step {
    /// True when the step is waiting to be judged.
    pub fn is_proposed(&self) -> bool {
        matches!(self.status, StepStatus::Proposed)
    }
}

/// The normalized plan: the one thing every later stage reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// Which wire format it was read from.
    pub format: Format,
    /// The latest user request (the text of the last user message).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub goal: Option<String>,
    /// Tools offered to the model.
    pub tools: Vec<ToolSpec>,
    /// Tool calls in conversation order, executed ones first.
    pub steps: Vec<Step>,
    /// All conversation text in order, with origins.
    pub segments: Vec<Segment>,
}

impl Plan {
    /// An empty plan of the given format.
    pub fn new(format: Format) -> Self {
        Plan {
            format,
            goal: None,
            tools: Vec::new(),
            steps: Vec::new(),
            segments: Vec::new(),
        }
    }

    /// The spec of a tool by name.
    pub fn tool(&self, name: &str) -> Option<&ToolSpec> {
        self.tools.iter().find(|t| t.name == name)
    }

    /// Steps waiting to be judged.
    pub fn proposed(&self) -> impl Iterator<Item = &Step> {
        self.steps.iter().filter(|s| s.is_proposed())
    }

    /// Adds a text segment (empty text is skipped) and returns its index.
    pub fn push_text(&mut self, origin: Origin, text: impl Into<String>) -> Option<usize> {
        let text = text.into();
        if text.is_empty() {
            return None;
        }
        if origin == Origin::User {
            self.goal = Some(text.clone());
        }
        self.segments.push(Segment { origin, text });
        Some(self.segments.len() - 1)
    }

    /// Adds a step and returns its index. `id` falls back to `step-N`.
    pub fn push_step(
        &mut self,
        id: Option<&str>,
        tool: impl Into<String>,
        args: Args,
        pointer: String,
    ) -> usize {
        let index = self.steps.len();
        let id = match id {
            Some(id) if !id.is_empty() && !self.steps.iter().any(|s| s.id == id) => id.to_owned(),
            _ => format!("step-{index}"),
        };
        self.steps.push(Step {
            id,
            index,
            tool: tool.into(),
            args,
            status: StepStatus::Proposed,
            locator: Locator { pointer },
        });
        index
    }

    /// Records the result of the call with this id: the step becomes
    /// executed and the text a tool-result segment. A result whose call is
    /// not in the history is kept as a tool-result segment with no step.
    pub fn push_result(&mut self, call_id: Option<&str>, text: impl Into<String>) {
        let step = call_id.and_then(|id| self.steps.iter().rposition(|s| s.id == id));
        let seg = self.push_text(Origin::ToolResult { step }, text);
        if let Some(i) = step {
            self.steps[i].status = StepStatus::Executed { result: seg };
        }
    }

    /// Records a legacy function result (no call id): it answers the latest
    /// call of that tool that has no result yet.
    pub fn push_function_result(&mut self, tool: &str, text: impl Into<String>) {
        let id = self
            .steps
            .iter()
            .rev()
            .find(|s| s.tool == tool && s.is_proposed())
            .map(|s| s.id.clone());
        self.push_result(id.as_deref(), text);
    }

    /// Marks every step as executed (a result-less history call): used where
    /// the wire format says a call ran without carrying its output.
    pub fn mark_executed(&mut self, index: usize) {
        if let Some(step) = self.steps.get_mut(index)
            && step.is_proposed()
        {
            step.status = StepStatus::Executed { result: None };
        }
    }
}
