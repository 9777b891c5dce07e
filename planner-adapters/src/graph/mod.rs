//! The ActionGraph: a [`Plan`] analyzed into nodes, edges and labels.
//!
//! Nodes are the user prompt, the system prompt, each tool result and each
//! step. Edges are `order` (one step after another), `produces` (a step to
//! its result) and `data` (the place an argument value came from, to the step
//! that uses it). Each step gets labels from the fixed set in [`Label`]:
//! capabilities of its tool ([`capabilities`]), what its argument values say
//! ([`patterns`]), and where those values came from ([`provenance`],
//! [`injection`]).
//!
//! Building a graph is pure and allocation-light; its JSON form
//! ([`ActionGraph::to_json`]) is the `graph` object of the policy input
//! (docs/policy-input.md).

pub mod capabilities;
pub mod injection;
pub mod label;
pub mod patterns;
pub mod provenance;
pub mod search;

use std::fmt::Write as _;

use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;
use serde_json::{Map, Value, json};

pub use injection::InjectionSpan;
pub use label::{Label, LabelSet};
pub use provenance::{Provenance, Source};

use crate::plan::{Args, Origin, Plan, StepStatus};

/// A node of the graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Node {
    /// The user's messages.
    User,
    /// The system / developer prompt.
    System,
    /// The result of step N.
    Result(usize),
    /// Step N.
    Step(usize),
}

impl Node {
    /// Stable id used in JSON and DOT: `user`, `system`, `result:N`, `step:N`.
    pub fn id(self) -> String {
        match self {
            Node::User => "user".into(),
            Node::System => "system".into(),
            Node::Result(i) => format!("result:{i}"),
            Node::Step(i) => format!("step:{i}"),
        }
    }
}

/// The kind of an edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EdgeKind {
    /// Sequence: the target came after the source.
    Order,
    /// A step produced this result.
    Produces,
    /// An argument value of the target came from the source.
    Data,
}

impl EdgeKind {
    /// `order`, `produces`, `data`.
    pub fn name(self) -> &'static str {
        match self {
            EdgeKind::Order => "order",
            EdgeKind::Produces => "produces",
            EdgeKind::Data => "data",
        }
    }
}

/// What the analyses found about one step.
#[derive(Debug, Clone, PartialEq)]
pub struct StepAnalysis {
    /// The step's labels.
    pub labels: LabelSet,
    /// Capabilities of its tool alone (a subset of `labels`).
    pub capabilities: LabelSet,
    /// Provenance of each argument leaf.
    pub provenance: Vec<Provenance>,
}

/// A plan with its graph and analyses. Borrows the plan it was built from.
#[derive(Debug)]
pub struct ActionGraph<'p> {
    /// The plan.
    pub plan: &'p Plan,
    /// Nodes and edges.
    pub graph: DiGraph<Node, EdgeKind>,
    /// One analysis per step, same order as `plan.steps`.
    pub steps: Vec<StepAnalysis>,
    /// Instruction-like spans in tool results.
    pub injections: Vec<InjectionSpan>,
}

