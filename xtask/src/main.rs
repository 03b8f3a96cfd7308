//! `cargo xtask <verb>`: every piece of automation in one place.
//!
//! - `test`: checks the tools, then format, lints (`-D warnings`) and every test.
//! - `demo [--listen ADDR] [--seconds N] [--agents N] [--store sqlite|dynamodb]`: builds and runs the relay on its embedded defaults
//!   with simulated colleagues.
//! - `dist`: builds the extension into `dist/extension/`; `dist --crx --key KEY.pem [--version
//!   X.Y.Z] [--update-url URL]`: the signed package and `updates.xml` in `dist/package/`.
//! - `fuzz [--seconds N] [TARGET...]`: runs the cargo-fuzz targets of `fuzz/` (every one, 60 s
//!   each, by default); `test` runs each for 10 s.
//! - `bench extension`: Wasm sizes, panel start, peer status latency, long tasks, and the
//!   supervisor's floor over 5,000 agents (ready, update p95, long tasks).
//! - `bench rollout`: under a real policy file (root): install and update times, messages lost or
//!   duplicated across an update.
//! - `bench relay [ARGS]`: builds in release and runs the relay benchmark, then the crash run.
//! - `bench sync [ARGS]`: the Connect directory sync against the local fake (10,000 users) and
//!   caller-ID requests from 1,000 agents at once.
//! - `bench connect-realtime [ARGS]`: Connect's real-time data at 5,000 agents against the local
//!   fake at Connect's default quota: the time between reads, calls a minute, the highest rate,
//!   and how long a change in Connect takes to reach a supervisor's floor.
//! - `bench security [--fuzz-seconds N] [ARGS]`: every fuzz target for N seconds (default 30),
//!   then every attack of the security suite against the release relay, and honest agents'
//!   chat latency while one principal floods it.

mod demo;
mod dist;
mod fuzz;
mod package;
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
        Some("dist") if args.len() > 1 => package::run(&args[1..]),
        Some("dist") => dist::build(),
        Some("fuzz") => fuzz::run(&args[1..]),
        Some("bench") => bench(&args[1..]),
        _ => {
            eprintln!(
                "usage: cargo xtask <test | demo [--listen ADDR] [--seconds N] [--agents N] [--store sqlite|dynamodb] [--nodes N] | dist [--crx --key KEY.pem --version X.Y.Z --update-url URL] | fuzz [--seconds N] [TARGET...] | bench relay|cluster|extension|rollout|sync|connect-realtime|security [ARGS]>"
            );
            bail!("unknown or missing verb")
        }
    }
}

/// `systemd-analyze verify` on the relay's unit, its `ExecStart` pointed at the relay just built
/// (the check wants the binary to exist).
fn systemd_unit() -> anyhow::Result<()> {
    let unit = std::fs::read_to_string("deploy/systemd/ccp-sidecar-relay.service")?;
    let binary = std::env::current_dir()?.join("target/debug/ccp-sidecar-relay");
    let dir = std::path::Path::new("target/deploy-check");
    std::fs::create_dir_all(dir)?;
    let copy = dir.join("ccp-sidecar-relay.service");
    std::fs::write(&copy, unit.replace("/usr/local/bin/ccp-sidecar-relay", &binary.to_string_lossy()))?;
    run::step("systemd unit", "systemd-analyze", &["verify", &copy.to_string_lossy()])
}

