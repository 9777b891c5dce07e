//! `preflight policy test | check | explain | diff`: the policy author's
//! tools. Each reads a bundle directory (default: the bundle compiled into
//! the binary), hands the sources to `preflight-policies`, and prints.
//!
//! Exit codes (cli/mod.rs): 0 ok; 1 a failing test, a bundle that does not
//! compile, or (`diff --fail-on-change`) a changed verdict; 2 bad input
//! (missing directory, unreadable case); 3 internal errors.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, anyhow};
use preflight_adapters::adapters::eval_case;
use preflight_adapters::{Format, Plan, Verdict};
use preflight_policies::diff::{Case, diff};
use preflight_policies::error::Located;
use preflight_policies::{
    Bundle, Decision, DecisionContext, PolicyEngine, PolicyError, RequestMeta, TestReport,
    plan_input, run_tests,
};

use super::{CliError, CliResult, EXIT_BAD_INPUT, EXIT_FINDING};
use crate::policy_files::{load_bundle_at_rev, load_bundle_dir};

/// Largest case or corpus file read, in bytes.
const MAX_INPUT: u64 = 256 * 1024 * 1024;

/// `preflight policy` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum PolicyCommand {
    /// Run every `test_*` rule of the bundle; print pass/fail and coverage.
    Test(TestArgs),
    /// Compile the bundle and its tests; print errors as `file:line:col: message`.
    Check(BundleArg),
    /// Show which rules fire on a plan file (any format) and why.
    Explain(ExplainArgs),
    /// Replay a corpus under a base bundle and this one; print every changed verdict.
    Diff(DiffArgs),
}

/// A bundle directory argument.
#[derive(Debug, clap::Args)]
pub struct BundleArg {
    /// Bundle directory (`*.rego`, `*_test.rego`, `data.json`); default: the built-in bundle.
    pub dir: Option<PathBuf>,
}

