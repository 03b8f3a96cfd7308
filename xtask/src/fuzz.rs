//! `cargo xtask fuzz [--seconds N] [TARGET...]`: the cargo-fuzz (libFuzzer) targets in `fuzz/`,
//! one per decoder of untrusted input, each run for a bounded time.
//!
//! cargo-fuzz is installed if it is missing. The working corpus of each target
//! (`fuzz/corpus/<target>/`, not committed) is seeded from the committed
//! `fuzz/corpus-seed/<target>/` and grows from run to run on the same machine; a crash leaves
//! its input in `fuzz/artifacts/<target>/` (not committed) and fails the command, naming the
//! file. libFuzzer's own output goes to `target/fuzz/log/<target>.log`.
//!
//! Toolchain: stable only. cargo-fuzz passes nightly flags (`-Zsanitizer=address`), which
//! stable rustc accepts with `RUSTC_BOOTSTRAP=1`, set for the fuzz build alone. AddressSanitizer
//! works that way here (its runtime ships in stable's rust-std for x86_64-unknown-linux-gnu), so
//! the targets use it rather than `--sanitizer none`: the project has no `unsafe` of its own, but
//! the dependencies on the decoding paths do (serde_json, toml, the regexes behind phonenumber,
//! the crypto crates), and ASan checks their memory accesses too, for a small cost in speed.
//! The build goes to `target/fuzz`, so the instrumented build never invalidates the workspace's
//! own.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context as _, bail};

use crate::run;

/// Every target in `fuzz/fuzz_targets/`.
pub const TARGETS: [&str; 5] = ["client_frame", "hook_event", "config_file", "id_token", "number"];
/// The cargo-fuzz release installed when none is.
const CARGO_FUZZ: &str = "0.13.2";
const SEEDS: &str = "fuzz/corpus-seed";
const CORPUS: &str = "fuzz/corpus";
const ARTIFACTS: &str = "fuzz/artifacts";
const TARGET_DIR: &str = "target/fuzz";
/// Seconds per target for `cargo xtask fuzz` without `--seconds`.
const DEFAULT_SECONDS: u64 = 60;
/// Seconds per target in `cargo xtask test`.
const SMOKE_SECONDS: u64 = 10;
/// A single input that takes longer than this counts as a failure (a hang).
const TIMEOUT_SECONDS: u64 = 10;

/// Executions and failures, added up over targets.
#[derive(Debug, Default, Clone, Copy)]
pub struct Summary {
    pub execs: u64,
    pub crashes: u64,
}

/// How one target's run went.
#[derive(Debug)]
struct Outcome {
    target: &'static str,
    execs: u64,
    seconds: f64,
    /// Inputs libFuzzer wrote as crashes, leaks, timeouts or out-of-memory.
    artifacts: Vec<String>,
    /// The run failed without writing an input (it should not happen; the log tells).
    failed_without_artifact: bool,
}

impl Outcome {
    fn crashes(&self) -> u64 {
        self.artifacts.len() as u64 + u64::from(self.failed_without_artifact)
    }
}

/// `cargo xtask fuzz [--seconds N] [TARGET...]`.
pub fn run(args: &[String]) -> anyhow::Result<()> {
    let mut seconds = DEFAULT_SECONDS;
    let mut targets = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        if arg == "--seconds" {
            let n = args.next().context("--seconds needs a number")?;
            seconds = n.parse().with_context(|| format!("--seconds {n:?} is not a whole number"))?;
        } else if let Some(n) = arg.strip_prefix("--seconds=") {
            seconds = n.parse().with_context(|| format!("--seconds {n:?} is not a whole number"))?;
        } else if let Some(target) = TARGETS.iter().find(|t| **t == arg.as_str()) {
            targets.push(*target);
        } else {
            bail!("usage: cargo xtask fuzz [--seconds N] [{}]", TARGETS.join(" | "));
        }
    }
    if targets.is_empty() {
        targets = TARGETS.to_vec();
    }
    let outcomes = fuzz(&targets, seconds.max(1))?;
    let crashed: Vec<&String> = outcomes.iter().flat_map(|o| &o.artifacts).collect();
    if !crashed.is_empty() {
        bail!(
            "fuzzing found crashes; reproduce with `RUSTC_BOOTSTRAP=1 cargo fuzz run --target-dir {TARGET_DIR} TARGET FILE`: {}",
            crashed.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
        );
    }
    if let Some(o) = outcomes.iter().find(|o| o.failed_without_artifact) {
        bail!("fuzz target {} failed; see {}", o.target, log_path(o.target).display());
    }
    Ok(())
}