fn test() -> anyhow::Result<()> {
    run::require_tool("cargo", &["fmt", "--version"], "rustfmt (rustup component add rustfmt)")?;
    run::require_tool("cargo", &["clippy", "--version"], "clippy (rustup component add clippy)")?;
    setup::wasm()?;
    setup::browser()?;
    // The DynamoDB store's tests start moto's server from the project's Python environment.
    setup::python()?;
    setup::redis()?;
    run::step("format", "cargo", &["fmt", "--all", "--", "--check"])?;
    // `--all-features` takes in the relay's Connect sync (the AWS SDK) and its tests.
    run::step("lints", "cargo", &["clippy", "--workspace", "--all-targets", "--all-features", "--", "-D", "warnings"])?;
    let wasm = ["--target", "wasm32-unknown-unknown", "-p", "worker", "-p", "extension"];
    let mut lint = vec!["clippy", "--all-targets"];
    lint.extend(wasm);
    lint.extend(["--", "-D", "warnings"]);
    run::step("lints (wasm32)", "cargo", &lint)?;
    run::step("cloudformation", ".tools/python/bin/cfn-lint", &["deploy/aws/tables.yaml", "deploy/aws/service.yaml"])?;
    run::step("openapi", ".tools/python/bin/openapi-spec-validator", &["docs/openapi.yaml"])?;
    let mut total = run::cargo_test(&["--workspace", "--all-targets", "--all-features"], &[])?;
    let fuzzed = fuzz::smoke()?;
    total.passed += fuzzed.passed;
    total.failed += fuzzed.failed;
    let runner = [
        ("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER", "wasm-bindgen-test-runner"),
        ("CHROMEDRIVER", setup::CHROMEDRIVER),
    ];
    let mut web = vec!["--test", "web"];
    web.extend(wasm);
    let wasm_tests = run::cargo_test(&web, &runner)?;
    dist::build()?;
    // The browser tests' relay reads Connect's real-time data from the Connect stand-in.
    run::step(
        "build relay",
        "cargo",
        &["build", "-p", "server", "--features", "server/connect", "-p", "connect-fake"],
    )?;
    systemd_unit()?;
    // The rollout tests package the build with this very xtask (`dist --crx`).
    let xtask = std::env::current_exe()?.to_string_lossy().into_owned();
    let e2e = run::node_test("tests/e2e/", &[("SIDECAR_CHROMIUM", setup::CHROMIUM), ("SIDECAR_XTASK", &xtask)])?;
    for t in [wasm_tests, e2e] {
        total.passed += t.passed;
        total.failed += t.failed;
    }
    println!("tests: {} passed, {} failed", total.passed, total.failed);
    if total.failed > 0 {
        bail!("tests failed");
    }
    if total.passed == 0 {
        bail!("no test ran");
    }
    Ok(())
}

/// `bench relay --store dynamodb [ARGS]`: the same load (`ARGS`, sized for the local server) on
/// SQLite and then on DynamoDB (moto's server on loopback, started here), in one command so the
/// two lines are measured side by side; the DynamoDB line adds its requests per chat message and
/// per presence change.
fn bench_dynamodb(args: &[String]) -> anyhow::Result<()> {
    build_on_dynamodb()?;
    with_dynamodb_local(|endpoint| {
        let endpoint = format!("--dynamodb-endpoint={endpoint}");
        for store in [vec!["--store=sqlite"], vec!["--store=dynamodb", endpoint.as_str()]] {
            let mut bench_args = vec!["--relay=target/release/ccp-sidecar-relay"];
            bench_args.extend(store);
            bench_args.extend(args.iter().map(String::as_str));
            run::step("relay benchmark", "target/release/relay-bench", &bench_args)?;
        }
        Ok(())
    })
}

/// The local DynamoDB server's Python environment, and the release relay (with its `dynamodb`
/// feature) and load generators.
fn build_on_dynamodb() -> anyhow::Result<()> {
    setup::python()?;
    run::step(
        "build",
        "cargo",
        &["build", "--release", "-p", "server", "--features", "server/dynamodb", "-p", "loadgen"],
    )
}

/// Runs `f` with moto's DynamoDB-compatible server on a loopback port (its endpoint URL), and
/// stops the server after.
fn with_dynamodb_local(f: impl FnOnce(&str) -> anyhow::Result<()>) -> anyhow::Result<()> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let mut server = setup::dynamodb_local(port).spawn()?;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let result = f(&format!("http://127.0.0.1:{port}"));
    let _ = server.kill();
    let _ = server.wait();
    result
}

/// `bench cluster [ARGS]`: relay nodes joined by a `redis-server` on moto's DynamoDB server, and
/// the socket.io peer (`bench/socketio/`, its npm packages installed here, never by the product)
/// under the same load, for each node count (`cluster-bench --help`).
fn bench_cluster(args: &[String]) -> anyhow::Result<()> {
    setup::redis()?;
    run::step("setup", "npm", &["ci", "--prefix", "bench/socketio", "--no-audit", "--no-fund"])?;
    build_on_dynamodb()?;
    with_dynamodb_local(|endpoint| {
        let endpoint = format!("--dynamodb-endpoint={endpoint}");
        let mut bench_args = vec!["--relay=target/release/ccp-sidecar-relay", endpoint.as_str()];
        bench_args.extend(args.iter().map(String::as_str));
        run::step("cluster benchmark", "target/release/cluster-bench", &bench_args)
    })
}

