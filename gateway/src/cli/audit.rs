//! `preflight audit verify | query | export | stats`: reading the audit log
//! of a data directory. (Writing is the server's job; the hidden
//! `write-load` subcommand drives the writer for crash tests and rough
//! throughput checks.)

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use preflight_adapters::Verdict;

use super::{CliError, CliResult, EXIT_FINDING};
use crate::audit::export::export_cases;
use crate::audit::index::Index;
use crate::audit::query::{self, Filter};
use crate::audit::record::EventKind;
use crate::audit::stats::stats;
use crate::audit::{self as log, AuditError, DEFAULT_DATA_DIR};

/// `--data-dir`, shared by `serve` and every `audit` command.
#[derive(Debug, Clone, clap::Args)]
pub struct DataDirArg {
    /// The data directory (the audit log lives in its `audit/` folder).
    #[arg(long, value_name = "DIR", default_value = DEFAULT_DATA_DIR)]
    pub data_dir: PathBuf,
}

/// Record filters shared by `query`, `export` and `stats`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct FilterArgs {
    /// Only this verdict: allow, rewrite, require_approval, block.
    #[arg(long, value_parser = parse_verdict)]
    pub verdict: Option<Verdict>,
    /// Only `decision` or `approval` records.
    #[arg(long, value_parser = parse_event)]
    pub event: Option<EventKind>,
    /// Only records with a step calling this tool.
    #[arg(long)]
    pub tool: Option<String>,
    /// Only this tenant.
    #[arg(long)]
    pub tenant: Option<String>,
    /// Only records tagged with this risk category (e.g. privacy.exfiltration).
    #[arg(long)]
    pub category: Option<String>,
    /// Only records where this rule fired.
    #[arg(long)]
    pub rule: Option<String>,
    /// From this time (RFC 3339, or a date YYYY-MM-DD), inclusive.
    #[arg(long, value_parser = parse_time)]
    pub since: Option<i64>,
    /// Up to this time (RFC 3339, or a date YYYY-MM-DD), exclusive.
    #[arg(long, value_parser = parse_time)]
    pub until: Option<i64>,
}

impl FilterArgs {
    fn to_filter(&self, limit: Option<usize>) -> Filter {
        Filter {
            verdict: self.verdict,
            event: self.event,
            tool: self.tool.clone(),
            tenant: self.tenant.clone(),
            category: self.category.clone(),
            rule: self.rule.clone(),
            since_us: self.since,
            until_us: self.until,
            limit,
        }
    }
}

fn parse_verdict(s: &str) -> Result<Verdict, String> {
    serde_json::from_value(serde_json::Value::String(s.to_owned()))
        .map_err(|_| format!("`{s}` is not a verdict (allow, rewrite, require_approval, block)"))
}

fn parse_event(s: &str) -> Result<EventKind, String> {
    serde_json::from_value(serde_json::Value::String(s.to_owned()))
        .map_err(|_| format!("`{s}` is not an event kind (decision, approval)"))
}

fn parse_time(s: &str) -> Result<i64, String> {
    log::time::parse(s).ok_or_else(|| format!("`{s}` is not an RFC 3339 time or a YYYY-MM-DD date"))
}

/// Export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// Eval-case JSONL (DESIGN.md), for `policy diff` and `guard eval`.
    Cases,
    /// The stored records as they are in the segments, one a line.
    Records,
}

