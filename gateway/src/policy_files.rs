//! Reading policy bundles from disk (and from git revisions) for the CLI and
//! the gateway's reload loop. The policy crate itself never touches files:
//! this module turns a directory into `(name, source)` pairs for it.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, bail};

/// Largest bundle file read (regorus refuses larger policies anyway).
pub const MAX_FILE: u64 = 1024 * 1024;
/// Most files a bundle may hold.
pub const MAX_FILES: usize = 2_000;

/// True for the files a bundle is made of: Rego sources and JSON data.
pub fn is_bundle_file(name: &str) -> bool {
    name.ends_with(".rego") || name.ends_with(".json")
}

/// Reads every `*.rego` and `*.json` file under `dir` (recursively, hidden
/// entries skipped), named by their `/`-separated path relative to `dir`.
pub fn load_bundle_dir(dir: &Path) -> anyhow::Result<Vec<(String, String)>> {
    if !dir.is_dir() {
        bail!("{}: not a directory", dir.display());
    }
    let mut files = Vec::new();
    let mut pending: Vec<PathBuf> = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        let entries = std::fs::read_dir(&current)
            .with_context(|| format!("reading {}", current.display()))?;
        for entry in entries {
            let entry = entry.with_context(|| format!("reading {}", current.display()))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            let path = entry.path();
            let kind = entry
                .file_type()
                .with_context(|| format!("reading {}", path.display()))?;
            if kind.is_dir() {
                pending.push(path);
                continue;
            }
            if !kind.is_file() || !is_bundle_file(&name) {
                continue;
            }
            let len = entry.metadata().map(|m| m.len()).unwrap_or(0);
            if len > MAX_FILE {
                bail!(
                    "{}: {len} bytes is over the {MAX_FILE}-byte limit for a bundle file",
                    path.display()
                );
            }
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            let rel = path.strip_prefix(dir).unwrap_or(&path);
            let rel: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            files.push((rel.join("/"), text));
            if files.len() > MAX_FILES {
                bail!("{}: more than {MAX_FILES} bundle files", dir.display());
            }
        }
    }
    files.sort();
    Ok(files)
}

/// Reads the bundle at `path` (a directory inside a git work tree) as it was
/// at revision `rev`, with `git ls-tree` and `git show`.
pub fn load_bundle_at_rev(rev: &str, path: &Path) -> anyhow::Result<Vec<(String, String)>> {
    if rev.starts_with('-') {
        bail!("`{rev}` is not a git revision");
    }
    let (repo, rel) = repo_relative(path)?;
    let prefix = if rel.is_empty() {
        String::new()
    } else {
        format!("{rel}/")
    };
    let listing = git(
        &repo,
        &[
            "ls-tree",
            "-r",
            "--name-only",
            rev,
            "--",
            &format!("./{prefix}"),
        ],
    )?;
    let mut files = Vec::new();
    for name in listing.lines() {
        let Some(inside) = name.strip_prefix(&prefix) else {
            continue;
        };
        let base = inside.rsplit('/').next().unwrap_or(inside);
        if base.starts_with('.') || !is_bundle_file(base) {
            continue;
        }
        let text = git(&repo, &["show", &format!("{rev}:{name}")])?;
        files.push((inside.to_owned(), text));
    }
    if files.is_empty() {
        bail!("no bundle files under {} at revision {rev}", path.display());
    }
    files.sort();
    Ok(files)
}

/// The repository root containing `path`, and `path` relative to it.
fn repo_relative(path: &Path) -> anyhow::Result<(PathBuf, String)> {
    let abs =
        std::fs::canonicalize(path).with_context(|| format!("{}: not found", path.display()))?;
    let top = git(&abs, &["rev-parse", "--show-toplevel"])?;
    let top = PathBuf::from(top.trim());
    let rel = abs.strip_prefix(&top).unwrap_or(Path::new(""));
    let rel: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    Ok((top, rel.join("/")))
}

fn git(dir: &Path, args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .context("running git (is it installed?)")?;
    if !out.status.success() {
        bail!(
            "git {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    String::from_utf8(out.stdout).context("git printed non-UTF-8 output")
}
