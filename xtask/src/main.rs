//! `cargo xtask <verb>`: every piece of automation in one place.
//!
//! - `test`: checks the tools, then format, lints (`-D warnings`) and every test.
//! - `demo [--listen ADDR] [--seconds N]`: builds and runs the relay on its embedded defaults
//!   with simulated colleagues.
//! - `dist`: builds the extension into `dist/extension/`.
//! - `bench relay [ARGS]`: builds in release and runs the relay benchmark, then the crash run.

mod demo;
mod dist;
mod run;
mod setup;

use anyhow::bail;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = run::root()?;
    std::env::set_current_dir(&root)?;
    match args.first().map(String::as_str) {
        Some("test") => test(),
        Some("demo") => demo::run(&args[1..]),
        Some("dist") => dist::build(),
        Some("bench") => bench(&args[1..]),
        _ => {
            eprintln!("usage: cargo xtask <test | demo [--listen ADDR] [--seconds N] | bench relay [ARGS]>");
            bail!("unknown or missing verb")
        }
    }
}

fn test() -> anyhow::Result<()> {
    run::require_tool("cargo", &["fmt", "--version"], "rustfmt (rustup component add rustfmt)")?;
    run::require_tool("cargo", &["clippy", "--version"], "clippy (rustup component add clippy)")?;
    run::step("format", "cargo", &["fmt", "--all", "--", "--check"])?;
    run::step("lints", "cargo", &["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"])?;
    run::cargo_test(&["--workspace", "--all-targets"])?;
    Ok(())
}

fn bench(args: &[String]) -> anyhow::Result<()> {
    match args.first().map(String::as_str) {
        Some("relay") => {
            run::step("build", "cargo", &["build", "--release", "-p", "server", "-p", "loadgen"])?;
            let relay = "--relay=target/release/ccp-sidecar-relay".to_owned();
            let mut bench_args = vec![relay.clone()];
            bench_args.extend(args[1..].iter().cloned());
            let refs: Vec<&str> = bench_args.iter().map(String::as_str).collect();
            run::step("relay benchmark", "target/release/relay-bench", &refs)?;
            run::step("crash run", "target/release/relay-bench", &[&relay, "--crash"])?;
            Ok(())
        }
        _ => bail!(
            "usage: cargo xtask bench relay [--agents N --roster-size N --presence-per-s N --chat-per-s N --seconds N]"
        ),
    }
}