/// Arguments of `policy test`.
#[derive(Debug, clap::Args)]
pub struct TestArgs {
    #[command(flatten)]
    bundle: BundleArg,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `policy explain`.
#[derive(Debug, clap::Args)]
pub struct ExplainArgs {
    /// A plan or conversation file in any supported format, or eval cases (JSONL).
    pub case: PathBuf,
    /// Bundle directory; default: the built-in bundle.
    #[arg(long)]
    pub bundle: Option<PathBuf>,
    /// The file's format instead of auto-detection.
    #[arg(long, value_parser = parse_format)]
    pub format: Option<Format>,
    /// Strictness for guard thresholds (`lenient`, `standard`, `strict`).
    #[arg(long)]
    pub strictness: Option<String>,
    /// Print the decisions as JSON, one object per line.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `policy diff`.
#[derive(Debug, clap::Args)]
pub struct DiffArgs {
    /// The old bundle: a directory, or a git revision of the new bundle's directory.
    #[arg(long)]
    pub base: String,
    /// Eval cases to replay, one JSON object per line.
    #[arg(long, value_name = "FILE.jsonl")]
    pub corpus: PathBuf,
    /// The new bundle directory; default: the built-in bundle.
    #[arg(long)]
    pub bundle: Option<PathBuf>,
    /// Where the bundle lives in the repository, for a git `--base` when
    /// `--bundle` is not given.
    #[arg(long, default_value = "policies/bundle")]
    pub path: PathBuf,
    /// Print the report as JSON instead of Markdown.
    #[arg(long)]
    pub json: bool,
    /// Exit 1 when any verdict changed.
    #[arg(long)]
    pub fail_on_change: bool,
}

fn parse_format(s: &str) -> Result<Format, String> {
    s.parse()
        .map_err(|e: preflight_adapters::AdapterError| e.to_string())
}

/// Runs the command.
pub fn run(cmd: PolicyCommand) -> CliResult {
    let mut out = String::new();
    let code = match cmd {
        PolicyCommand::Test(args) => test(&args, &mut out)?,
        PolicyCommand::Check(args) => check(&args, &mut out)?,
        PolicyCommand::Explain(args) => explain(&args, &mut out)?,
        PolicyCommand::Diff(args) => diff_cmd(&args, &mut out)?,
    };
    let stdout = std::io::stdout();
    let mut lock = stdout.lock();
    lock.write_all(out.as_bytes())
        .and_then(|()| lock.flush())
        .context("writing to stdout")?;
    Ok(code)
}

/// The bundle in `dir`, or the built-in one.
fn bundle(dir: Option<&Path>) -> Result<Bundle, CliError> {
    match dir {
        None => Ok(Bundle::embedded()),
        Some(dir) => load_bundle_dir(dir)
            .map(Bundle::from_sources)
            .map_err(CliError::bad_input),
    }
}

/// Compile problems with paths a terminal or editor can open.
fn located(dir: Option<&Path>, problems: &[Located]) -> String {
    let mut s = String::new();
    for p in problems {
        let file = match dir {
            Some(d) => d.join(&p.file).display().to_string(),
            None => format!("<built-in>/{}", p.file),
        };
        let _ = writeln!(s, "{file}:{}:{}: {}", p.line, p.col, p.message);
    }
    s
}

/// Maps a policy error to output and exit code: bundle problems are
/// findings (exit 1), printed where an editor can jump to them.
fn bundle_problem(dir: Option<&Path>, e: PolicyError, out: &mut String) -> u8 {
    match e {
        PolicyError::Compile(problems) => out.push_str(&located(dir, &problems)),
        other => {
            let _ = writeln!(out, "{other}");
        }
    }
    EXIT_FINDING
}

fn test(args: &TestArgs, out: &mut String) -> CliResult {
    let dir = args.bundle.dir.as_deref();
    let report = match run_tests(&bundle(dir)?) {
        Ok(r) => r,
        Err(e) => return Ok(bundle_problem(dir, e, out)),
    };
    if args.json {
        let json =
            serde_json::to_string_pretty(&report).map_err(|e| CliError::internal(anyhow!(e)))?;
        out.push_str(&json);
        out.push('\n');
    } else {
        out.push_str(&test_text(&report));
    }
    Ok(if report.passed() { 0 } else { EXIT_FINDING })
}

/// The readable test report: one line per test, coverage per file, rule
/// requirements, and the `N passed, N failed` closing line.
pub fn test_text(report: &TestReport) -> String {
    let mut s = String::new();
    for r in &report.results {
        match &r.error {
            None => {
                let _ = writeln!(s, "PASS {}.{}", r.package, r.name);
            }
            Some(e) => {
                let _ = writeln!(s, "FAIL {}.{}: {e}", r.package, r.name);
            }
        }
    }
    let _ = writeln!(s, "\ncoverage (lines evaluated by the tests):");
    let (mut covered, mut total) = (0, 0);
    for c in &report.coverage {
        covered += c.covered;
        total += c.total;
        let _ = writeln!(
            s,
            "  {:<36} {:>6}  ({}/{})",
            c.file,
            percent(c.covered, c.total),
            c.covered,
            c.total
        );
    }
    let _ = writeln!(
        s,
        "  {:<36} {:>6}  ({covered}/{total})",
        "total",
        percent(covered, total)
    );
    let untested: Vec<String> = report
        .failures()
        .into_iter()
        .filter(|f| f.starts_with("rule "))
        .collect();
    if untested.is_empty() {
        let _ = writeln!(
            s,
            "\nrules: {} rules, each fired by a test",
            report.rules.len()
        );
    } else {
        let _ = writeln!(s, "\nrules:");
        for u in &untested {
            let _ = writeln!(s, "  FAIL {u}");
        }
    }
    let failed = report.results.iter().filter(|r| !r.passed).count() + untested.len();
    let passed = report.results.iter().filter(|r| r.passed).count();
    let _ = writeln!(s, "\n{passed} passed, {failed} failed");
    s
}

fn percent(part: usize, whole: usize) -> String {
    if whole == 0 {
        return "-".into();
    }
    format!("{:.1}%", part as f64 * 100.0 / whole as f64)
}

fn check(args: &BundleArg, out: &mut String) -> CliResult {
    let dir = args.dir.as_deref();
    let b = bundle(dir)?;
    match PolicyEngine::check(&b) {
        Ok(engine) => {
            let _ = writeln!(
                out,
                "ok: {} rules, {} files, {}",
                engine.rules().len(),
                b.files.len(),
                engine.digest()
            );
            Ok(0)
        }
        Err(e) => Ok(bundle_problem(dir, e, out)),
    }
}

fn read(path: &Path) -> Result<Vec<u8>, CliError> {
    use std::io::Read as _;
    let file = std::fs::File::open(path)
        .map_err(|e| CliError::bad_input(anyhow!("{}: {e}", path.display())))?;
    let mut bytes = Vec::new();
    file.take(MAX_INPUT)
        .read_to_end(&mut bytes)
        .with_context(|| format!("reading {}", path.display()))?;
    Ok(bytes)
}

/// The plans in a case file: one document in any format, or several eval
/// cases one per line.
fn plans(path: &Path, format: Option<Format>) -> Result<Vec<(String, Plan)>, CliError> {
    let bytes = read(path)?;
    let stem = path
        .file_stem()
        .map_or_else(|| "case".to_owned(), |s| s.to_string_lossy().into_owned());
    let text = String::from_utf8_lossy(&bytes);
    let lines = text.lines().filter(|l| !l.trim().is_empty()).count();
    let detected = format.map_or_else(|| preflight_adapters::format::detect(&bytes), Ok);
    if lines > 1 && detected == Ok(Format::EvalCase) {
        let mut out = Vec::new();
        for case in eval_case::read_jsonl(&text) {
            let case = case.map_err(|e| CliError::bad_input(anyhow!("{}:{e}", path.display())))?;
            out.push((case.id, case.plan));
        }
        return Ok(out);
    }
    let plan = preflight_adapters::parse(&bytes, format)
        .map_err(|e| CliError::bad_input(anyhow!("{}: {e}", path.display())))?;
    Ok(vec![(stem, plan)])
}

fn explain(args: &ExplainArgs, out: &mut String) -> CliResult {
    let dir = args.bundle.as_deref();
    let engine = match PolicyEngine::compile(&bundle(dir)?) {
        Ok(e) => e,
        Err(e) => return Ok(bundle_problem(dir, e, out)),
    };
    let meta = RequestMeta {
        strictness: args.strictness.clone(),
        ..RequestMeta::default()
    };
    for (id, plan) in plans(&args.case, args.format)? {
        let input = plan_input(&plan, None, &meta);
        let ctx = DecisionContext {
            decision_id: id.clone(),
            model_id: None,
        };
        let decision = engine.evaluate(&input, &ctx);
        if args.json {
            let fired: serde_json::Map<String, serde_json::Value> = decision
                .steps
                .iter()
                .flat_map(|s| s.rules.iter())
                .filter_map(|r| {
                    engine
                        .rules()
                        .get(r)
                        .map(|m| (r.clone(), serde_json::json!(m)))
                })
                .collect();
            let line = serde_json::json!({"id": id, "decision": decision, "rules": fired});
            let _ = writeln!(out, "{line}");
        } else {
            out.push_str(&explain_text(&id, &plan, &engine, &decision));
        }
    }
    Ok(0)
}

/// One plan's explanation: each proposed step, its verdict, and every rule
/// that fired with its title and reason.
pub fn explain_text(id: &str, plan: &Plan, engine: &PolicyEngine, d: &Decision) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{id} ({}): {}", plan.format, d.verdict.name());
    if let Some(goal) = &plan.goal {
        let goal: String = goal.split_whitespace().collect::<Vec<_>>().join(" ");
        let short: String = goal.chars().take(120).collect();
        let _ = writeln!(
            s,
            "  goal: {short}{}",
            if short.len() < goal.len() { "…" } else { "" }
        );
    }
    for step in &d.steps {
        let cats = if step.categories.is_empty() {
            String::new()
        } else {
            format!(" [{}]", step.categories.join(", "))
        };
        let _ = writeln!(
            s,
            "  {} `{}`: {}{cats}",
            step.step_id,
            step.tool,
            step.verdict.name()
        );
        if step.rules.is_empty() {
            let _ = writeln!(s, "    no rule fired");
        }
        for reason in &step.reasons {
            let (rule, text) = reason.split_once(": ").unwrap_or(("", reason));
            match engine.rules().get(rule) {
                Some(meta) => {
                    let _ = writeln!(s, "    {rule} ({}): {text}", meta.title);
                }
                None => {
                    let _ = writeln!(s, "    {reason}");
                }
            }
        }
        if let (Verdict::Rewrite, Some(args)) = (step.verdict, &step.rewrite) {
            let _ = writeln!(s, "    rewritten arguments: {args}");
        }
    }
    let _ = writeln!(s, "  policy {}", d.policy_digest);
    s
}

fn diff_cmd(args: &DiffArgs, out: &mut String) -> CliResult {
    let head_dir = args.bundle.as_deref();
    let head = match PolicyEngine::compile(&bundle(head_dir)?) {
        Ok(e) => e,
        Err(e) => return Ok(bundle_problem(head_dir, e, out)),
    };
    let base_path = Path::new(&args.base);
    let (base_files, base_dir) = if base_path.is_dir() {
        (
            load_bundle_dir(base_path).map_err(CliError::bad_input)?,
            Some(base_path),
        )
    } else {
        let at = head_dir.unwrap_or(&args.path);
        (
            load_bundle_at_rev(&args.base, at).map_err(CliError::bad_input)?,
            None,
        )
    };
    let base = match PolicyEngine::compile(&Bundle::from_sources(base_files)) {
        Ok(e) => e,
        Err(e) => {
            out.push_str("the base bundle does not compile:\n");
            return Ok(bundle_problem(base_dir, e, out));
        }
    };
    let text = String::from_utf8(read(&args.corpus)?)
        .map_err(|e| CliError::bad_input(anyhow!("{}: not UTF-8: {e}", args.corpus.display())))?;
    let mut cases = Vec::new();
    let mut bad = 0;
    for case in eval_case::read_jsonl(&text) {
        match case {
            Ok(case) => {
                let input = plan_input(&case.plan, None, &RequestMeta::default());
                cases.push(Case { id: case.id, input });
            }
            Err(e) => {
                bad += 1;
                #[expect(
                    clippy::print_stderr,
                    reason = "bad corpus lines go to stderr, the report to stdout"
                )]
                {
                    eprintln!("error: {}:{e}", args.corpus.display());
                }
            }
        }
    }
    let report = diff(&base, &head, &cases);
    if args.json {
        let json =
            serde_json::to_string_pretty(&report).map_err(|e| CliError::internal(anyhow!(e)))?;
        out.push_str(&json);
        out.push('\n');
    } else {
        out.push_str(&report.to_markdown());
    }
    Ok(if bad > 0 {
        EXIT_BAD_INPUT
    } else if args.fail_on_change && !report.changes.is_empty() {
        EXIT_FINDING
    } else {
        0
    })
}
