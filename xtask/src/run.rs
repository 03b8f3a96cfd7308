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

/// Passed and failed tests, added up over suites.
#[derive(Debug, Default, Clone, Copy)]
pub struct Tally {
    pub passed: u64,
    pub failed: u64,
}

/// Runs `cargo test` with `args` (and `envs`), echoing its output, and counts the results of
/// every test binary.
pub fn cargo_test(args: &[&str], envs: &[(&str, &str)]) -> anyhow::Result<Tally> {
    eprintln!("xtask: tests: cargo test {}", args.join(" "));
    let mut child =
        Command::new("cargo").arg("test").args(args).envs(envs.iter().copied()).stdout(Stdio::piped()).spawn()?;
    let stdout = child.stdout.take().context("no stdout")?;
    let mut tally = Tally::default();
    for line in BufReader::new(stdout).lines() {
        let line = line?;
        println!("{line}");
        if let Some(rest) = line.strip_prefix("test result: ") {
            tally.passed += count(rest, " passed");
            tally.failed += count(rest, " failed");
        }
    }
    let status = child.wait()?;
    if !status.success() && tally.failed == 0 {
        tally.failed += 1;
    }
    Ok(tally)
}

/// Runs the end-to-end suite with Node's test runner and reads its `# pass` / `# fail` lines.
pub fn node_test(dir: &str, envs: &[(&str, &str)]) -> anyhow::Result<Tally> {
    eprintln!("xtask: tests: node --test {dir}");
    let mut child = Command::new("node")
        .args(["--test", "--test-concurrency=1", "--test-reporter=tap", dir])
        .envs(envs.iter().copied())
        .stdout(Stdio::piped())
        .spawn()?;
    let stdout = child.stdout.take().context("no stdout")?;
    let mut tally = Tally::default();
    for line in BufReader::new(stdout).lines() {
        let line = line?;
        println!("{line}");
        if let Some(n) = line.strip_prefix("# pass ") {
            tally.passed += n.trim().parse().unwrap_or(0);
        }
        if let Some(n) = line.strip_prefix("# fail ") {
            tally.failed += n.trim().parse().unwrap_or(0);
        }
        if let Some(n) = line.strip_prefix("# cancelled ") {
            tally.failed += n.trim().parse().unwrap_or(0);
        }
    }
    let status = child.wait()?;
    if !status.success() && tally.failed == 0 {
        tally.failed += 1;
    }
    Ok(tally)
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
