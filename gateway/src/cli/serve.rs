//! `preflight serve`: load and validate the configuration, bind the
//! listener, run the gateway until SIGTERM or SIGINT, then drain.
//! `--check-config` validates and exits (0 valid, 2 invalid).

use std::path::PathBuf;

use anyhow::Context;

use super::{CliError, CliResult};

/// Arguments of `preflight serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Configuration file (TOML). Without it the embedded default is used:
    /// 127.0.0.1:8787, OpenAI and Anthropic upstreams.
    #[arg(long, short)]
    pub config: Option<PathBuf>,
    /// Validate the configuration and exit.
    #[arg(long)]
    pub check_config: bool,
    /// Override `server.listen` (host:port).
    #[arg(long)]
    pub listen: Option<String>,
    /// Where the audit log lives (`DIR/audit/`).
    #[command(flatten)]
    pub data: super::audit::DataDirArg,
}

/// Runs the command.
pub fn run(args: ServeArgs) -> CliResult {
    let mut env: Vec<(String, String)> = std::env::vars().collect();
    if let Some(listen) = &args.listen {
        env.push(("PREFLIGHT__SERVER__LISTEN".into(), listen.clone()));
    }
    let settings = crate::config::load(args.config.as_deref(), env).map_err(CliError::bad_input)?;
    if args.check_config {
        // Bundles compile and the guard model loads, as `serve` would do.
        crate::pipeline::Pipeline::new(&settings).map_err(CliError::bad_input)?;
        #[expect(clippy::print_stdout, reason = "the CLI reports on stdout")]
        {
            println!(
                "configuration is valid: listen {}, {} upstream(s), {} key(s)",
                settings.listen,
                settings.upstreams.len(),
                settings.keys.len()
            );
        }
        return Ok(0);
    }
    // On one core (a pinned deployment, a small container) a single-thread
    // runtime serves everything on the main thread: no worker hand-offs and
    // no work-stealing bookkeeping per task.
    let one_core = std::thread::available_parallelism().is_ok_and(|n| n.get() == 1);
    let mut builder = if one_core {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    let runtime = builder
        .enable_all()
        .build()
        .context("cannot start the async runtime")
        .map_err(CliError::internal)?;
    let audit = settings
        .audit
        .clone()
        .validate(&args.data.data_dir)
        .map_err(CliError::bad_input)?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(settings.listen)
            .await
            .with_context(|| format!("cannot listen on {}", settings.listen))
            .map_err(CliError::internal)?;
        let addr = listener
            .local_addr()
            .map_err(|e| CliError::internal(anyhow::Error::from(e)))?;
        #[expect(clippy::print_stderr, reason = "startup line for operators")]
        {
            eprintln!(
                "preflight: listening on {addr}{}",
                if settings.tls.is_some() { " (TLS)" } else { "" }
            );
        }
        crate::server::serve_with_audit(
            listener,
            settings,
            Some(audit),
            crate::server::shutdown_signal(),
        )
        .await
        .map_err(|e| CliError::bad_input(anyhow::Error::from(e)))?;
        Ok(0)
    })
}
