//! `colleagues`: simulated agents for `cargo xtask demo`. Reads the demo directory and keeps
//! every listed colleague (but `--skip` ones) signed in, changing state and answering chat.

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use protocol::DirectoryFile;

#[derive(Parser)]
#[command(about = "Simulated colleagues for the CCP Sidecar demo")]
struct Args {
    /// The relay, e.g. http://127.0.0.1:8787 (its --dev-issuer must be on).
    #[arg(long)]
    relay: String,
    /// The directory file whose users to simulate.
    #[arg(long)]
    directory: PathBuf,
    /// Principals not to simulate (the person trying the demo), comma separated.
    #[arg(long, value_delimiter = ',')]
    skip: Vec<String>,
    /// A colleague who starts in after-call work that began minutes ago and stays in it (the
    /// supervisor's floor alerts early in the demo).
    #[arg(long)]
    overstay: Option<String>,
    /// A colleague who asks a supervisor for help now and then (first within the first minute).
    #[arg(long)]
    asks_help: Option<String>,
    /// A colleague who was Available, then closed the CCP without going Offline (Connect still
    /// shows them Available: the supervisor's floor warns).
    #[arg(long)]
    closes_ccp: Option<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let file: DirectoryFile = serde_json::from_str(&std::fs::read_to_string(&args.directory)?)?;
    let url = format!("{}/ws", args.relay.replacen("http", "ws", 1));
    let mut tasks = Vec::new();
    for (i, user) in file.users.into_iter().filter(|u| !args.skip.contains(&u.id)).enumerate() {
        let (base, url, args_closes) = (args.relay.clone(), url.clone(), args.closes_ccp.clone());
        let mut overstays = args.overstay.as_deref() == Some(user.id.as_str());
        let asks_help =
            (args.asks_help.as_deref() == Some(user.id.as_str())).then_some(loadgen::colleagues::FIRST_HELP);
        tasks.push(tokio::spawn(async move {
            loop {
                let seed = i as u64 * 7 + 3;
                let closes_ccp = args_closes.as_deref() == Some(user.id.as_str());
                let habits =
                    loadgen::colleagues::Habits { overstays: std::mem::take(&mut overstays), asks_help, closes_ccp };
                let run = loadgen::colleagues::run(&base, &url, user.clone(), seed, habits);
                if let Err(e) = run.await {
                    eprintln!("colleague {}: {e}; reconnecting", user.id);
                }
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        }));
    }
    println!("colleagues: {} simulated agents connected to {}", tasks.len(), args.relay);
    // Colleagues reconnect forever; the demo ends this process.
    tokio::signal::ctrl_c().await?;
    Ok(())
}