fn bench(args: &[String]) -> anyhow::Result<()> {
    match args.first().map(String::as_str) {
        // Against the Connect stand-in: the relay with its `connect` feature.
        Some(which @ ("sync" | "connect-realtime")) => {
            run::step(
                "build",
                "cargo",
                &["build", "--release", "-p", "server", "--features", "connect", "-p", "loadgen"],
            )?;
            let mut bench_args = vec!["--relay=target/release/ccp-sidecar-relay"];
            bench_args.extend(args[1..].iter().map(String::as_str));
            run::step(&format!("{which} benchmark"), &format!("target/release/{which}-bench"), &bench_args)
        }
        Some("relay") => {
            let rest: Vec<String> = args[1..].to_vec();
            if let Some(at) = rest.iter().position(|a| a == "--store") {
                anyhow::ensure!(
                    rest.get(at + 1).map(String::as_str) == Some("dynamodb"),
                    "--store takes dynamodb here"
                );
                let mut rest = rest;
                rest.drain(at..at + 2);
                return bench_dynamodb(&rest);
            }
            run::step("build", "cargo", &["build", "--release", "-p", "server", "-p", "loadgen"])?;
            let relay = "--relay=target/release/ccp-sidecar-relay".to_owned();
            let mut bench_args = vec![relay.clone()];
            bench_args.extend(rest);
            let refs: Vec<&str> = bench_args.iter().map(String::as_str).collect();
            run::step("relay benchmark", "target/release/relay-bench", &refs)?;
            run::step("crash run", "target/release/relay-bench", &[&relay, "--crash"])?;
            Ok(())
        }
        Some("cluster") => bench_cluster(&args[1..]),
        Some("security") => {
            let mut fuzz_seconds = 30;
            let mut rest = Vec::new();
            let mut args = args[1..].iter();
            while let Some(arg) = args.next() {
                if arg == "--fuzz-seconds" {
                    let n = args.next().ok_or_else(|| anyhow::anyhow!("--fuzz-seconds needs a number"))?;
                    fuzz_seconds = n.parse()?;
                } else {
                    rest.push(arg.clone());
                }
            }
            let fuzzed = fuzz::run_all(fuzz_seconds)?;
            run::step("build", "cargo", &["build", "--release", "-p", "server", "-p", "loadgen"])?;
            let mut bench_args = vec![
                "--relay=target/release/ccp-sidecar-relay".to_owned(),
                format!("--fuzz-execs={}", fuzzed.execs),
                format!("--fuzz-crashes={}", fuzzed.crashes),
            ];
            bench_args.extend(rest);
            let refs: Vec<&str> = bench_args.iter().map(String::as_str).collect();
            run::step("security benchmark", "target/release/security-bench", &refs)
        }
        Some("rollout") => {
            setup::browser()?;
            dist::build()?;
            run::step("build relay", "cargo", &["build", "-p", "server"])?;
            let xtask = std::env::current_exe()?.to_string_lossy().into_owned();
            let status = std::process::Command::new("node")
                .arg("tests/bench/rollout.js")
                .env("SIDECAR_CHROMIUM", setup::CHROMIUM)
                .env("SIDECAR_XTASK", xtask)
                .status()?;
            if !status.success() {
                bail!("the rollout benchmark failed ({status})");
            }
            Ok(())
        }
        Some("extension") => {
            setup::browser()?;
            dist::build()?;
            run::step(
                "build relay and floor load",
                "cargo",
                &[
                    "build",
                    "--release",
                    "-p",
                    "server",
                    "-p",
                    "loadgen",
                    "--bin",
                    "ccp-sidecar-relay",
                    "--bin",
                    "floor-load",
                ],
            )?;
            let path = |p: &str| std::path::Path::new(p).canonicalize().map(|p| p.to_string_lossy().into_owned());
            let status = std::process::Command::new("node")
                .arg("tests/bench/extension.js")
                .env("SIDECAR_RELAY", path("target/release/ccp-sidecar-relay")?)
                .env("SIDECAR_FLOOR_LOAD", path("target/release/floor-load")?)
                .env("SIDECAR_CHROMIUM", setup::CHROMIUM)
                .status()?;
            if !status.success() {
                bail!("the extension benchmark failed ({status})");
            }
            Ok(())
        }
        _ => bail!(
            "usage: cargo xtask bench extension | bench rollout | bench relay [--store dynamodb] [--agents N --roster-size N --presence-per-s N --chat-per-s N --seconds N --supervisors N] | bench cluster [--nodes 1,2,3 --agents N --roster-size N --seconds N --no-peer] | bench sync | bench connect-realtime [--agents N --supervisors N --seconds N] | bench security [--fuzz-seconds N] [--seconds N --agents N]"
        ),
    }
}
