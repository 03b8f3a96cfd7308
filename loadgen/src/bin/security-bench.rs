//! `security-bench`: the figures of `cargo xtask bench security`. Runs every attack against the
//! relay binary (each must be refused, the store must not change, the relay must stay up), then
//! honest agents chatting with and without one principal flooding the relay. Prints one line on
//! stdout; the fuzzing figures are passed in by xtask, which runs the fuzzers first.

use std::path::PathBuf;

use clap::Parser;

#[derive(Parser)]
#[command(about = "Security benchmark for the CCP Sidecar relay")]
struct Args {
    /// The relay binary to start (build it with --release).
    #[arg(long)]
    relay: PathBuf,
    /// Seconds of honest chat without, then with, the flood.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Honest agents chatting in pairs.
    #[arg(long, default_value_t = 20)]
    agents: usize,
    /// Fuzzing executions and crashes, from `cargo xtask fuzz`.
    #[arg(long, default_value_t = 0)]
    fuzz_execs: u64,
    #[arg(long, default_value_t = 0)]
    fuzz_crashes: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let report = loadgen::security::run(&args.relay, args.seconds, args.agents).await?;
    eprint!("{}", loadgen::security::describe(&report));
    eprintln!(
        "security-bench: store unchanged={} relay alive={}; honest delivery without flood p50={:.2} p99={:.2} ms, \
         with flood p50={:.2} p99={:.2} ms ({:.1}x); relay cores {:.2} without, {:.2} with the flood; \
         flooder frames written={}; honest sent={} received={}",
        report.store_unchanged,
        report.relay_alive,
        report.baseline_p50_ms,
        report.baseline_p99_ms,
        report.flood_p50_ms,
        report.flood_p99_ms,
        report.flood_p99_ms / report.baseline_p99_ms.max(0.001),
        report.baseline_relay_cores,
        report.flood_relay_cores,
        report.flood_frames,
        report.honest_sent,
        report.honest_received,
    );
    eprintln!("security-bench: relay counters: {}", report.relay_counters.join(", "));
    println!(
        "security-bench attacks={} refused={} fuzz_execs={} fuzz_crashes={} flood_p99_ms={:.2}",
        report.outcomes.len(),
        report.refused(),
        args.fuzz_execs,
        args.fuzz_crashes,
        report.flood_p99_ms
    );
    anyhow::ensure!(report.refused() == report.outcomes.len(), "an attack was not refused");
    anyhow::ensure!(report.store_unchanged, "stored data changed during the attacks");
    anyhow::ensure!(report.relay_alive, "the relay did not survive");
    anyhow::ensure!(report.honest_received == report.honest_sent, "an honest message was not delivered");
    Ok(())
}
