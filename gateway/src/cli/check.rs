//! `preflight check`: run the gateway's one pipeline (graph, guard, policy)
//! on a file without a server and print what it decided — a readable summary,
//! JSON Lines (`--json`) or Graphviz (`--dot`).
//!
//! One file holds one plan in any supported format (auto-detected, or
//! `--format`); `--cases FILE.jsonl` reads many eval cases, one per line. A
//! case that cannot be read is reported with its line number and the others
//! still run; the exit code is then 2.

use std::io::{Read, Write};
use std::path::PathBuf;

use anyhow::Context as _;
use preflight_adapters::graph::ActionGraph;
use preflight_adapters::{Format, Plan, Verdict};
use serde_json::Value;

use super::{CliError, CliResult, EXIT_BAD_INPUT, EXIT_FINDING};
use crate::pipeline::{Judgement, Pipeline};

/// Largest input file read, in bytes.
const MAX_INPUT: u64 = 256 * 1024 * 1024;

/// Arguments of `preflight check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// A plan or conversation file in any supported format (`-` for stdin).
    #[arg(required_unless_present = "cases", conflicts_with = "cases")]
    pub file: Option<PathBuf>,
    /// The file's format instead of auto-detection.
    #[arg(long, value_parser = parse_format)]
    pub format: Option<Format>,
    /// Read eval cases from a JSONL file, one per line.
    #[arg(long, value_name = "FILE.jsonl")]
    pub cases: Option<PathBuf>,
    /// Print one compact JSON object per case per line.
    #[arg(long, conflicts_with = "dot")]
    pub json: bool,
    /// Print the action graph in Graphviz DOT.
    #[arg(long)]
    pub dot: bool,
    /// Configuration file (the policy bundle, strictness, guard settings);
    /// without it the embedded defaults are used.
    #[arg(long, short = 'c')]
    pub config: Option<PathBuf>,
    /// Rules only: do not score steps with the guard model.
    #[arg(long)]
    pub no_guard: bool,
    /// Exit 1 when any case's verdict is at least this strong
    /// (`block`, `require_approval`, `rewrite`).
    #[arg(long, value_parser = parse_verdict)]
    pub fail_on: Option<Verdict>,
}

fn parse_verdict(s: &str) -> Result<Verdict, String> {
    serde_json::from_value(Value::String(s.to_owned()))
        .map_err(|_| format!("`{s}` is not one of allow, rewrite, require_approval, block"))
}

/// Builds the pipeline `check` runs: the same one `serve` runs.
fn pipeline(args: &CheckArgs) -> Result<Pipeline, CliError> {
    let mut settings = crate::config::load(args.config.as_deref(), std::env::vars())
        .map_err(|e| CliError::bad_input(anyhow::Error::new(e)))?;
    if args.no_guard {
        settings.guard.enabled = false;
    }
    Pipeline::new(&settings).map_err(|e| CliError::bad_input(anyhow::Error::new(e)))
}

fn parse_format(s: &str) -> Result<Format, String> {
    s.parse()
        .map_err(|e: preflight_adapters::AdapterError| e.to_string())
}

/// Runs the command.
pub fn run(args: CheckArgs) -> CliResult {
    let out = std::io::stdout();
    let mut out = out.lock();
    let mut failed = 0usize;
    let mut strongest = Verdict::Allow;
    let pipeline = pipeline(&args)?;
    let mut emit = |out: &mut std::io::StdoutLock<'_>, id: &str, plan: &Plan| {
        let verdict = emit(out, &args, &pipeline, id, plan)?;
        strongest = strongest.max(verdict);
        Ok::<(), CliError>(())
    };
    if let Some(path) = &args.cases {
        let text = String::from_utf8(read_input(path)?).map_err(|e| {
            CliError::bad_input(anyhow::anyhow!("{}: not UTF-8: {e}", path.display()))
        })?;
        for (n, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let case = serde_json::from_str::<Value>(line)
                .map_err(|e| preflight_adapters::AdapterError::syntax(&e))
                .and_then(|v| preflight_adapters::adapters::eval_case::read(&v));
            match case {
                Ok(case) => emit(&mut out, &case.id, &case.plan)?,
                Err(e) => {
                    failed += 1;
                    report_bad(&format!("{}:{}", path.display(), n + 1), &e);
                }
            }
        }
    } else if let Some(path) = &args.file {
        let bytes = read_input(path)?;
        match preflight_adapters::parse(&bytes, args.format) {
            Ok(plan) => {
                let id = path.file_stem().map(|s| s.to_string_lossy().into_owned());
                emit(&mut out, id.as_deref().unwrap_or("stdin"), &plan)?;
            }
            Err(e) => {
                return Err(CliError::bad_input(anyhow::anyhow!(
                    "{}: {e}",
                    path.display()
                )));
            }
        }
    }
    out.flush().context("writing to stdout")?;
    if failed > 0 {
        return Ok(EXIT_BAD_INPUT);
    }
    Ok(match args.fail_on {
        Some(bar) if strongest >= bar && strongest != Verdict::Allow => EXIT_FINDING,
        _ => 0,
    })
}