/// `preflight audit` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum AuditCommand {
    /// Walk the hash chain; print the first bad record and exit 1 if it breaks.
    Verify {
        /// The data directory.
        #[command(flatten)]
        dir: DataDirArg,
        /// A chain position printed by an earlier verify (`SEQ:HASH`, kept
        /// somewhere else): the log must still hold it, unchanged. This is
        /// what catches records cut from the end of the log.
        #[arg(long, value_name = "SEQ:HASH")]
        anchor: Option<log::Anchor>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List records matching filters, as a table or JSON lines.
    Query {
        /// The data directory.
        #[command(flatten)]
        dir: DataDirArg,
        /// The filters.
        #[command(flatten)]
        filter: FilterArgs,
        /// At most this many records, the most recent.
        #[arg(long)]
        limit: Option<usize>,
        /// Print each stored record as a JSON line instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Export records (as eval cases, for replay with `policy diff`).
    Export {
        /// The data directory.
        #[command(flatten)]
        dir: DataDirArg,
        /// The output format.
        #[arg(long, value_enum, default_value = "cases")]
        format: ExportFormat,
        /// The filters.
        #[command(flatten)]
        filter: FilterArgs,
        /// Write to this file instead of standard output.
        #[arg(long, short)]
        out: Option<PathBuf>,
    },
    /// Counts by verdict, tenant, tool, rule and category; latency percentiles.
    Stats {
        /// The data directory.
        #[command(flatten)]
        dir: DataDirArg,
        /// The filters.
        #[command(flatten)]
        filter: FilterArgs,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Write synthetic records through the real writer (crash tests, load checks).
    #[command(hide = true)]
    WriteLoad(WriteLoadArgs),
}

/// Runs the command.
pub fn run(cmd: AuditCommand) -> CliResult {
    match cmd {
        AuditCommand::Verify { dir, anchor, json } => verify(&dir, anchor.as_ref(), json),
        AuditCommand::Query {
            dir,
            filter,
            limit,
            json,
        } => query_cmd(&dir, &filter.to_filter(limit), json),
        AuditCommand::Export {
            dir,
            format,
            filter,
            out,
        } => export(&dir, format, &filter.to_filter(None), out),
        AuditCommand::Stats { dir, filter, json } => stats_cmd(&dir, &filter.to_filter(None), json),
        AuditCommand::WriteLoad(args) => write_load(args),
    }
}

fn audit_err(e: AuditError) -> CliError {
    match e {
        AuditError::BadInput(_) | AuditError::Setting { .. } => CliError::bad_input(e),
        other => CliError::internal(other),
    }
}

fn stdout_err(e: std::io::Error) -> CliError {
    CliError::internal(anyhow::Error::new(e).context("writing to standard output"))
}

fn warn(text: &str) {
    let _ = writeln!(std::io::stderr(), "warning: {text}");
}

fn verify(dir: &DataDirArg, anchor: Option<&log::Anchor>, json: bool) -> CliResult {
    // A mistyped --data-dir must not read as "an intact, empty log".
    if !dir.data_dir.is_dir() {
        return Err(CliError::bad_input(anyhow::anyhow!(
            "data directory {} does not exist (use --data-dir)",
            dir.data_dir.display()
        )));
    }
    let report = log::verify_with_anchor(&dir.data_dir, anchor).map_err(audit_err)?;
    let mut out = std::io::stdout().lock();
    if let Some(torn) = &report.torn_tail {
        warn(&format!(
            "{} line {} is an unfinished write ({} bytes, left by a crash); the writer cuts it when it next starts",
            torn.segment, torn.line, torn.bytes
        ));
    }
    if json {
        let text = serde_json::to_string(&report).context("serializing the report")?;
        writeln!(out, "{text}").map_err(stdout_err)?;
    } else if let Some(p) = &report.problem {
        let mut at = if p.line == 0 {
            "the end of the log".to_owned()
        } else {
            format!("{} line {}", p.segment, p.line)
        };
        if let Some(seq) = p.seq {
            at.push_str(&format!(" (record seq {seq}"));
            if let Some(id) = p.decision_id.as_deref().filter(|id| !id.is_empty()) {
                at.push_str(&format!(", decision {id}"));
            }
            at.push(')');
        }
        writeln!(out, "audit log BROKEN at {at}: {}", p.what).map_err(stdout_err)?;
        writeln!(out, "{} records before it checked out", report.records).map_err(stdout_err)?;
    } else if report.segments == 0 {
        writeln!(
            out,
            "audit log OK: no records yet in {}",
            dir.data_dir.display()
        )
        .map_err(stdout_err)?;
    } else {
        writeln!(
            out,
            "audit log OK: {} records in {} segments\nchain head: {}:{} (keep it elsewhere; `--anchor` checks it later)",
            report.records, report.segments, report.records, report.head
        )
        .map_err(stdout_err)?;
    }
    Ok(if report.ok() { 0 } else { EXIT_FINDING })
}

fn open_index(dir: &DataDirArg) -> Result<Index, CliError> {
    if !dir.data_dir.is_dir() {
        return Err(CliError::bad_input(anyhow::anyhow!(
            "data directory {} does not exist (use --data-dir)",
            dir.data_dir.display()
        )));
    }
    let index = Index::open(&dir.data_dir).map_err(audit_err)?;
    if let Some(why) = &index.sync.rebuilt {
        let _ = writeln!(
            std::io::stderr(),
            "note: rebuilt the audit index from the segments ({why})"
        );
    }
    if index.sync.skipped > 0 {
        warn(&format!(
            "{} lines could not be read as records and were left out; run `preflight audit verify`",
            index.sync.skipped
        ));
    }
    Ok(index)
}

fn query_cmd(dir: &DataDirArg, filter: &Filter, json: bool) -> CliResult {
    let index = open_index(dir)?;
    let rows = query::query(&index, filter).map_err(audit_err)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if json {
        for row in &rows {
            let mut line = query::read_line(&index, row).map_err(audit_err)?;
            line.push(b'\n');
            out.write_all(&line).map_err(stdout_err)?;
        }
    } else {
        writeln!(
            out,
            "{:>8}  {:<27}  {:<16}  {:<12}  {:<24}  {:<24}  DECISION",
            "SEQ", "TIME", "VERDICT", "TENANT", "TOOLS", "RULES"
        )
        .map_err(stdout_err)?;
        for r in &rows {
            let verdict = if r.event == "approval" {
                format!("{} (approval)", r.verdict)
            } else {
                r.verdict.clone()
            };
            writeln!(
                out,
                "{:>8}  {:<27}  {:<16}  {:<12}  {:<24}  {:<24}  {}",
                r.seq,
                r.ts,
                verdict,
                r.tenant,
                r.tools.join(","),
                r.rules.join(","),
                r.decision_id
            )
            .map_err(stdout_err)?;
        }
        writeln!(out, "{} records", rows.len()).map_err(stdout_err)?;
    }
    out.flush().map_err(stdout_err)?;
    Ok(0)
}

fn export(
    dir: &DataDirArg,
    format: ExportFormat,
    filter: &Filter,
    out_path: Option<PathBuf>,
) -> CliResult {
    let index = open_index(dir)?;
    let mut out: Box<dyn Write> = match &out_path {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    match format {
        ExportFormat::Cases => {
            let report = export_cases(&index, filter, &mut out).map_err(audit_err)?;
            out.flush().map_err(stdout_err)?;
            let _ = writeln!(
                std::io::stderr(),
                "exported {} cases ({} decisions without replay context left out)",
                report.written,
                report.skipped_no_replay
            );
        }
        ExportFormat::Records => {
            for row in query::query(&index, filter).map_err(audit_err)? {
                let mut line = query::read_line(&index, &row).map_err(audit_err)?;
                line.push(b'\n');
                out.write_all(&line).map_err(stdout_err)?;
            }
            out.flush().map_err(stdout_err)?;
        }
    }
    Ok(0)
}

fn stats_cmd(dir: &DataDirArg, filter: &Filter, json: bool) -> CliResult {
    let index = open_index(dir)?;
    let s = stats(&index, filter).map_err(audit_err)?;
    let mut out = std::io::stdout().lock();
    if json {
        let text = serde_json::to_string(&s).context("serializing stats")?;
        writeln!(out, "{text}").map_err(stdout_err)?;
        return Ok(0);
    }
    let mut text = format!(
        "records: {}\nspan: {} .. {}\nsegments: {} ({} bytes)\n",
        s.records,
        s.first_ts.as_deref().unwrap_or("-"),
        s.last_ts.as_deref().unwrap_or("-"),
        s.segments,
        s.segment_bytes
    );
    for (title, list) in [
        ("events", &s.by_event),
        ("verdicts", &s.by_verdict),
        ("top tenants", &s.top_tenants),
        ("top tools", &s.top_tools),
        ("top rules", &s.top_rules),
        ("top categories", &s.top_categories),
    ] {
        text.push_str(&format!("{title}:\n"));
        for (name, n) in list {
            text.push_str(&format!("  {n:>8}  {name}\n"));
        }
    }
    if let Some(l) = s.latency {
        text.push_str(&format!(
            "latency (total): p50 {} us, p95 {} us, p99 {} us, max {} us\n",
            l.p50_us, l.p95_us, l.p99_us, l.max_us
        ));
    }
    out.write_all(text.as_bytes()).map_err(stdout_err)?;
    Ok(0)
}

/// Arguments of the hidden `preflight audit write-load`.
#[derive(Debug, Clone, clap::Args)]
pub struct WriteLoadArgs {
    /// The data directory.
    #[command(flatten)]
    pub dir: DataDirArg,
    /// Records to write.
    #[arg(long, default_value_t = 10_000)]
    pub records: u64,
    /// Every Nth record is a block (durable); 0 for none.
    #[arg(long, default_value_t = 2)]
    pub durable_every: u64,
    /// Concurrent producers.
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
    /// Segment size limit in bytes (small values exercise rotation).
    #[arg(long)]
    pub segment_max_bytes: Option<u64>,
    /// Print `ack SEQ DECISION_ID` for every durable record once it is synced.
    #[arg(long)]
    pub print_acks: bool,
}

fn write_load(args: WriteLoadArgs) -> CliResult {
    let mut settings = log::AuditSettings::new(&args.dir.data_dir);
    if let Some(b) = args.segment_max_bytes {
        settings.segment_max_bytes = b;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the runtime")?;
    let (handle, task) = log::AuditLog::open(settings).map_err(audit_err)?;
    if let Some(torn) = task.torn_tail() {
        warn(&format!(
            "cut a torn last line of {} bytes in {} (left by a crash)",
            torn.bytes, torn.segment
        ));
    }
    let opts = log::load::LoadOptions {
        records: args.records,
        durable_every: args.durable_every,
        concurrency: args.concurrency.max(1),
        print_acks: args.print_acks,
    };
    let report = runtime.block_on(async {
        let report = log::load::run(&handle, &opts).await;
        let _ = handle.shutdown().await;
        report
    });
    drop(handle);
    task.join().map_err(audit_err)?;
    let report = report.map_err(audit_err)?;
    let _ = writeln!(
        std::io::stderr(),
        "wrote {} records ({} durable) in {:.3} s: {:.0} records/s",
        report.written,
        report.durable,
        report.elapsed.as_secs_f64(),
        report.written as f64 / report.elapsed.as_secs_f64().max(1e-9)
    );
    Ok(0)
}
