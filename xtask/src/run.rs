//! Running commands with a clear account of what ran and what failed.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context as _, bail};

/// The workspace root (where the root `Cargo.toml` is).
pub fn root() -> anyhow::Result<PathBuf> {
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    Ok(manifest_dir.parent().context("xtask has no parent directory")?.to_path_buf())
}

/// Runs a command to completion; fails naming the step if it fails.
pub fn step(name: &str, program: &str, args: &[&str]) -> anyhow::Result<()> {
    eprintln!("xtask: {name}: {program} {}", args.join(" "));
    let status = Command::new(program).args(args).status().with_context(|| format!("starting {program}"))?;
    if !status.success() {
        bail!("{name} failed ({status})");
    }
    Ok(())
}

/// Checks that a tool answers; otherwise says what to install.
pub fn require_tool(program: &str, args: &[&str], what: &str) -> anyhow::Result<()> {
    let ok = Command::new(program).args(args).output().is_ok_and(|o| o.status.success());
    if !ok {
        bail!("{what} is needed and was not found; install it and run again");
    }
    Ok(())
}