impl<'p> ActionGraph<'p> {
    /// Analyzes a plan.
    pub fn build(plan: &'p Plan) -> Self {
        // 0. Every segment lowercased once; both scans below search these.
        let lower: Vec<Vec<u8>> = plan
            .segments
            .iter()
            // One pass that writes the lowercase copy (`to_ascii_lowercase`
            // copies, then lowercases in place: two passes over the history).
            .map(|s| s.text.bytes().map(|b| b.to_ascii_lowercase()).collect())
            .collect();

        // 1. Injection spans, per tool-result segment.
        let mut spans_by_segment: Vec<Vec<(usize, usize)>> = vec![Vec::new(); plan.segments.len()];
        let mut injections = Vec::new();
        for (i, seg) in plan.segments.iter().enumerate() {
            if let Origin::ToolResult { step } = seg.origin {
                for (start, end, trigger) in injection::find_spans_lower(&seg.text, &lower[i]) {
                    spans_by_segment[i].push((start, end));
                    injections.push(InjectionSpan {
                        segment: i,
                        step,
                        start,
                        end,
                        trigger,
                        text: seg.text[start..end].to_owned(),
                    });
                }
            }
        }

        // 2. Provenance of every argument leaf.
        let provenance = provenance::trace(plan, &lower, &spans_by_segment);

        // 3. Labels.
        let mut steps = Vec::with_capacity(plan.steps.len());
        // Capabilities depend on the tool only: computed once per tool name
        // (a long history calls the same few tools over and over).
        let mut by_tool: Vec<(&str, LabelSet)> = Vec::new();
        for (step, prov) in plan.steps.iter().zip(provenance) {
            let capabilities = match by_tool.iter().find(|(name, _)| *name == step.tool) {
                Some(&(_, caps)) => caps,
                None => {
                    let caps = capabilities::tool_capabilities(&step.tool, plan.tool(&step.tool));
                    by_tool.push((&step.tool, caps));
                    caps
                }
            };
            let mut labels = capabilities.union(patterns::arg_labels(&arg_text(&step.args)));
            if step.args.is_malformed() {
                labels.insert(Label::MalformedArguments);
            }
            if labels.has_side_effect() {
                labels.remove(Label::ReadOnly);
            }
            let seen = injections.iter().any(|inj| match inj.step {
                Some(producer) => producer < step.index,
                None => true,
            });
            if seen {
                labels.insert(Label::InjectedInstructionSeen);
            }
            let traced = || prov.iter().filter(|p| !p.short);
            if !labels.contains(Label::ReadOnly) && traced().any(|p| p.origin == Source::ToolResult)
            {
                labels.insert(Label::UntrustedFlow);
            }
            if traced().any(|p| p.in_injection) {
                labels.insert(Label::InjectedFlow);
            }
            steps.push(StepAnalysis {
                labels,
                capabilities,
                provenance: prov,
            });
        }

        // 4. Nodes and edges.
        // Nodes: user, system, each step and its result. Edges: order,
        // produces, and a few data edges per step.
        let n = plan.steps.len();
        let mut graph = DiGraph::with_capacity(2 + 2 * n, 1 + 3 * n);
        let has = |o: Origin| plan.segments.iter().any(|s| s.origin == o);
        let user = has(Origin::User).then(|| graph.add_node(Node::User));
        let system = has(Origin::System).then(|| graph.add_node(Node::System));
        let step_nodes: Vec<NodeIndex> = (0..plan.steps.len())
            .map(|i| graph.add_node(Node::Step(i)))
            .collect();
        let result_nodes: Vec<Option<NodeIndex>> = plan
            .steps
            .iter()
            .enumerate()
            .map(|(i, s)| match s.status {
                StepStatus::Executed { result: Some(_) } => {
                    let r = graph.add_node(Node::Result(i));
                    graph.add_edge(step_nodes[i], r, EdgeKind::Produces);
                    Some(r)
                }
                _ => None,
            })
            .collect();
        if let (Some(u), Some(first)) = (user, step_nodes.first()) {
            graph.add_edge(u, *first, EdgeKind::Order);
        }
        for pair in step_nodes.windows(2) {
            graph.add_edge(pair[0], pair[1], EdgeKind::Order);
        }
        for (i, analysis) in steps.iter().enumerate() {
            let mut sources: Vec<NodeIndex> = Vec::new();
            for p in analysis.provenance.iter().filter(|p| !p.short) {
                match p.origin {
                    Source::User => sources.extend(user),
                    Source::System => sources.extend(system),
                    Source::ToolResult => {
                        sources.extend(p.source_steps.iter().filter_map(|s| result_nodes[*s]))
                    }
                    Source::Assistant | Source::None => {}
                }
            }
            sources.sort_unstable();
            sources.dedup();
            for s in sources {
                graph.add_edge(s, step_nodes[i], EdgeKind::Data);
            }
        }

        ActionGraph {
            plan,
            graph,
            steps,
            injections,
        }
    }

    /// The analysis of step `index`.
    pub fn step(&self, index: usize) -> Option<&StepAnalysis> {
        self.steps.get(index)
    }