fn report_bad(place: &str, e: &preflight_adapters::AdapterError) {
    #[expect(
        clippy::print_stderr,
        reason = "per-case errors go to stderr, results to stdout"
    )]
    {
        eprintln!("error: {place}: {e}");
    }
}

fn read_input(path: &PathBuf) -> Result<Vec<u8>, CliError> {
    let mut bytes = Vec::new();
    if path.as_os_str() == "-" {
        std::io::stdin()
            .take(MAX_INPUT)
            .read_to_end(&mut bytes)
            .context("reading stdin")?;
        return Ok(bytes);
    }
    let file = std::fs::File::open(path)
        .map_err(|e| CliError::bad_input(anyhow::anyhow!("{}: {e}", path.display())))?;
    file.take(MAX_INPUT)
        .read_to_end(&mut bytes)
        .with_context(|| format!("reading {}", path.display()))?;
    Ok(bytes)
}

/// Judges one plan and prints it; returns the overall verdict.
fn emit(
    out: &mut impl Write,
    args: &CheckArgs,
    pipeline: &Pipeline,
    id: &str,
    plan: &Plan,
) -> Result<Verdict, CliError> {
    let judgement = pipeline.judge_plan(plan, None);
    let graph = ActionGraph::build(plan);
    let io =
        |e: std::io::Error| CliError::internal(anyhow::Error::new(e).context("writing to stdout"));
    if args.dot {
        out.write_all(graph.to_dot().as_bytes()).map_err(io)?;
    } else if args.json {
        let line = serde_json::to_string(&compact_json(id, &graph, &judgement))
            .map_err(|e| CliError::internal(anyhow::Error::new(e)))?;
        writeln!(out, "{line}").map_err(io)?;
    } else {
        out.write_all(summary(id, &graph, &judgement).as_bytes())
            .map_err(io)?;
    }
    Ok(judgement.decision.verdict)
}

/// The `--json` object: the Decision contract of DESIGN.md (`decision_id`,
/// `verdict`, `steps`, `policy_digest`, `model_id`, `latency_us`) plus the case
/// `id` and, under `graph`, the analysis (goal, steps with args, labels and
/// provenance, injections, edges) without tool definitions and tool result
/// texts, which can be megabytes.
pub fn compact_json(id: &str, graph: &ActionGraph<'_>, judgement: &Judgement) -> Value {
    let mut g = graph.to_json();
    if let Value::Object(o) = &mut g {
        o.remove("tools");
        o.remove("flow");
        o.remove("nodes");
        if let Some(Value::Array(steps)) = o.get_mut("steps") {
            for s in steps {
                if let Value::Object(s) = s {
                    s.remove("result");
                }
            }
        }
    }
    let mut j = serde_json::to_value(&judgement.decision).unwrap_or(Value::Null);
    if let Value::Object(o) = &mut j {
        o.insert("id".into(), id.into());
        o.insert("graph".into(), g);
    }
    j
}

/// The readable report: the verdict, goal, each step with its labels, where
/// its argument values came from and what was decided, and any injected
/// instructions seen.
pub fn summary(id: &str, graph: &ActionGraph<'_>, judgement: &Judgement) -> String {
    use std::fmt::Write as _;
    let plan = graph.plan;
    let decision = &judgement.decision;
    let mut s = String::new();
    let _ = writeln!(s, "{id} ({}): {}", plan.format, decision.verdict.name());
    if let Some(goal) = &plan.goal {
        let _ = writeln!(s, "  goal: {}", one_line(goal, 100));
    }
    for (step, a) in plan.steps.iter().zip(&graph.steps) {
        let status = if step.is_proposed() {
            "proposed"
        } else {
            "executed"
        };
        let labels = a.labels.names().join(", ");
        let _ = writeln!(s, "  #{} {} [{status}] {}", step.index, step.tool, step.id);
        let _ = writeln!(
            s,
            "     labels: {}",
            if labels.is_empty() { "-" } else { &labels }
        );
        if let Some(d) = decision.step(&step.id) {
            let risk = d
                .risk
                .map_or(String::new(), |r| format!(", guard risk {r:.2}"));
            let _ = writeln!(s, "     verdict: {}{risk}", d.verdict.name());
            for reason in &d.reasons {
                let _ = writeln!(s, "       - {}", one_line(reason, 140));
            }
        }
        if step.is_proposed() {
            for p in a.provenance.iter().filter(|p| !p.short) {
                let from = match p.source_step {
                    Some(n) => format!("tool_result of #{n}"),
                    None => serde_json::to_value(p.origin)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default(),
                };
                let injected = if p.in_injection {
                    "  (inside injected text)"
                } else {
                    ""
                };
                let _ = writeln!(
                    s,
                    "     {} = {:?} <- {from}{injected}",
                    if p.path.is_empty() { "(raw)" } else { &p.path },
                    one_line(&p.value, 60)
                );
            }
        }
    }
    for inj in &graph.injections {
        let from = inj
            .step
            .map_or("an unknown call".to_owned(), |n| format!("#{n}"));
        let _ = writeln!(
            s,
            "  injected instruction in the result of {from}: {:?}",
            one_line(&inj.text, 100)
        );
    }
    s
}

fn one_line(text: &str, max: usize) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max {
        flat
    } else {
        let cut: String = flat.chars().take(max).collect();
        format!("{cut}…")
    }
}