/// Every target for `seconds` each, for a benchmark: the totals.
pub fn run_all(seconds: u64) -> anyhow::Result<Summary> {
    let outcomes = fuzz(&TARGETS, seconds.max(1))?;
    Ok(Summary { execs: outcomes.iter().map(|o| o.execs).sum(), crashes: outcomes.iter().map(Outcome::crashes).sum() })
}

/// A short run of every target for `cargo xtask test`: each target that ran without a crash
/// counts as a passed test, each one that crashed as a failed one.
pub fn smoke() -> anyhow::Result<run::Tally> {
    let outcomes = fuzz(&TARGETS, SMOKE_SECONDS)?;
    let mut tally = run::Tally::default();
    for o in &outcomes {
        if o.crashes() == 0 {
            tally.passed += 1;
        } else {
            // `fuzz` has printed the failure and named the input.
            tally.failed += 1;
        }
    }
    Ok(tally)
}

/// Installs cargo-fuzz, builds every target once, then runs each in turn and prints one line
/// for each and a total.
fn fuzz(targets: &[&'static str], seconds: u64) -> anyhow::Result<Vec<Outcome>> {
    install()?;
    let started = Instant::now();
    let mut build = fuzz_command("build");
    eprintln!("xtask: fuzz build: {build:?}");
    let status = build.status().context("starting cargo fuzz")?;
    if !status.success() {
        bail!("fuzz build failed ({status})");
    }
    eprintln!("xtask: fuzz build took {:.0} s", started.elapsed().as_secs_f64());
    std::fs::create_dir_all(Path::new(TARGET_DIR).join("log"))?;
    let mut outcomes = Vec::new();
    for target in targets {
        let outcome = fuzz_one(target, seconds)?;
        println!(
            "fuzz target={} execs={} crashes={} seconds={:.0}",
            outcome.target,
            outcome.execs,
            outcome.crashes(),
            outcome.seconds
        );
        if outcome.crashes() > 0 {
            print_failure(target);
            eprintln!("xtask: fuzz target {target}: {}", failed_what(&outcome));
        }
        outcomes.push(outcome);
    }
    println!(
        "fuzz total targets={} execs={} crashes={} seconds={:.0}",
        outcomes.len(),
        outcomes.iter().map(|o| o.execs).sum::<u64>(),
        outcomes.iter().map(Outcome::crashes).sum::<u64>(),
        outcomes.iter().map(|o| o.seconds).sum::<f64>()
    );
    Ok(outcomes)
}

fn failed_what(o: &Outcome) -> String {
    if o.artifacts.is_empty() {
        format!("it failed without writing an input; see {}", log_path(o.target).display())
    } else {
        format!("input in {}", o.artifacts.join(", "))
    }
}

/// Runs one target for `seconds` on its working corpus, seeded first.
fn fuzz_one(target: &'static str, seconds: u64) -> anyhow::Result<Outcome> {
    let corpus = Path::new(CORPUS).join(target);
    seed(target, &corpus)?;
    std::fs::create_dir_all(Path::new(ARTIFACTS).join(target))?;
    let log = log_path(target);
    let mut command = fuzz_command("run");
    command.arg(target).arg(&corpus).arg("--").args([
        format!("-max_total_time={seconds}"),
        format!("-timeout={TIMEOUT_SECONDS}"),
        "-print_final_stats=1".to_owned(),
    ]);
    eprintln!("xtask: fuzz {target} for {seconds} s (libFuzzer's output: {})", log.display());
    let started = Instant::now();
    let mut file = std::fs::File::create(&log)?;
    let mut child = command.stdout(file.try_clone()?).stderr(Stdio::piped()).spawn().context("starting cargo fuzz")?;
    let mut stderr = BufReader::new(child.stderr.take().context("no stderr")?);
    let (mut execs, mut progress, mut artifacts) = (None, 0, Vec::new());
    let mut bytes = Vec::new();
    // Read as bytes: a failing input may be echoed in the output, and it need not be UTF-8.
    while stderr.read_until(b'\n', &mut bytes)? > 0 {
        std::io::Write::write_all(&mut file, &bytes)?;
        let line = String::from_utf8_lossy(&bytes);
        let line = line.trim_end();
        if let Some(n) = line.strip_prefix("stat::number_of_executed_units:") {
            execs = n.trim().parse().ok();
        } else if let Some(n) = line.strip_prefix("Done ").and_then(|rest| rest.split(' ').next()) {
            execs = execs.or(n.parse().ok());
        } else if let Some(n) = line.strip_prefix('#').and_then(|rest| rest.split(['\t', ' ']).next()) {
            // Progress lines (`#1234\tNEW ...`): the count so far, if no final stats come.
            progress = n.parse().unwrap_or(progress);
        }
        if let Some(input) = artifact(line) {
            artifacts.push(input);
        }
        bytes.clear();
    }
    let status = child.wait()?;
    let seconds = started.elapsed().as_secs_f64();
    Ok(Outcome {
        target,
        execs: execs.unwrap_or(progress),
        seconds,
        failed_without_artifact: !status.success() && artifacts.is_empty(),
        artifacts,
    })
}

/// The file named by libFuzzer's `Test unit written to FILE` for a crash, leak, timeout or
/// out-of-memory input (not for `slow-unit-`, which is only a note).
fn artifact(line: &str) -> Option<String> {
    let (_, file) = line.split_once("Test unit written to ")?;
    let file = file.trim();
    let name = Path::new(file).file_name()?.to_string_lossy();
    ["crash-", "leak-", "timeout-", "oom-"].iter().any(|p| name.starts_with(p)).then(|| file.to_owned())
}

/// Copies every seed into the working corpus (new or changed seeds; nothing is removed).
fn seed(target: &str, corpus: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(corpus)?;
    let seeds = Path::new(SEEDS).join(target);
    let entries = std::fs::read_dir(&seeds).with_context(|| format!("reading {}", seeds.display()))?;
    for entry in entries {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            let bytes = std::fs::read(entry.path())?;
            let to = corpus.join(entry.file_name());
            if std::fs::read(&to).ok().as_ref() != Some(&bytes) {
                std::fs::write(&to, bytes)?;
            }
        }
    }
    Ok(())
}

