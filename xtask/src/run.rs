//! Running commands with a clear account of what ran and what failed.

use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};

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

/// Runs `cargo test` with `args`, echoing its output, and ends with one plain summary line
/// (`tests: N passed, N failed`) added up over every test binary.
pub fn cargo_test(args: &[&str]) -> anyhow::Result<()> {
    eprintln!("xtask: tests: cargo test {}", args.join(" "));
    let mut child = Command::new("cargo").arg("test").args(args).stdout(Stdio::piped()).spawn()?;
    let stdout = child.stdout.take().context("no stdout")?;
    let (mut passed, mut failed) = (0_u64, 0_u64);
    for line in BufReader::new(stdout).lines() {
        let line = line?;
        println!("{line}");
        if let Some(rest) = line.strip_prefix("test result: ") {
            passed += count(rest, " passed");
            failed += count(rest, " failed");
        }
    }
    let status = child.wait()?;
    println!("tests: {passed} passed, {failed} failed");
    if !status.success() || failed > 0 {
        bail!("tests failed ({status})");
    }
    if passed == 0 {
        bail!("no test ran");
    }
    Ok(())
}

/// The number before `label` in a `test result:` line.
fn count(line: &str, label: &str) -> u64 {
    line.split(';')
        .find_map(|part| {
            part.trim().trim_start_matches("ok. ").trim_start_matches("FAILED. ").strip_suffix(label.trim())
        })
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn counts_are_read_from_result_lines() {
        let line = "ok. 36 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out; finished in 15.38s";
        assert_eq!(super::count(line, " passed"), 36);
        assert_eq!(super::count(line, " failed"), 2);
        assert_eq!(super::count("FAILED. 6 passed; 1 failed; 0 ignored", " passed"), 6);
    }
}