    /// The graph as the policy input's `graph` object (docs/policy-input.md).
    ///
    /// Built by hand rather than through `json!`/`to_value`: the gateway
    /// calls this on every judged request, and sized maps, node ids computed
    /// once and no intermediate vectors keep the allocation count down. The
    /// output is byte-for-byte what serializing the analyses gives
    /// (`tests/graph_json.rs` holds the reference).
    pub fn to_json(&self) -> Value {
        let plan = self.plan;
        let tools: Vec<Value> = plan
            .tools
            .iter()
            .map(|t| {
                let caps = capabilities::tool_capabilities(&t.name, Some(t));
                let mut o = Map::with_capacity(5);
                o.insert("name".into(), t.name.clone().into());
                o.insert("description".into(), t.description.clone().into());
                o.insert(
                    "input_schema".into(),
                    t.input_schema.as_deref().cloned().unwrap_or(Value::Null),
                );
                o.insert("annotations".into(), annotations_json(&t.annotations));
                o.insert("capabilities".into(), label_names(caps));
                Value::Object(o)
            })
            .collect();
        let steps: Vec<Value> = plan
            .steps
            .iter()
            .zip(&self.steps)
            .map(|(s, a)| {
                let mut o = Map::with_capacity(10);
                o.insert("step_id".into(), s.id.clone().into());
                o.insert("index".into(), s.index.into());
                o.insert("tool".into(), s.tool.clone().into());
                o.insert(
                    "status".into(),
                    if s.is_proposed() {
                        "proposed"
                    } else {
                        "executed"
                    }
                    .into(),
                );
                match &s.args {
                    Args::Json { value } => {
                        o.insert("args".into(), value.clone());
                    }
                    Args::Malformed { raw, error } => {
                        o.insert("args".into(), Value::Null);
                        o.insert("args_raw".into(), raw.clone().into());
                        o.insert("args_error".into(), error.clone().into());
                    }
                }
                o.insert("labels".into(), label_names(a.labels));
                o.insert(
                    "provenance".into(),
                    Value::Array(a.provenance.iter().map(provenance_json).collect()),
                );
                if let StepStatus::Executed { result } = s.status {
                    let text = result
                        .and_then(|r| plan.segments.get(r))
                        .map(|seg| seg.text.clone());
                    o.insert("result".into(), text.into());
                }
                Value::Object(o)
            })
            .collect();
        let nodes: Vec<String> = self.graph.node_weights().map(|n| n.id()).collect();
        let id = |n: NodeIndex| nodes[n.index()].clone();
        let mut edges = Vec::with_capacity(self.graph.edge_count());
        let mut flow: Map<String, Value> = Map::with_capacity(nodes.len());
        for e in self.graph.edge_references() {
            let from = &nodes[e.source().index()];
            if *e.weight() != EdgeKind::Order {
                // `produces` and `data` edges carry data: result -> step paths
                // answer "does what X returned reach Y?" with graph.reachable.
                let to = Value::String(id(e.target()));
                match flow.get_mut(from) {
                    Some(Value::Array(a)) => a.push(to),
                    Some(_) => {}
                    None => {
                        flow.insert(from.clone(), Value::Array(vec![to]));
                    }
                }
            }
            let mut edge = Map::with_capacity(3);
            edge.insert("from".into(), from.clone().into());
            edge.insert("to".into(), id(e.target()).into());
            edge.insert("kind".into(), e.weight().name().into());
            edges.push(Value::Object(edge));
        }
        for n in &nodes {
            if !flow.contains_key(n) {
                flow.insert(n.clone(), Value::Array(Vec::new()));
            }
        }
        let mut o = Map::with_capacity(8);
        o.insert("format".into(), plan.format.name().into());
        o.insert("goal".into(), plan.goal.clone().into());
        o.insert("tools".into(), Value::Array(tools));
        o.insert("steps".into(), Value::Array(steps));
        o.insert("injections".into(), json!(self.injections));
        o.insert(
            "nodes".into(),
            Value::Array(nodes.into_iter().map(Value::String).collect()),
        );
        o.insert("edges".into(), Value::Array(edges));
        o.insert("flow".into(), Value::Object(flow));
        Value::Object(o)
    }