/// `cargo fuzz build|run` with the options every run shares, so that `run` finds the build
/// done.
fn fuzz_command(verb: &str) -> Command {
    let mut command = Command::new("cargo");
    command.args(["fuzz", verb, "--sanitizer", "address", "--target-dir", TARGET_DIR]).env("RUSTC_BOOTSTRAP", "1");
    command
}

fn log_path(target: &str) -> PathBuf {
    Path::new(TARGET_DIR).join("log").join(format!("{target}.log"))
}

/// Prints what a failed run's log says about the failure: the panic message, or the
/// sanitizer's or libFuzzer's error lines; the last lines when neither is there.
fn print_failure(target: &str) {
    let Ok(text) = std::fs::read_to_string(log_path(target)) else { return };
    let lines: Vec<&str> = text.lines().collect();
    let mut shown = Vec::new();
    let mut in_panic = false;
    for line in &lines {
        let ends = ["stack backtrace:", "note: run with", "=="].iter().any(|p| line.starts_with(p));
        in_panic = (in_panic || line.contains("panicked at")) && !ends;
        if in_panic || line.contains("ERROR: AddressSanitizer") || line.starts_with("SUMMARY:") {
            shown.push(*line);
        }
    }
    if shown.is_empty() {
        shown = lines[lines.len().saturating_sub(30)..].to_vec();
    }
    for line in shown {
        eprintln!("  | {line}");
    }
}

/// Installs cargo-fuzz unless `cargo fuzz` already answers.
fn install() -> anyhow::Result<()> {
    let answers = Command::new("cargo").args(["fuzz", "--version"]).output().is_ok_and(|o| o.status.success());
    if answers {
        return Ok(());
    }
    let locked = ["install", "cargo-fuzz", "--version", CARGO_FUZZ, "--locked"];
    if run::step("setup", "cargo", &locked).is_err() {
        // As with wasm-bindgen-cli, a lockfile may pin a crate version the registry no longer
        // serves; the crate's own version requirements still hold without it.
        run::step("setup", "cargo", &locked[..4])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn crash_inputs_are_read_from_libfuzzer_lines() {
        let line =
            "artifact_prefix='/w/fuzz/artifacts/number/'; Test unit written to /w/fuzz/artifacts/number/crash-3f2a";
        assert_eq!(super::artifact(line).as_deref(), Some("/w/fuzz/artifacts/number/crash-3f2a"));
        let slow = "artifact_prefix='a/'; Test unit written to a/slow-unit-99";
        assert_eq!(super::artifact(slow), None);
        assert_eq!(super::artifact("#1024\tpulse  cov: 10 ft: 20 corp: 3/9b"), None);
    }
}
