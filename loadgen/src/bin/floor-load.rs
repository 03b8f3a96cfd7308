//! `floor-load`: the agents behind the supervisor floor's figures in `cargo xtask bench
//! extension` (see `loadgen::floor`).

use clap::Parser;

#[derive(Parser)]
#[command(about = "Agents on a relay for the supervisor floor benchmark")]
struct Args {
    /// The relay, e.g. http://127.0.0.1:8787 (its --dev-issuer must be on).
    #[arg(long)]
    relay: String,
    /// The agents' principals, one per line (the first is the probe).
    #[arg(long)]
    agents: std::path::PathBuf,
    /// State changes per second, spread over every agent but the probe.
    #[arg(long, default_value_t = 100)]
    changes_per_s: u32,
    #[arg(long, default_value_t = 64)]
    connect_concurrency: usize,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let agents = std::fs::read_to_string(&args.agents)?.lines().map(str::to_owned).filter(|l| !l.is_empty()).collect();
    loadgen::floor::run(loadgen::floor::FloorLoad {
        base: args.relay,
        agents,
        changes_per_s: args.changes_per_s,
        connect_concurrency: args.connect_concurrency,
    })
    .await
}