    /// The graph in Graphviz DOT: steps as boxes (proposed ones bold, with
    /// their labels), sources as ellipses, data edges solid, order dashed.
    pub fn to_dot(&self) -> String {
        let mut out =
            String::from("digraph plan {\n  rankdir=LR;\n  node [fontname=\"Helvetica\"];\n");
        for idx in self.graph.node_indices() {
            let node = self.graph[idx];
            let (label, attrs) = match node {
                Node::User => ("user".to_owned(), "shape=ellipse"),
                Node::System => ("system".to_owned(), "shape=ellipse"),
                Node::Result(i) => (format!("result of #{i}"), "shape=note"),
                Node::Step(i) => {
                    let step = &self.plan.steps[i];
                    let labels = self.steps[i].labels.names().join(", ");
                    let attrs = if step.is_proposed() {
                        "shape=box, style=bold"
                    } else {
                        "shape=box"
                    };
                    (format!("#{i} {}\\n[{labels}]", step.tool), attrs)
                }
            };
            let _ = writeln!(
                out,
                "  \"{}\" [label=\"{}\", {attrs}];",
                node.id(),
                label.replace('"', "\\\"")
            );
        }
        for e in self.graph.edge_references() {
            let style = match e.weight() {
                EdgeKind::Order => "style=dashed, color=gray",
                EdgeKind::Produces => "style=dotted",
                EdgeKind::Data => "color=red",
            };
            let _ = writeln!(
                out,
                "  \"{}\" -> \"{}\" [{style}];",
                self.graph[e.source()].id(),
                self.graph[e.target()].id()
            );
        }
        out.push_str("}\n");
        out
    }
}

/// Label names (sorted) as a JSON array.
fn label_names(labels: LabelSet) -> Value {
    Value::Array(labels.names().into_iter().map(Value::from).collect())
}

/// MCP annotations as their serde form: only the hints that are set.
fn annotations_json(a: &crate::plan::ToolAnnotations) -> Value {
    let hints = [
        ("read_only_hint", a.read_only_hint),
        ("destructive_hint", a.destructive_hint),
        ("idempotent_hint", a.idempotent_hint),
        ("open_world_hint", a.open_world_hint),
    ];
    let mut o = Map::with_capacity(hints.iter().filter(|(_, h)| h.is_some()).count());
    for (key, hint) in hints {
        if let Some(h) = hint {
            o.insert(key.into(), h.into());
        }
    }
    Value::Object(o)
}

/// One provenance entry as its serde form (`source_steps` skipped, `short`
/// only when set).
/// One provenance entry as the graph's JSON writes it (`steps[].provenance[]`).
pub fn provenance_json(p: &Provenance) -> Value {
    let mut o = Map::with_capacity(7);
    o.insert("path".into(), p.path.clone().into());
    o.insert("value".into(), p.value.clone().into());
    o.insert("kind".into(), p.kind.into());
    o.insert("origin".into(), p.origin.name().into());
    o.insert("source_step".into(), p.source_step.into());
    o.insert("in_injection".into(), p.in_injection.into());
    if p.short {
        o.insert("short".into(), true.into());
    }
    Value::Object(o)
}

/// All string leaves of the arguments (and the raw text of malformed ones)
/// joined by newlines, for the argument patterns.
fn arg_text(args: &Args) -> String {
    fn collect(v: &Value, out: &mut String) {
        match v {
            Value::String(s) => {
                out.push_str(s);
                out.push('\n');
            }
            Value::Array(a) => a.iter().for_each(|x| collect(x, out)),
            Value::Object(o) => o.values().for_each(|x| collect(x, out)),
            _ => {}
        }
    }
    let mut out = String::new();
    match args {
        Args::Json { value } => collect(value, &mut out),
        Args::Malformed { raw, .. } => out.push_str(raw),
    }
    out
}
