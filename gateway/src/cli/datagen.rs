//! `preflight datagen --seed N --out DIR`: writes train.jsonl, val.jsonl and
//! test.jsonl (split by scenario family) and prints counts.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;

use super::{CliError, CliResult};
use crate::datagen::{self, Settings, Split};

/// Arguments of `preflight datagen`.
#[derive(Debug, Args)]
pub struct DatagenArgs {
    /// Seed; the same seed gives the same files.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Output directory (created if missing).
    #[arg(long)]
    pub out: PathBuf,
    /// Cases per benign scenario family.
    #[arg(long, default_value_t = 40)]
    pub benign_per_family: usize,
    /// Cases per malicious scenario family.
    #[arg(long, default_value_t = 20)]
    pub malicious_per_family: usize,
}

/// Runs the command.
pub fn run(args: DatagenArgs) -> CliResult {
    let settings = Settings {
        seed: args.seed,
        benign_per_family: args.benign_per_family,
        malicious_per_family: args.malicious_per_family,
    };
    let data = datagen::generate(settings);
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))
        .map_err(CliError::internal)?;
    let mut summary = String::new();
    for split in [Split::Train, Split::Val, Split::Test] {
        let cases = data.split(split);
        let path = args.out.join(format!("{}.jsonl", split.name()));
        std::fs::write(&path, datagen::to_jsonl(cases))
            .with_context(|| format!("writing {}", path.display()))
            .map_err(CliError::internal)?;
        let malicious = cases.iter().filter(|c| c["label"] == "malicious").count();
        summary.push_str(&format!(
            "{}: {} cases ({} malicious, {} benign) -> {}\n",
            split.name(),
            cases.len(),
            malicious,
            cases.len() - malicious,
            path.display()
        ));
    }
    // A closed pipe (`| head`) is not an error.
    let _ = std::io::Write::write_all(&mut std::io::stdout().lock(), summary.as_bytes());
    Ok(0)
}
