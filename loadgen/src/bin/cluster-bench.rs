//! `cluster-bench`: the load generator behind `cargo xtask bench cluster`. For each node count,
//! the relay's cluster and then the socket.io peer under the same load, interleaved so that the
//! two are measured side by side; one line each, then the ratios (peer ÷ relay).

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use loadgen::cluster_bench::{ClusterConfig, ClusterReport, Server, run};

#[derive(Parser)]
#[command(about = "Relay nodes joined by Redis, against a socket.io peer with its Redis adapter")]
struct Args {
    /// The relay binary (built with --release and the `dynamodb` feature).
    #[arg(long)]
    relay: PathBuf,
    /// The socket.io peer's server (`bench/socketio/server.js`, its packages installed).
    #[arg(long, default_value = "bench/socketio/server.js")]
    peer: PathBuf,
    /// Node counts to measure, comma separated.
    #[arg(long, value_delimiter = ',', default_value = "1,2,3")]
    nodes: Vec<usize>,
    #[arg(long, default_value_t = 10_000)]
    agents: usize,
    #[arg(long, default_value_t = 500)]
    roster_size: usize,
    #[arg(long, default_value_t = 50)]
    presence_per_s: u32,
    #[arg(long, default_value_t = 20)]
    chat_per_s: u32,
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    #[arg(long, default_value_t = 100)]
    connect_concurrency: usize,
    /// The DynamoDB-compatible server both keep their messages in.
    #[arg(long)]
    dynamodb_endpoint: String,
    /// Skip the peer (the relay's lines only).
    #[arg(long)]
    no_peer: bool,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let servers: &[Server] = if args.no_peer { &[Server::Relay] } else { &[Server::Relay, Server::SocketIo] };
    let mut ratios = Vec::new();
    for (run_no, &nodes) in args.nodes.iter().enumerate() {
        let mut reports: Vec<ClusterReport> = Vec::new();
        for &server in servers {
            let config = ClusterConfig {
                server,
                relay: args.relay.clone(),
                peer: args.peer.clone(),
                nodes,
                agents: args.agents,
                roster_size: args.roster_size,
                presence_per_s: args.presence_per_s,
                chat_per_s: args.chat_per_s,
                duration: Duration::from_secs(args.seconds),
                connect_concurrency: args.connect_concurrency,
                dynamodb_endpoint: args.dynamodb_endpoint.clone(),
                // Tables of this run's own, even on a server an earlier run used.
                table_prefix: format!("bench{}-{run_no}-{server:?}-", std::process::id()).to_lowercase(),
            };
            let report = run(&config).await?;
            println!("{}", report.line());
            eprintln!(
                "cluster-bench: sent presence={} chat={} acked={} errors={} closed={} connect_s={:.1} run_s={:.1}",
                report.presence_sent,
                report.chat_sent,
                report.chat_acked,
                report.errors,
                report.closed,
                report.connect_s,
                report.run_s
            );
            reports.push(report);
        }
        if let [ours, peer] = reports.as_slice() {
            ratios.push(format!(
                "cluster-bench ratio nodes={nodes} presence_p99={:.2} chat_p99={:.2} deliveries_per_s={:.2} \
                 rss_per_connection={:.2} cpu_per_delivery={:.2} (peer ÷ relay)",
                peer.presence_p99_ms / ours.presence_p99_ms,
                peer.chat_p99_ms / ours.chat_p99_ms,
                peer.deliveries_per_s() / ours.deliveries_per_s(),
                peer.rss_kb_per_connection / ours.rss_kb_per_connection,
                peer.cpu_us_per_delivery / ours.cpu_us_per_delivery,
            ));
        }
    }
    for line in ratios {
        println!("{line}");
    }
    Ok(())
}
