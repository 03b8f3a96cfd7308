//! `relay-bench`: the load generator behind `cargo xtask bench relay`. Prints one line of
//! figures on stdout (details on stderr); `--crash` runs the SIGKILL scenario instead.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use loadgen::bench::{BenchConfig, run};

#[derive(Parser)]
#[command(about = "Load generator for the CCP Sidecar relay")]
struct Args {
    /// The relay binary to start (build it with --release).
    #[arg(long)]
    relay: PathBuf,
    #[arg(long, default_value_t = 5000)]
    agents: usize,
    #[arg(long, default_value_t = 500)]
    roster_size: usize,
    #[arg(long, default_value_t = 200)]
    presence_per_s: u32,
    #[arg(long, default_value_t = 1000)]
    chat_per_s: u32,
    #[arg(long, default_value_t = 30)]
    seconds: u64,
    #[arg(long, default_value_t = 100)]
    connect_concurrency: usize,
    /// Supervisors subscribed to every roster (`*`), as well as the agents.
    #[arg(long, default_value_t = 0)]
    supervisors: usize,
    /// Run the SIGKILL-during-a-chat-storm scenario instead.
    #[arg(long)]
    crash: bool,
    /// The relay's store: `sqlite`, or `dynamodb` on the DynamoDB-compatible server at
    /// `--dynamodb-endpoint` (tables created by the relay; static local credentials).
    #[arg(long, default_value = "sqlite")]
    store: String,
    #[arg(long)]
    dynamodb_endpoint: Option<String>,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.crash {
        let dir = tempfile::tempdir()?;
        let report = loadgen::crash::run(&args.relay, dir.path(), 8, Duration::from_secs(3)).await?;
        println!(
            "relay-crash acked_before_kill={} resent={} in_history={} lost={} duplicated={} gaps={}",
            report.acked_before_kill, report.resent, report.in_history, report.lost, report.duplicated, report.gaps
        );
        anyhow::ensure!(report.lost == 0 && report.duplicated == 0 && report.gaps == 0, "the crash run failed");
        return Ok(());
    }
    let config = BenchConfig {
        binary: args.relay,
        agents: args.agents,
        roster_size: args.roster_size,
        presence_per_s: args.presence_per_s,
        chat_per_s: args.chat_per_s,
        duration: Duration::from_secs(args.seconds),
        connect_concurrency: args.connect_concurrency,
        supervisors: args.supervisors,
        store: args.store.clone(),
        relay_args: Vec::new(),
        relay_env: Vec::new(),
    };
    let config = match args.store.as_str() {
        "sqlite" => config,
        "dynamodb" => {
            let endpoint = args.dynamodb_endpoint.context("--store dynamodb needs --dynamodb-endpoint")?;
            // Each run on tables of its own.
            let prefix = format!("bench-{}-", std::process::id());
            let relay_args = ["--store", "dynamodb", "--dynamodb-create-tables", "--dynamodb-endpoint", &endpoint]
                .into_iter()
                .map(str::to_owned)
                .chain(["--dynamodb-table-prefix".to_owned(), prefix])
                .collect();
            let relay_env =
                [("AWS_ACCESS_KEY_ID", "local"), ("AWS_SECRET_ACCESS_KEY", "local"), ("AWS_REGION", "us-east-1")]
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .into();
            BenchConfig { relay_args, relay_env, ..config }
        }
        other => anyhow::bail!("--store is sqlite or dynamodb, not {other}"),
    };
    let report = run(&config).await?;
    eprintln!("relay-bench details: {report:?}");
    eprintln!(
        "relay-bench: rss before={} KiB, connected={} KiB, end={} KiB; chat ack p99={:.2} ms; \
         cores used: relay {:.2}, load generator {:.2}; relay's own p99: chat ack <= {} ms, fan-out <= {} ms",
        report.rss_kb_before,
        report.rss_kb_connected,
        report.rss_kb_end,
        report.chat_ack_p99_ms,
        report.relay_cores,
        report.loadgen_cores,
        report.relay_chat_ack_p99_ms,
        report.relay_fanout_p99_ms
    );
    println!("{}", report.line());
    Ok(())
}
